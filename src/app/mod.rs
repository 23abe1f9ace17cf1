//! The application: the router of every module and the layers around it (`gate`:
//! what every request passes), and `serve`, the connections' loop.

mod cors;
mod gate;
mod head_timer;
mod serve;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;

use crate::state::AppState;
use cors::CrossOriginLayer;
use gate::{append_slash, GateLayer, SecurityHeaders};
pub use serve::serve;

/// Every model in the admin, in the index's order (grouped by `app_label`).
static ADMIN: [&crate::admin::model::ModelAdmin; 8] = [
    &crate::admin::users::USERS,
    &crate::admin::tokens::TOKENS,
    &crate::domains::messages::admin::ADMIN,
    &crate::domains::tasks::admin::ADMIN,
    &crate::domains::blog::admin::ADMIN,
    &crate::domains::music::admin::ALBUMS,
    &crate::domains::music::admin::SONGS,
    &crate::domains::music::admin::LIKES,
];

/// Every route of every module, with what must run per route (metrics by route
/// pattern, the trailing-slash redirect). The layers every response passes through
/// are put around it once, in [`serve`].
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        // auth, the four domains and operations, as the document describes them
        .merge(Router::from(crate::openapi::routes()))
        .merge(crate::admin::router(crate::admin::Registry(&ADMIN)))
        .merge(crate::openapi::router())
        .route_layer(crate::telemetry::Track(state.clone()));
    let slashed = routes.clone().with_state(state.clone());
    let frontend = state
        .settings
        .static_dir
        .as_deref()
        .map(crate::frontend::Frontend::new);
    routes
        .fallback(move |req: Request| {
            let (slashed, frontend) = (slashed.clone(), frontend.clone());
            async move {
                match frontend {
                    Some(frontend) if crate::frontend::Frontend::owns(&req) => {
                        frontend.serve(req).await
                    }
                    _ => append_slash(slashed, req).await,
                }
            }
        })
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
    let hsts = (settings.secure_hsts_seconds > 0)
        .then(|| HeaderValue::from_str(&format!("max-age={}", settings.secure_hsts_seconds)).ok())
        .flatten();
    let headers = SecurityHeaders { hsts };
    let cors = CrossOriginLayer::new(&settings);
    tower::ServiceBuilder::new()
        .layer(GateLayer {
            state: state.clone(),
            headers,
            cors: cors.clone(),
        })
        .layer(cors)
        .service(router(state))
}
