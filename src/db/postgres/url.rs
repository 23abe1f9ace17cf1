//! How Hearth reaches PostgreSQL: TLS as `sslmode` and `sslrootcert` in
//! `DATABASE_URL` ask (as libpq does), and bounds on every wait, for the pooled
//! connections (libpq) and Hearth's own (tokio-postgres) alike.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> anyhow::Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq's `allow` tries without TLS first; Hearth tries with it
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => bail!("DATABASE_URL: unknown sslmode {other:?}"),
        })
    }
}

/// `DATABASE_URL` for PostgreSQL, read once.
#[derive(Debug, Clone)]
pub struct PgUrl {
    /// For libpq, which reads `sslmode` and `sslrootcert` itself, with Hearth's
    /// bounds added where the URL sets none.
    pub libpq: String,
    /// For tokio-postgres, which knows neither option.
    plain: String,
    pub mode: TlsMode,
    rootcert: Option<String>,
    pub timeout: Duration,
}

impl PgUrl {
    /// `timeout` bounds connecting, each statement, and unacknowledged sends.
    pub fn parse(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = TlsMode::Prefer;
        let mut rootcert = None;
        let mut kept = form_urlencoded::Serializer::new(String::new());
        let mut given = Vec::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            given.push(key.to_string());
            match &*key {
                "sslmode" => mode = TlsMode::parse(&value)?,
                "sslrootcert" => rootcert = Some(value.into_owned()),
                _ => {
                    kept.append_pair(&key, &value);
                }
            }
        }
        let kept = kept.finish();
        let plain = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{kept}")
        };
        // a peer that vanished without a word is noticed within a minute or so; a
        // send it never acknowledges, within `timeout`
        let secs = timeout.as_secs().max(2).to_string();
        let millis = timeout.as_millis().to_string();
        let bounds = [
            ("connect_timeout", secs.as_str()),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", millis.as_str()),
        ];
        let mut libpq = url.to_owned();
        for (key, value) in bounds {
            if !given.iter().any(|g| g == key) {
                libpq.push(if libpq.contains('?') { '&' } else { '?' });
                libpq.push_str(&format!("{key}={value}"));
            }
        }
        Ok(Self {
            libpq,
            plain,
            mode,
            rootcert,
            timeout,
        })
    }

    /// True when the server's certificate is checked against a root.
    fn verifies(&self) -> bool {
        match self.mode {
            TlsMode::VerifyCa | TlsMode::VerifyFull => true,
            // libpq: `require` with a root certificate is `verify-ca`
            TlsMode::Require => self.rootcert.is_some(),
            TlsMode::Disable | TlsMode::Prefer => false,
        }
    }

    /// True when every host the URL names is this machine (a loopback address or
    /// a Unix socket): PostgreSQL then runs on the cores Hearth runs on.
    pub fn on_this_machine(&self) -> bool {
        use tokio_postgres::config::Host;
        let Ok(config) = self.plain.parse::<tokio_postgres::Config>() else {
            return false;
        };
        let hosts = config.get_hosts();
        !hosts.is_empty()
            && hosts.iter().all(|host| match host {
                Host::Tcp(name) => {
                    name == "localhost"
                        || name
                            .trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
                Host::Unix(_) => true,
            })
    }

    /// A tokio-postgres configuration named for `pg_stat_activity`.
    pub fn config(&self, name: &str) -> anyhow::Result<tokio_postgres::Config> {
        let mut config: tokio_postgres::Config = self.plain.parse()?;
        config
            .application_name(name)
            .ssl_mode(match self.mode {
                TlsMode::Disable => SslMode::Disable,
                TlsMode::Prefer => SslMode::Prefer,
                _ => SslMode::Require,
            })
            .connect_timeout(self.timeout)
            .tcp_user_timeout(self.timeout)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        Ok(config)
    }

    /// The TLS side of a tokio-postgres connection, checking what `sslmode` asks.
    pub fn tls(&self) -> anyhow::Result<MakeTlsConnector> {
        let mut builder = SslConnector::builder(SslMethod::tls_client())?;
        if self.verifies() {
            match self.rootcert.as_deref() {
                Some("system") => builder.set_default_verify_paths()?,
                Some(file) => builder
                    .set_ca_file(file)
                    .with_context(|| format!("cannot read sslrootcert {file}"))?,
                None => {
                    let file = default_root().filter(|f| f.exists()).context(
                        "sslmode asks to verify the server's certificate, but no \
                                  sslrootcert is given and ~/.postgresql/root.crt does not exist",
                    )?;
                    builder.set_ca_file(&file)?;
                }
            }
            builder.set_verify(SslVerifyMode::PEER);
        } else {
            builder.set_verify(SslVerifyMode::NONE);
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        if self.mode != TlsMode::VerifyFull {
            connector.set_callback(|config, _| {
                config.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(connector)
    }

    /// Opens a connection of Hearth's own beside the pool.
    pub async fn connect(
        &self,
        name: &str,
    ) -> anyhow::Result<(
        tokio_postgres::Client,
        tokio_postgres::Connection<
            tokio_postgres::Socket,
            postgres_openssl::TlsStream<tokio_postgres::Socket>,
        >,
    )> {
        let config = self.config(name)?;
        let tls = self.tls()?;
        // connect_timeout bounds each address; this, the whole handshake
        let connecting = config.connect(tls);
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(connected) => Ok(connected?),
            Err(_) => bail!("PostgreSQL did not answer within {:?}", self.timeout),
        }
    }
}

fn default_root() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".postgresql/root.crt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_options_go_to_libpq_only() {
        let url = PgUrl::parse(
            "postgres://u@db/h?sslmode=verify-full&sslrootcert=%2Fca.pem&connect_timeout=9",
            Duration::from_secs(4),
        )
        .unwrap();
        assert_eq!(url.mode, TlsMode::VerifyFull);
        assert_eq!(url.rootcert.as_deref(), Some("/ca.pem"));
        assert_eq!(url.plain, "postgres://u@db/h?connect_timeout=9");
        assert!(url.libpq.starts_with(
            "postgres://u@db/h?sslmode=verify-full&sslrootcert=%2Fca.pem&connect_timeout=9&keepalives=1"
        ));
        assert!(url.libpq.ends_with("&tcp_user_timeout=4000"));
        assert!(!url.libpq.contains("connect_timeout=4"));
        url.config("x").unwrap();

        let url = PgUrl::parse("postgres://u@db/h", Duration::from_secs(4)).unwrap();
        assert_eq!(url.mode, TlsMode::Prefer);
        assert!(url
            .libpq
            .starts_with("postgres://u@db/h?connect_timeout=4&"));
        assert!(PgUrl::parse("postgres://u@db/h?sslmode=maybe", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_loopback_or_socket_host_is_this_machine() {
        let local = |url: &str| {
            PgUrl::parse(url, Duration::from_secs(1))
                .unwrap()
                .on_this_machine()
        };
        assert!(local("postgres://u@127.0.0.1:5432/h"));
        assert!(local("postgres://u@localhost/h?sslmode=disable"));
        assert!(local("postgres://u@[::1]/h"));
        assert!(local("postgres://u@%2Fvar%2Frun%2Fpostgresql/h"));
        assert!(!local("postgres://u@db.example.com/h"));
        assert!(!local("postgres://u@10.0.0.7/h"));
        assert!(!local("postgres://u@127.0.0.1,db.example.com/h"));
    }

    #[test]
    fn require_with_a_root_certificate_verifies_it() {
        let parse = |q| PgUrl::parse(&format!("postgres://db/h?{q}"), Duration::from_secs(1));
        assert!(!parse("sslmode=require").unwrap().verifies());
        assert!(parse("sslmode=require&sslrootcert=/x").unwrap().verifies());
        assert!(parse("sslmode=verify-ca").unwrap().verifies());
        assert!(!parse("sslmode=disable").unwrap().verifies());
    }
}
