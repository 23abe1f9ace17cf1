//! Accounts and authentication: users, passwords, JWT, sessions, DRF tokens, CSRF,
//! and every sign-up and login route of the contract.

pub mod crypto;
pub mod csrf;
pub mod extract;
pub mod jwt;
pub mod login;
pub mod logins;
pub mod password;
pub mod routes;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use extract::{Auth, Caller, CurrentUser, MaybeUser, Staff, Via};
pub use users::User;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::AppState;
use routes::{account, jwt as jwt_views, register, session};

pub fn router() -> Router<AppState> {
    Router::new()
        // seed 000
        .route("/api/auth/signup/", post(register::signup))
        .route("/api/auth/token/", post(jwt_views::obtain))
        .route("/api/auth/token/refresh/", post(jwt_views::refresh))
        // seed 001
        .route(
            "/authentication/login",
            get(session::login_get).post(session::login_post),
        )
        .route(
            "/authentication/register",
            get(session::register_get).post(session::register_post),
        )
        .route(
            "/authentication/logout",
            get(session::logout_get).post(session::logout_post),
        )
        // seed 002
        .route("/api/user/register/", post(register::register))
        .route("/api/token/", post(jwt_views::obtain))
        .route("/api/token/refresh/", post(jwt_views::refresh))
        .route("/api/token/verify/", post(jwt_views::verify))
        .route("/api/user/logout/", post(jwt_views::logout))
        // seed 003
        .route("/api-token-auth/", post(account::obtain_token))
        .route("/music/register", post(register::register))
        // beyond the tutorials
        .route("/api/auth/csrf/", get(account::csrf_token))
        .route("/api/auth/me/", get(account::me))
        .route("/api/auth/logout-all/", post(account::logout_all))
        .route("/api/auth/sessions/", get(account::sessions))
        .route("/api/auth/sessions/{id}/", delete(account::end_login))
}

/// The OpenAPI description of the auth routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        register::signup,
        register::register,
        jwt_views::obtain,
        jwt_views::refresh,
        jwt_views::verify,
        jwt_views::logout,
        session::login_get,
        session::login_post,
        session::register_get,
        session::register_post,
        session::logout_get,
        session::logout_post,
        account::csrf_token,
        account::me,
        account::obtain_token,
        account::logout_all,
        account::sessions,
        account::end_login,
    ),
    components(schemas(
        User,
        register::Credentials,
        register::SignupOut,
        register::SignupUser,
        register::Registered,
        login::TokenPair,
        account::LoginOut
    ))
)]
pub struct ApiDoc;
