//! What every login route shares: checking credentials (with the dummy hash for an
//! unknown username), issuing a JWT pair inside a new login, and opening a session.

use axum::http::HeaderValue;
use chrono::NaiveDateTime;
use cookie::{Cookie, SameSite};
use serde::Serialize;

use crate::auth::jwt::{self, Kind};
use crate::auth::logins::{self, Client};
use crate::auth::users::{self, User};
use crate::auth::{csrf, extract::SESSION_COOKIE};
use crate::config::Settings;
use crate::crypto;
use crate::db::Conn;
use crate::error::ApiError;
use crate::password::Verified;
use crate::state::AppState;

/// The user, when the password is right and the account active. An unknown username
/// costs the same hash check as a wrong password.
pub async fn check_credentials(
    state: &AppState,
    client: &Client,
    username: String,
    password: String,
) -> Result<Option<User>, ApiError> {
    // a throttled attempt never reaches the hasher
    crate::auth::throttle::check_login(state, client, &username).await?;
    let name = username.clone();
    let user = state
        .db
        .read(move |conn| users::find_by_username(conn, &username))
        .await?;
    let verified = state
        .hasher
        .verify(password.clone(), user.as_ref().map(|u| u.password.clone()))
        .await?;
    let Some(user) = user.filter(|u| verified.ok() && u.is_active) else {
        tracing::debug!("login refused");
        crate::auth::throttle::record_failure(state, client, &name).await?;
        return Ok(None);
    };
    if verified == Verified::YesRehash {
        let hash = state.hasher.hash(password).await?;
        let id = user.id;
        state
            .db
            .run(move |conn| users::set_password_hash(conn, id, &hash))
            .await?;
    }
    Ok(Some(user))
}

fn later(settings_lifetime: std::time::Duration) -> NaiveDateTime {
    crate::time::now()
        + chrono::Duration::seconds(
            i64::try_from(settings_lifetime.as_secs()).unwrap_or(i64::MAX / 4),
        )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// A refresh token recorded in `login_id`, and an access token of the same login.
pub fn issue_pair(
    conn: &mut Conn,
    state: &AppState,
    user: &User,
    login_id: i64,
) -> Result<TokenPair, ApiError> {
    let s = &state.settings;
    let (refresh, claims) = jwt::mint(
        &state.keys,
        Kind::Refresh,
        user.id,
        s.refresh_token_lifetime,
        user.auth_version,
        Some(login_id),
    );
    logins::record_refresh(
        conn,
        login_id,
        user.id,
        &state.keys.lookup_hash(&claims.jti),
        expiry(&claims),
    )?;
    // a family kept alive by rotation lives as long as its newest refresh token
    logins::extend(conn, login_id, expiry(&claims))?;
    let (access, _) = jwt::mint(
        &state.keys,
        Kind::Access,
        user.id,
        s.access_token_lifetime,
        user.auth_version,
        Some(login_id),
    );
    Ok(TokenPair { access, refresh })
}

pub fn expiry(claims: &jwt::Claims) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(claims.exp, 0).map_or_else(crate::time::now, |t| t.naive_utc())
}

/// A new JWT login for the user: its pair of tokens.
pub async fn jwt_login(
    state: &AppState,
    user: User,
    client: Client,
) -> Result<TokenPair, ApiError> {
    let state2 = state.clone();
    let expires = later(state.settings.refresh_token_lifetime);
    state
        .db
        .run(move |conn| {
            let login_id = logins::open(conn, user.id, logins::JWT, None, expires, &client)?;
            issue_pair(conn, &state2, &user, login_id)
        })
        .await
}

/// Cookies a session login sets: the session and a new CSRF secret (Django rotates
/// it at login).
pub struct SessionCookies {
    pub session: HeaderValue,
    pub csrf_secret: String,
}

/// Opens a session for the user, ending the one the request came with, if any.
pub async fn session_login(
    state: &AppState,
    user: &User,
    old_session_key: Option<String>,
    client: Client,
) -> Result<SessionCookies, ApiError> {
    let key = session_key();
    let hash = state.keys.lookup_hash(&key);
    let old_hash = old_session_key.map(|k| state.keys.lookup_hash(&k));
    let expires = later(state.settings.session_cookie_age);
    let user_id = user.id;
    state
        .db
        .run(move |conn| {
            if let Some(old) = old_hash {
                end_session(conn, &old)?;
            }
            logins::open(
                conn,
                user_id,
                logins::SESSION,
                Some(&hash),
                expires,
                &client,
            )?;
            users::touch_last_login(conn, user_id, crate::time::now())
        })
        .await?;
    Ok(SessionCookies {
        session: session_cookie(&state.settings, &key),
        csrf_secret: csrf::new_secret(),
    })
}

/// Ends the session with this key hash, if it is live.
pub fn end_session(conn: &mut Conn, key_hash: &str) -> Result<(), ApiError> {
    if let Some((login, _)) = logins::session_user(conn, key_hash)? {
        logins::revoke(conn, login.id)?;
    }
    Ok(())
}

/// 32 characters of `[a-z0-9]`, like Django's session keys.
fn session_key() -> String {
    crypto::random_string(32).to_ascii_lowercase()
}

pub fn session_cookie(settings: &Settings, key: &str) -> HeaderValue {
    let age = i64::try_from(settings.session_cookie_age.as_secs()).unwrap_or(1_209_600);
    let cookie = Cookie::build((SESSION_COOKIE, key.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.session_cookie_secure)
        .max_age(cookie::time::Duration::seconds(age))
        .build();
    header_value(&cookie.to_string())
}

/// Django's deletion of the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
    )
}

pub fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
