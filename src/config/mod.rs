//! Settings from the environment (and a `.env` file), with the contract's names and
//! defaults. Built once in `main` and passed down; there is no global.
//!
//! [`vars`] is the one list of the variables read and their defaults; a test holds
//! the README's settings table to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use secrecy::SecretString;

use crate::db::Target;

pub const DEV_ORIGINS: &str = "http://localhost:5173,http://127.0.0.1:5173";

mod vars_table;
pub use vars_table::{vars, Var};

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub secret_key: SecretString,
    pub debug: bool,
    pub addr: String,
    /// Empty means any host (debug); otherwise the Host header must match one.
    pub allowed_hosts: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub csrf_trusted_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub rotate_refresh_tokens: bool,
    /// How long a rotated refresh token may be presented again (another browser tab)
    /// before that counts as theft and ends its whole login.
    pub refresh_reuse_grace: Duration,
    pub session_cookie_secure: bool,
    pub csrf_cookie_secure: bool,
    pub session_cookie_age: Duration,
    /// Bodies larger than this are refused with 413 (Django's 2.5 MB).
    pub body_limit: usize,
    pub pool_size: u32,
    /// Argon2id cost for new hashes (KiB, iterations); OWASP's minimum by default.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub secure_hsts_seconds: u64,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Failed logins allowed per window for one username.
    pub login_rate_limit: u32,
    /// Failed logins allowed per window from one client address.
    pub login_rate_limit_address: u32,
    /// Accounts that one client address may create per window.
    pub signup_rate_limit: u32,
    pub login_rate_window: Duration,
    pub log_json: bool,
    /// Comment lines sent on an idle message stream, so proxies keep it open.
    pub stream_heartbeat: Duration,
    /// Messages a stream client may fall behind before it is disconnected (it then
    /// resumes with `Last-Event-ID`).
    pub stream_buffer: usize,
    /// A connection whose peer takes no data for this long is closed (TCP user
    /// timeout), so a client that stopped reading holds nothing for long. Zero: the
    /// system's default.
    pub send_timeout: Duration,
    /// A built frontend to serve beside the API (`crate::frontend`).
    pub static_dir: Option<PathBuf>,
    /// A connection must send a request's head within this, when it opens and
    /// between requests (so it is also the keep-alive idle timeout); then it is closed.
    pub header_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// On SIGTERM, how long requests still running may take before the process
    /// exits anyway.
    pub shutdown_timeout: Duration,
    /// How long a request waits on PostgreSQL (a connection, a statement) before
    /// it is answered 503.
    pub database_timeout: Duration,
}

/// Reads one variable, treating empty as unset.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => bail!("{name}: expected true or false, got {other:?}"),
    }
}

/// Seconds, or a number with `s`, `m`, `h` or `d`.
pub fn parse_duration(name: &str, value: &str) -> anyhow::Result<Duration> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c),
        _ => (value, 's'),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .with_context(|| format!("{name}: not a duration: {value:?}"))?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86400,
        _ => bail!("{name}: unknown unit in {value:?} (use s, m, h or d)"),
    };
    Ok(Duration::from_secs(secs))
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{name}: not a number: {value:?}"))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Where the variables come from: the environment, or nothing at all for
/// [`Settings::with_database`]. Unset means empty.
struct Source<F>(F);

impl<F: Fn(&str) -> Option<String>> Source<F> {
    fn get(&self, var: &Var) -> Option<String> {
        (self.0)(var.name)
    }

    /// The variable, else its default (else empty).
    fn value(&self, var: &Var) -> String {
        self.get(var)
            .or_else(|| var.default.map(str::to_owned))
            .unwrap_or_default()
    }

    fn bool(&self, var: &Var) -> anyhow::Result<bool> {
        parse_bool(var.name, &self.value(var))
    }

    fn duration(&self, var: &Var) -> anyhow::Result<Duration> {
        parse_duration(var.name, &self.value(var))
    }

    fn positive_duration(&self, var: &Var) -> anyhow::Result<Duration> {
        let value = self.duration(var)?;
        if value.is_zero() {
            bail!("{}: must be above 0", var.name);
        }
        Ok(value)
    }

    fn number<T: std::str::FromStr>(&self, var: &Var) -> anyhow::Result<T> {
        parse_number(var.name, &self.value(var))
    }

    fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        var: &Var,
    ) -> anyhow::Result<T> {
        let value = self.number(var)?;
        if value <= T::default() {
            bail!("{}: must be above 0", var.name);
        }
        Ok(value)
    }

    /// A number whose default is worked out at start.
    fn number_or<T: std::str::FromStr>(
        &self,
        var: &Var,
        default: impl FnOnce() -> T,
    ) -> anyhow::Result<T> {
        self.get(var)
            .map_or_else(|| Ok(default()), |value| parse_number(var.name, &value))
    }

    fn list(&self, var: &Var) -> Vec<String> {
        list(&self.value(var))
    }

    /// A list whose default holds in debug mode only.
    fn debug_list(&self, var: &Var, debug: bool) -> Vec<String> {
        match self.get(var) {
            Some(value) => list(&value),
            None if debug => self.list(var),
            None => Vec::new(),
        }
    }
}

