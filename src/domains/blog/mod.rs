//! Seed 002's blog: `/api/blogposts/`, read by anyone, written by its author or staff.

pub mod admin;
mod handlers;
pub mod payload;
pub mod queries;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::domains::not_allowed_unless_authenticated;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/blogposts/",
            get(handlers::list)
                .post(handlers::create)
                .fallback(not_allowed_unless_authenticated),
        )
        .route(
            "/api/blogposts/{id}/",
            get(handlers::detail)
                .put(handlers::replace)
                .patch(handlers::amend)
                .delete(handlers::delete)
                .fallback(not_allowed_unless_authenticated),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::detail,
        handlers::replace,
        handlers::amend,
        handlers::delete
    ),
    components(schemas(payload::PostIn, payload::PostOut))
)]
pub struct ApiDoc;
