//! Seed 001's session views: HTTP 200 with an `{"error": ...}` text, the `csrftoken`
//! cookie on every answer, and Django's CSRF check on every POST (whatever other
//! credentials come with it).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::auth::extract::{client, is_secure, SESSION_COOKIE};
use crate::auth::login::{
    check_credentials, clear_session_cookie, end_session, header_value, session_login,
};
use crate::auth::logins::Client;
use crate::auth::routes::register::{create_user, plain_view_errors};
use crate::auth::{csrf, users};
use crate::error::ApiError;
use crate::extract::{parse_view_body, RawBody};
use crate::fields::{join_messages, loose_text};
use crate::json::Json;
use crate::state::AppState;

/// What the session views need from the request.
pub struct SessionRequest {
    pub headers: HeaderMap,
    pub secure: bool,
    pub client: Client,
}

impl FromRequestParts<AppState> for SessionRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self {
            headers: parts.headers.clone(),
            secure: is_secure(parts, state),
            client: client(parts, state),
        })
    }
}

impl SessionRequest {
    /// The CSRF secret the browser holds, when well formed.
    fn csrf_secret(&self) -> Option<String> {
        csrf::cookie_value(&self.headers, csrf::COOKIE)
            .filter(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_alphanumeric()))
    }

    fn session_key(&self) -> Option<String> {
        csrf::cookie_value(&self.headers, SESSION_COOKIE)
    }

    /// CSRF first (the middleware runs before the view), then the body. A body
    /// the view cannot read is its 400 with the csrftoken cookie, which every
    /// answer of the view carries (`ensure_csrf_cookie`).
    fn checked_body(&self, state: &AppState, bytes: &[u8]) -> Result<Value, Box<Response>> {
        self.check_csrf(state, bytes)
            .map_err(|refused| Box::new(refused.into_response()))?;
        read_body(&self.headers, bytes).map_err(|error| {
            let mut response = error.into_response();
            set_csrf_cookie(state, &mut response, &kept_or_new(self));
            Box::new(response)
        })
    }

    fn check_csrf(&self, state: &AppState, bytes: &[u8]) -> Result<(), ApiError> {
        let is_form = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let form_token = if is_form {
            loose_text(crate::extract::form_to_value(bytes).get("csrfmiddlewaretoken"))
        } else {
            None
        };
        csrf::check(
            &state.settings,
            &self.headers,
            self.secure,
            form_token.as_deref(),
        )
    }
}

fn read_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let data = parse_view_body(headers, bytes)?;
    if !data.is_object() {
        return Err(ApiError::non_field(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            crate::fields::python_type(&data)
        )));
    }
    Ok(data)
}

fn set_csrf_cookie(state: &AppState, response: &mut Response, csrf_secret: &str) {
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        header_value(&csrf::set_cookie(&state.settings, csrf_secret)),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
}

/// The view's answer, with the CSRF cookie (and any session cookie) set.
fn answer(
    state: &AppState,
    text: &str,
    csrf_secret: &str,
    session: Option<HeaderValue>,
) -> Response {
    let mut response = Json(json!({ "error": text })).into_response();
    set_csrf_cookie(state, &mut response, csrf_secret);
    if let Some(session) = session {
        response.headers_mut().append(header::SET_COOKIE, session);
    }
    response
}

fn kept_or_new(req: &SessionRequest) -> String {
    req.csrf_secret().unwrap_or_else(csrf::new_secret)
}

#[utoipa::path(get, path = "/authentication/login", tag = "session",
    responses((status = 200, description = "{\"error\": \"Needs a post request to log user in\"}")))]
pub async fn login_get(State(state): State<AppState>, req: SessionRequest) -> Response {
    answer(
        &state,
        "Needs a post request to log user in",
        &kept_or_new(&req),
        None,
    )
}

#[utoipa::path(post, path = "/authentication/login", tag = "session",
    request_body = crate::auth::routes::register::Credentials,
    responses((status = 200, description = "{\"error\": \"None, login successful\"} or \"Username and/or password incorrect\""),
              (status = 403, description = "CSRF Failed")))]
