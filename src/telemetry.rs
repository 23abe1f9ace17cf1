//! Operations: `/healthz`, `/readyz`, and `/metrics` in the Prometheus text format
//! (requests by route and status, latency histograms, database pool use, live
//! stream clients; the registry is in [`crate::observe`]).

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::json::{Json, RESPONSE_HEADERS};
use crate::state::AppState;

/// Counts and times every request under its route pattern (`/api/tasks/{id}/`),
/// so ids do not explode the label space. A layer of its own rather than
/// `middleware::from_fn`, which per request clones the route's boxed service once
/// more and moves the request through a second boxed future.
#[derive(Clone)]
pub struct Track(pub AppState);

impl<S> tower::Layer<S> for Track {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            state: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    state: AppState,
}

impl<S> tower::Service<Request> for Tracked<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let method = crate::observe::method_label(req.method());
        let route = req.extensions().get::<MatchedPath>().cloned();
        let answer = self.inner.call(req);
        let state = self.state.clone();
        Box::pin(async move {
            let mut response = answer.await?;
            // the layers outside add some ten headers: room for them in one step
            // rather than in the map's successive doublings (a JSON answer has it)
            let headers = response.headers_mut();
            if headers.capacity() < RESPONSE_HEADERS {
                headers.reserve(RESPONSE_HEADERS);
            }
            if let Some(route) = route {
                let status = response.status().as_u16();
                state
                    .metrics
                    .record(method, route, status, started.elapsed());
            }
            Ok(response)
        })
    }
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
