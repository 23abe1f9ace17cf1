//! `/music/likes`: each user sees, adds and removes only their own likes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::domains::found;
use crate::error::ApiError;
use crate::extract::{Body, Id, Page, Window};
use crate::json::Json;
use crate::state::AppState;

use super::inserts::{AddLike, LikeRow};
use super::payload::{LikeIn, LikeOut};
use super::queries;

pub const NOT_UNIQUE: &str = "The fields user, song must make a unique set.";

#[utoipa::path(get, path = "/music/likes", tag = "music",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)")),
    responses((status = 200, body = [LikeOut], headers(("x-total-count" = i64))), (status = 401)))]
pub async fn list(
    user: CurrentUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let user_id = user.id;
    let Window {
        limit,
        offset,
        after,
    } = page.window();
    let (rows, total) = state
        .db
        .read(move |conn| queries::likes_of(conn, user_id, limit, offset, after))
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
    // the song is checked before the write; one deleted since is the insert's 400
    let like = state
        .db
        .read(move |conn| {
            LikeIn::parse(body.input(false)?, |song| queries::song_exists(conn, song))
        })
        .await?;
    let row = LikeRow {
        user_id,
        song_id: like.song,
    };
    let like = state.db.insert::<AddLike, _>(row, |_| ()).await?;
    Ok((StatusCode::CREATED, Json(LikeOut::from(like))).into_response())
}

/// Removes one of the caller's likes; another user's like is not found.
#[utoipa::path(delete, path = "/music/likes/{id}", tag = "music", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404)))]
pub async fn destroy(
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
