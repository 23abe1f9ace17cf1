//! Seed 000's messages: a shared board every authenticated user reads, where the
//! sender (or staff) edits and deletes.

pub mod admin;
pub mod feed;
pub mod handlers;
pub mod payload;
pub mod queries;
pub mod stream;
pub mod ticket;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domains::{
    not_allowed_on_id_unless_authenticated, not_allowed_unless_authenticated, with_fallback,
};
use crate::state::AppState;

/// The domain's routes, each with its part of the `OpenAPI` document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(with_fallback(
            routes!(handlers::list, handlers::create),
            not_allowed_unless_authenticated,
        ))
        .routes(with_fallback(
            routes!(stream::stream),
            not_allowed_unless_authenticated,
        ))
        .routes(with_fallback(
            routes!(ticket::issue),
            not_allowed_unless_authenticated,
        ))
        // PUT included: seed 000 only PATCHes a message
        .routes(with_fallback(
            routes!(handlers::retrieve, handlers::update, handlers::destroy),
            not_allowed_on_id_unless_authenticated,
        ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_has_every_route() {
        let doc = super::router().into_openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "/api/messages",
                "/api/messages/stream",
                "/api/messages/stream/ticket",
                "/api/messages/{id}"
            ]
        );
        assert!(doc
            .components
            .is_some_and(|c| c.schemas.contains_key("MessageOut")));
    }
}
