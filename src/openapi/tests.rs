use super::*;

/// Every `.route("...")` and every `#[utoipa::path(..., path = "...")]` in the
/// source, in OpenAPI's `{id}` form, but the admin site's HTML pages and these
/// two documentation routes.
fn routes_in_source() -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("openapi.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split(".route(").skip(1) {
                    let Some(rest) = part.trim_start().strip_prefix('"') else {
                        continue;
                    };
                    if let Some(end) = rest.find('"') {
                        found.push(rest[..end].to_owned());
                    }
                }
                for part in text.split("#[utoipa::path(").skip(1) {
                    let attribute = &part[..part.find(")]").unwrap_or(part.len())];
                    let Some((_, rest)) = attribute.split_once("path = \"") else {
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
        p.starts_with('/') && !p.starts_with("/admin") && p != "/api/schema/" && p != "/api/docs/"
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