pub async fn login_post(
    State(state): State<AppState>,
    req: SessionRequest,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let data = match req.checked_body(&state, &bytes) {
        Ok(data) => data,
        Err(unreadable) => return Ok(*unreadable),
    };
    let username = loose_text(data.get("username")).unwrap_or_default();
    let password = loose_text(data.get("password")).unwrap_or_default();
    let Some(user) = check_credentials(&state, &req.client, username, password).await? else {
        return Ok(answer(
            &state,
            "Username and/or password incorrect",
            &kept_or_new(&req),
            None,
        ));
    };
    let cookies = session_login(&state, &user, req.session_key(), req.client.clone()).await?;
    Ok(answer(
        &state,
        "None, login successful",
        &cookies.csrf_secret,
        Some(cookies.session),
    ))
}

#[utoipa::path(get, path = "/authentication/register", tag = "session",
    responses((status = 200, description = "{\"error\": \"Needs a post request to register new user\"}")))]
pub async fn register_get(State(state): State<AppState>, req: SessionRequest) -> Response {
    answer(
        &state,
        "Needs a post request to register new user",
        &kept_or_new(&req),
        None,
    )
}

#[utoipa::path(post, path = "/authentication/register", tag = "session",
    request_body(content = Value, description = "{username, password, confirm_password}"),
    responses((status = 200, description = "{\"error\": \"None, user creation successful\"} or the reason"),
              (status = 403, description = "CSRF Failed")))]
pub async fn register_post(
    State(state): State<AppState>,
    req: SessionRequest,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let data = match req.checked_body(&state, &bytes) {
        Ok(data) => data,
        Err(unreadable) => return Ok(*unreadable),
    };
    let field = |name: &str| loose_text(data.get(name)).filter(|s| !s.is_empty());
    let say = |text: &str| Ok(answer(&state, text, &kept_or_new(&req), None));
    let (Some(username), Some(password), Some(confirm)) = (
        field("username"),
        field("password"),
        field("confirm_password"),
    ) else {
        return say("Username and password required");
    };
    if confirm != password {
        return say("Passwords don't match");
    }
    let name = username.clone();
    if state
        .db
        .read(move |conn| users::username_exists(conn, &name))
        .await?
    {
        return say("Username already taken");
    }
    let errors = plain_view_errors(&username, &password);
    if !errors.is_empty() {
        return say(&join_messages(&errors));
    }
    let Some(user) = create_user(&state, &req.client, username, password).await? else {
        return say("Username already taken");
    };
    let cookies = session_login(&state, &user, req.session_key(), req.client.clone()).await?;
    Ok(answer(
        &state,
        "None, user creation successful",
        &cookies.csrf_secret,
        Some(cookies.session),
    ))
}

#[utoipa::path(get, path = "/authentication/logout", tag = "session",
    responses((status = 200, description = "{\"error\": \"Needs a post request to log out current user\"}")))]
pub async fn logout_get(State(state): State<AppState>, req: SessionRequest) -> Response {
    answer(
        &state,
        "Needs a post request to log out current user",
        &kept_or_new(&req),
        None,
    )
}

#[utoipa::path(post, path = "/authentication/logout", tag = "session",
    request_body(content = Value, description = "not read"),
    responses((status = 200, description = "{\"error\": \"None, logged out successfully\"}"),
              (status = 403, description = "CSRF Failed")))]
pub async fn logout_post(
    State(state): State<AppState>,
    req: SessionRequest,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    // logout reads no body: only the CSRF check can refuse it
    req.check_csrf(&state, &bytes)?;
    let had_session = match req.session_key() {
        Some(key) => {
            let hash = state.keys.lookup_hash(&key);
            state.db.run(move |conn| end_session(conn, &hash)).await?;
            true
        }
        None => false,
    };
    Ok(answer(
        &state,
        "None, logged out successfully",
        &kept_or_new(&req),
        had_session.then(clear_session_cookie),
    ))
}
