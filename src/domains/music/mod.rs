//! Seed 003's music catalogue, mounted at `/music/`: albums and songs (read by
//! anyone, written by staff) and each user's likes. `/music/register` belongs to
//! the auth module.

pub mod admin;
mod albums;
mod likes;
pub mod payload;
pub mod queries;
mod songs;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::AppState;
use crate::domains::{
    not_allowed_unless_authenticated as authenticated, not_allowed_unless_staff as staff,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/music/album",
            get(albums::list).post(albums::create).fallback(staff),
        )
        .route(
            "/music/album/create",
            post(albums::create_only).fallback(staff),
        )
        .route(
            "/music/album/{id}",
            get(albums::detail)
                .put(albums::replace)
                .patch(albums::amend)
                .delete(albums::delete)
                .fallback(staff),
        )
        .route(
            "/music/album/{id}/delete",
            delete(albums::delete_only).fallback(staff),
        )
        .route(
            "/music/song",
            get(songs::list).post(songs::create).fallback(staff),
        )
        .route(
            "/music/song/create",
            post(songs::create_only).fallback(staff),
        )
        .route(
            "/music/song/{id}",
            get(songs::detail)
                .put(songs::replace)
                .patch(songs::amend)
                .delete(songs::delete)
                .fallback(staff),
        )
        .route(
            "/music/song/{id}/delete",
            delete(songs::delete_only).fallback(staff),
        )
        .route("/music/songInAlbum", get(songs::in_album))
        .route(
            "/music/likes",
            get(likes::list).post(likes::create).fallback(authenticated),
        )
        .route(
            "/music/likes/{id}",
            delete(likes::delete).fallback(authenticated),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        albums::list,
        albums::create,
        albums::create_only,
        albums::detail,
        albums::replace,
        albums::amend,
        albums::delete,
        albums::delete_only,
        songs::list,
        songs::in_album,
        songs::create,
        songs::create_only,
        songs::detail,
        songs::replace,
        songs::amend,
        songs::delete,
        songs::delete_only,
        likes::list,
        likes::create,
        likes::delete,
    ),
    components(schemas(
        payload::AlbumIn,
        payload::AlbumOut,
        payload::SongIn,
        payload::SongOut,
        payload::AlbumSongOut,
        payload::LikeIn,
        payload::LikeOut,
    ))
)]
pub struct ApiDoc;
