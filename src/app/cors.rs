//! CORS, for the requests that ask for it, as django-cors-headers answers them.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::Response;
use futures_util::future::Either;
use tower::Service as _;
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

use crate::config::Settings;

/// What tower-http's CORS layer answered in `Vary` on every response: the layer is
/// now skipped where no CORS is asked for (see [`CrossOrigin`]), so `gate` adds it
/// to every response alike. A literal, so that `gate` can join it to `Cookie`.
macro_rules! cors_vary {
    () => {
        "origin, access-control-request-method, access-control-request-headers"
    };
}
pub(super) use cors_vary;

/// tower-http's CORS layer, for the requests that ask for CORS: those with an
/// `Origin` header, and preflights. Any other request skips it: the layer builds
/// a header map per request and is cloned with every service inside `gate`, about
/// a tenth of the instructions of a one-row read (callgrind). Its `Vary` is added
/// by `gate::SecurityHeaders` to every response, as the layer did.
#[derive(Clone)]
pub(super) struct CrossOrigin<S> {
    inner: S,
    cors: Arc<CorsLayer>,
}

#[derive(Clone)]
pub(super) struct CrossOriginLayer(Arc<CorsLayer>);

impl CrossOriginLayer {
    pub(super) fn new(settings: &Settings) -> Self {
        let layer = cors(settings);
        // tower-http checks its rules in `poll_ready`, which `CrossOrigin` does not
        // call on it: checked once here, at start
        let mut probe = tower::Layer::layer(
            &layer,
            tower::service_fn(|_: Request| async {
                Ok::<_, std::convert::Infallible>(Response::new(axum::body::Body::empty()))
            }),
        );
        let _ = probe.poll_ready(&mut Context::from_waker(std::task::Waker::noop()));
        Self(Arc::new(layer))
    }
}

impl CrossOriginLayer {
    /// The CORS headers `head`'s origin would get on any answer, added to an answer
    /// made before the router (a 413, a refused Host): without them a page on an
    /// allowed origin sees a network error, not the answer.
    pub(super) async fn grant(&self, origin: Option<HeaderValue>, answer: Response) -> Response {
        let Some(origin) = origin else {
            return answer;
        };
        // a GET: the layer answers any OPTIONS as a preflight, and only the
        // origin decides the headers of an answer that is not one
        let mut probe = Request::new(axum::body::Body::empty());
        probe.headers_mut().insert(header::ORIGIN, origin);
        let mut answer = Some(answer);
        let inner = tower::service_fn(move |_: Request| {
            let answer = answer.take().unwrap_or_default();
            async move { Ok::<_, std::convert::Infallible>(answer) }
        });
        match tower::Layer::layer(&*self.0, inner).call(probe).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

impl<S> tower::Layer<S> for CrossOriginLayer {
    type Service = CrossOrigin<S>;

    fn layer(&self, inner: S) -> CrossOrigin<S> {
        CrossOrigin {
            inner,
            cors: self.0.clone(),
        }
    }
}

impl<S, B> tower::Service<Request> for CrossOrigin<S>
where
    S: tower::Service<Request, Response = axum::http::Response<B>> + Clone,
    B: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<<Cors<S> as tower::Service<Request>>::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if req.headers().contains_key(header::ORIGIN) || req.method() == Method::OPTIONS {
            let mut cors = tower::Layer::layer(&*self.cors, self.inner.clone());
            Either::Left(cors.call(req))
        } else {
            Either::Right(self.inner.call(req))
        }
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
        .vary([])
}
