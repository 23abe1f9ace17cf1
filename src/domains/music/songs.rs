//! `/music/song…` and `/music/songInAlbum`: read by anyone, written by staff.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::AppState;
use crate::auth::{MaybeUser, Staff};
use crate::domains::found;
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};

use super::payload::{self, AlbumSongOut, SongIn, SongOut};
use super::queries;

const MODEL: &str = "Song";

#[utoipa::path(get, path = "/music/song", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = [SongOut], headers(("x-total-count" = i64)))))]
pub async fn list(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let (limit, offset) = (page.limit, page.offset);
    let (rows, total) = state
        .db
        .read_shared(
            move |pg| queries::songs_shared(pg, limit, offset),
            move |conn| queries::songs(conn, limit, offset),
        )
        .await?;
    let rows: Vec<SongOut> = rows.into_iter().map(SongOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// The songs of one album, without their album; `?album=` is required.
#[utoipa::path(get, path = "/music/songInAlbum", tag = "music",
    params(("album" = i64, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = [AlbumSongOut], headers(("x-total-count" = i64))), (status = 400)))]
pub async fn in_album(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let album = payload::album_query(query.as_deref())?;
    let (limit, offset) = (page.limit, page.offset);
    let (rows, total) = state
        .db
        .read(move |conn| queries::songs_in_album(conn, album, limit, offset))
        .await?;
    let rows: Vec<AlbumSongOut> = rows.into_iter().map(AlbumSongOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// A new song on an existing album (also served at `/music/song/create`).
#[utoipa::path(post, path = "/music/song", tag = "music", request_body = SongIn,
    responses((status = 201, body = SongOut), (status = 400), (status = 401), (status = 403)))]
pub async fn create(
    _staff: Staff,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let song = state
        .db
        .run(move |conn| {
            let fields =
                payload::song_fields(body.0, false, |album| queries::album_exists(conn, album))?;
            queries::create_song(conn, &fields)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(SongOut::from(song))).into_response())
}

#[utoipa::path(post, path = "/music/song/create", tag = "music", request_body = SongIn,
    responses((status = 201, body = SongOut), (status = 400), (status = 401), (status = 403)))]
pub async fn create_only(
    staff: Staff,
    state: State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    create(staff, state, body).await
}

#[utoipa::path(get, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 200, body = SongOut), (status = 404)))]
pub async fn detail(
    _user: MaybeUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<SongOut>, ApiError> {
    let song = state
        .db
        .read_shared(
            move |pg| queries::song_shared(pg, id),
            move |conn| queries::song(conn, id),
        )
        .await?;
    Ok(Json(found(song, MODEL)?.into()))
}

#[utoipa::path(put, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)), request_body = SongIn,
    responses((status = 200, body = SongOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn replace(
    staff: Staff,
    state: State<AppState>,
    id: Id,
    body: Result<Body, ApiError>,
) -> Result<Json<SongOut>, ApiError> {
    update(staff, state, id, body, false).await
}

#[utoipa::path(patch, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)), request_body = SongIn,
    responses((status = 200, body = SongOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn amend(
    staff: Staff,
    state: State<AppState>,
    id: Id,
    body: Result<Body, ApiError>,
) -> Result<Json<SongOut>, ApiError> {
    update(staff, state, id, body, true).await
}

/// As DRF: the song (404) before the body (400).
async fn update(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
    body: Result<Body, ApiError>,
    partial: bool,
) -> Result<Json<SongOut>, ApiError> {
    let song = state
        .db
        .run(move |conn| {
            found(queries::song(conn, id)?, MODEL)?;
            let fields =
                payload::song_fields(body?.0, partial, |album| queries::album_exists(conn, album))?;
            queries::update_song(conn, id, &fields)
        })
        .await?;
    Ok(Json(found(song, MODEL)?.into()))
}

/// Deletes the song and its likes (also `/music/song/{id}/delete`).
#[utoipa::path(delete, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let deleted = state
        .db
        .run(move |conn| queries::delete_song(conn, id))
        .await?;
    found(deleted.then_some(()), MODEL)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/music/song/{id}/delete", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_only(
    staff: Staff,
    state: State<AppState>,
    id: Id,
) -> Result<StatusCode, ApiError> {
    delete(staff, state, id).await
}
