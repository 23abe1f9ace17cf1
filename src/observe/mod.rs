//! What the process observes about itself, below everything that records it: the
//! request being answered (for log lines) and the Prometheus registry. The registry
//! belongs to the app, not to the process, so two apps in one test process keep
//! their own counts.

pub mod access;

use std::hash::{Hash as _, Hasher as _};
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rustc_hash::FxHasher;

tokio::task_local! {
    /// The request being answered, for log lines written while answering it.
    pub static REQUEST_ID: axum::http::HeaderValue;
}

/// The request id of the request being answered here, or `-`.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.to_str().unwrap_or("-").to_owned())
        .unwrap_or_else(|_| "-".to_owned())
}

// Labels that borrow what the request already holds (a static method name, the
// route pattern's shared text) rather than copying both into two Strings per request.
#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Route,
}

// The families' maps hash with SipHash, a dozen rounds per label written; one
// word per label set costs one. Equal labels give equal words; `Eq` settles
// the rare unequal ones that share a word.
impl std::hash::Hash for RequestLabels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(fingerprint(self.method, &self.route) ^ u64::from(self.status));
    }
}

impl std::hash::Hash for RouteLabels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(fingerprint(self.method, &self.route));
    }
}

/// FxHash of the method and the route pattern, clear of the low 16 bits where
/// `RequestLabels` puts the status.
fn fingerprint(method: &str, route: &Route) -> u64 {
    let mut hasher = FxHasher::default();
    method.hash(&mut hasher);
    route.0.as_str().hash(&mut hasher);
    hasher.finish() << 16
}

/// The route pattern axum matched (`/api/tasks/{id}/`), as a label.
#[derive(Clone, Debug)]
pub struct Route(pub MatchedPath);

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Route {}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.0.as_str(), encoder)
    }
}

/// The method as a label; one outside the standard ones is `other`, so a client
/// cannot grow the label space.
pub fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    /// Clients connected to `/api/messages/stream`.
    pub stream_clients: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hearth");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let pool_in_use = Gauge::default();
        let pool_idle = Gauge::default();
        let stream_clients = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections_in_use",
            "Pooled database connections in use",
            pool_in_use.clone(),
        );
        registry.register(
            "db_pool_connections_idle",
            "Pooled database connections idle",
            pool_idle.clone(),
        );
        registry.register(
            "stream_clients",
            "Clients connected to the message stream",
            stream_clients.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            pool_in_use,
            pool_idle,
            stream_clients,
        }
    }
}

impl Metrics {
    /// One answered request, under its route pattern.
    pub fn record(&self, method: &'static str, route: MatchedPath, status: u16, elapsed: Duration) {
        let route = Route(route);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the pool's state of the moment.
    pub fn encode(&self, (in_use, idle): (u32, u32)) -> Result<String, std::fmt::Error> {
        self.pool_in_use.set(i64::from(in_use));
        self.pool_idle.set(i64::from(idle));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
