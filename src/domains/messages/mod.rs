//! Seed 000's messages: a shared board every authenticated user reads, where the
//! sender (or staff) edits and deletes.

pub mod handlers;
pub mod payload;
pub mod queries;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/messages",
            get(handlers::list)
                .post(handlers::create)
                .fallback(handlers::list_other),
        )
        .route(
            "/api/messages/{id}",
            get(handlers::detail)
                .patch(handlers::update)
                .delete(handlers::destroy)
                .fallback(handlers::detail_other),
        )
}

/// The domain's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::detail,
        handlers::update,
        handlers::destroy
    ),
    components(schemas(payload::MessageIn, payload::MessageOut))
)]
pub struct ApiDoc;
