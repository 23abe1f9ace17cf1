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
use hearth::{config::Settings, db::Db, state::AppState};
pub use reqwest::{Client, Response, StatusCode};
pub use serde_json::{json, Value};

pub const PASSWORD: &str = "Tr0ub4dor&3-test";
pub const SECRET: &str = "test-secret-key-for-hearth-tests-0123456789";

/// Runs each test body once per backend, as `<name>::sqlite` and `<name>::postgres`.
/// Settings can be changed with `|settings| { ... }` before the body; both forms mix in one invocation.
#[macro_export]
macro_rules! both_backends {
    () => {};
    (async fn $name:ident($app:ident) $body:block $($rest:tt)*) => {
        $crate::both_backends!(@case $name, $app, |_| {}, $body);
        $crate::both_backends!($($rest)*);
    };
    (async fn $name:ident($app:ident, |$settings:ident| $configure:block) $body:block $($rest:tt)*) => {
        $crate::both_backends!(@case $name, $app, |$settings| $configure, $body);
        $crate::both_backends!($($rest)*);
    };
    (@case $name:ident, $app:ident, $configure:expr, $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite, $configure).await.unwrap();
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres, $configure).await else { return };
                $body
            }
        }
    };
}
pub use crate::both_backends;

pub fn pg_server_url() -> String {
    std::env::var("HEARTH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn pg_required() -> bool {
    std::env::var("HEARTH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

static PG_SKIP_SAID: AtomicBool = AtomicBool::new(false);

/// A database made for one test and dropped after it.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres {
        server: String,
        name: String,
    },
    /// Another `TestApp`'s, dropped with it.
    Shared,
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
                        let mut conn =
                            PgConnection::establish(&server).map_err(|e| e.to_string())?;
                        conn.batch_execute(&format!("CREATE DATABASE {name}"))
                            .map_err(|e| e.to_string())
                    }
                })
                .await
                .unwrap();
                if let Err(e) = created {
                    assert!(
                        !pg_required(),
                        "PostgreSQL is required (HEARTH_REQUIRE_POSTGRES=1) but: {e}"
                    );
                    if !PG_SKIP_SAID.swap(true, Ordering::Relaxed) {
                        eprintln!("SKIPPED: the PostgreSQL cases (cannot reach {server}: {e})");
                    }
                    return None;
                }
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(b, _)| b)
                    .to_owned();
                (format!("{base}/{name}"), Store::Postgres { server, name })
            }
        };
        let mut settings = Settings::with_database(&url, SECRET);
        // fast hashes in tests; the default cost has its own test
        settings.argon2_memory_kib = 1024;
        settings.argon2_iterations = 1;
        settings.pool_size = 4;
        configure(&mut settings);
        // the settings may send it elsewhere (through a proxy that a test cuts)
        let url = settings.database_url.clone();
        let timeout = settings.database_timeout;
        let db = tokio::task::spawn_blocking(move || {
            let db = Db::connect_with(&url, 4, timeout).unwrap();
            db.migrate().unwrap();
            db
        })
        .await
        .unwrap();
        Some(Self::serve(settings, db, backend, store).await)
    }

    /// Another instance on this app's database and settings, as behind a load balancer.
    pub async fn sibling(&self) -> Self {
        let settings = (*self.state.settings).clone();
        let url = settings.database_url.clone();
        let timeout = settings.database_timeout;
        let db = tokio::task::spawn_blocking(move || Db::connect_with(&url, 4, timeout).unwrap())
            .await
            .unwrap();
        Self::serve(settings, db, self.backend, Store::Shared).await
    }

    async fn serve(settings: Settings, db: Db, backend: Backend, store: Store) -> Self {
        let state = AppState::new(settings, db.clone(), hearth::domains::messages::feed::FEED);
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
        Self {
            base,
            db,
            state,
            backend,
            shutdown: Some(tx),
            _store: store,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with no credentials and no cookie store.
    pub fn anon(&self) -> Client {
        Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A client that keeps cookies, as a browser does.
    pub fn browser(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
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
        Actor {
            id: user.id,
            username,
            password: PASSWORD.to_owned(),
            access,
            base: self.base.clone(),
            client: self.anon(),
        }
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
                let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                    .get_result(conn)?;
                Ok(c.n)
            })
            .await
            .unwrap()
    }
}

