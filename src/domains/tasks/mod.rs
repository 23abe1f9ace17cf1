//! Seed 001's todo tasks: one private list per user.

pub mod admin;
pub mod handlers;
pub mod payload;
pub mod queries;

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
        assert_eq!(paths, ["/api/tasks/", "/api/tasks/{id}/"]);
        assert!(doc
            .components
            .is_some_and(|c| c.schemas.contains_key("TaskOut")));
    }
}
