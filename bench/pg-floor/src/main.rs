//! The least code that does the work of Hearth's `GET /api/messages?limit=100` on
//! PostgreSQL, on a database Hearth made and seeded: check the Bearer token (HS256,
//! `SECRET_KEY`), then one prepared statement on one pipelined tokio-postgres
//! connection (whether the caller is active, 100 messages with their sender, the count
//! from `row_counts`), then the JSON array and `X-Total-Count`. No TLS, no logs,
//! no CORS or security headers: what is left is the HTTP, the database and the
//! JSON. A measuring stick for `bench/`, not a server.
//!
//! `PG_FLOOR_URL` (a Hearth database), `SECRET_KEY`, `PG_FLOOR_ADDR`
//! (127.0.0.1:8095), `PG_FLOOR_THREADS` (1: half of two cores, as Hearth runs
//! beside PostgreSQL), `PG_FLOOR_CONNECTIONS` (1), `PG_FLOOR_BARE` (0).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jsonwebtoken::{DecodingKey, Validation};
use postgres_types::{FromSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGE: &str = "SELECT m.id, m.text, u.username, m.timestamp, \
     EXISTS (SELECT 1 FROM users c WHERE c.id = $1 AND c.is_active), \
     (SELECT sum(n) FROM row_counts WHERE scope = 'messages' AND owner = 0) \
     FROM messages m JOIN users u ON u.id = m.sender_id \
     WHERE m.id > $2 ORDER BY m.id LIMIT $3";

/// `PG_FLOOR_BARE=1`: the rows alone, without the caller's check and the count.
const BARE: &str = "SELECT m.id, m.text, u.username, m.timestamp \
     FROM messages m JOIN users u ON u.id = m.sender_id \
     WHERE m.id > $2 AND $1 > 0 ORDER BY m.id LIMIT $3";

struct Db {
    clients: Vec<(Client, Statement)>,
    next: AtomicUsize,
    key: DecodingKey,
    validation: Validation,
}

#[derive(serde::Deserialize)]
struct Claims {
    user_id: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct Params {
    limit: Option<i64>,
}

#[derive(serde::Serialize)]
struct Message<'a> {
    id: i64,
    text: &'a str,
    sender: &'a str,
    timestamp: String,
}

/// PostgreSQL's binary `timestamp`: microseconds since 2000-01-01.
struct Micros(i64);

impl<'a> FromSql<'a> for Micros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(i64::from_be_bytes(raw.try_into()?)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP
    }
}

fn iso(micros: i64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let at = epoch + chrono::TimeDelta::microseconds(micros);
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

async fn messages(
    State(db): State<Arc<Db>>,
    Query(p): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(data) = jsonwebtoken::decode::<Claims>(token, &db.key, &db.validation) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let user: i64 = match &data.claims.user_id {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_i64().unwrap_or(0),
    };
    let (client, statement) =
        &db.clients[db.next.fetch_add(1, Ordering::Relaxed) % db.clients.len()];
    let limit = p.limit.unwrap_or(100).clamp(1, 100);
    let rows = match client.query(statement, &[&user, &0i64, &limit]).await {
        Ok(rows) => rows,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let checked = rows.first().filter(|r| r.len() > 4);
    if checked.is_some_and(|r| !r.get::<_, bool>(4)) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let total: i64 = checked
        .and_then(|r| r.get::<_, Option<i64>>(5))
        .unwrap_or(0);
    let out: Vec<Message> = rows
        .iter()
        .map(|r| Message {
            id: r.get(0),
            text: r.get(1),
            sender: r.get(2),
            timestamp: iso(r.get::<_, Micros>(3).0),
        })
        .collect();
    let body = serde_json::to_vec(&out).unwrap();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static("x-total-count"),
                HeaderValue::from(total),
            ),
        ],
        body,
    )
        .into_response()
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() {
    let threads: usize = env("PG_FLOOR_THREADS", "1").parse().unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap()
        .block_on(serve());
}

async fn serve() {
    let url = std::env::var("PG_FLOOR_URL").expect("PG_FLOOR_URL");
    let secret = std::env::var("SECRET_KEY").expect("SECRET_KEY");
    let connections: usize = env("PG_FLOOR_CONNECTIONS", "1").parse().unwrap();
    let sql = if env("PG_FLOOR_BARE", "0") == "1" {
        BARE
    } else {
        PAGE
    };
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let statement = client
            .prepare_typed(sql, &[Type::INT8, Type::INT8, Type::INT8])
            .await
            .unwrap();
        clients.push((client, statement));
    }
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = true;
    let db = Arc::new(Db {
        clients,
        next: AtomicUsize::new(0),
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });
    let app = Router::new()
        .route("/api/messages", get(messages))
        .with_state(db);
    let addr = env("PG_FLOOR_ADDR", "127.0.0.1:8095");
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
