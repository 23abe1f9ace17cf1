//! Seed 000's messages: a shared board every authenticated user reads, where the
//! sender (or staff) edits and deletes.

pub mod admin;
pub mod handlers;
pub mod live;
pub mod payload;
pub mod queries;
pub mod stream;

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
            "/api/messages/stream",
            get(stream::stream).fallback(crate::domains::not_allowed_unless_authenticated),
        )
        .route(
            "/api/messages/{id}",
            get(handlers::detail)
                .patch(handlers::update)
                .delete(handlers::destroy)
                .fallback(handlers::detail_other),
        )
}

/// The domain's part of the `OpenAPI` document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::detail,
        handlers::update,
        handlers::destroy,
        stream::stream
    ),
    components(schemas(payload::MessageIn, payload::MessageOut))
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use utoipa::OpenApi as _;

    #[test]
    fn the_openapi_document_has_every_route() {
        let doc = super::ApiDoc::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "/api/messages",
                "/api/messages/stream",
                "/api/messages/{id}"
            ]
        );
        assert!(doc
            .components
            .is_some_and(|c| c.schemas.contains_key("MessageOut")));
    }
}
