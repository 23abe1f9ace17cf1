//! `hearth check [--deploy]`: Django's system check, for the settings Hearth has.
//! With `--deploy`, the warnings of Django's deployment checklist
//! (`security.W0xx`, same ids and texts where Django has one).

use secrecy::ExposeSecret as _;

use crate::config::{vars, Settings};
use crate::db::{Backend, PgUrl, Target, TlsMode};

/// One warning: Django's check id and its text.
struct Issue {
    id: &'static str,
    message: String,
}

pub fn check(settings: &Settings, deploy: bool) {
    let issues = if deploy {
        deploy_issues(settings, secret_key_generated())
    } else {
        Vec::new()
    };
    print!("{}", report(&issues));
}

/// True when SECRET_KEY came from neither the environment nor `.env`, so the
/// settings generated one (kept in `.hearth_secret_key`).
fn secret_key_generated() -> bool {
    crate::config::var(vars::SECRET_KEY.name).is_none()
}

fn deploy_issues(settings: &Settings, generated_key: bool) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut warn = |id, message: &str| {
        issues.push(Issue {
            id,
            message: message.to_owned(),
        });
    };
    if settings.secure_hsts_seconds == 0 {
        warn(
            "security.W004",
            "You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site \
             is served only over SSL, you may want to consider setting a value and enabling HTTP \
             Strict Transport Security. Be sure to read the documentation first; enabling HSTS \
             carelessly can cause serious, irreversible problems.",
        );
    }
    let key = settings.secret_key.expose_secret();
    let unique = key.chars().collect::<std::collections::HashSet<_>>().len();
    if generated_key {
        warn(
            "security.W009",
            "SECRET_KEY is not set, so Hearth generated one and keeps it in .hearth_secret_key \
             beside the database. Set SECRET_KEY to a long random value that every instance \
             shares and that is kept out of the database's backups.",
        );
    } else if key.chars().count() < 50 || unique < 5 {
        warn(
            "security.W009",
            "Your SECRET_KEY has less than 50 characters or less than 5 unique characters. \
             Please generate a long and random value, otherwise many of Hearth's \
             security-critical features will be vulnerable to attack.",
        );
    }
    if !settings.session_cookie_secure {
        warn(
            "security.W012",
            "SESSION_COOKIE_SECURE is not set to True. Using a secure-only session cookie makes \
             it more difficult for network traffic sniffers to hijack user sessions.",
        );
    }
    if !settings.csrf_cookie_secure {
        warn(
            "security.W016",
            "CSRF_COOKIE_SECURE is not set to True. Using a secure-only CSRF cookie makes it \
             more difficult for network traffic sniffers to steal the CSRF token.",
        );
    }
    if settings.debug {
        warn(
            "security.W018",
            "You should not have DEBUG set to True in deployment.",
        );
    }
    if settings.allowed_hosts.is_empty() {
        warn(
            "security.W020",
            "ALLOWED_HOSTS must not be empty in deployment.",
        );
    }
    let sqlite =
        Target::parse(&settings.database_url).is_ok_and(|t| t.backend() == Backend::Sqlite);
    if sqlite {
        warn(
            "hearth.W001",
            "DATABASE_URL is a SQLite file: fine for one instance on one machine, with backups \
             of that file. To run several instances, or for a heavy write load, use PostgreSQL \
             (DATABASE_URL=postgres://...).",
        );
    }
    if let Some(host) = unprotected_pg_host(settings) {
        warn(
            "hearth.W002",
            &format!(
                "DATABASE_URL reaches PostgreSQL at {host} without verified TLS: passwords \
                 and data can be read or changed on the way. Add sslmode=verify-full and \
                 sslrootcert=/path/to/ca.pem (or at least sslmode=require) to DATABASE_URL."
            ),
        );
    }
    let tls_said = settings.secure_hsts_seconds > 0 || !settings.trusted_proxies.is_empty();
    if tls_said && !(settings.session_cookie_secure && settings.csrf_cookie_secure) {
        warn(
            "hearth.W003",
            "SECURE_HSTS_SECONDS or TRUSTED_PROXIES (a proxy that sends X-Forwarded-Proto: \
             https) say the site is served over HTTPS, but SESSION_COOKIE_SECURE or \
             CSRF_COOKIE_SECURE is off: the cookies would also go out over plain HTTP. Set \
             both to true.",
        );
    }
    if settings.header_timeout > std::time::Duration::from_secs(60) {
        warn(
            "hearth.W004",
            "HEADER_READ_TIMEOUT is over a minute: idle and slow connections are held that \
             long, and many of them can lock other clients out.",
        );
    }
    issues
}

