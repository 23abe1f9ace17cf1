//! `/api/messages` and `/api/messages/{id}`: any authenticated user reads, the
//! sender or staff edits and deletes.
//!
//! As in DRF, a non-numeric id is 404 before authentication (`Id` comes first),
//! and a detail route reads its body only after the 404 and 403 checks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::payload::{MessageIn, MessageOut};
use super::queries::{self, NewMessage};
use crate::auth::{Caller, CurrentUser};
use crate::domains::{found, owner_or_staff, Changes, New, Partial};
use crate::error::ApiError;
use crate::extract::{Body, Id, Page};
use crate::json::Json;
use crate::state::AppState;

const MODEL: &str = "Message";

/// Every message, oldest first, paged.
#[utoipa::path(
    get, path = "/api/messages", tag = "messages",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 100, at most 1000)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip"),
        ("cursor" = Option<String>, Query, description = "Keyset paging: empty for the first page, then the cursor of the `next` link (opaque; a bad one is 400)"),
    ),
    responses(
        (status = 200, description = "A page of messages", body = [MessageOut],
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
    let query = queries::page(caller.standing(), page.window());
    let paged = state.db.page(query, queries::count(), page.place()).await?;
    let (rows, total) = caller.confirm(&state.db, paged).await?;
    let rows: Vec<MessageOut> = rows.into_iter().map(MessageOut::from).collect();
    Ok(page.respond(&rows, total))
}

/// Posts a message as the caller.
#[utoipa::path(
    post, path = "/api/messages", tag = "messages",
    request_body = MessageIn,
    responses(
        (status = 201, description = "The new message", body = MessageOut),
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
    let new = MessageIn::<New>::parse(body.input(false)?)?;
    let row = NewMessage {
        sender_id: user.id,
        sender: user.username.clone(),
        text: new.text,
        timestamp: crate::time::now(),
    };
    let live = state.live.clone();
    let message = state
        .db
        .insert::<queries::Post, _>(row, move |message| {
            live.publish(message.id, || super::feed::event(message));
        })
        .await?;
    Ok((StatusCode::CREATED, Json(MessageOut::from(message))).into_response())
}

/// One message.
#[utoipa::path(
    get, path = "/api/messages/{id}", tag = "messages", operation_id = "detail",
    params(("id" = i64, Path, description = "Message id")),
    responses(
        (status = 200, description = "The message", body = MessageOut),
        (status = 401, description = "Not authenticated"),
        (status = 404, description = "No such message"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn retrieve(
    Id(id): Id,
    _user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Json<MessageOut>, ApiError> {
    let message: Option<queries::Message> = state.db.first(queries::by_id(id)).await?;
    Ok(Json(found(message, MODEL)?.into()))
}

/// Edits a message's text; by its sender or staff.
#[utoipa::path(
    patch, path = "/api/messages/{id}", tag = "messages",
    params(("id" = i64, Path, description = "Message id")),
    request_body = MessageIn,
    responses(
        (status = 200, description = "The edited message", body = MessageOut),
        (status = 400, description = "Invalid input, as `{field: [message]}`"),
        (status = 401, description = "Not authenticated"),
        (status = 403, description = "Neither the sender nor staff"),
        (status = 404, description = "No such message"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn update(
    Id(id): Id,
    user: CurrentUser,
    State(state): State<AppState>,
    Partial(partial): Partial,
    body: Result<Body, ApiError>,
) -> Result<Json<MessageOut>, ApiError> {
    // parsed first, reported after the 404 and 403
    let changes = body.and_then(|b| MessageIn::<Changes>::parse(b.input(partial)?));
    let user = user.0.user;
    let message = state
        .db
        .run(move |conn| {
            let mut message = found(conn.first(queries::by_id(id))?, MODEL)?;
            owner_or_staff(&user, message.sender_id)?;
            if let Some(text) = changes?.text {
                if !queries::set_text(conn, id, &text)? {
                    return Err(ApiError::NotFound(MODEL));
                }
                message.text = text;
            }
            Ok(message)
        })
        .await?;
    Ok(Json(message.into()))
}

/// Deletes a message; by its sender or staff.
#[utoipa::path(
    delete, path = "/api/messages/{id}", tag = "messages",
    params(("id" = i64, Path, description = "Message id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated"),
        (status = 403, description = "Neither the sender nor staff"),
        (status = 404, description = "No such message"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn destroy(
    Id(id): Id,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let user = user.0.user;
    state
        .db
        .run(move |conn| {
            let message = found(conn.first(queries::by_id(id))?, MODEL)?;
            owner_or_staff(&user, message.sender_id)?;
            if queries::delete(conn, id)? {
                Ok(StatusCode::NO_CONTENT)
            } else {
                Err(ApiError::NotFound(MODEL))
            }
        })
        .await
}
