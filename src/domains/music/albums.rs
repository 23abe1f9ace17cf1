//! `/music/album…`: read by anyone, written by staff. Deleting an album deletes its
//! songs and their likes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::{MaybeUser, Staff};
use crate::domains::{found, Changes, New, Partial};
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};
use crate::json::Json;
use crate::state::AppState;

use super::inserts::AddAlbum;
use super::payload::{AlbumIn, AlbumOut};
use super::queries;

const MODEL: &str = "Album";

#[utoipa::path(get, path = "/music/album", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)")),
    responses((status = 200, body = [AlbumOut], headers(("x-total-count" = i64)))))]
pub async fn list(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let query = queries::albums(page.window());
    let (rows, total) = state
        .db
        .page(query, queries::albums_count(), page.place())
        .await?
        .open();
    let rows: Vec<AlbumOut> = rows.into_iter().map(AlbumOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// A new album (also served at `/music/album/create`).
#[utoipa::path(post, path = "/music/album", tag = "music", request_body = AlbumIn,
    responses((status = 201, body = AlbumOut), (status = 400), (status = 401), (status = 403)))]
pub async fn create(
    _staff: Staff,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let album = AlbumIn::<New>::parse(body.input(false)?)?;
    let album = state
        .db
        .insert::<AddAlbum, _>(album.fields(), |_| ())
        .await?;
    Ok((StatusCode::CREATED, Json(AlbumOut::from(album))).into_response())
}

#[utoipa::path(get, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 200, body = AlbumOut), (status = 404)))]
pub async fn retrieve(
    _user: MaybeUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<AlbumOut>, ApiError> {
    let album: Option<queries::Album> = state.db.first(queries::album(id)).await?;
    Ok(Json(found(album, MODEL)?.into()))
}

#[utoipa::path(method(put, patch), path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)), request_body = AlbumIn,
    responses((status = 200, body = AlbumOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn update(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
    Partial(partial): Partial,
    body: Result<Body, ApiError>,
) -> Result<Json<AlbumOut>, ApiError> {
    // As DRF: the album (404) before the body (400).
    let album = state
        .db
        .run(move |conn| {
            found(conn.first(queries::album(id))?, MODEL)?;
            let album = AlbumIn::<Changes>::parse(body?.input(partial)?)?;
            queries::update_album(conn, id, &album.fields())
        })
        .await?;
    Ok(Json(found(album, MODEL)?.into()))
}

/// Deletes the album with its songs and their likes (also `/music/album/{id}/delete`).
#[utoipa::path(delete, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn destroy(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let deleted = state
        .db
        .run(move |conn| queries::delete_album(conn, id))
        .await?;
    found(deleted.then_some(()), MODEL)?;
    Ok(StatusCode::NO_CONTENT)
}
