//! Settings from the environment (and a `.env` file), with the contract's names and
//! defaults. Built once in `main` and passed down; there is no global.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use secrecy::SecretString;

use crate::db::Target;

pub const DEV_ORIGINS: &str = "http://localhost:5173,http://127.0.0.1:5173";

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
}

/// Reads one variable, treating empty as unset.
fn var(name: &str) -> Option<String> {
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

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn bool_var(name: &str, default: bool) -> anyhow::Result<bool> {
    var(name).map_or(Ok(default), |v| parse_bool(name, &v))
}

fn duration_var(name: &str, default: Duration) -> anyhow::Result<Duration> {
    var(name).map_or(Ok(default), |v| parse_duration(name, &v))
}

fn number_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: not a number: {v:?}")),
    }
}

fn positive_var<T: std::str::FromStr + PartialOrd + Default>(
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    let value = number_var(name, default)?;
    if value <= T::default() {
        bail!("{name}: must be above 0");
    }
    Ok(value)
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
        let debug = bool_var("DEBUG", true)?;
        let database_url = var("DATABASE_URL").unwrap_or_else(|| "sqlite://hearth.db".to_owned());
        let target = Target::parse(&database_url)?;
        let secret_key = match var("SECRET_KEY") {
            Some(key) => key,
            None if debug => kept_secret_key(&target)?,
            None => bail!("SECRET_KEY is not set; it is required when DEBUG is off"),
        };
        let dev_default = if debug { DEV_ORIGINS } else { "" };
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            database_url,
            secret_key: SecretString::from(secret_key),
            debug,
            addr: var("HEARTH_ADDR").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            allowed_hosts: list(&var("ALLOWED_HOSTS").unwrap_or_default()),
            cors_allowed_origins: list(
                &var("CORS_ALLOWED_ORIGINS").unwrap_or_else(|| dev_default.to_owned()),
            ),
            csrf_trusted_origins: list(
                &var("CSRF_TRUSTED_ORIGINS").unwrap_or_else(|| dev_default.to_owned()),
            ),
            cors_allow_credentials: bool_var("CORS_ALLOW_CREDENTIALS", true)?,
            access_token_lifetime: duration_var(
                "ACCESS_TOKEN_LIFETIME",
                Duration::from_secs(30 * 60),
            )?,
            refresh_token_lifetime: duration_var(
                "REFRESH_TOKEN_LIFETIME",
                Duration::from_secs(86400),
            )?,
            rotate_refresh_tokens: bool_var("ROTATE_REFRESH_TOKENS", true)?,
            refresh_reuse_grace: duration_var("REFRESH_REUSE_GRACE", Duration::from_secs(10))?,
            session_cookie_secure: bool_var("SESSION_COOKIE_SECURE", false)?,
            csrf_cookie_secure: bool_var("CSRF_COOKIE_SECURE", false)?,
            session_cookie_age: duration_var("SESSION_COOKIE_AGE", Duration::from_secs(1_209_600))?,
            body_limit: number_var("BODY_LIMIT", 2_621_440)?,
            pool_size: number_var("DATABASE_POOL_SIZE", u32::try_from(cores * 4).unwrap_or(8))?,
            argon2_memory_kib: number_var("ARGON2_MEMORY_KIB", 19_456)?,
            argon2_iterations: number_var("ARGON2_ITERATIONS", 2)?,
            secure_hsts_seconds: number_var("SECURE_HSTS_SECONDS", 0)?,
            trusted_proxies: list(&var("TRUSTED_PROXIES").unwrap_or_default()),
            login_rate_limit: number_var("LOGIN_RATE_LIMIT", 10)?,
            login_rate_limit_address: number_var("LOGIN_RATE_LIMIT_ADDRESS", 50)?,
            signup_rate_limit: number_var("SIGNUP_RATE_LIMIT", 200)?,
            login_rate_window: duration_var("LOGIN_RATE_WINDOW", Duration::from_secs(300))?,
            log_json: bool_var("LOG_JSON", false)?,
            stream_heartbeat: Duration::from_secs(positive_var("STREAM_HEARTBEAT_SECONDS", 15)?),
            stream_buffer: positive_var("STREAM_BUFFER", 1024)?,
            send_timeout: duration_var("SEND_TIMEOUT", Duration::from_secs(60))?,
        })
    }
}

impl Settings {
    /// Debug defaults for a given database and key, without reading the environment
    /// (for tests and embedding).
    pub fn with_database(database_url: &str, secret_key: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            secret_key: SecretString::from(secret_key.to_owned()),
            debug: true,
            addr: "127.0.0.1:0".to_owned(),
            allowed_hosts: Vec::new(),
            cors_allowed_origins: list(DEV_ORIGINS),
            csrf_trusted_origins: list(DEV_ORIGINS),
            cors_allow_credentials: true,
            access_token_lifetime: Duration::from_secs(30 * 60),
            refresh_token_lifetime: Duration::from_secs(86400),
            rotate_refresh_tokens: true,
            refresh_reuse_grace: Duration::from_secs(10),
            session_cookie_secure: false,
            csrf_cookie_secure: false,
            session_cookie_age: Duration::from_secs(1_209_600),
            body_limit: 2_621_440,
            pool_size: 8,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            secure_hsts_seconds: 0,
            trusted_proxies: Vec::new(),
            login_rate_limit: 10,
            login_rate_limit_address: 50,
            signup_rate_limit: 200,
            login_rate_window: Duration::from_secs(300),
            log_json: false,
            stream_heartbeat: Duration::from_secs(15),
            stream_buffer: 1024,
            send_timeout: Duration::from_secs(60),
        }
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
    let key = crate::auth::crypto::random_string(50);
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
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("x", "90").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("x", "30m").unwrap(),
            Duration::from_secs(1800)
        );
        assert_eq!(
            parse_duration("x", "1d").unwrap(),
            Duration::from_secs(86400)
        );
        assert!(parse_duration("x", "soon").is_err());
    }
}
