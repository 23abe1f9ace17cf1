//! Accounts and authentication: users, JWT, sessions, DRF tokens, CSRF,
//! and every sign-up and login route of the contract.

pub mod caller;
pub mod csrf;
pub mod extract;
mod header;
pub mod jwt;
pub mod login;
pub mod logins;
pub mod routes;
pub mod standing;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use extract::{Auth, Caller, CurrentUser, MaybeUser, Staff, Via};
pub use users::User;

use axum::routing::post;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use routes::{account, jwt as jwt_views, register, session};

/// The sign-up and login routes, each with its part of the `OpenAPI` document.
/// A route the tutorials serve at two paths is declared once with its description
/// and once more as a plain route; the document lists the second as an alias.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // seed 000
        .routes(routes!(register::signup))
        .route("/api/auth/token/", post(jwt_views::obtain))
        .route("/api/auth/token/refresh/", post(jwt_views::refresh))
        // seed 001
        .routes(routes!(session::login_get, session::login_post))
        .routes(routes!(session::register_get, session::register_post))
        .routes(routes!(session::logout_get, session::logout_post))
        // seed 002
        .routes(routes!(register::register))
        .routes(routes!(jwt_views::obtain))
        .routes(routes!(jwt_views::refresh))
        .routes(routes!(jwt_views::verify))
        .routes(routes!(jwt_views::logout))
        // seed 003
        .routes(routes!(account::obtain_token))
        .route("/music/register", post(register::register))
        // beyond the tutorials
        .routes(routes!(account::csrf_token))
        .routes(routes!(account::me))
        .routes(routes!(account::logout_all))
        .routes(routes!(account::sessions))
        .routes(routes!(account::end_login))
}
