//! The caller's own account: the CSRF cookie for SPAs, `me`, DRF's authtoken
//! login, and ending logins (one, or all at once).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::login::{check_credentials, clear_session_cookie, header_value};
use crate::auth::routes::register::{ClientInfo, Credentials};
use crate::auth::{csrf, logins, tokens, CurrentUser, MaybeUser, User};
use crate::error::ApiError;
use crate::extract::{Body, Id};
use crate::json::Json;
use crate::state::AppState;

/// `GET /api/auth/csrf/`: the token in the body and the cookie.
#[utoipa::path(get, path = "/api/auth/csrf/", tag = "auth",
    responses((status = 200, description = "{\"csrfToken\": \"...\"}")))]
pub async fn csrf_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let secret = csrf::cookie_value(&headers, csrf::COOKIE)
        .filter(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(csrf::new_secret);
    let mut response = Json(json!({ "csrfToken": secret })).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        header_value(&csrf::set_cookie(&state.settings, &secret)),
    );
    response
}

/// `GET /api/auth/me/`.
#[utoipa::path(get, path = "/api/auth/me/", tag = "auth",
    responses((status = 200, body = User), (status = 401, description = "not authenticated")),
    security(("jwt" = []), ("token" = []), ("session" = [])))]
pub async fn me(user: CurrentUser) -> Json<User> {
    Json(user.0.user)
}

/// `POST /api-token-auth/`: DRF's obtain_auth_token, the same key on every call.
#[utoipa::path(post, path = "/api-token-auth/", tag = "auth", request_body = Credentials,
    responses((status = 200, description = "{\"token\": \"<40 hex>\"}"),
              (status = 400, description = "Unable to log in with provided credentials.")))]
pub async fn obtain_token(
    State(state): State<AppState>,
    // DRF authenticates every APIView first: a session cookie then needs CSRF
    _caller: MaybeUser,
    ClientInfo(client): ClientInfo,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let mut input = body.input(false)?;
    let username = input.string("username", None, false, true);
    let password = input.password("password", 4096);
    input.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::non_field(
            "Unable to log in with provided credentials.",
        ));
    };
    let user = check_credentials(&state, &client, username, password)
        .await?
        .ok_or_else(|| ApiError::non_field("Unable to log in with provided credentials."))?;
    let keys = state.keys.clone();
    let key = state
        .db
        .run(move |conn| tokens::get_or_create(conn, &keys, user.id))
        .await?;
    Ok(Json(json!({ "token": key })))
}

/// `POST /api/auth/logout-all/`: every session and token of the caller ends now,
/// access tokens and the DRF token included.
#[utoipa::path(post, path = "/api/auth/logout-all/", tag = "auth",
    responses((status = 200, description = "{\"detail\": \"Logged out everywhere.\"}")),
    security(("jwt" = []), ("token" = []), ("session" = [])))]
pub async fn logout_all(
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let id = user.id;
    state
        .db
        .run(move |conn| logins::revoke_all(conn, id))
        .await?;
    let mut response = Json(json!({ "detail": "Logged out everywhere." })).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

/// One active login as `GET /api/auth/sessions/` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginOut {
    id: i64,
    /// `session` or `jwt`
    kind: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    created: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    last_used: chrono::NaiveDateTime,
    client_addr: String,
    user_agent: String,
    current: bool,
}

/// `GET /api/auth/sessions/`: the caller's active logins, the current one marked.
#[utoipa::path(get, path = "/api/auth/sessions/", tag = "auth",
    responses((status = 200, body = [LoginOut])),
    security(("jwt" = []), ("token" = []), ("session" = [])))]
pub async fn sessions(
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<LoginOut>>, ApiError> {
    let (id, current) = (user.id, user.0.login_id());
    let rows = state.db.read(move |conn| logins::active(conn, id)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|l| LoginOut {
                id: l.id,
                current: Some(l.id) == current,
                kind: l.kind,
                created: l.created_at,
                last_used: l.last_used_at,
                client_addr: l.client_addr,
                user_agent: l.user_agent,
            })
            .collect(),
    ))
}

/// `DELETE /api/auth/sessions/<id>/`: ends one login and its tokens.
#[utoipa::path(delete, path = "/api/auth/sessions/{id}/", tag = "auth",
    params(("id" = i64, Path, description = "login id")),
    responses((status = 204), (status = 404, description = "not one of the caller's logins")),
    security(("jwt" = []), ("token" = []), ("session" = [])))]
pub async fn end_login(
    user: CurrentUser,
    State(state): State<AppState>,
    Id(login_id): Id,
) -> Result<Response, ApiError> {
    let id = user.id;
    let ended = state
        .db
        .run(
            move |conn| match logins::find_for_user(conn, login_id, id)? {
                Some(login) => logins::revoke(conn, login.id).map(|()| true),
                None => Ok(false),
            },
        )
        .await?;
    if !ended {
        return Err(ApiError::NotFound("Login"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
