//! HTTP-level tests: each test runs against the real app on a random port, once on a
//! fresh SQLite file and once on a fresh PostgreSQL database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test panics on a failed setup step"
)]

mod helpers;

mod admin;
mod auth;
mod blog;
mod bodies;
mod connections;
mod cursors;
mod db;
mod frontend;
mod messages;
mod music;
mod operations;
mod outage;
mod robustness;
mod schema;
mod stream;
mod tasks;
mod throttle;
mod tls;
mod totals;
