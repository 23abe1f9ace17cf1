//! Seed 002's blog: `/api/blogposts/`, read by anyone, written by its author or staff.

pub mod admin;
mod handlers;
pub mod payload;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domains::{not_allowed_unless_authenticated, with_fallback};
use crate::state::AppState;

/// The domain's routes, each with its part of the `OpenAPI` document. Unlike the
/// messages' and the tasks', another method on a post is 401 before a non-numeric
/// id is 404, as the blog's handlers authenticate first.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(with_fallback(
            routes!(handlers::list, handlers::create),
            not_allowed_unless_authenticated,
        ))
        .routes(with_fallback(
            routes!(handlers::retrieve, handlers::update, handlers::destroy),
            not_allowed_unless_authenticated,
        ))
}
