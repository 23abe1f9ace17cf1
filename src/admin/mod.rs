//! The admin site at `/admin/`: server-rendered pages where staff browse, add, change
//! and delete every model, with the API's own validation. Each model is described
//! by a [`model::ModelAdmin`] that its domain writes in its `admin.rs`; adding a
//! model to the site is one line in the app's `ADMIN`. Works without JavaScript; every page
//! forbids framing and inline script.

pub mod auth;
mod forms;
pub mod guard;
pub mod helpers;
pub mod model;
mod render;
pub mod tokens;
pub mod users;
mod views;

use axum::http::{header, HeaderValue};
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;
use model::ModelAdmin;
use render::method_not_allowed as other;

/// The models of the site, in the index's order (grouped by `app_label`). The app
/// gives them (`crate::app`), so that the admin knows no domain.
#[derive(Clone, Copy, Default)]
pub struct Registry(pub &'static [&'static ModelAdmin]);

const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(models: Registry) -> Router<AppState> {
    Router::new()
        .route("/admin/", get(views::index).fallback(other))
        .route(
            "/admin/login/",
            get(auth::login_get).post(auth::login_post).fallback(other),
        )
        .route("/admin/logout/", post(auth::logout).fallback(other))
        .route(
            "/admin/static/admin.css",
            get(render::stylesheet).fallback(other),
        )
        .route("/admin/{app}/", get(views::app_index).fallback(other))
        .route("/admin/{app}/{model}/", get(views::list).fallback(other))
        .route(
            "/admin/{app}/{model}/{action}/",
            get(forms::add_form).post(forms::add).fallback(other),
        )
        .route(
            "/admin/{app}/{model}/{id}/{action}/",
            get(forms::object_page)
                .post(forms::object_post)
                .fallback(other),
        )
        // anything else under /admin/: HTML, not the API's JSON 404
        .route("/admin/{a}", any(views::unknown))
        .route("/admin/{a}/{b}", any(views::unknown))
        .route("/admin/{a}/{b}/{c}", any(views::unknown))
        .route("/admin/{a}/{b}/{c}/{d}", any(views::unknown))
        .route("/admin/{a}/{b}/{c}/{d}/{*rest}", any(views::unknown))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(axum::Extension(models))
}
