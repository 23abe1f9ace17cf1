//! Seed 003's music catalogue, mounted at `/music/`: albums and songs (read by
//! anyone, written by staff) and each user's likes. `/music/register` belongs to
//! the auth module.

pub mod admin;
mod albums;
pub mod inserts;
mod likes;
pub mod payload;
pub mod queries;
mod songs;

use axum::routing::{delete, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domains::{
    not_allowed_unless_authenticated as authenticated, not_allowed_unless_staff as staff,
    with_fallback,
};
use crate::state::AppState;

/// The domain's routes, each with its part of the `OpenAPI` document. The
/// tutorial's `create` and `delete` paths serve the same handlers as the
/// collection and the object; the document lists them as aliases.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(with_fallback(routes!(albums::list, albums::create), staff))
        .route("/music/album/create", post(albums::create).fallback(staff))
        .routes(with_fallback(
            routes!(albums::retrieve, albums::update, albums::destroy),
            staff,
        ))
        .route(
            "/music/album/{id}/delete",
            delete(albums::destroy).fallback(staff),
        )
        .routes(with_fallback(routes!(songs::list, songs::create), staff))
        .route("/music/song/create", post(songs::create).fallback(staff))
        .routes(with_fallback(
            routes!(songs::retrieve, songs::update, songs::destroy),
            staff,
        ))
        .route(
            "/music/song/{id}/delete",
            delete(songs::destroy).fallback(staff),
        )
        .routes(routes!(songs::in_album))
        .routes(with_fallback(
            routes!(likes::list, likes::create),
            authenticated,
        ))
        .routes(with_fallback(routes!(likes::destroy), authenticated))
}
