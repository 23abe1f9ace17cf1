//! `/music/likes`: each user sees, adds and removes only their own likes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::domains::found;
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};

use super::payload::{self, LikeIn, LikeOut};
use super::queries;

pub const NOT_UNIQUE: &str = "The fields user, song must make a unique set.";

#[utoipa::path(get, path = "/music/likes", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = [LikeOut], headers(("x-total-count" = i64))), (status = 401)))]
pub async fn list(
    user: CurrentUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let (user_id, limit, offset) = (user.id, page.limit, page.offset);
    let (rows, total) = state
        .db
        .read(move |conn| queries::likes_of(conn, user_id, limit, offset))
        .await?;
    let rows: Vec<LikeOut> = rows.into_iter().map(LikeOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// The caller likes a song; liking it twice is a 400.
#[utoipa::path(post, path = "/music/likes", tag = "music", request_body = LikeIn,
    responses((status = 201, body = LikeOut), (status = 400), (status = 401)))]
pub async fn create(
    user: CurrentUser,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let user_id = user.id;
    let like = state
        .db
        .run(move |conn| {
            let song = payload::like_song(body.0, |song| queries::song_exists(conn, song))?;
            queries::create_like(conn, user_id, song)?
                .ok_or_else(|| ApiError::non_field(NOT_UNIQUE))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(LikeOut::from(like))).into_response())
}

/// Removes one of the caller's likes; another user's like is not found.
#[utoipa::path(delete, path = "/music/likes/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404)))]
pub async fn delete(
    user: CurrentUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let user_id = user.id;
    let deleted = state
        .db
        .run(move |conn| queries::delete_like(conn, user_id, id))
        .await?;
    found(deleted.then_some(()), "UserLikesSong")?;
    Ok(StatusCode::NO_CONTENT)
}
