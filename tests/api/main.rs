//! HTTP-level tests: each test runs against the real app on a random port, once on a
//! fresh SQLite file and once on a fresh PostgreSQL database.

mod helpers;

mod auth;
mod blog;
mod music;
mod messages;
mod tasks;