pub fn uuid_hex() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
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
        self.client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.access)
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
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Posts a message as `actor`; its body, after checking the 201.
pub async fn post_message(actor: &Actor, text: &str) -> Value {
    let r = actor
        .post("/api/messages")
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    expect(r, 201).await
}

/// Asserts the status and returns the JSON body.
pub async fn expect(r: Response, status: u16) -> Value {
    let method_url = r.url().to_string();
    let (got, body) = json_of(r).await;
    assert_eq!(got.as_u16(), status, "{method_url} -> {got} {body}");
    body
}

pub const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
/// The challenge of every 401, as DRF's first authenticator (simplejwt's) words it.
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";

/// Asserts a 401 from the authenticators: the status and the `WWW-Authenticate`
/// challenge; returns the body.
pub async fn expect_401(r: Response) -> Value {
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = expect(r, 401).await;
    assert_eq!(
        challenge.as_deref(),
        Some(WWW_AUTHENTICATE),
        "401 without the challenge: {body}"
    );
    body
}

/// Asserts the 401 of a request that sent no credentials: the challenge, and
/// DRF's `{"detail": "Authentication credentials were not provided."}`.
pub async fn assert_401(r: Response) {
    assert_eq!(expect_401(r).await, json!({ "detail": NOT_PROVIDED }));
}

// ---- auth helpers -------------------------------------------------------------------

/// A username no other test uses.
pub fn new_username(prefix: &str) -> String {
    // the tail of uuid_hex changes on every call; its head is the process id
    let hex = uuid_hex();
    format!("{prefix}_{}", &hex[hex.len().saturating_sub(12)..])
}

