//! Hearth: the backend the Django tutorials build (accounts, JWT, sessions, DRF
//! tokens, four resource domains, an admin site) as one binary on SQLite or
//! PostgreSQL.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod django;
pub mod domains;
pub mod error;
pub mod extract;
pub mod fields;
pub mod frontend;
pub mod json;
pub mod live;
pub mod observe;
pub mod openapi;
pub mod password;
pub mod state;
pub mod telemetry;
pub mod time;
