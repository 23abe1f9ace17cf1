//! `/admin/login/` and `/admin/logout/`: a session for staff accounts only, behind
//! Django's CSRF check; `next` is followed only to a path on this site.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::guard::{check_csrf, csrf_secret, read_form, session_user};
use super::render::{self, html, AdminError};
use crate::auth::csrf;
use crate::auth::extract::{client, SESSION_COOKIE};
use crate::auth::login::{self, header_value};
use crate::auth::logins::Client;
use crate::auth::users::User;
use crate::error::ApiError;
use crate::fields::{loose_text, REQUIRED};
use crate::state::AppState;

const WRONG: &str = "Please enter the correct username and password for a staff account. \
                     Note that both fields may be case-sensitive.";

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

/// The one place the admin checks a password: a staff user, or `None`. Throttled
/// like every login route (inside `check_credentials`).
pub async fn staff_login(
    state: &AppState,
    client: &Client,
    username: String,
    password: String,
) -> Result<Option<User>, ApiError> {
    let user = login::check_credentials(state, client, username, password).await?;
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
    if let Err(e) = check_csrf(&state, &parts, &data) {
        return e.into_response();
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
        Err(ApiError::Throttled(wait)) => {
            let text = format!("Too many failed login attempts. Try again in {wait} seconds.");
            form.error = Some(&text);
            let mut response = login_page(&state, &parts.headers, None, &form);
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, wait.into());
            return response;
        }
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
    if let Err(e) = check_csrf(&state, &parts, &data) {
        return e.into_response();
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
