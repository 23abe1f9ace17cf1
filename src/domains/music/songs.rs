//! `/music/song…` and `/music/songInAlbum`: read by anyone, written by staff.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::{MaybeUser, Staff};
use crate::domains::{found, Changes, New, Partial};
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};
use crate::json::Json;
use crate::state::AppState;

use super::inserts::AddSong;
use super::payload::{self, AlbumSongOut, SongIn, SongOut};
use super::queries;

const MODEL: &str = "Song";

#[utoipa::path(get, path = "/music/song", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)")),
    responses((status = 200, body = [SongOut], headers(("x-total-count" = i64)))))]
pub async fn list(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let query = queries::songs(page.window());
    let (rows, total) = state
        .db
        .page(query, queries::songs_count(), page.place())
        .await?
        .open();
    let rows: Vec<SongOut> = rows.into_iter().map(SongOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// The songs of one album, without their album; `?album=` is required.
#[utoipa::path(get, path = "/music/songInAlbum", tag = "music",
    params(("album" = i64, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)")),
    responses((status = 200, body = [AlbumSongOut], headers(("x-total-count" = i64))), (status = 400)))]
pub async fn in_album(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let album = payload::album_query(query.as_deref())?;
    let query = queries::songs_in_album(album, page.window());
    let total = queries::songs_in_album_count(album);
    let (rows, total) = state.db.page(query, total, page.place()).await?.open();
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
    // the album is checked before the write; one deleted since is the insert's 400
    let song = state
        .db
        .read(move |conn| {
            let input = body.input(false)?;
            SongIn::<New>::parse(input, |album| queries::album_exists(conn, album))
        })
        .await?;
    let song = state.db.insert::<AddSong, _>(song.fields(), |_| ()).await?;
    Ok((StatusCode::CREATED, Json(SongOut::from(song))).into_response())
}

#[utoipa::path(get, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 200, body = SongOut), (status = 404)))]
pub async fn retrieve(
    _user: MaybeUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<SongOut>, ApiError> {
    let song: Option<queries::Song> = state.db.first(queries::song(id)).await?;
    Ok(Json(found(song, MODEL)?.into()))
}

#[utoipa::path(method(put, patch), path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)), request_body = SongIn,
    responses((status = 200, body = SongOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn update(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
    Partial(partial): Partial,
    body: Result<Body, ApiError>,
) -> Result<Json<SongOut>, ApiError> {
    // As DRF: the song (404) before the body (400).
    let song = state
        .db
        .run(move |conn| {
            found(conn.first(queries::song(id))?, MODEL)?;
            let input = body?.input(partial)?;
            let song = SongIn::<Changes>::parse(input, |album| queries::album_exists(conn, album))?;
            queries::update_song(conn, id, &song.fields())
        })
        .await?;
    Ok(Json(found(song, MODEL)?.into()))
}

/// Deletes the song and its likes (also `/music/song/{id}/delete`).
#[utoipa::path(delete, path = "/music/song/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn destroy(
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
