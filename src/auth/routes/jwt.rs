//! simplejwt's views: obtain a pair, refresh (rotating, with the old token
//! blacklisted and claimed atomically), verify; and seed 002's blacklist logout.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::auth::jwt::{self, Kind, TokenError};
use crate::auth::login::{check_credentials, expiry, issue_pair, jwt_login, TokenPair};
use crate::auth::logins::{self, Client};
use crate::auth::routes::register::{ClientInfo, Credentials};
use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::extract::{Body, JsonOrForm};
use crate::fields::loose_text;
use crate::json::Json;
use crate::state::AppState;

fn token_error(error: TokenError) -> ApiError {
    ApiError::AuthFailed(json!({ "detail": error.to_string(), "code": "token_not_valid" }))
}

fn no_active_account() -> ApiError {
    ApiError::AuthFailed(json!({ "detail": "No active account found with the given credentials" }))
}

/// `POST /api/token/` and `/api/auth/token/`.
#[utoipa::path(post, path = "/api/token/", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenPair), (status = 400, description = "field errors"),
              (status = 401, description = "No active account found with the given credentials")))]
pub async fn obtain(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: Body,
) -> Result<Json<TokenPair>, ApiError> {
    let mut input = body.input(false)?;
    let username = input.string("username", None, false, true);
    let password = input.password("password", 4096);
    input.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(no_active_account());
    };
    let user = check_credentials(&state, &client, username, password)
        .await?
        .ok_or_else(no_active_account)?;
    Ok(Json(jwt_login(&state, user, client).await?))
}

/// The `refresh` field, as simplejwt's serializers read it.
fn token_field(body: Body, name: &str) -> Result<String, ApiError> {
    let mut input = body.input(false)?;
    let token = input.password(name, usize::MAX);
    input.finish()?;
    token.ok_or_else(|| ApiError::field(name, crate::fields::REQUIRED))
}

enum Refreshed {
    Pair(TokenPair),
    Access(String),
}

/// `POST /api/token/refresh/` and `/api/auth/token/refresh/`.
#[utoipa::path(post, path = "/api/token/refresh/", tag = "auth",
    request_body(content = Value, description = "{\"refresh\": \"<jwt>\"}"),
    responses((status = 200, body = TokenPair), (status = 401, description = "token_not_valid")))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    body: Body,
) -> Result<Response, ApiError> {
    let token = token_field(body, "refresh")?;
    let claims = jwt::decode(&state.keys, &token, Kind::Refresh).map_err(token_error)?;
    let user_id = claims
        .user_id()
        .ok_or_else(|| token_error(TokenError::Invalid))?;
    let jti_hash = state.keys.lookup_hash(&claims.jti);
    let st = state.clone();
    let outcome = state
        .db
        .run(move |conn| refresh_in_db(conn, &st, &claims, user_id, &jti_hash, &client))
        .await?;
    match outcome? {
        Refreshed::Pair(pair) => Ok(Json(pair).into_response()),
        Refreshed::Access(access) => Ok(Json(json!({ "access": access })).into_response()),
    }
}

/// The refresh's database work, in one hop. The outer error is the database's, the
/// inner one the client's.
fn refresh_in_db(
    conn: &mut crate::db::Conn,
    state: &AppState,
    claims: &jwt::Claims,
    user_id: i64,
    jti_hash: &str,
    client: &Client,
) -> Result<Result<Refreshed, ApiError>, ApiError> {
    let blacklisted = || Ok(Err(token_error(TokenError::Blacklisted)));
    let Some((user, _)) = logins::user_with_login(conn, user_id, None)? else {
        return Ok(Err(ApiError::AuthFailed(json!({
            "detail": "No active account found for the given token.", "code": "no_active_account"
        }))));
    };
    if !user.is_active {
        return Ok(Err(ApiError::AuthFailed(json!({
            "detail": "No active account found for the given token.", "code": "no_active_account"
        }))));
    }
    let rotate = state.settings.rotate_refresh_tokens;
    let login_id = match logins::find_refresh(conn, jti_hash)? {
        None => {
            // issued before a logout-all or password change: as dead as the ones Hearth recorded
            if claims.ver.unwrap_or(0) != user.auth_version {
                return blacklisted();
            }
            // minted elsewhere with our key (simplejwt interoperability): adopt it
            match logins::adopt_refresh(conn, user.id, jti_hash, expiry(claims), client, rotate)? {
                Some(login_id) => login_id,
                None => return blacklisted(),
            }
        }
        Some(record) => {
            if record.blacklisted_at.is_some() {
                return blacklisted();
            }
            if let Some(rotated_at) = record.rotated_at {
                let grace = chrono::Duration::from_std(state.settings.refresh_reuse_grace)
                    .unwrap_or_default();
                if crate::time::now() - rotated_at > grace {
                    // a rotated token shown again after the grace period: stolen, end the login
                    tracing::warn!(
                        login = record.login_id,
                        "refresh token reused; login revoked"
                    );
                    logins::revoke(conn, record.login_id)?;
                }
                return blacklisted();
            }
            if claims.ver.unwrap_or(0) != user.auth_version {
                return blacklisted();
            }
            if rotate && !logins::claim_refresh(conn, record.id)? {
                return blacklisted();
            }
            record.login_id
        }
    };
    logins::touch(conn, login_id)?;
    if rotate {
        Ok(Ok(Refreshed::Pair(issue_pair(
            conn, state, &user, login_id,
        )?)))
    } else {
        let (access, _) = jwt::mint(
            &state.keys,
            Kind::Access,
            user.id,
            state.settings.access_token_lifetime,
            user.auth_version,
            Some(login_id),
        );
        Ok(Ok(Refreshed::Access(access)))
    }
}

