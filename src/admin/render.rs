//! Pages: the embedded templates (minijinja, autoescaped), the stylesheet, HTML
//! error pages, redirects and the one-shot flash message.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::error::ApiError;

pub const FLASH_COOKIE: &str = "hearth_admin_flash";

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../../templates/admin/base.html")),
        (
            "login.html",
            include_str!("../../templates/admin/login.html"),
        ),
        (
            "logged_out.html",
            include_str!("../../templates/admin/logged_out.html"),
        ),
        (
            "index.html",
            include_str!("../../templates/admin/index.html"),
        ),
        ("list.html", include_str!("../../templates/admin/list.html")),
        ("form.html", include_str!("../../templates/admin/form.html")),
        (
            "delete.html",
            include_str!("../../templates/admin/delete.html"),
        ),
        (
            "error.html",
            include_str!("../../templates/admin/error.html"),
        ),
    ] {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(error = %e, name, "admin template does not parse");
        }
    }
    env
});

pub const STYLESHEET: &str = include_str!("../../templates/admin/admin.css");

/// `GET /admin/static/admin.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The named template rendered with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<String, ApiError> {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("admin template {name}: {e:#}")))
}

/// An HTML response that no cache keeps.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
    response
}

/// A 302 to a local path.
pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A plain page for an error; the layout without the user's menu.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = render(
        "error.html",
        minijinja::context! { title, message, status => status.as_u16() },
    )
    .unwrap_or_else(|_| format!("<!doctype html><title>{}</title>", status.as_u16()));
    html(status, body)
}

/// Database and template failures as HTML pages; anything else a client can act on
/// (403, 404) as its page too.
#[derive(Debug)]
pub struct AdminError(pub ApiError);

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self.0 {
            ApiError::Csrf(reason) => csrf_failed(&reason),
            ApiError::PermissionDenied => error_page(
                StatusCode::FORBIDDEN,
                "403 Forbidden",
                "You do not have permission to view or edit this.",
            ),
            ApiError::NotFound(_) | ApiError::RouteNotFound => not_found(),
            other => {
                let status = other.status();
                if status.is_server_error() {
                    // logs the cause, as the API does
                    drop(other.into_response());
                    error_page(
                        status,
                        "Server error",
                        "There's been an error. It has been logged; please try again later.",
                    )
                } else {
                    error_page(
                        status,
                        "Bad request",
                        "The request could not be understood.",
                    )
                }
            }
        }
    }
}

pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "We're sorry, but the requested page could not be found.",
    )
}

pub fn csrf_failed(reason: &str) -> Response {
    tracing::debug!(reason, "admin CSRF check failed");
    error_page(
        StatusCode::FORBIDDEN,
        "403 Forbidden",
        &format!("CSRF verification failed. Request aborted. ({reason})"),
    )
}

/// Any method a route does not serve.
pub async fn method_not_allowed() -> Response {
    error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "405 Method Not Allowed",
        "This page does not accept that method.",
    )
}

/// The `Set-Cookie` that leaves a message for the next page.
pub fn flash_cookie(message: &str) -> HeaderValue {
    let value = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC);
    crate::auth::login::header_value(&format!(
        "{FLASH_COOKIE}={value}; Path=/admin/; Max-Age=120; HttpOnly; SameSite=Lax"
    ))
}

pub fn clear_flash_cookie() -> HeaderValue {
    HeaderValue::from_static("hearth_admin_flash=; Path=/admin/; Max-Age=0; HttpOnly; SameSite=Lax")
}
