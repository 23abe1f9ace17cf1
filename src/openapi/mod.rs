//! The OpenAPI 3.1 document, assembled from the routers of every module (each
//! route declared with its `#[utoipa::path]`), served at `/api/schema/`, and
//! `/api/docs/`, a readable page of it that needs no script and no CDN.

use std::sync::{Arc, LazyLock};

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HttpMethod, OpenApi as Document};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

mod page;
use page::render;

/// The extension by which one handler serving PUT and PATCH names the operation of
/// each method (`{"put": "...", "patch": "..."}`): OpenAPI gives every method its
/// own id, and clients generated from the document call them by these names.
pub const OPERATION_IDS: &str = "x-operation-ids";

/// The base of the document: Hearth's `info`.
#[derive(utoipa::OpenApi)]
struct Base;

/// Every route the document describes, each declared once with its description
/// (`utoipa_axum::routes!`): the app serves these, and the document is built from
/// them.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Base::openapi())
        .merge(crate::auth::router())
        .merge(crate::domains::messages::router())
        .merge(crate::domains::tasks::router())
        .merge(crate::domains::blog::router())
        .merge(crate::domains::music::router())
        .merge(crate::telemetry::router())
}

/// The tutorials' second paths of an operation: `(method, alias, path, id)`. The
/// alias is served by the same handler and described as `path` is, under its own
/// operation id, as published.
const ALIASES: [(HttpMethod, &str, &str, &str); 7] = [
    (
        HttpMethod::Post,
        "/api/auth/token/",
        "/api/token/",
        "auth_obtain_api_auth_token",
    ),
    (
        HttpMethod::Post,
        "/api/auth/token/refresh/",
        "/api/token/refresh/",
        "auth_refresh_api_auth_token_refresh",
    ),
    (
        HttpMethod::Post,
        "/music/register",
        "/api/user/register/",
        "auth_register_music_register",
    ),
    (
        HttpMethod::Post,
        "/music/album/create",
        "/music/album",
        "post_music_album_create",
    ),
    (
        HttpMethod::Delete,
        "/music/album/{id}/delete",
        "/music/album/{id}",
        "delete_music_album_id_delete",
    ),
    (
        HttpMethod::Post,
        "/music/song/create",
        "/music/song",
        "post_music_song_create",
    ),
    (
        HttpMethod::Delete,
        "/music/song/{id}/delete",
        "/music/song/{id}",
        "delete_music_song_id_delete",
    ),
];

/// Every module's description in one document.
pub fn document() -> Document {
    let mut doc = routes().into_openapi();
    name_methods(&mut doc);
    unique_operation_ids(&mut doc);
    for (method, alias, original, id) in ALIASES {
        let operation = doc.paths.paths.get(original).and_then(|item| match method {
            HttpMethod::Post => item.post.clone(),
            HttpMethod::Delete => item.delete.clone(),
            _ => None,
        });
        if let Some(mut operation) = operation {
            operation.operation_id = Some(id.to_owned());
            doc.paths.add_path_operation(alias, vec![method], operation);
        }
    }
    doc.info.title = "Hearth".to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.description = Some(
        "The backend of four Django tutorials: accounts (JWT, DRF tokens, sessions with CSRF), \
         messages, tasks, a blog and a music catalogue."
            .to_owned(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "jwt",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "token",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "DRF token: `Authorization: Token <40 hex>`",
        ))),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "sessionid",
            "Session cookie; unsafe methods also need the csrftoken cookie echoed in X-CSRFToken",
        ))),
    );
    doc
}

/// Gives each method of an operation that names them ([`OPERATION_IDS`]) its id.
fn name_methods(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for (method, op) in operations(item) {
            let Some(extensions) = op.extensions.as_mut() else {
                continue;
            };
            let Some(ids) = extensions.remove(OPERATION_IDS) else {
                continue;
            };
            if let Some(id) = ids.get(method).and_then(|id| id.as_str()) {
                op.operation_id = Some(id.to_owned());
            }
            if extensions.is_empty() {
                op.extensions = None;
            }
        }
    }
}

/// The operations of a path item, with their methods' names.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

/// Handlers of different modules share names (`list`, `create`), and OpenAPI needs
/// operation ids unique across the document: each id gets its tag as a prefix,
/// and ids still shared after that are named after their method and path.
fn unique_operation_ids(doc: &mut Document) {
    let mut uses = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations(item) {
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
            if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
                if !id.starts_with(&format!("{tag}_")) {
                    *id = format!("{tag}_{id}");
                }
            }
            if let Some(id) = &op.operation_id {
                *uses.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in &mut doc.paths.paths {
        for (method, op) in operations(item) {
            if op.operation_id.as_ref().is_some_and(|id| uses[id] > 1) {
                let words = path.split(|c: char| !c.is_ascii_alphanumeric());
                let name: Vec<&str> = words.filter(|w| !w.is_empty()).collect();
                op.operation_id = Some(format!("{method}_{}", name.join("_")));
            }
        }
    }
}

static JSON: LazyLock<Arc<String>> = LazyLock::new(|| {
    Arc::new(
        document()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_owned()),
    )
});
static HTML: LazyLock<Arc<String>> = LazyLock::new(|| Arc::new(render(&document())));

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/schema/",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/vnd.oai.openapi+json")],
                    JSON.as_str().to_owned(),
                )
                    .into_response()
            }),
        )
        .route("/api/docs/", get(|| async { docs_page() }))
}

fn docs_page() -> Response {
    let mut response = Html(HTML.as_str().to_owned()).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

#[cfg(test)]
mod tests;
