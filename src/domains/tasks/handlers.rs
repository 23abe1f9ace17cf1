//! `/api/tasks/` and `/api/tasks/{id}/`: each user's own todo list. Another user's
//! task is 404, never 403, so ids reveal nothing.
//!
//! As in DRF, a non-numeric id is 404 before authentication (`Id` comes first),
//! and PUT/PATCH read the body only after the task is found.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::payload::{TaskIn, TaskOut};
use super::queries::{self, TaskRow, TaskUpdate};
use crate::auth::{Caller, CurrentUser};
use crate::domains::{found, Changes, New, Partial};
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};
use crate::json::Json;
use crate::state::AppState;

const MODEL: &str = "Task";

/// The caller's tasks by id, paged.
#[utoipa::path(
    get, path = "/api/tasks/", tag = "tasks",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 100, at most 1000)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip"),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)"),
    ),
    responses(
        (status = 200, description = "A page of the caller's tasks", body = [TaskOut],
            headers(("X-Total-Count" = i64), ("Link" = String, description = "RFC 8288 next/prev"))),
        (status = 401, description = "Not authenticated"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, ApiError> {
    let standing = caller.standing();
    let query = queries::page(standing, page.window());
    let total = queries::count(standing.user_id);
    let paged = state.db.page(query, total, page.place()).await?;
    let (rows, total) = caller.confirm(&state.db, paged).await?;
    let rows: Vec<TaskOut> = rows.into_iter().map(TaskOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// Adds a task to the caller's list.
#[utoipa::path(
    post, path = "/api/tasks/", tag = "tasks",
    request_body = TaskIn,
    responses(
        (status = 201, description = "The new task", body = TaskOut),
        (status = 400, description = "Invalid input, as `{field: [message]}`"),
        (status = 401, description = "Not authenticated"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn create(
    user: CurrentUser,
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let input = TaskIn::<New>::parse(body.input(false)?)?;
    let row = TaskRow {
        user_id: user.id,
        title: input.title,
        completed: input.completed.unwrap_or(false),
        at: crate::time::now(),
    };
    let task = state.db.insert::<queries::Add, _>(row, |_| ()).await?;
    Ok((StatusCode::CREATED, Json(TaskOut::from(task))).into_response())
}

/// One of the caller's tasks.
#[utoipa::path(
    get, path = "/api/tasks/{id}/", tag = "tasks", operation_id = "detail",
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskOut),
        (status = 401, description = "Not authenticated"),
        (status = 404, description = "No such task of the caller's"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn retrieve(
    Id(id): Id,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Json<TaskOut>, ApiError> {
    let user_id = user.id;
    let task: Option<queries::Task> = state.db.first(queries::owned(id, user_id)).await?;
    Ok(Json(found(task, MODEL)?.into()))
}

/// Replaces a task's fields (PUT; `title` is required) or changes those sent (PATCH).
#[utoipa::path(
    method(put, patch), path = "/api/tasks/{id}/", tag = "tasks",
    extensions(("x-operation-ids" = json!({"put": "replace", "patch": "update"}))),
    params(("id" = i64, Path, description = "Task id")),
    request_body = TaskIn,
    responses(
        (status = 200, description = "The task", body = TaskOut),
        (status = 400, description = "Invalid input, as `{field: [message]}`"),
        (status = 401, description = "Not authenticated"),
        (status = 404, description = "No such task of the caller's"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn update(
    Id(id): Id,
    user: CurrentUser,
    State(state): State<AppState>,
    Partial(partial): Partial,
    body: Result<Body, ApiError>,
) -> Result<Json<TaskOut>, ApiError> {
    let user_id = user.id;
    let input = body.and_then(|b| TaskIn::<Changes>::parse(b.input(partial)?));
    let task = state
        .db
        .run(move |conn| {
            let input = match input {
                Ok(input) => input,
                // DRF finds the task before it reads the body: 404 wins over 400
                Err(err) => {
                    found(conn.first(queries::owned(id, user_id))?, MODEL)?;
                    return Err(err);
                }
            };
            let changes = TaskUpdate {
                title: input.title.as_deref(),
                completed: input.completed,
                updated_at: crate::time::now(),
            };
            found(queries::update_owned(conn, id, user_id, &changes)?, MODEL)
        })
        .await?;
    Ok(Json(task.into()))
}

/// Deletes one of the caller's tasks.
#[utoipa::path(
    delete, path = "/api/tasks/{id}/", tag = "tasks",
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated"),
        (status = 404, description = "No such task of the caller's"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn destroy(
    Id(id): Id,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let user_id = user.id;
    let deleted = state
        .db
        .run(move |conn| queries::delete_owned(conn, id, user_id))
        .await?;
    found(deleted.then_some(StatusCode::NO_CONTENT), MODEL)
}
