# syntax=docker/dockerfile:1
# Build: the same release build as CI. OpenSSL (for TLS to PostgreSQL), libpq and
# SQLite are compiled from the crates' sources, so the full Rust image (which has
# perl and make) needs nothing more.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && install -D -m 0755 target/release/hearth /out/hearth

# The example web app (examples/web), which Hearth serves from STATIC_DIR.
FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY examples/web/package.json examples/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY examples/web/ ./
RUN npm run build

# Run: glibc and nothing else (no shell, no package manager), as a non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/hearth /usr/local/bin/hearth
COPY --from=web /web/dist /srv/web
ENV PORT=8000 \
    STATIC_DIR=/srv/web \
    DEBUG=false \
    LOG_JSON=true
EXPOSE 8000
# distroless nonroot
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=6s --retries=3 CMD ["/usr/local/bin/hearth", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hearth"]
CMD ["serve"]
