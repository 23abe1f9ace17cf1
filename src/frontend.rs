//! A built single-page frontend served from `STATIC_DIR` (`serve --static DIR`),
//! so that one process on one origin is the whole system. Paths the API owns keep
//! the API's answers; any other GET that names no file gets `index.html`, for the
//! frontend's client-side routes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

/// First path segments that belong to the API: their unknown paths keep the API's
/// 404 (and its trailing-slash redirect) and never get the frontend.
const API_SEGMENTS: &[&str] = &[
    "api",
    "api-token-auth",
    "admin",
    "authentication",
    "music",
    "healthz",
    "readyz",
    "metrics",
];

/// Where Vite writes its content-hashed files: a changed file gets a new name, so
/// these never need asking for again.
const HASHED_DIR: &str = "/assets/";
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Everything else (`index.html` above all) is revalidated on every use, so a new
/// deployment shows at once.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

#[derive(Clone)]
pub struct Frontend {
    files: ServeDir,
    index: ServeFile,
}

/// Refuses a directory that holds no `index.html`, at start rather than on the
/// first visit.
pub fn check_dir(dir: &Path) -> anyhow::Result<()> {
    let index = dir.join("index.html");
    std::fs::metadata(&index)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(drop)
        .with_context(|| format!("STATIC_DIR: no {} to serve", index.display()))
}

impl Frontend {
    pub fn new(dir: &Path) -> Self {
        let dir: PathBuf = dir.to_owned();
        Self {
            files: ServeDir::new(&dir)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(true),
            index: ServeFile::new(dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        }
    }

    /// Whether a request that no route matched is the frontend's to answer.
    pub fn owns(req: &Request) -> bool {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return false;
        }
        let first = req.uri().path().trim_start_matches('/').split('/').next();
        !first.is_some_and(|segment| {
            API_SEGMENTS
                .iter()
                .any(|api| segment.eq_ignore_ascii_case(api))
        })
    }

    pub async fn serve(&self, req: Request) -> Response {
        let path = req.uri().path().to_owned();
        let Some(decoded) = safe_path(&path) else {
            return ApiError::RouteNotFound.into_response();
        };
        let (method, headers) = (req.method().clone(), req.headers().clone());
        let Ok(found) = self.files.clone().oneshot(req).await;
        let (response, is_index) = if found.status() == StatusCode::NOT_FOUND {
            if names_a_file(&decoded) {
                return ApiError::RouteNotFound.into_response();
            }
            // a client-side route
            let mut req = Request::new(Body::empty());
            *req.method_mut() = method;
            *req.headers_mut() = headers;
            let Ok(found) = self.index.clone().oneshot(req).await;
            (found, true)
        } else {
            (
                found,
                decoded.ends_with('/') || decoded.ends_with("/index.html"),
            )
        };
        let mut response = response.map(Body::new);
        let cache =
            if !is_index && decoded.starts_with(HASHED_DIR) && response.status().is_success() {
                IMMUTABLE
            } else {
                REVALIDATE
            };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, cache);
        // the same path may be answered compressed or not
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        response
    }
}

/// The percent-decoded path, or `None` when it tries to leave the directory
/// (`..`, `.`, an empty segment, a backslash, a NUL) or is not UTF-8.
fn safe_path(path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?
        .into_owned();
    let rest = decoded.strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    let refused = segments.iter().enumerate().any(|(i, segment)| {
        (segment.is_empty() && i != last)
            || *segment == "."
            || *segment == ".."
            || segment.contains(['\\', '\0', ':'])
    });
    (!refused).then_some(decoded)
}

/// A last segment with an extension names a file: missing, it is 404, not the
/// frontend's `index.html`.
fn names_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::safe_path;

    #[test]
    fn paths_that_leave_the_directory_are_refused() {
        for path in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "//etc/passwd",
            "/a//b",
            "/./index.html",
            "/..%5c..%5cwindows",
            "/c:/windows",
            "/a%00b",
        ] {
            assert_eq!(safe_path(path), None, "{path}");
        }
        assert_eq!(safe_path("/").as_deref(), Some("/"));
        assert_eq!(safe_path("/tasks/").as_deref(), Some("/tasks/"));
        assert_eq!(
            safe_path("/assets/a%20b.js").as_deref(),
            Some("/assets/a b.js")
        );
    }
}
