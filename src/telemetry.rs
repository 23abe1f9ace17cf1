//! Operations: `/healthz`, `/readyz`, and `/metrics` in the Prometheus text format
//! (requests by route and status, latency histograms, database pool use, live
//! stream clients; the registry is in [`crate::observe`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Counts and times every request under its route pattern (`/api/tasks/{id}/`),
/// so ids do not explode the label space.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state
        .metrics
        .record(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// The operations routes, each with its part of the `OpenAPI` document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "{\"status\": \"ok\"}")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The longest `/readyz` waits on the database: a probe wants an answer, and a
/// database that slow is as good as away.
const READY_WAIT: std::time::Duration = std::time::Duration::from_millis(750);

/// The database answers and every migration is applied, and the server is not
/// shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "{\"status\": \"ready\"}"), (status = 503, description = "not ready")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting down" })),
        )
            .into_response();
    }
    let db = state.db.clone();
    let probe = tokio::task::spawn_blocking(move || db.is_migrated());
    let ready = match tokio::time::timeout(READY_WAIT, probe).await {
        Ok(ready) => ready,
        Err(_) => Ok(Err(anyhow::anyhow!(
            "the database did not answer within {READY_WAIT:?}"
        ))),
    };
    match ready {
        Ok(Ok(true)) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Ok(false)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "migrations pending" })),
        )
            .into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable" })),
            )
                .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unknown" })),
            )
                .into_response()
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode(state.db.pool_state()) {
        Ok(out) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
