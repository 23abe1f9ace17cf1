//! The OpenAPI 3.1 document, assembled from the `#[utoipa::path]` of every module,
//! served at `/api/schema/`, and `/api/docs/`, a readable page of it that needs
//! no script and no CDN.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::OpenApi as _;

use crate::app::AppState;

/// Every module's description in one document.
pub fn document() -> Document {
    let mut doc = crate::auth::ApiDoc::openapi();
    doc.merge(crate::domains::messages::ApiDoc::openapi());
    doc.merge(crate::domains::tasks::ApiDoc::openapi());
    doc.merge(crate::domains::blog::ApiDoc::openapi());
    doc.merge(crate::domains::music::ApiDoc::openapi());
    doc.merge(crate::telemetry::ApiDoc::openapi());
    // routes that share a handler (and so its description) with another path
    for (alias, original) in [
        ("/api/auth/token/", "/api/token/"),
        ("/api/auth/token/refresh/", "/api/token/refresh/"),
        ("/music/register", "/api/user/register/"),
    ] {
        if let Some(mut item) = doc.paths.paths.get(original).cloned() {
            // operation ids must stay unique
            if let Some(op) = item.post.as_mut() {
                let id = op.operation_id.take().unwrap_or_default();
                let suffix: String = alias
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                op.operation_id = Some(format!("{id}{}", suffix.trim_end_matches('_')));
            }
            doc.paths.paths.insert(alias.to_owned(), item);
        }
    }
    unique_operation_ids(&mut doc);
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

/// Handlers of different modules share names (`list`, `create`), and OpenAPI needs
/// operation ids unique across the document: each id gets its tag as a prefix,
/// and ids still shared after that are named after their method and path.
fn unique_operation_ids(doc: &mut Document) {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name<T>(item: &RefOr<T>) -> String {
    match item {
        RefOr::Ref(r) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        RefOr::T(_) => "inline".to_owned(),
    }
}

/// The document as one static page: each route with its method, summary, body,
/// answers and auth, then every schema.
fn render(doc: &Document) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hearth API</title><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}\
         h2{border-bottom:1px solid #ddd;margin-top:2rem}.op{border:1px solid #e3e3e3;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}\
         .m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}.GET{color:#0a7}.POST{color:#06c}\
         .PUT,.PATCH{color:#a60}.DELETE{color:#c22}code,pre{background:#f5f5f5;border-radius:4px;padding:.1rem .3rem}\
         pre{padding:.6rem;overflow:auto}td{padding:.1rem .8rem .1rem 0;vertical-align:top}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>{} <small>{}</small></h1><p>{}</p><p>Machine-readable: <a href=\"/api/schema/\">/api/schema/</a> (OpenAPI 3.1).</p>",
        escape(&doc.info.title),
        escape(&doc.info.version),
        escape(doc.info.description.as_deref().unwrap_or_default()),
    );
    out.push_str("<h2>Routes</h2>");
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let _ = write!(
                out,
                "<div class=\"op\"><span class=\"m {method}\">{method}</span> <code>{}</code>",
                escape(path)
            );
            if let Some(summary) = op.summary.as_deref().or(op.description.as_deref()) {
                let _ = write!(out, " — {}", escape(summary));
            }
            out.push_str("<table>");
            if let Some(body) = &op.request_body {
                let kinds: Vec<String> = body
                    .content
                    .iter()
                    .map(|(kind, c)| {
                        format!(
                            "{kind}: {}",
                            c.schema.as_ref().map(schema_name).unwrap_or_default()
                        )
                    })
                    .collect();
                let _ = write!(
                    out,
                    "<tr><td>body</td><td>{} {}</td></tr>",
                    escape(&kinds.join(", ")),
                    escape(body.description.as_deref().unwrap_or_default())
                );
            }
            for (status, response) in &op.responses.responses {
                let text = match response {
                    RefOr::T(r) => {
                        let schema = r
                            .content
                            .values()
                            .find_map(|c| c.schema.as_ref())
                            .map(schema_name);
                        format!(
                            "{}{}",
                            r.description,
                            schema.map(|s| format!(" ({s})")).unwrap_or_default()
                        )
                    }
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(status),
                    escape(&text)
                );
            }
            if let Some(security) = &op.security {
                let names = serde_json::to_value(security)
                    .unwrap_or_default()
                    .to_string();
                let _ = write!(out, "<tr><td>auth</td><td>{}</td></tr>", escape(&names));
            }
            out.push_str("</table></div>");
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(components) = &doc.components {
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                out,
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&json)
            );
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.route("...")` in the source, in OpenAPI's `{id}` form, but the admin
    /// site's HTML pages and these two documentation routes.
    fn routes_in_source() -> Vec<String> {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("openapi.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for part in text.split(".route(").skip(1) {
                        let Some(rest) = part.trim_start().strip_prefix('"') else {
                            continue;
                        };
                        if let Some(end) = rest.find('"') {
                            found.push(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        found.retain(|p| {
            p.starts_with('/')
                && !p.starts_with("/admin")
                && p != "/api/schema/"
                && p != "/api/docs/"
        });
        found
    }

    #[test]
    fn every_route_has_its_schema() {
        let doc = document();
        let routes = routes_in_source();
        assert!(routes.len() > 30, "found only {routes:?}");
        let missing: Vec<_> = routes
            .iter()
            .filter(|r| !doc.paths.paths.contains_key(*r))
            .collect();
        assert!(
            missing.is_empty(),
            "routes without an OpenAPI description: {missing:?}"
        );
    }

    #[test]
    fn document_is_openapi_3_1_with_auth_schemes() {
        let json: serde_json::Value = serde_json::from_str(&JSON).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        for scheme in ["jwt", "token", "session"] {
            assert!(
                json["components"]["securitySchemes"][scheme].is_object(),
                "{scheme}"
            );
        }
        assert!(render(&document()).contains("/api/messages"));
    }

    #[test]
    fn operation_ids_are_unique() {
        let json: serde_json::Value = serde_json::from_str(&JSON).unwrap();
        let mut seen = std::collections::HashSet::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    assert!(seen.insert(id.to_owned()), "{method} {path}: {id} twice");
                }
            }
        }
        assert!(
            seen.contains("messages_list") && seen.contains("tasks_list"),
            "{seen:?}"
        );
    }
}
