//! The test app: `TestApp::spawn(Backend)` serves Hearth on `127.0.0.1:0` over a fresh
//! database; `both_backends!` expands each test into a `sqlite` and a `postgres` case.
//!
//! PostgreSQL: `HEARTH_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! names a server where each test creates and drops its own database. When it cannot
//! be reached the PostgreSQL cases say so and pass, unless `HEARTH_REQUIRE_POSTGRES=1`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
pub use hearth::db::Backend;
use hearth::{app::AppState, config::Settings, db::Db};
pub use reqwest::{Client, Response, StatusCode};
pub use serde_json::{json, Value};

pub const PASSWORD: &str = "Tr0ub4dor&3-test";
pub const SECRET: &str = "test-secret-key-for-hearth-tests-0123456789";

/// Runs each test body once per backend, as `<name>::sqlite` and `<name>::postgres`.
/// Settings can be changed with `|settings| { ... }` before the body.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite, |_| {}).await.unwrap();
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres, |_| {}).await else { return };
                $body
            }
        }
    )*};
    ($(async fn $name:ident($app:ident, |$settings:ident| $configure:block) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite, |$settings| $configure).await.unwrap();
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres, |$settings| $configure).await else { return };
                $body
            }
        }
    )*};
}
pub use crate::both_backends;

fn pg_server_url() -> String {
    std::env::var("HEARTH_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn pg_required() -> bool {
    std::env::var("HEARTH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

static PG_SKIP_SAID: AtomicBool = AtomicBool::new(false);

/// A database made for one test and dropped after it.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Postgres { server, name } = self {
            if let Ok(mut conn) = PgConnection::establish(server) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub state: AppState,
    pub backend: Backend,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _store: Store,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// `None` only for PostgreSQL when it cannot be reached and is not required.
    pub async fn spawn(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<Self> {
        let (url, store) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("hearth.db").display());
                (url, Store::Sqlite(dir))
            }
            Backend::Postgres => {
                let server = pg_server_url();
                let name = format!("hearth_test_{}", uuid_hex());
                let created = tokio::task::spawn_blocking({
                    let (server, name) = (server.clone(), name.clone());
                    move || -> Result<(), String> {
                        let mut conn = PgConnection::establish(&server).map_err(|e| e.to_string())?;
                        conn.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())
                    }
                })
                .await
                .unwrap();
                if let Err(e) = created {
                    assert!(!pg_required(), "PostgreSQL is required (HEARTH_REQUIRE_POSTGRES=1) but: {e}");
                    if !PG_SKIP_SAID.swap(true, Ordering::Relaxed) {
                        eprintln!("SKIPPED: the PostgreSQL cases (cannot reach {server}: {e})");
                    }
                    return None;
                }
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b).to_owned();
                (format!("{base}/{name}"), Store::Postgres { server, name })
            }
        };
        let mut settings = Settings::with_database(&url, SECRET);
        // fast hashes in tests; the default cost has its own test
        settings.argon2_memory_kib = 1024;
        settings.argon2_iterations = 1;
        settings.pool_size = 4;
        configure(&mut settings);
        let db = tokio::task::spawn_blocking(move || {
            let db = Db::connect(&url, 4).unwrap();
            db.migrate().unwrap();
            db
        })
        .await
        .unwrap();
        let state = AppState::new(settings, db.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            hearth::app::serve(listener, served, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Some(Self { base, db, state, backend, shutdown: Some(tx), _store: store })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with no credentials and no cookie store.
    pub fn anon(&self) -> Client {
        Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
    }

    /// A client that keeps cookies, as a browser does.
    pub fn browser(&self) -> Client {
        Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build().unwrap()
    }

    /// A new active user, written straight to the database, with an access token.
    pub async fn user(&self, prefix: &str) -> Actor {
        self.make_user(prefix, false, false).await
    }

    pub async fn staff(&self, prefix: &str) -> Actor {
        self.make_user(prefix, true, false).await
    }

    pub async fn superuser(&self, prefix: &str) -> Actor {
        self.make_user(prefix, true, true).await
    }

    async fn make_user(&self, prefix: &str, is_staff: bool, is_superuser: bool) -> Actor {
        let username = format!("{prefix}_{}", &uuid_hex()[..8]);
        let hash = self.state.hasher.hash(PASSWORD.to_owned()).await.unwrap();
        let name = username.clone();
        let user = self
            .db
            .run(move |conn| {
                hearth::auth::users::create(
                    conn,
                    &hearth::auth::users::NewUser {
                        username: &name,
                        email: "",
                        password: &hash,
                        is_staff,
                        is_superuser,
                        date_joined: hearth::time::now(),
                    },
                )
            })
            .await
            .unwrap()
            .unwrap();
        let (access, _) = hearth::auth::jwt::mint(
            &self.state.keys,
            hearth::auth::jwt::Kind::Access,
            user.id,
            Duration::from_secs(600),
            0,
            None,
        );
        Actor { id: user.id, username, password: PASSWORD.to_owned(), access, base: self.base.clone(), client: self.anon() }
    }

    /// Rows in a table, to check that bad input wrote nothing.
    pub async fn count(&self, table: &'static str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db
            .run(move |conn| {
                let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(conn)?;
                Ok(c.n)
            })
            .await
            .unwrap()
    }
}

fn uuid_hex() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{:x}", std::process::id(), nanos, n)
}

/// A user with a Bearer access token; `get`/`post`/... send it.
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub access: String,
    pub base: String,
    pub client: Client,
}

impl Actor {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{}", self.base, path)).bearer_auth(&self.access)
    }
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }
    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PUT, path)
    }
    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::DELETE, path)
    }
}

/// Status and JSON body of a response, with the body in the failure message.
pub async fn json_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// Asserts the status and returns the JSON body.
pub async fn expect(r: Response, status: u16) -> Value {
    let method_url = r.url().to_string();
    let (got, body) = json_of(r).await;
    assert_eq!(got.as_u16(), status, "{method_url} -> {got} {body}");
    body
}
