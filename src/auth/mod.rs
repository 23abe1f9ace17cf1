//! Accounts and authentication: users, passwords, JWT, sessions, DRF tokens, CSRF,
//! and every sign-up and login route of the contract.

pub mod crypto;
pub mod csrf;
pub mod extract;
pub mod jwt;
pub mod logins;
pub mod password;
pub mod tokens;
pub mod users;

pub use extract::{Auth, CurrentUser, MaybeUser, Staff, Via};
pub use users::User;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
