//! The blog's handlers: read by anyone, written by a logged-in user, changed or
//! deleted by the author or staff.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::{CurrentUser, MaybeUser};
use crate::domains::{found, owner_or_staff, Changes, New, Partial};
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};
use crate::json::Json;
use crate::state::AppState;

use super::payload::{PostIn, PostOut};
use super::queries::{self, PostChanges, PostRow};

const MODEL: &str = "BlogPost";

/// Every post, oldest first.
#[utoipa::path(get, path = "/api/blogposts/", tag = "blog",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)")),
    responses((status = 200, body = [PostOut], headers(("x-total-count" = i64)))))]
pub async fn list(
    _user: MaybeUser,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let query = queries::page(page.window());
    let (rows, total) = state
        .db
        .page(query, queries::count(), page.place())
        .await?
        .open();
    let rows: Vec<PostOut> = rows.into_iter().map(PostOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// A new post by the caller.
#[utoipa::path(post, path = "/api/blogposts/", tag = "blog", request_body = PostIn,
    responses((status = 201, body = PostOut), (status = 400), (status = 401)))]
pub async fn create(
    user: CurrentUser,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let post = PostIn::<New>::parse(body.input(false)?)?;
    let row = PostRow {
        author_id: user.id,
        author: user.username.clone(),
        title: post.title,
        content: post.content,
        at: crate::time::now(),
    };
    let created = state.db.insert::<queries::Add, _>(row, |_| ()).await?;
    Ok((StatusCode::CREATED, Json(PostOut::from(created))).into_response())
}

#[utoipa::path(get, path = "/api/blogposts/{id}/", tag = "blog", operation_id = "detail", params(("id" = i64, Path)),
    responses((status = 200, body = PostOut), (status = 404)))]
pub async fn retrieve(
    _user: MaybeUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<PostOut>, ApiError> {
    let post: Option<queries::Post> = state.db.first(queries::by_id(id)).await?;
    Ok(Json(found(post, MODEL)?.into()))
}

#[utoipa::path(method(put, patch), path = "/api/blogposts/{id}/", tag = "blog",
    extensions(("x-operation-ids" = json!({"put": "replace", "patch": "amend"}))),
    params(("id" = i64, Path)), request_body = PostIn,
    responses((status = 200, body = PostOut), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn update(
    user: CurrentUser,
    State(state): State<AppState>,
    Id(id): Id,
    Partial(partial): Partial,
    body: Result<Body, ApiError>,
) -> Result<Json<PostOut>, ApiError> {
    // As DRF: the post (404), then the author-or-staff check (403), then the body
    // (400), so a malformed body from a stranger is still a 403.
    let caller = user.0.user;
    let updated = state
        .db
        .run(move |conn| {
            let post = found(conn.first(queries::by_id(id))?, MODEL)?;
            owner_or_staff(&caller, post.author_id)?;
            let input = PostIn::<Changes>::parse(body?.input(partial)?)?;
            let changes = PostChanges {
                title: input.title,
                content: input.content,
                updated_at: crate::time::now(),
            };
            queries::update(conn, id, &changes)
        })
        .await?;
    Ok(Json(updated.into()))
}

#[utoipa::path(delete, path = "/api/blogposts/{id}/", tag = "blog", operation_id = "delete", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn destroy(
    user: CurrentUser,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let caller = user.0.user;
    state
        .db
        .run(move |conn| {
            let post = found(conn.first(queries::by_id(id))?, MODEL)?;
            owner_or_staff(&caller, post.author_id)?;
            found(queries::delete(conn, id)?.then_some(()), MODEL)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
