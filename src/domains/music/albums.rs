//! `/music/album…`: read by anyone, written by staff. Deleting an album deletes its
//! songs and their likes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::AppState;
use crate::auth::{MaybeUser, Staff};
use crate::domains::found;
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};

use super::payload::{self, AlbumIn, AlbumOut};
use super::queries;

const MODEL: &str = "Album";

#[utoipa::path(get, path = "/music/album", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = [AlbumOut], headers(("x-total-count" = i64)))))]
pub async fn list(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let (limit, offset) = (page.limit, page.offset);
    let (rows, total) = state
        .db
        .read(move |conn| queries::albums(conn, limit, offset))
        .await?;
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
    let fields = payload::album_fields(body.0, false)?;
    let album = state
        .db
        .run(move |conn| queries::create_album(conn, &fields))
        .await?;
    Ok((StatusCode::CREATED, Json(AlbumOut::from(album))).into_response())
}

#[utoipa::path(post, path = "/music/album/create", tag = "music", request_body = AlbumIn,
    responses((status = 201, body = AlbumOut), (status = 400), (status = 401), (status = 403)))]
pub async fn create_only(
    staff: Staff,
    state: State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    create(staff, state, body).await
}

#[utoipa::path(get, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 200, body = AlbumOut), (status = 404)))]
pub async fn detail(
    _user: MaybeUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<AlbumOut>, ApiError> {
    let album = state.db.read(move |conn| queries::album(conn, id)).await?;
    Ok(Json(found(album, MODEL)?.into()))
}

#[utoipa::path(put, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)), request_body = AlbumIn,
    responses((status = 200, body = AlbumOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn replace(
    staff: Staff,
    state: State<AppState>,
    id: Id,
    body: Result<Body, ApiError>,
) -> Result<Json<AlbumOut>, ApiError> {
    update(staff, state, id, body, false).await
}

#[utoipa::path(patch, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)), request_body = AlbumIn,
    responses((status = 200, body = AlbumOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn amend(
    staff: Staff,
    state: State<AppState>,
    id: Id,
    body: Result<Body, ApiError>,
) -> Result<Json<AlbumOut>, ApiError> {
    update(staff, state, id, body, true).await
}

/// As DRF: the album (404) before the body (400).
async fn update(
    _staff: Staff,
    State(state): State<AppState>,
    Id(id): Id,
    body: Result<Body, ApiError>,
    partial: bool,
) -> Result<Json<AlbumOut>, ApiError> {
    let album = state
        .db
        .run(move |conn| {
            found(queries::album(conn, id)?, MODEL)?;
            let fields = payload::album_fields(body?.0, partial)?;
            queries::update_album(conn, id, &fields)
        })
        .await?;
    Ok(Json(found(album, MODEL)?.into()))
}

/// Deletes the album with its songs and their likes (also `/music/album/{id}/delete`).
#[utoipa::path(delete, path = "/music/album/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete(
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

#[utoipa::path(delete, path = "/music/album/{id}/delete", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_only(
    staff: Staff,
    state: State<AppState>,
    id: Id,
) -> Result<StatusCode, ApiError> {
    delete(staff, state, id).await
}
