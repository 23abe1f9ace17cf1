//! The auth routes, grouped by the tutorial they come from.

pub mod account;
pub mod jwt;
pub mod register;
pub mod session;
