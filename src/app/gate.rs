//! What every request passes before the router and every response after it: the
//! Host check, the access line, the body limit, DRF's 405 body, the security
//! headers, and the trailing-slash redirect (CORS is `cors`).

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::future::BoxFuture;

use super::cors::{cors_vary, CrossOriginLayer};
use crate::error::ApiError;
use crate::state::AppState;

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
/// A second Host header is always refused (RFC 9112: which one a proxy or cache
/// believed cannot be known).
fn refuse_host(state: &AppState, req: &Request) -> Option<Response> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    if let (Some(_), Some(_)) = (hosts.next(), hosts.next()) {
        tracing::warn!("more than one Host header");
        return Some(
            ApiError::BadRequest("Invalid HTTP_HOST header: more than one.".into()).into_response(),
        );
    }
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

/// The header that carries a request's id, the client's own or a new one.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What every request passes before the router and every response after it, as
/// one service of its own: the request id, the access line, the Host check, the
/// body limit, DRF's 405 body, the session's cookie and the security headers. The
/// id is the client's `X-Request-Id` or a new UUID, in the scope of its log lines
/// and on the response. `middleware::from_fn` cloned and boxed the router for every
/// request and moved the request through two more futures; with two `map_response`
/// layers, an eighth of the instructions of a one-row read.
#[derive(Clone)]
pub(super) struct GateLayer {
    pub(super) state: AppState,
    pub(super) headers: SecurityHeaders,
    pub(super) cors: CrossOriginLayer,
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            state: self.state.clone(),
            headers: self.headers.clone(),
            cors: self.cors.clone(),
        }
    }
}

#[derive(Clone)]
pub(super) struct Gate<S> {
    inner: S,
    state: AppState,
    headers: SecurityHeaders,
    cors: CrossOriginLayer,
}

impl<S> tower::Service<Request> for Gate<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // the service that was made ready goes with the request; a clone stays
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let (state, headers, cors) = (self.state.clone(), self.headers.clone(), self.cors.clone());
        Box::pin(async move { Ok(headers.add(gate(state, cors, req, ready).await)) })
    }
}

async fn gate<S>(state: AppState, cors: CrossOriginLayer, req: Request, inner: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let id = match req.headers().get(&REQUEST_ID_HEADER) {
        Some(id) => id.clone(),
        None => {
            let mut text = uuid::Uuid::encode_buffer();
            let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
            HeaderValue::from_str(text).expect("a UUID is a header value")
        }
    };
    let access = crate::observe::access::Pending::start(req.method(), req.uri());
    let mut response = crate::observe::REQUEST_ID
        .scope(id.clone(), admit(state, cors, req, inner))
        .await;
    if let Some(access) = access {
        access.finish(id.to_str().unwrap_or_default(), response.status().as_u16());
    }
    response
        .headers_mut()
        .entry(REQUEST_ID_HEADER)
        .or_insert(id);
    response
}

/// [`gate`]'s checks and the request itself, inside the request id's scope.
async fn admit<S>(state: AppState, cors: CrossOriginLayer, req: Request, mut inner: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let origin = req.headers().get(header::ORIGIN).cloned();
    if let Some(refused) = refuse_host(&state, &req) {
        return cors.grant(origin, refused).await;
    }
    let method = req.method().clone();
    let mut req = match read_body(&state, req).await {
        Ok(req) => req,
        Err(refused) => return cors.grant(origin, refused).await,
    };
    let credentials = crate::auth::extract::carries_credentials(req.headers());
    let stale = crate::auth::extract::StaleSession::watch(&mut req);
    let answer = inner.call(req).await;
    let mut response = method_not_allowed(method, answer.unwrap_or_else(|never| match never {}));
    let sets_session = || {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.as_bytes().starts_with(b"sessionid="))
    };
    if stale.is_some_and(|s| s.found()) && !sets_session() {
        response.headers_mut().append(
            header::SET_COOKIE,
            crate::auth::login::clear_session_cookie(),
        );
    }
    private_to_the_caller(credentials, response)
}

/// Answers may depend on the session cookie: `Vary: Cookie` (as Django adds when
/// a view reads the session), and an answer to a request with credentials is
/// `private`, so no shared cache keeps it for someone else. A response that set
/// its own `Cache-Control` (a public file) is left as it is.
fn private_to_the_caller(credentials: bool, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if headers.contains_key(header::CACHE_CONTROL) {
        return response;
    }
    headers.append(header::VARY, VARY_COOKIE);
    if credentials {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    response
}

/// Django's APPEND_SLASH: a GET for `/x` that matches nothing is sent to `/x/`
/// when that exists.
pub(super) async fn append_slash(routes: Router, req: Request) -> Response {
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
        // Django's redirect: an empty HTML page
        (
            StatusCode::MOVED_PERMANENTLY,
            [
                (header::LOCATION, target),
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            ],
        )
            .into_response()
    } else {
        ApiError::RouteNotFound.into_response()
    }
}

/// DRF's 405 body, with the headers axum's answer had (`Allow`, CORS).
fn method_not_allowed(method: Method, response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut head, _) = response.into_parts();
    let (drf, body) = ApiError::MethodNotAllowed(method)
        .into_response()
        .into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.extend(drf.headers);
    Response::from_parts(head, body)
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
    // A body known to be empty (a GET) has nothing to read.
    if axum::body::HttpBody::size_hint(req.body()).exact() == Some(0) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, state.settings.body_limit).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(_) => Err(ApiError::PayloadTooLarge.into_response()),
    }
}

// Checked once, at compile time: `from_static` checks its text on every call.
const FIXED_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
];
const CORS_VARY: HeaderValue = HeaderValue::from_static(cors_vary!());
const VARY_COOKIE: HeaderValue = HeaderValue::from_static("Cookie");
const VARY_COOKIE_AND_CORS: HeaderValue =
    HeaderValue::from_static(concat!("Cookie, ", cors_vary!()));

/// Django's security headers on every response, unless a handler set its own.
#[derive(Clone)]
pub(super) struct SecurityHeaders {
    pub(super) hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub(super) fn add(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in FIXED_HEADERS {
            headers.entry(name).or_insert(value);
        }
        // One `Vary` line where the gate's `Cookie` is the only one, as Django
        // writes it: every header line is parsed again by every client.
        match headers.entry(header::VARY) {
            header::Entry::Occupied(mut vary)
                if vary.get() == VARY_COOKIE && vary.iter().nth(1).is_none() =>
            {
                vary.insert(VARY_COOKIE_AND_CORS);
            }
            header::Entry::Occupied(mut vary) => vary.append(CORS_VARY),
            header::Entry::Vacant(vary) => {
                vary.insert(CORS_VARY);
            }
        }
        if let Some(hsts) = &self.hsts {
            headers
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert_with(|| hsts.clone());
        }
        response
    }
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
