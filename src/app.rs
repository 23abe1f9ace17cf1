//! The application: shared state, the router of every module, the layers around it,
//! and `serve`.

use std::sync::Arc;

use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::crypto::Keys;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;

/// Cloned by every extractor and middleware of every request: one reference count,
/// not a dozen counters that both cores contend for (a song read +18 %).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub metrics: Arc<crate::telemetry::Metrics>,
    pub live: crate::domains::messages::live::Hub,
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, db: Db) -> Self {
        let keys = Arc::new(Keys::derive(&settings.secret_key));
        let hasher = Hasher::new(settings.argon2_memory_kib, settings.argon2_iterations);
        let live = crate::domains::messages::live::Hub::start(&db, &settings);
        Self(Arc::new(AppParts {
            db,
            settings: Arc::new(settings),
            keys,
            hasher,
            metrics: Arc::default(),
            live,
        }))
    }
}

/// Every route of every module, with what must run per route (metrics by route
/// pattern, the trailing-slash redirect). The layers every response passes through
/// are put around it once, in [`serve`].
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(crate::auth::router())
        .merge(crate::domains::messages::router())
        .merge(crate::domains::tasks::router())
        .merge(crate::domains::blog::router())
        .merge(crate::domains::music::router())
        .merge(crate::admin::router())
        .merge(crate::openapi::router())
        .merge(crate::telemetry::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::telemetry::track,
        ));
    let slashed = routes.clone().with_state(state.clone());
    routes
        .fallback(move |req: Request| append_slash(slashed.clone(), req))
        .with_state(state)
}

/// The router inside every layer. Built with `ServiceBuilder` around the whole
/// router rather than `Router::layer`, which wraps each route in a box per layer:
/// cloning those boxes for every request cost about a tenth of a list request.
fn app(
    state: AppState,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    let settings = state.settings.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let hsts = (settings.secure_hsts_seconds > 0)
        .then(|| HeaderValue::from_str(&format!("max-age={}", settings.secure_hsts_seconds)).ok())
        .flatten();
    let headers = SecurityHeaders { hsts };
    tower::ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
                    tracing::info_span!("request", id = id.unwrap_or_default(), method = %req.method(), path = req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: std::time::Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), "served");
                }),
        )
        .map_response(move |response| headers.add(response))
        .layer(cors(&settings))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .layer(axum::extract::DefaultBodyLimit::max(settings.body_limit))
        .service(router(state))
}

/// The Host header without its port (`[::1]:8000` -> `[::1]`).
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if port.chars().all(|c| c.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

/// Django's ALLOWED_HOSTS: when set, any other Host header is refused (`Some`).
fn refuse_host(state: &AppState, req: &Request) -> Option<Response> {
    let allowed = &state.settings.allowed_hosts;
    if allowed.is_empty() || allowed.iter().any(|h| h == "*") {
        return None;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = host_name(host);
    let ok = allowed.iter().any(|h| {
        h.eq_ignore_ascii_case(name)
            || (h.starts_with('.') && (name.ends_with(h.as_str()) || name == &h[1..]))
    });
    if ok {
        return None;
    }
    tracing::warn!(host, "disallowed Host header");
    Some(ApiError::BadRequest(format!("Invalid HTTP_HOST header: '{host}'.")).into_response())
}

/// What every request passes before the router and every response after it, in one
/// middleware (each `from_fn` layer boxes and moves the request's future once more):
/// the Host check, the body limit, DRF's 405 body.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(refused) = refuse_host(&state, &req) {
        return refused;
    }
    let method = req.method().clone();
    let req = match read_body(&state, req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    method_not_allowed(method, next.run(req).await)
}

/// Django's APPEND_SLASH: a GET for `/x` that matches nothing is sent to `/x/`
/// when that exists.
async fn append_slash(routes: Router, req: Request) -> Response {
    let path = req.uri().path();
    if path.ends_with('/') || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::RouteNotFound.into_response();
    }
    let target = match req.uri().query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let Ok(uri) = target.parse::<axum::http::Uri>() else {
        return ApiError::RouteNotFound.into_response();
    };
    let probe = Request::builder()
        .method(Method::HEAD)
        .uri(uri)
        .body(axum::body::Body::empty());
    let Ok(probe) = probe else {
        return ApiError::RouteNotFound.into_response();
    };
    let found = tower::ServiceExt::oneshot(routes, probe)
        .await
        .map(|r| r.status() != StatusCode::NOT_FOUND);
    if found.unwrap_or(false) {
        (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, target)]).into_response()
    } else {
        ApiError::RouteNotFound.into_response()
    }
}

/// DRF's 405 body, with the `Allow` header axum already set.
fn method_not_allowed(method: Method, response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut replaced = ApiError::MethodNotAllowed(method).into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}

/// A declared body over the limit is refused before anything reads it.
async fn read_body(state: &AppState, req: Request) -> Result<Request, Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > state.settings.body_limit) {
        let mut response = ApiError::PayloadTooLarge.into_response();
        // the unread body makes the connection unusable
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(response);
    }
    // Read the body now: a request refused before its handler reads the body (401,
    // 403) would otherwise leave it unread, and the connection would be dropped.
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, state.settings.body_limit).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(_) => Err(ApiError::PayloadTooLarge.into_response()),
    }
}

/// Django's security headers on every response, unless a handler set its own.
#[derive(Clone)]
struct SecurityHeaders {
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    fn add(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        let fixed = [
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ];
        for (name, value) in fixed {
            headers
                .entry(name)
                .or_insert(HeaderValue::from_static(value));
        }
        if let Some(hsts) = &self.hsts {
            headers
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert_with(|| hsts.clone());
        }
        response
    }
}

fn cors(settings: &Settings) -> CorsLayer {
    let origins: Vec<HeaderValue> = settings
        .cors_allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(settings.cors_allow_credentials)
        .allow_methods([
            Method::DELETE,
            Method::GET,
            Method::OPTIONS,
            Method::PATCH,
            Method::POST,
            Method::PUT,
        ])
        .allow_headers([
            header::ACCEPT,
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::USER_AGENT,
            HeaderName::from_static("x-csrftoken"),
            HeaderName::from_static("x-requested-with"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("x-total-count"), header::LINK])
        .max_age(std::time::Duration::from_secs(86400))
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.db.open_shared().await;
    let live = state.live.clone();
    let send_timeout = state.settings.send_timeout;
    let listener = listener.tap_io(move |tcp| set_send_timeout(tcp, send_timeout));
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(
            app(state),
        ),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // open streams would keep the server waiting for their clients
        live.close();
    })
    .await
}

/// TCP_USER_TIMEOUT: the kernel drops a connection whose peer has taken none of its
/// data for this long, so a client that stopped reading a stream is let go.
fn set_send_timeout(tcp: &mut tokio::net::TcpStream, timeout: std::time::Duration) {
    #[cfg(target_os = "linux")]
    if !timeout.is_zero() {
        if let Err(err) = socket2::SockRef::from(&*tcp).set_tcp_user_timeout(Some(timeout)) {
            tracing::debug!(error = %err, "cannot set TCP_USER_TIMEOUT");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (tcp, timeout);
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(super::host_name("example.com:8000"), "example.com");
        assert_eq!(super::host_name("[::1]:8000"), "[::1]");
        assert_eq!(super::host_name("[::1]"), "[::1]");
        assert_eq!(super::host_name("localhost"), "localhost");
    }
}
