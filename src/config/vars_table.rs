//! The one list of the environment variables Hearth reads, with their defaults.

/// One environment variable that Hearth reads.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    /// Taken when the variable is unset or empty, written as it would be in the
    /// environment; `None` when there is no such value or it is worked out at start.
    pub default: Option<&'static str>,
    /// What the README shows after the default, or instead of one.
    pub note: &'static str,
    pub meaning: &'static str,
}

impl Var {
    /// The default as the README's settings table shows it.
    pub fn shown_default(&self) -> String {
        match (self.default, self.note) {
            (Some(value), "") => format!("`{value}`"),
            (Some(value), note) => format!("`{value}` {note}"),
            (None, note) => note.to_owned(),
        }
    }
}

macro_rules! vars {
    ($($name:ident { default: $default:expr, $(note: $note:literal,)? meaning: $meaning:literal $(,)? })*) => {
        $(
            pub const $name: Var = Var {
                name: stringify!($name),
                default: $default,
                note: concat!("" $(, $note)?),
                meaning: $meaning,
            };
        )*
        /// Every variable, in the README's order.
        pub const ALL: &[Var] = &[$($name),*];
    };
}

/// The variables, their defaults and what they do: the README's settings table.
pub mod vars {
    use super::Var;
    use crate::config::DEV_ORIGINS;

    vars! {
        DATABASE_URL { default: Some("sqlite://hearth.db"), meaning: "`sqlite://relative.db`, `sqlite:///absolute/path.db` or `postgres://user:pass@host:port/db[?sslmode=...&sslrootcert=...]`" }
        SECRET_KEY { default: None, note: "generated in debug", meaning: "signs JWTs and derives the other keys; required when `DEBUG` is off" }
        DEBUG { default: Some("true"), meaning: "debug mode: generated key, development CORS/CSRF origins" }
        HEARTH_ADDR { default: Some("127.0.0.1:8000"), meaning: "listen address (`serve --addr` overrides it)" }
        PORT { default: None, note: "unset", meaning: "when set and `HEARTH_ADDR` is not: listen on `0.0.0.0:$PORT` (Heroku and the like)" }
        ALLOWED_HOSTS { default: None, note: "empty (any host)", meaning: "accepted `Host` headers" }
        CORS_ALLOWED_ORIGINS { default: Some(DEV_ORIGINS), note: "in debug, else empty", meaning: "origins allowed by CORS" }
        CSRF_TRUSTED_ORIGINS { default: Some(DEV_ORIGINS), note: "in debug, else empty", meaning: "origins accepted by the CSRF check" }
        CORS_ALLOW_CREDENTIALS { default: Some("true"), meaning: "send `Access-Control-Allow-Credentials`" }
        ACCESS_TOKEN_LIFETIME { default: Some("30m"), meaning: "JWT access token lifetime" }
        REFRESH_TOKEN_LIFETIME { default: Some("1d"), meaning: "JWT refresh token lifetime" }
        ROTATE_REFRESH_TOKENS { default: Some("true"), meaning: "refreshing returns a new refresh token and blacklists the old one" }
        REFRESH_REUSE_GRACE { default: Some("10s"), meaning: "how long a rotated refresh token may be presented again (another tab) before that counts as theft and ends its login" }
        SESSION_COOKIE_SECURE { default: Some("false"), meaning: "`Secure` flag on the session cookie" }
        CSRF_COOKIE_SECURE { default: Some("false"), meaning: "`Secure` flag on the CSRF cookie" }
        SESSION_COOKIE_AGE { default: Some("1209600"), note: "(2 weeks)", meaning: "session lifetime" }
        SECURE_HSTS_SECONDS { default: Some("0"), note: "(off)", meaning: "`Strict-Transport-Security` max-age" }
        BODY_LIMIT { default: Some("2621440"), note: "(2.5 MB)", meaning: "larger request bodies get 413" }
        DATABASE_POOL_SIZE { default: None, note: "4 × cores", meaning: "database connections of the server" }
        ARGON2_MEMORY_KIB { default: Some("19456"), meaning: "argon2id memory cost of new password hashes" }
        ARGON2_ITERATIONS { default: Some("2"), meaning: "argon2id time cost" }
        TRUSTED_PROXIES { default: None, note: "empty", meaning: "proxy addresses whose `X-Forwarded-For` is believed" }
        LOGIN_RATE_LIMIT { default: Some("10"), meaning: "failed logins allowed per window for one username" }
        LOGIN_RATE_LIMIT_ADDRESS { default: Some("50"), meaning: "failed logins allowed per window from one client address" }
        LOGIN_RATE_WINDOW { default: Some("5m"), meaning: "that window (also the sign-up window)" }
        SIGNUP_RATE_LIMIT { default: Some("200"), meaning: "sign-ups per client address per window; counted once a sign-up passes validation and before its password is hashed, so refused ones (a taken name, a weak password) do not count and the hashing stays bounded" }
        LOG_JSON { default: Some("false"), meaning: "log as JSON lines" }
        STREAM_HEARTBEAT_SECONDS { default: Some("15"), meaning: "comment lines on an idle `/api/messages/stream`, so proxies keep it open; each open stream also checks its login this often, and ends when it ended" }
        STREAM_BUFFER { default: Some("1024"), meaning: "messages a stream client may fall behind before it is disconnected (it resumes with `Last-Event-ID`)" }
        SEND_TIMEOUT { default: Some("60s"), meaning: "a connection whose client takes no data for this long is closed (Linux `TCP_USER_TIMEOUT`); `0` leaves it to the system" }
        STATIC_DIR { default: None, note: "empty (none)", meaning: "a built frontend to serve beside the API (`serve --static DIR` overrides it); see [The example frontend](#the-example-frontend)" }
        HEADER_READ_TIMEOUT { default: Some("30s"), meaning: "a connection must send a request's head within this, when it opens and between requests (so also the keep-alive idle timeout), or it is closed, to within a tenth of this; streams are not affected" }
        MAX_CONNECTIONS { default: Some("10000"), meaning: "connections served at once (more wait to be accepted); lowered to fit the open-file limit, whose soft value is raised to the hard one at start" }
        SHUTDOWN_TIMEOUT { default: Some("30s"), meaning: "on SIGTERM, how long requests still running may take" }
        DATABASE_TIMEOUT { default: Some("4s"), meaning: "PostgreSQL: a request waiting longer on it (connecting, a pooled connection, a statement) is answered 503; also the statement timeout, `connect_timeout` and `tcp_user_timeout` of every connection" }
        RUST_LOG { default: Some("info,tower_http=warn"), meaning: "log filter" }
    }
}
