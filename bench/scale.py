#!/usr/bin/env python3
"""How list pages cost as the table grows: 1,000 / 100,000 / 1,000,000 messages.

For each size, a fresh database is filled directly with SQL (seconds, not hours of
POSTs), then GET /api/messages?limit=100 is driven with oha for the first page, a
middle page by offset, and the last page reached by following `next` cursors (Hearth)
or by offset (the Django reference, which has no cursor). X-Total-Count is checked
against the number of rows on every page measured.

  python3 bench/scale.py                          # Hearth on SQLite
  python3 bench/scale.py --postgres --compare     # + the reference, on PostgreSQL
  python3 bench/scale.py --sizes 1000,100000 --duration 3

Uses bench.py's servers, oha and clean-up: loopback only, everything stopped at the end.
"""

import argparse
import http.client
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

PASSWORD = "Scale-" + secrets.token_urlsafe(12)


def fill_sql(table, user_col, n, postgres):
    """Rows 1..n of `table`, all by user 1."""
    rows = (f"generate_series(1, {n}) AS c(x)" if postgres else
            f"(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
            f"SELECT x FROM c)")
    return (f"INSERT INTO {table} ({user_col}, text, timestamp) "
            f"SELECT 1, 'message ' || x, '2026-01-01 00:00:00' FROM {rows}")


def fill(url, table, user_col, n):
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("sqlite://", 1)[1]) as db:
            db.execute(fill_sql(table, user_col, n, False))
    else:
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c"]
        bench.run(psql + [fill_sql(table, user_col, n, True)], timeout=1800)
        bench.run(psql + [f"VACUUM ANALYZE {table}"], timeout=600)


def get(base, path, token):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    body = r.read()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def token(base):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("POST", "/api/token/", json.dumps({"username": bench.STAFF, "password": PASSWORD}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    return json.loads(r.read())["access"]


def last_cursor_page(base, tok, n):
    """Follows `next` links (1,000 rows a step) to the last hundred rows; that page."""
    cursor, seen = "", 0
    while seen < n - 100:
        step = min(1000, n - 100 - seen)
        status, headers, body = get(base, f"/api/messages?limit={step}&cursor={cursor}", tok)
        if status != 200:
            bench.die(f"cursor page: {status} {body[:200]!r}")
        seen += len(json.loads(body))
        link = headers.get("link", "")
        if 'rel="next"' not in link:
            break
        query = urllib.parse.urlsplit(link.split(">", 1)[0].lstrip("<")).query
        cursor = urllib.parse.parse_qs(query, keep_blank_values=True)["cursor"][0]
    return f"/api/messages?limit=100&cursor={cursor}"


def measure(args, oha, name, base, tok, n, pages):
    rows = []
    for label, path in pages:
        status, headers, body = get(base, path, tok)
        total = headers.get("x-total-count")
        if status != 200 or (total is not None and int(total) != n):
            bench.die(f"{name} {path}: {status}, X-Total-Count {total} (want {n})")
        r = bench.run_oha(oha, base + path, "GET", {"Authorization": f"Bearer {tok}"}, None,
                          args.connections, args.duration)
        rows.append((label, r["rps"], r["p99_ms"], r["non_2xx"]))
        bench.log(f"  {name:9} {n:>9,} {label:14} {r['rps']:10,.0f} req/s  p99 {r['p99_ms']} ms")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,100000,1000000")
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--compare", action="store_true", help="the Django reference too")
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--oha")
    p.add_argument("--hearth-bin", default=os.path.join(bench.REPO, "target", "release", "hearth"))
    args = p.parse_args()
    oha = bench.find_oha(args.oha)
    if not os.path.exists(args.hearth_bin):
        bench.run(["cargo", "build", "--release"], cwd=bench.REPO, timeout=3600)
    results = []
    work = tempfile.mkdtemp(prefix="hearth-scale-")
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            targets = [("hearth", "messages", "sender_id")]
            if args.compare:
                targets.append(("reference", "messaging_message", "sender_id"))
            for name, table, user_col in targets:
                key = f"{name}_{n}_{secrets.token_hex(3)}"
                if args.postgres:
                    bench.pg_sql(args.pg_url, f"CREATE DATABASE {key}")
                    url = bench.pg_db_url(args.pg_url, key)
                elif name == "hearth":
                    url = f"sqlite://{work}/{key}.db"
                else:
                    # dj-database-url reads an absolute path after a fourth slash
                    url = f"sqlite:///{work}/{key}.db"
                env = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "DEBUG": "false",
                       "SECRET_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "127.0.0.1,localhost",
                       "RUST_LOG": "warn", "HEARTH_SUPERUSER_PASSWORD": PASSWORD,
                       "DJANGO_SUPERUSER_PASSWORD": PASSWORD, "REFERENCE_DATA_DIR": work}
                port = bench.free_port()
                if name == "hearth":
                    bench.run([args.hearth_bin, "createsuperuser", "--username", bench.STAFF, "--noinput"],
                              env=env, cwd=work)
                    cmd = [args.hearth_bin, "serve", "--addr", f"127.0.0.1:{port}"]
                else:
                    ref = bench.REFERENCE
                    bench.run(["bash", "-c", f"source {ref}/_venv.sh && $VENV/bin/python manage.py migrate "
                               f"--noinput && $VENV/bin/python manage.py createsuperuser --noinput "
                               f"--username {bench.STAFF} --email a@example.com"], env=env, cwd=ref,
                              timeout=900)
                    cmd = ["bash", os.path.join(ref, "run.sh"), f"127.0.0.1:{port}"]
                fill(url, table, user_col, n)
                server = bench.Server(name, cmd, env, work, port, os.path.join(work, f"{key}.log")).start()
                try:
                    server.wait_status("/api/messages", want=None, limit=120)
                    tok = token(server.base)
                    pages = [("first", "/api/messages?limit=100"),
                             ("middle offset", f"/api/messages?limit=100&offset={n // 2}")]
                    if name == "hearth":
                        pages.append(("last by cursor", last_cursor_page(server.base, tok, n)))
                        pages.append(("cursor start", "/api/messages?limit=100&cursor="))
                    else:
                        pages.append(("last by offset", f"/api/messages?limit=100&offset={n - 100}"))
                    for label, rps, p99, bad in measure(args, oha, name, server.base, tok, n, pages):
                        results.append((name, n, label, rps, p99, bad))
                finally:
                    server.stop()
                    if args.postgres:
                        bench.pg_sql(args.pg_url, f"DROP DATABASE IF EXISTS {key} WITH (FORCE)")
    finally:
        for s in list(bench.Server.live):
            s.stop()
    print(f"\n{'backend':10} {'target':10} {'rows':>10} {'page':16} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>8}")
    for name, n, label, rps, p99, bad in results:
        print(f"{'postgres' if args.postgres else 'sqlite':10} {name:10} {n:>10,} {label:16} "
              f"{rps:>10,.0f} {p99 or 0:>8.2f} {bad:>8}")


if __name__ == "__main__":
    main()
