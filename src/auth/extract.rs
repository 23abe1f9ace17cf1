//! Who is calling: Bearer JWT, then DRF `Token`, then the session cookie (with CSRF
//! on unsafe methods), in that order, as DRF's authentication classes run. A
//! handler's signature states its permission with `CurrentUser`, `MaybeUser` or
//! `Staff`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde_json::json;

use crate::app::AppState;
use crate::auth::jwt::{self, Kind, TokenError};
use crate::auth::logins::{self, Client, Standing};
use crate::auth::users::User;
use crate::auth::{csrf, tokens};
use crate::db::Conn;
use crate::error::ApiError;

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

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<MaybeUser>() {
            return Ok(cached.clone());
        }
        let found = MaybeUser(authenticate(parts, state).await?);
        parts.extensions.insert(found.clone());
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

fn detail(text: &str) -> ApiError {
    ApiError::AuthFailed(json!({ "detail": text }))
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

/// What the `Authorization` header offers, in DRF's order; anything else falls
/// through to the session cookie.
enum Credentials<'a> {
    Bearer(&'a str),
    Token(&'a str),
    Other,
}

fn credentials(parts: &Parts) -> Result<Credentials<'_>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(Credentials::Other);
    };
    let mut words = value
        .to_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty());
    match words.next() {
        Some("Bearer") => match (words.next(), words.next()) {
            (Some(token), None) => Ok(Credentials::Bearer(token)),
            _ => Err(ApiError::AuthFailed(json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }))),
        },
        Some("Token") => match (words.next(), words.next()) {
            (None, _) => Err(detail("Invalid token header. No credentials provided.")),
            (Some(_), Some(_)) => Err(detail(
                "Invalid token header. Token string should not contain spaces.",
            )),
            (Some(key), None) => Ok(Credentials::Token(key)),
        },
        _ => Ok(Credentials::Other),
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
    match credentials(parts)? {
        Credentials::Bearer(token) => {
            let claims = BearerClaims::decode(state, token)?;
            let (user_id, login) = (claims.user_id, claims.login);
            let found = state
                .db
                .read_shared(
                    move |pg| logins::user_with_login_shared(pg, user_id, login),
                    move |conn| logins::user_with_login(conn, user_id, login),
                )
                .await?;
            claims.judge(found).map(Some)
        }
        Credentials::Token(key) => drf_token(state, key.to_owned()).await.map(Some),
        Credentials::Other => session(parts, state).await,
    }
}

/// A valid access token's claims, before the database confirms them.
#[derive(Debug, Clone, Copy)]
struct BearerClaims {
    user_id: i64,
    login: Option<i64>,
    version: i64,
}

impl BearerClaims {
    fn decode(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let claims = jwt::decode(&state.keys, token, Kind::Access).map_err(token_not_valid)?;
        Ok(Self {
            user_id: claims
                .user_id()
                .ok_or_else(|| token_not_valid(TokenError::Invalid))?,
            login: claims.login,
            version: claims.ver.unwrap_or(0),
        })
    }

    fn check(self, conn: &mut Conn) -> Result<Auth, ApiError> {
        self.judge(logins::user_with_login(conn, self.user_id, self.login)?)
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

/// The authenticated caller, for routes that confirm a Bearer token in their own
/// database call: one trip to the database's threads instead of two. Other
/// credentials are checked here, as for [`CurrentUser`]; anonymous is 401.
#[derive(Debug, Clone)]
pub struct Caller(Pending);

#[derive(Debug, Clone)]
enum Pending {
    Known(Auth),
    Bearer(BearerClaims),
}

impl Caller {
    /// The caller, or 401, on the route's own connection, before its work.
    pub fn check(self, conn: &mut Conn) -> Result<Auth, ApiError> {
        match self.0 {
            Pending::Known(auth) => Ok(auth),
            Pending::Bearer(claims) => claims.check(conn),
        }
    }

    /// What a page query is to confirm with `logins::standing!`.
    pub fn standing(&self) -> Standing {
        match &self.0 {
            Pending::Known(auth) => Standing {
                settled: true,
                user_id: auth.user.id,
                login: None,
                version: auth.user.auth_version,
            },
            Pending::Bearer(claims) => Standing {
                settled: false,
                user_id: claims.user_id,
                login: claims.login,
                version: claims.version,
            },
        }
    }

    /// Ends the check with the page query's verdict (`None`: the page had no row to
    /// carry it). Anything but a confirmation is checked again on its own, which
    /// also says why it fails; the page is then not shown.
    pub fn confirm(self, conn: &mut Conn, verdict: Option<bool>) -> Result<(), ApiError> {
        match (self.0, verdict) {
            (Pending::Known(_), _) | (Pending::Bearer(_), Some(true)) => Ok(()),
            (Pending::Bearer(claims), _) => claims.check(conn).map(drop),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.extensions.get::<MaybeUser>().is_none() {
            if let Credentials::Bearer(token) = credentials(parts)? {
                return Ok(Self(Pending::Bearer(BearerClaims::decode(state, token)?)));
            }
        }
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, state).await?;
        Ok(Self(Pending::Known(auth)))
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
    let found = state
        .db
        .run(move |conn| logins::session_user(conn, &hash))
        .await?;
    let Some((login, user)) = found else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
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

/// A form body's `csrfmiddlewaretoken`, put in the extensions by routes that read
/// form bodies before authenticating (the admin site).
#[derive(Debug, Clone)]
pub struct FormCsrfToken(pub String);