impl Settings {
    /// Loads `.env` (when present) and then the environment.
    pub fn load() -> anyhow::Result<Self> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(e).context("cannot read .env"),
        }
        Self::from_env()
    }

    pub fn from_env() -> anyhow::Result<Self> {
        let env = Source(var);
        let debug = env.bool(&vars::DEBUG)?;
        let database_url = env.value(&vars::DATABASE_URL);
        let target = Target::parse(&database_url)?;
        let secret_key = match env.get(&vars::SECRET_KEY) {
            Some(key) => key,
            None if debug => kept_secret_key(&target)?,
            None => bail!("SECRET_KEY is not set; it is required when DEBUG is off"),
        };
        Self::read(&env, database_url, secret_key, debug)
    }

    /// Debug defaults for a given database and key, without reading the environment
    /// (for tests and embedding).
    pub fn with_database(database_url: &str, secret_key: &str) -> Self {
        let none = Source(|_: &str| None);
        let mut settings = Self::read(&none, database_url.to_owned(), secret_key.to_owned(), true)
            .expect("the defaults in `vars` are valid");
        // any free port, and a pool that does not depend on the machine
        settings.addr = "127.0.0.1:0".to_owned();
        settings.pool_size = 8;
        settings
    }

    /// Everything but the database, the key and the mode, which decide defaults.
    fn read<F: Fn(&str) -> Option<String>>(
        env: &Source<F>,
        database_url: String,
        secret_key: String,
        debug: bool,
    ) -> anyhow::Result<Self> {
        use vars::*;
        Ok(Self {
            database_url,
            secret_key: SecretString::from(secret_key),
            debug,
            // PORT: Heroku and the platforms like it, which route to every interface
            addr: env
                .get(&HEARTH_ADDR)
                .or_else(|| {
                    env.get(&PORT)
                        .map(|port| format!("0.0.0.0:{}", port.trim()))
                })
                .unwrap_or_else(|| env.value(&HEARTH_ADDR)),
            allowed_hosts: env.list(&ALLOWED_HOSTS),
            cors_allowed_origins: env.debug_list(&CORS_ALLOWED_ORIGINS, debug),
            csrf_trusted_origins: env.debug_list(&CSRF_TRUSTED_ORIGINS, debug),
            cors_allow_credentials: env.bool(&CORS_ALLOW_CREDENTIALS)?,
            access_token_lifetime: env.duration(&ACCESS_TOKEN_LIFETIME)?,
            refresh_token_lifetime: env.duration(&REFRESH_TOKEN_LIFETIME)?,
            rotate_refresh_tokens: env.bool(&ROTATE_REFRESH_TOKENS)?,
            refresh_reuse_grace: env.duration(&REFRESH_REUSE_GRACE)?,
            session_cookie_secure: env.bool(&SESSION_COOKIE_SECURE)?,
            csrf_cookie_secure: env.bool(&CSRF_COOKIE_SECURE)?,
            session_cookie_age: env.duration(&SESSION_COOKIE_AGE)?,
            body_limit: env.number(&BODY_LIMIT)?,
            pool_size: env.number_or(&DATABASE_POOL_SIZE, || {
                let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
                u32::try_from(cores * 4).unwrap_or(8)
            })?,
            argon2_memory_kib: env.number(&ARGON2_MEMORY_KIB)?,
            argon2_iterations: env.number(&ARGON2_ITERATIONS)?,
            secure_hsts_seconds: env.number(&SECURE_HSTS_SECONDS)?,
            trusted_proxies: env.list(&TRUSTED_PROXIES),
            login_rate_limit: env.number(&LOGIN_RATE_LIMIT)?,
            login_rate_limit_address: env.number(&LOGIN_RATE_LIMIT_ADDRESS)?,
            signup_rate_limit: env.number(&SIGNUP_RATE_LIMIT)?,
            login_rate_window: env.duration(&LOGIN_RATE_WINDOW)?,
            log_json: env.bool(&LOG_JSON)?,
            stream_heartbeat: Duration::from_secs(env.positive(&STREAM_HEARTBEAT_SECONDS)?),
            stream_buffer: env.positive(&STREAM_BUFFER)?,
            send_timeout: env.duration(&SEND_TIMEOUT)?,
            static_dir: env.get(&STATIC_DIR).map(PathBuf::from),
            header_timeout: env.positive_duration(&HEADER_READ_TIMEOUT)?,
            max_connections: env.positive(&MAX_CONNECTIONS)?,
            shutdown_timeout: env.duration(&SHUTDOWN_TIMEOUT)?,
            database_timeout: env.positive_duration(&DATABASE_TIMEOUT)?,
        })
    }
}

/// The debug-mode key: generated once and kept beside the SQLite file (mode 0600),
/// or in the working directory for PostgreSQL.
fn kept_secret_key(target: &Target) -> anyhow::Result<String> {
    let dir = match target {
        Target::Sqlite(path) => Path::new(path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        Target::Postgres(_) => PathBuf::new(),
    };
    let file = dir.join(".hearth_secret_key");
    if let Ok(key) = std::fs::read_to_string(&file) {
        let key = key.trim().to_owned();
        if !key.is_empty() {
            return Ok(key);
        }
    }
    let key = crate::crypto::random_string(50);
    write_private(&file, &key)
        .with_context(|| format!("cannot keep the generated SECRET_KEY in {}", file.display()))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(file, contents)
}

#[cfg(test)]
mod tests;
