//! Who is calling: Bearer JWT, then DRF `Token`, then the session cookie (with CSRF
//! on unsafe methods), in that order, as DRF's authentication classes run. A
//! handler's signature states its permission with `CurrentUser`, `MaybeUser` or
//! `Staff`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde_json::json;

use super::header::{credentials, detail, Credentials};
use crate::auth::jwt::{self, Kind, TokenError};
use crate::auth::logins::{self, Client};
use crate::auth::users::User;
use crate::auth::{csrf, tokens};
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

pub use super::caller::Caller;

pub const SESSION_COOKIE: &str = "sessionid";

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A JWT access token, with the login it belongs to when Hearth issued it.
    Jwt {
        login: Option<i64>,
    },
    Token,
    Session {
        login: i64,
    },
}

#[derive(Debug, Clone)]
pub struct Auth {
    pub user: User,
    pub via: Via,
}

impl Auth {
    pub fn login_id(&self) -> Option<i64> {
        match self.via {
            Via::Jwt { login } => login,
            Via::Session { login } => Some(login),
            Via::Token => None,
        }
    }
}

/// The authenticated caller; anonymous is 401.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Auth);

/// The caller if any credentials were sent; bad credentials are still 401.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Auth>);

/// A staff caller: anonymous is 401, anyone else 403.
#[derive(Debug, Clone)]
pub struct Staff(pub Auth);

impl std::ops::Deref for CurrentUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0.user
    }
}

impl std::ops::Deref for Staff {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0.user
    }
}

impl MaybeUser {
    pub fn user(&self) -> Option<&User> {
        self.0.as_ref().map(|a| &a.user)
    }

    /// The caller, or 401 (for a write on a read-anyone route).
    pub fn require(&self) -> Result<&User, ApiError> {
        self.user().ok_or(ApiError::NotAuthenticated)
    }

    /// A staff caller, or 401/403.
    pub fn require_staff(&self) -> Result<&User, ApiError> {
        let user = self.require()?;
        if user.is_staff {
            Ok(user)
        } else {
            Err(ApiError::PermissionDenied)
        }
    }
}

/// Whether a request carries anything that could name a caller: a token or a cookie.
pub fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE)
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !carries_credentials(&parts.headers) {
            return Ok(MaybeUser(None));
        }
        if let Some(cached) = parts.extensions.get::<MaybeUser>() {
            return Ok(cached.clone());
        }
        // boxed: the lookups' futures (kilobytes) would otherwise be part of every
        // handler's future, moved with it, anonymous or not
        let found = MaybeUser(Box::pin(authenticate(parts, state)).await?);
        // without credentials finding the caller again costs less than keeping it
        if found.0.is_some() || parts.headers.contains_key(header::COOKIE) {
            parts.extensions.insert(found.clone());
        }
        Ok(found)
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let MaybeUser(auth) = MaybeUser::from_request_parts(parts, state).await?;
        auth.map(CurrentUser).ok_or(ApiError::NotAuthenticated)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, state).await?;
        if auth.user.is_staff {
            Ok(Staff(auth))
        } else {
            Err(ApiError::PermissionDenied)
        }
    }
}

fn token_not_valid(error: TokenError) -> ApiError {
    ApiError::AuthFailed(json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": error.to_string()}],
    }))
}

/// The request's client address: the socket's, or the last hop of
/// `X-Forwarded-For` when the socket is a trusted proxy.
pub fn client_addr(
    parts_headers: &HeaderMap,
    socket: Option<SocketAddr>,
    trusted: &[String],
) -> String {
    let peer = socket.map(|s| s.ip().to_string()).unwrap_or_default();
    if trusted.contains(&peer) {
        if let Some(forwarded) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            if let Some(last) = forwarded.split(',').map(str::trim).rfind(|s| !s.is_empty()) {
                return last.to_owned();
            }
        }
    }
    peer
}

