//! The staff guard: extractors that let in staff with a live session only (anyone
//! else goes to the login page). The admin authenticates by session cookie alone,
//! and checks CSRF (the form's `csrfmiddlewaretoken` against the `csrftoken` cookie,
//! Django's rules) on every POST before anything else, as Django's middleware does.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde_json::Value;

use super::render::{self, html, AdminError, FLASH_COOKIE};
use crate::auth::csrf;
use crate::auth::extract::{is_secure, SESSION_COOKIE};
use crate::auth::login::header_value;
use crate::auth::logins;
use crate::auth::users::User;
use crate::error::ApiError;
use crate::fields::loose_text;
use crate::state::AppState;

/// A staff user with a live session; anyone else is sent to the login page.
pub struct Admin {
    pub user: User,
    /// The site's models, as the app registered them.
    pub models: super::Registry,
    /// The CSRF secret the forms carry (the cookie's, or a new one).
    pub csrf: String,
    /// The `Set-Cookie` for a CSRF secret the browser did not have yet.
    set_csrf: Option<axum::http::HeaderValue>,
    pub flash: Option<String>,
}

/// A POST from a staff user, its CSRF checked, with its form as a JSON object.
pub struct AdminForm {
    pub admin: Admin,
    pub data: Value,
}

/// The user of the request's live session, if any.
pub(super) async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<User>, ApiError> {
    let Some(key) = csrf::cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = state.keys.lookup_hash(&key);
    let found = logins::live_session(&state.db, hash).await?;
    Ok(found.map(|(_, user)| user).filter(|u| u.is_active))
}

/// The browser's CSRF secret when well formed, else a new one to set.
pub(super) fn csrf_secret(headers: &HeaderMap) -> (String, bool) {
    match csrf::cookie_value(headers, csrf::COOKIE)
        .filter(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Some(secret) => (secret, false),
        None => (csrf::new_secret(), true),
    }
}

/// `/admin/login/?next=<this page>`.
fn to_login(parts: &Parts) -> Response {
    let here = parts.uri.path_and_query().map_or("/admin/", |p| p.as_str());
    let next: String = form_urlencoded::byte_serialize(here.as_bytes())
        .collect::<String>()
        .replace("%2F", "/");
    render::redirect(&format!("/admin/login/?next={next}"))
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = session_user(state, &parts.headers)
            .await
            .map_err(|e| AdminError(e).into_response())?;
        let Some(user) = user.filter(|u| u.is_staff) else {
            return Err(to_login(parts));
        };
        let models = parts
            .extensions
            .get::<super::Registry>()
            .copied()
            .unwrap_or_default();
        let (csrf, new_csrf) = csrf_secret(&parts.headers);
        let set_csrf = new_csrf.then(|| header_value(&csrf::set_cookie(&state.settings, &csrf)));
        let flash = csrf::cookie_value(&parts.headers, FLASH_COOKIE).map(|v| {
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(Self {
            user,
            models,
            csrf,
            set_csrf,
            flash,
        })
    }
}

impl Admin {
    /// The template rendered for this user, with the cookies the page needs.
    pub fn page(&self, status: StatusCode, template: &str, extra: minijinja::Value) -> Response {
        let base = context! {
            user => self.user.username,
            is_superuser => self.user.is_superuser,
            csrf_token => self.csrf,
            flash => self.flash,
        };
        let body = match render::render(template, context! { ..extra, ..base }) {
            Ok(body) => body,
            Err(e) => return AdminError(e).into_response(),
        };
        let mut response = html(status, body);
        let headers = response.headers_mut();
        if let Some(cookie) = &self.set_csrf {
            headers.append(header::SET_COOKIE, cookie.clone());
        }
        if self.flash.is_some() {
            headers.append(header::SET_COOKIE, render::clear_flash_cookie());
        }
        response
    }
}

/// Django's CSRF check of a POST, with the form's token.
pub(super) fn check_csrf(state: &AppState, parts: &Parts, data: &Value) -> Result<(), AdminError> {
    let token = loose_text(data.get("csrfmiddlewaretoken"));
    csrf::check(
        &state.settings,
        &parts.headers,
        is_secure(parts, state),
        token.as_deref(),
    )
    .map_err(AdminError)
}

/// The body of a form POST as a JSON object of strings (`{}` for anything else).
pub(super) async fn read_form(state: &AppState, req: Request) -> Result<(Parts, Value), Response> {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, state.settings.body_limit)
        .await
        .map_err(|_| AdminError(ApiError::PayloadTooLarge).into_response())?;
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let data = if is_form {
        crate::extract::form_to_value(&bytes)
    } else {
        Value::Object(serde_json::Map::new())
    };
    Ok((parts, data))
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, data) = read_form(state, req).await?;
        check_csrf(state, &parts, &data).map_err(IntoResponse::into_response)?;
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        Ok(Self { admin, data })
    }
}
