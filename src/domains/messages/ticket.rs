//! What holds a message stream open: the login it was opened with, checked again
//! with every heartbeat, and the expiry of the token that opened it. Also the
//! stream tickets: a browser's `EventSource` sends no `Authorization` header, so a
//! page that signs in with JWT only asks for a short-lived, single-use ticket with
//! its Bearer token and opens `/api/messages/stream?ticket=...` with it. The
//! access token itself never goes into a URL, where logs and proxies keep it.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::extract::{Auth, Via};
use crate::auth::jwt::{self, Kind};
use crate::auth::logins::logins;
use crate::auth::tokens::api_tokens;
use crate::auth::users::users;
use crate::auth::CurrentUser;
use crate::db::{Conn, OptionalExt as _};
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

diesel::table! {
    stream_tickets (id) {
        id -> BigInt,
        key_hash -> Text,
        user_id -> BigInt,
        login_id -> Nullable<BigInt>,
        auth_version -> BigInt,
        expires_at -> BigInt,
        token_hash -> Nullable<Text>,
        stream_until -> Nullable<BigInt>,
    }
}

/// Long enough to open the stream right after asking, short enough that a ticket
/// seen in a log is worthless.
pub const TICKET_SECONDS: i64 = 30;

/// The credentials a stream was opened with, to check again while it is open.
#[derive(Debug, Clone)]
pub struct Hold {
    pub user_id: i64,
    /// The user's `auth_version` then: a logout-all, a password change or a
    /// deactivation changes it.
    pub version: i64,
    /// The session or refresh-token family, when the credentials belong to one.
    pub login: Option<i64>,
    /// The DRF token's lookup hash, for a stream opened with one.
    pub token_hash: Option<String>,
    /// When the access token that opened it expires (Unix seconds).
    pub until: Option<i64>,
}

impl Hold {
    /// The hold of a request authenticated by its headers.
    pub fn of(auth: &Auth, headers: &HeaderMap, state: &AppState) -> Self {
        let credential = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .map(|(scheme, value)| (scheme, value.trim()));
        let (login, token_hash, until) = match auth.via {
            Via::Jwt { login } => {
                let exp = credential
                    .and_then(|(_, token)| jwt::decode(&state.keys, token, Kind::Access).ok())
                    .map(|claims| claims.exp);
                (login, None, exp)
            }
            Via::Token => (
                None,
                credential.map(|(_, key)| state.keys.lookup_hash(key)),
                None,
            ),
            Via::Session { login } => (Some(login), None, None),
        };
        Self {
            user_id: auth.user.id,
            version: auth.user.auth_version,
            login,
            token_hash,
            until,
        }
    }

    /// Whether the user is still active and these credentials still stand.
    pub fn stands(&self, conn: &mut Conn) -> Result<bool, ApiError> {
        let now = chrono::Utc::now();
        if self.until.is_some_and(|until| until <= now.timestamp()) {
            return Ok(false);
        }
        let user: Option<i64> = users::table
            .filter(users::id.eq(self.user_id))
            .filter(users::is_active.eq(true))
            .filter(users::auth_version.eq(self.version))
            .select(users::id)
            .first(conn)
            .found()?;
        if user.is_none() {
            return Ok(false);
        }
        if let Some(login) = self.login {
            let live: Option<i64> = logins::table
                .filter(logins::id.eq(login))
                .filter(logins::user_id.eq(self.user_id))
                .filter(logins::revoked_at.is_null())
                .filter(logins::expires_at.gt(crate::time::now()))
                .select(logins::id)
                .first(conn)
                .found()?;
            if live.is_none() {
                return Ok(false);
            }
        }
        if let Some(hash) = &self.token_hash {
            let token: Option<i64> = api_tokens::table
                .filter(api_tokens::key_hash.eq(hash))
                .filter(api_tokens::user_id.eq(self.user_id))
                .select(api_tokens::id)
                .first(conn)
                .found()?;
            if token.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketOut {
    /// Pass as `?ticket=` to `GET /api/messages/stream`, once, within `expires_in`.
    pub ticket: String,
    /// Seconds.
    pub expires_in: i64,
}

/// A single-use ticket that opens the message stream once, for a client that
/// cannot send headers with it (a browser's `EventSource`). The stream it opens
/// belongs to the caller's login and ends with it, or when the access token that
/// asked for the ticket expires.
#[utoipa::path(
    post, path = "/api/messages/stream/ticket", tag = "messages",
    responses(
        (status = 201, description = "A ticket valid for 30 seconds", body = TicketOut),
        (status = 401, description = "Not authenticated"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn issue(
    CurrentUser(auth): CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hold = Hold::of(&auth, &headers, &state);
    let ticket = crate::crypto::random_hex(32);
    let key_hash = state.keys.lookup_hash(&ticket);
    let now = chrono::Utc::now().timestamp();
    state
        .db
        .run(move |conn| {
            diesel::delete(stream_tickets::table.filter(stream_tickets::expires_at.le(now)))
                .execute(conn)?;
            diesel::insert_into(stream_tickets::table)
                .values((
                    stream_tickets::key_hash.eq(key_hash),
                    stream_tickets::user_id.eq(hold.user_id),
                    stream_tickets::login_id.eq(hold.login),
                    stream_tickets::auth_version.eq(hold.version),
                    stream_tickets::expires_at.eq(now + TICKET_SECONDS),
                    stream_tickets::token_hash.eq(hold.token_hash),
                    stream_tickets::stream_until.eq(hold.until),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await?;
    let mut response = (
        StatusCode::CREATED,
        Json(TicketOut {
            ticket,
            expires_in: TICKET_SECONDS,
        }),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

type TicketRow = (i64, Option<i64>, i64, Option<String>, Option<i64>);

/// The hold a ticket carries, claimed once: `None` when it is unknown, used or
/// expired.
pub fn redeem(conn: &mut Conn, key_hash: String) -> Result<Option<Hold>, ApiError> {
    let now = chrono::Utc::now().timestamp();
    conn.transaction(|conn| {
        let found: Option<TicketRow> = stream_tickets::table
            .filter(stream_tickets::key_hash.eq(&key_hash))
            .filter(stream_tickets::expires_at.gt(now))
            .select((
                stream_tickets::user_id,
                stream_tickets::login_id,
                stream_tickets::auth_version,
                stream_tickets::token_hash,
                stream_tickets::stream_until,
            ))
            .first(conn)
            .found()?;
        let Some((user_id, login, version, token_hash, until)) = found else {
            return Ok(None);
        };
        // of two redemptions racing, only one deletes the row
        let claimed =
            diesel::delete(stream_tickets::table.filter(stream_tickets::key_hash.eq(&key_hash)))
                .execute(conn)?;
        Ok((claimed == 1).then_some(Hold {
            user_id,
            version,
            login,
            token_hash,
            until,
        }))
    })
}