pub fn client(parts: &Parts, state: &AppState) -> Client {
    let socket = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    Client {
        addr: client_addr(&parts.headers, socket, &state.settings.trusted_proxies),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Whether the request came over HTTPS (directly, or from a trusted proxy).
pub fn is_secure(parts: &Parts, state: &AppState) -> bool {
    let socket = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    socket.is_some_and(|peer| state.settings.trusted_proxies.contains(&peer))
        && parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
    match credentials(parts)? {
        Credentials::Bearer(token) => {
            let claims = BearerClaims::decode(state, token)?;
            claims.fetch(&state.db).await.map(Some)
        }
        Credentials::Token(key) => drf_token(state, key.to_owned()).await.map(Some),
        Credentials::Other => session(parts, state).await,
    }
}

/// A valid access token's claims, before the database confirms them.
#[derive(Debug, Clone, Copy)]
pub(super) struct BearerClaims {
    pub(super) user_id: i64,
    pub(super) login: Option<i64>,
    pub(super) version: i64,
}

impl BearerClaims {
    pub(super) fn decode(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let claims = jwt::decode(&state.keys, token, Kind::Access).map_err(token_not_valid)?;
        Ok(Self {
            user_id: claims
                .user_id()
                .ok_or_else(|| token_not_valid(TokenError::Invalid))?,
            login: claims.login,
            version: claims.ver.unwrap_or(0),
        })
    }

    /// The caller the claims name, confirmed by a statement of its own.
    pub(super) async fn fetch(self, db: &Db) -> Result<Auth, ApiError> {
        let found = db
            .first(logins::user_and_login(self.user_id, self.login))
            .await?;
        self.judge(found.map(|found| logins::live(found, self.login)))
    }

    /// The verdict on the user and login the token names, as the database has them.
    fn judge(self, found: Option<(User, bool)>) -> Result<Auth, ApiError> {
        let Some((user, live)) = found else {
            return Err(ApiError::AuthFailed(
                json!({"detail": "User not found", "code": "user_not_found"}),
            ));
        };
        if !user.is_active {
            return Err(ApiError::AuthFailed(
                json!({"detail": "User is inactive", "code": "user_inactive"}),
            ));
        }
        // a logout-all, password change or ended login invalidates its access tokens at once
        if self.version != user.auth_version || !live {
            return Err(token_not_valid(TokenError::Invalid));
        }
        Ok(Auth {
            user,
            via: Via::Jwt { login: self.login },
        })
    }
}

async fn drf_token(state: &AppState, key: String) -> Result<Auth, ApiError> {
    let hash = state.keys.lookup_hash(&key);
    let user = state
        .db
        .read(move |conn| tokens::user_by_key_hash(conn, &hash))
        .await?;
    match user {
        None => Err(detail("Invalid token.")),
        Some(user) if !user.is_active => Err(detail("User inactive or deleted.")),
        Some(user) => Ok(Auth {
            user,
            via: Via::Token,
        }),
    }
}

async fn session(parts: &Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
    let Some(key) = csrf::cookie_value(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = state.keys.lookup_hash(&key);
    let found = logins::live_session(&state.db, hash).await?;
    let Some((login, user)) = found.filter(|(_, user)| user.is_active) else {
        StaleSession::report(parts);
        return Ok(None);
    };
    // DRF's SessionAuthentication enforces CSRF only for a session-authenticated user
    if !csrf::is_safe(&parts.method) {
        let form_token = parts
            .extensions
            .get::<FormCsrfToken>()
            .map(|t| t.0.as_str());
        csrf::check(
            &state.settings,
            &parts.headers,
            is_secure(parts, state),
            form_token,
        )?;
    }
    Ok(Some(Auth {
        user,
        via: Via::Session { login: login.id },
    }))
}

/// A `sessionid` cookie that names no live session of an active user: the response
/// deletes it, as Django's session middleware does. Watched only for requests that
/// send one.
#[derive(Debug, Clone)]
pub struct StaleSession(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl StaleSession {
    /// Put on a request that carries a session cookie; `found` after the response.
    pub fn watch(req: &mut axum::extract::Request) -> Option<Self> {
        csrf::cookie_value(req.headers(), SESSION_COOKIE)?;
        let watch = Self(std::sync::Arc::default());
        req.extensions_mut().insert(watch.clone());
        Some(watch)
    }

    pub fn report(parts: &Parts) {
        if let Some(watch) = parts.extensions.get::<Self>() {
            watch.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn found(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A form body's `csrfmiddlewaretoken`, put in the extensions by routes that read
/// form bodies before authenticating (the admin site).
#[derive(Debug, Clone)]
pub struct FormCsrfToken(pub String);
