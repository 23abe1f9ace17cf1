//! The admin's door: `/admin/login/` and `/admin/logout/`, and the extractors that
//! let in staff only. The admin authenticates by session cookie alone, and checks
//! CSRF (the form's `csrfmiddlewaretoken` against the `csrftoken` cookie, Django's
//! rules) on every POST before anything else, as Django's middleware does.

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde_json::Value;

use super::render::{self, html, AdminError, FLASH_COOKIE};
use crate::app::AppState;
use crate::auth::csrf;
use crate::auth::extract::{client, is_secure, SESSION_COOKIE};
use crate::auth::login::{self, header_value};
use crate::auth::logins::{self, Client};
use crate::auth::users::User;
use crate::error::ApiError;
use crate::fields::{loose_text, REQUIRED};

const WRONG: &str = "Please enter the correct username and password for a staff account. \
                     Note that both fields may be case-sensitive.";

/// A staff user with a live session; anyone else is sent to the login page.
pub struct Admin {
    pub user: User,
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
async fn session_user(state: &AppState, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    let Some(key) = csrf::cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = state.keys.lookup_hash(&key);
    let found = state
        .db
        .run(move |conn| logins::session_user(conn, &hash))
        .await?;
    Ok(found.map(|(_, user)| user).filter(|u| u.is_active))
}

/// The browser's CSRF secret when well formed, else a new one to set.
fn csrf_secret(headers: &HeaderMap) -> (String, bool) {
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
        let (csrf, new_csrf) = csrf_secret(&parts.headers);
        let set_csrf = new_csrf.then(|| header_value(&csrf::set_cookie(&state.settings, &csrf)));
        let flash = csrf::cookie_value(&parts.headers, FLASH_COOKIE).map(|v| {
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(Self {
            user,
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
fn check_csrf(state: &AppState, parts: &Parts, data: &Value) -> Result<(), Response> {
    let token = loose_text(data.get("csrfmiddlewaretoken"));
    csrf::check(
        &state.settings,
        &parts.headers,
        is_secure(parts, state),
        token.as_deref(),
    )
    .map_err(|e| AdminError(e).into_response())
}

/// The body of a form POST as a JSON object of strings (`{}` for anything else).
async fn read_form(state: &AppState, req: Request) -> Result<(Parts, Value), Response> {
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
        check_csrf(state, &parts, &data)?;
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        Ok(Self { admin, data })
    }
}

/// `next` when it is a path on this site, else the index.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/admin/".to_owned(),
    }
}

fn query_next(parts: &Parts) -> Option<String> {
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

/// The one place the admin checks a password: a staff user, or `None`.
/// (Login throttling, `crate::auth::throttle`, is to be called here.)
pub async fn staff_login(
    state: &AppState,
    _client: &Client,
    username: String,
    password: String,
) -> Result<Option<User>, ApiError> {
    let user = login::check_credentials(state, username, password).await?;
    Ok(user.filter(|u| u.is_staff))
}

struct LoginForm<'a> {
    username: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    username_error: Option<&'a str>,
    password_error: Option<&'a str>,
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: Option<&User>,
    form: &LoginForm<'_>,
) -> Response {
    let (secret, new) = csrf_secret(headers);
    let body = render::render(
        "login.html",
        context! {
            title => "Log in",
            csrf_token => secret,
            username => form.username,
            next => form.next,
            error => form.error,
            username_error => form.username_error,
            password_error => form.password_error,
            signed_in_as => signed_in.map(|u| u.username.clone()),
        },
    );
    let mut response = match body {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => return AdminError(e).into_response(),
    };
    if new {
        response.headers_mut().append(
            header::SET_COOKIE,
            header_value(&csrf::set_cookie(&state.settings, &secret)),
        );
    }
    response
}

/// `GET /admin/login/`: the form (staff already signed in go on to `next`).
pub async fn login_get(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let next = safe_next(query_next(&parts).as_deref());
    let user = match session_user(&state, &parts.headers).await {
        Ok(user) => user,
        Err(e) => return AdminError(e).into_response(),
    };
    if user.as_ref().is_some_and(|u| u.is_staff) {
        return render::redirect(&next);
    }
    let form = LoginForm {
        username: "",
        next: &next,
        error: None,
        username_error: None,
        password_error: None,
    };
    login_page(&state, &parts.headers, user.as_ref(), &form)
}

/// `POST /admin/login/`: CSRF, then the credentials of a staff account; a session
/// and a 302 to `next`, or the form again with the error.
pub async fn login_post(State(state): State<AppState>, req: Request) -> Response {
    let (parts, data) = match read_form(&state, req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    if let Err(response) = check_csrf(&state, &parts, &data) {
        return response;
    }
    let field = |name: &str| loose_text(data.get(name)).unwrap_or_default();
    let (username, password) = (field("username"), field("password"));
    let next = safe_next(
        loose_text(data.get("next"))
            .filter(|n| !n.is_empty())
            .or_else(|| query_next(&parts))
            .as_deref(),
    );
    let mut form = LoginForm {
        username: &username,
        next: &next,
        error: None,
        username_error: username.trim().is_empty().then_some(REQUIRED),
        password_error: password.is_empty().then_some(REQUIRED),
    };
    if form.username_error.is_some() || form.password_error.is_some() {
        return login_page(&state, &parts.headers, None, &form);
    }
    let client = client(&parts, &state);
    let user = match staff_login(&state, &client, username.trim().to_owned(), password).await {
        Ok(user) => user,
        Err(e) => return AdminError(e).into_response(),
    };
    let Some(user) = user else {
        form.error = Some(WRONG);
        return login_page(&state, &parts.headers, None, &form);
    };
    let old = csrf::cookie_value(&parts.headers, SESSION_COOKIE);
    let cookies = match login::session_login(&state, &user, old, client).await {
        Ok(cookies) => cookies,
        Err(e) => return AdminError(e).into_response(),
    };
    let mut response = render::redirect(&next);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookies.session);
    headers.append(
        header::SET_COOKIE,
        header_value(&csrf::set_cookie(&state.settings, &cookies.csrf_secret)),
    );
    response
}

/// `POST /admin/logout/`: ends the session (CSRF-checked), then a page to log in again.
pub async fn logout(State(state): State<AppState>, req: Request) -> Response {
    let (parts, data) = match read_form(&state, req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    if let Err(response) = check_csrf(&state, &parts, &data) {
        return response;
    }
    if let Some(key) = csrf::cookie_value(&parts.headers, SESSION_COOKIE) {
        let hash = state.keys.lookup_hash(&key);
        if let Err(e) = state
            .db
            .run(move |conn| login::end_session(conn, &hash))
            .await
        {
            return AdminError(e).into_response();
        }
    }
    let body = render::render("logged_out.html", context! { title => "Logged out" });
    let mut response = match body {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => return AdminError(e).into_response(),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, login::clear_session_cookie());
    response
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(
            safe_next(Some("/admin/music/album/")),
            "/admin/music/album/"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/admin/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/admin/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/admin/");
        assert_eq!(safe_next(None), "/admin/");
    }
}