/// The host of a PostgreSQL `DATABASE_URL` reached over the network without
/// verified TLS (`sslmode` disable, allow or prefer, the default); `None` for a
/// local one (loopback, a Unix socket) or one that TLS protects.
fn unprotected_pg_host(settings: &Settings) -> Option<String> {
    let Ok(Target::Postgres(url)) = Target::parse(&settings.database_url) else {
        return None;
    };
    let pg = PgUrl::parse(&url, settings.database_timeout).ok()?;
    if !matches!(pg.mode, TlsMode::Disable | TlsMode::Prefer) {
        return None;
    }
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let from_query = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.into_owned());
    let hosts = from_query.unwrap_or_else(|| hosts.to_owned());
    hosts
        .split(',')
        .map(|h| {
            // `[::1]:5432`, `db:5432`, `db`
            let h = h.trim();
            match h.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
                None => h.split(':').next().unwrap_or_default().to_owned(),
            }
        })
        .find(|h| !is_local(h))
}

fn is_local(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Django's layout: the warnings, then "System check identified N issues (0 silenced)."
fn report(issues: &[Issue]) -> String {
    let mut out = String::new();
    if !issues.is_empty() {
        out.push_str("System check identified some issues:\n\nWARNINGS:\n");
        for issue in issues {
            out.push_str(&format!("?: ({}) {}\n", issue.id, issue.message));
        }
        out.push('\n');
    }
    let count = match issues.len() {
        0 => "no issues".to_owned(),
        1 => "1 issue".to_owned(),
        n => format!("{n} issues"),
    };
    out.push_str(&format!("System check identified {count} (0 silenced).\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_defaults_fail_the_deploy_checklist() {
        let settings = Settings::with_database("sqlite://hearth.db", "short");
        let ids: Vec<_> = deploy_issues(&settings, false)
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(
            ids,
            [
                "security.W004",
                "security.W009",
                "security.W012",
                "security.W016",
                "security.W018",
                "security.W020",
                "hearth.W001"
            ]
        );
    }

    #[test]
    fn plain_postgres_over_the_network_and_cookies_sent_in_clear_are_warned_of() {
        let ids = |url: &str, hsts: u64, proxies: &[&str]| {
            let mut settings = Settings::with_database(url, "k");
            settings.secure_hsts_seconds = hsts;
            settings.trusted_proxies = proxies.iter().map(|p| (*p).to_owned()).collect();
            deploy_issues(&settings, false)
                .iter()
                .map(|i| i.id)
                .filter(|id| id.starts_with("hearth."))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids("postgres://u@db.example.com/h", 0, &[]),
            ["hearth.W002"]
        );
        assert_eq!(
            ids("postgres://u@db:5432/h?sslmode=disable", 0, &[]),
            ["hearth.W002"]
        );
        assert!(ids("postgres://u@db/h?sslmode=require", 0, &[]).is_empty());
        assert!(ids("postgres://u@db/h?sslmode=verify-full", 0, &[]).is_empty());
        assert!(ids("postgres://u@127.0.0.1:5432/h", 0, &[]).is_empty());
        assert!(ids("postgres://u@localhost,[::1]/h", 0, &[]).is_empty());
        assert!(ids("postgres:///h?host=%2Fvar%2Frun%2Fpostgresql", 0, &[]).is_empty());
        assert_eq!(ids("postgres://u@localhost/h", 3600, &[]), ["hearth.W003"]);
        assert_eq!(
            ids("postgres://u@localhost/h", 0, &["10.0.0.2"]),
            ["hearth.W003"]
        );
    }

    #[test]
    fn a_hardened_postgres_deployment_passes() {
        let key = "k".repeat(10) + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
        let mut settings =
            Settings::with_database("postgres://hearth@db/hearth?sslmode=verify-full", &key);
        settings.debug = false;
        settings.session_cookie_secure = true;
        settings.csrf_cookie_secure = true;
        settings.secure_hsts_seconds = 31_536_000;
        settings.allowed_hosts = vec!["api.example.com".into()];
        let issues = deploy_issues(&settings, false);
        assert!(issues.is_empty(), "{}", report(&issues));
        assert_eq!(
            report(&issues),
            "System check identified no issues (0 silenced).\n"
        );
    }
}