/// `POST /api/token/verify/`: 200 `{}` for a token Hearth would accept.
#[utoipa::path(post, path = "/api/token/verify/", tag = "auth",
    request_body(content = Value, description = "{\"token\": \"<jwt>\"}"),
    responses((status = 200, description = "{}"), (status = 400, description = "Token is blacklisted"),
              (status = 401, description = "token_not_valid")))]
pub async fn verify(State(state): State<AppState>, body: Body) -> Result<Json<Value>, ApiError> {
    let token = token_field(body, "token")?;
    let claims = jwt::decode_any(&state.keys, &token).map_err(token_error)?;
    let jti_hash = state.keys.lookup_hash(&claims.jti);
    let (user_id, login, kind) = (claims.user_id(), claims.login, claims.token_type.clone());
    let (blacklisted, live) = state
        .db
        .run(move |conn| {
            let blacklisted = kind == Kind::Refresh.as_str()
                && logins::find_refresh(conn, &jti_hash)?
                    .is_some_and(|r| r.blacklisted_at.is_some() || r.rotated_at.is_some());
            let live = match user_id {
                Some(id) => logins::user_with_login(conn, id, login)?.is_some_and(|(u, live)| {
                    live && u.is_active && u.auth_version == claims.ver.unwrap_or(0)
                }),
                None => false,
            };
            Ok((blacklisted, live))
        })
        .await?;
    if blacklisted {
        return Err(ApiError::non_field("Token is blacklisted"));
    }
    if !live {
        return Err(token_error(TokenError::Invalid));
    }
    Ok(Json(json!({})))
}

/// Seed 002's logout: blacklists the refresh token, which ends its whole login.
#[utoipa::path(post, path = "/api/user/logout/", tag = "auth",
    request_body(content = Value, description = "{\"refresh\": \"<jwt>\"}"),
    responses((status = 200, description = "{\"message\": \"You have been logged out\"}"),
              (status = 400, description = "{\"error\": \"...\"}")))]
pub async fn logout(
    State(state): State<AppState>,
    // an APIView: a session cookie authenticates it, and then needs CSRF
    _caller: MaybeUser,
    ClientInfo(client): ClientInfo,
    body: JsonOrForm,
) -> Result<Json<Value>, ApiError> {
    let error = |text: &str| ApiError::BadRequestBody(json!({ "error": text }));
    let data = body.0;
    let Some(map) = data.as_object() else {
        return Err(error(&format!(
            "'{}' object has no attribute 'get'",
            crate::fields::python_type(&data)
        )));
    };
    let token = loose_text(map.get("refresh"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| error("Refresh token is required"))?;
    let claims =
        jwt::decode(&state.keys, &token, Kind::Refresh).map_err(|e| error(&e.to_string()))?;
    let user_id = claims
        .user_id()
        .ok_or_else(|| error(&TokenError::Invalid.to_string()))?;
    let jti_hash = state.keys.lookup_hash(&claims.jti);
    let expires = expiry(&claims);
    let ended = state
        .db
        .run(move |conn| match logins::find_refresh(conn, &jti_hash)? {
            Some(record) if record.blacklisted_at.is_some() || record.rotated_at.is_some() => {
                Ok(false)
            }
            Some(record) => {
                logins::blacklist_refresh(conn, record.id)?;
                logins::revoke(conn, record.login_id)?;
                Ok(true)
            }
            None => {
                if crate::auth::users::find(conn, user_id)?.is_none() {
                    return Ok(true);
                }
                Ok(
                    logins::adopt_refresh(conn, user_id, &jti_hash, expires, &client, false)?
                        .is_some(),
                )
            }
        })
        .await?;
    if !ended {
        return Err(error(&TokenError::Blacklisted.to_string()));
    }
    Ok(Json(json!({ "message": "You have been logged out" })))
}