/// The claims of a JWT, read without checking the signature.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` header that sets `name`, if any.
pub fn set_cookie(r: &Response, name: &str) -> Option<String> {
    set_cookies(r)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// Status, `Content-Type` and text of a response.
pub async fn text_of(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let kind = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

impl TestApp {
    /// POST a JSON body, anonymously.
    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.anon()
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// POST a form-encoded body, anonymously.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(path, "application/x-www-form-urlencoded", body)
            .await
    }

    /// POST raw bytes with the given `Content-Type`, anonymously.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.anon()
            .post(self.url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// GET with an `Authorization` header, anonymously otherwise.
    pub async fn get_with(&self, path: &str, authorization: &str) -> Response {
        self.anon()
            .get(self.url(path))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/auth/me/` with a Bearer token.
    pub async fn me_bearer(&self, access: &str) -> Response {
        self.get_with("/api/auth/me/", &format!("Bearer {access}"))
            .await
    }

    /// Seed 000's sign-up; its 200 body.
    pub async fn signup(&self, username: &str, password: &str) -> Value {
        let r = self
            .post_json(
                "/api/auth/signup/",
                json!({ "username": username, "password": password }),
            )
            .await;
        expect(r, 200).await
    }

    /// `POST /api/token/`: a new JWT login, as `(access, refresh)`.
    pub async fn obtain_pair(&self, username: &str, password: &str) -> (String, String) {
        let r = self
            .post_json(
                "/api/token/",
                json!({ "username": username, "password": password }),
            )
            .await;
        let body = expect(r, 200).await;
        (
            body["access"].as_str().unwrap().to_owned(),
            body["refresh"].as_str().unwrap().to_owned(),
        )
    }

    /// `POST /api/token/refresh/`.
    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post_json("/api/token/refresh/", json!({ "refresh": refresh }))
            .await
    }

    /// `POST /api-token-auth/`: the user's DRF token key.
    pub async fn drf_token(&self, username: &str, password: &str) -> String {
        let r = self
            .post_json(
                "/api-token-auth/",
                json!({ "username": username, "password": password }),
            )
            .await;
        expect(r, 200).await["token"].as_str().unwrap().to_owned()
    }

    /// A browser with its own cookie jar that already holds a `csrftoken` cookie.
    pub async fn browser_session(&self) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let browser = Browser {
            client,
            jar,
            base: self.base.clone(),
        };
        let r = browser.get("/authentication/login").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            browser.cookie("csrftoken").is_some(),
            "GET /authentication/login set no csrftoken"
        );
        browser
    }

    /// A browser logged in through `POST /authentication/login`.
    pub async fn session_login(&self, username: &str, password: &str) -> Browser {
        let browser = self.browser_session().await;
        let r = browser
            .post_csrf("/authentication/login")
            .json(&json!({ "username": username, "password": password }));
        let body = expect(r.send().await.unwrap(), 200).await;
        assert_eq!(body, json!({ "error": "None, login successful" }));
        assert!(browser.cookie("sessionid").is_some());
        browser
    }

    /// Sets `users.is_active`.
    pub async fn set_active(&self, user_id: i64, active: bool) {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use hearth::auth::users::users;
        self.db
            .run(move |conn| {
                diesel::update(users::table.find(user_id))
                    .set(users::is_active.eq(active))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
    }

    /// The stored password hash of a user.
    pub async fn password_hash(&self, user_id: i64) -> String {
        use diesel::QueryDsl as _;
        use hearth::auth::users::users;
        self.db
            .run(move |conn| {
                Ok(users::table
                    .find(user_id)
                    .select(users::password)
                    .first::<String>(conn)?)
            })
            .await
            .unwrap()
    }

    /// A new active user whose stored password is `hash` as given (e.g. a Django hash).
    pub async fn user_with_hash(&self, prefix: &str, hash: &str) -> (i64, String) {
        let username = new_username(prefix);
        let (name, hash) = (username.clone(), hash.to_owned());
        let user = self
            .db
            .run(move |conn| {
                hearth::auth::users::create(
                    conn,
                    &hearth::auth::users::NewUser {
                        username: &name,
                        email: "",
                        password: &hash,
                        is_staff: false,
                        is_superuser: false,
                        date_joined: hearth::time::now(),
                    },
                )
            })
            .await
            .unwrap()
            .unwrap();
        (user.id, username)
    }
}

/// A browser: a client with a cookie jar the test can read.
pub struct Browser {
    pub client: Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    /// The value of a cookie the jar holds for the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header
            .to_str()
            .unwrap()
            .split(';')
            .map(str::trim)
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.to_owned())
            })
    }

    pub fn csrf(&self) -> String {
        self.cookie("csrftoken")
            .expect("the browser holds a csrftoken cookie")
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    /// A POST without the CSRF header.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }

    /// An unsafe request that echoes the csrftoken cookie in `X-CSRFToken`.
    pub fn request_csrf(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header("X-CSRFToken", self.csrf())
    }

    pub fn post_csrf(&self, path: &str) -> reqwest::RequestBuilder {
        self.request_csrf(reqwest::Method::POST, path)
    }
}

impl TestApp {
    /// The PostgreSQL database's name, `None` on SQLite.
    pub fn pg_database(&self) -> Option<String> {
        match &self._store {
            Store::Postgres { name, .. } => Some(name.clone()),
            Store::Sqlite(_) | Store::Shared => None,
        }
    }
}

/// PostgreSQL's `pg_stat_activity` rows of this app's own connections named `name`
/// whose last statement contains `statement`; with `terminate`, it ends them.
pub async fn pg_sessions(
    app: &TestApp,
    name: &'static str,
    statement: &str,
    terminate: bool,
) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let database = app.pg_database().unwrap();
    let what = if terminate {
        "COUNT(pg_terminate_backend(pid))"
    } else {
        "COUNT(*)"
    };
    let statement = format!("%{}%", statement.replace('\'', "''"));
    app.db
        .run(move |conn| {
            let query = format!(
                "SELECT {what} AS n FROM pg_stat_activity WHERE application_name = '{name}' \
                 AND datname = '{database}' AND query LIKE '{statement}'"
            );
            let c: Count = diesel::RunQueryDsl::get_result(diesel::sql_query(query), conn)?;
            Ok(c.n)
        })
        .await
        .unwrap()
}
