//! A built frontend served from `STATIC_DIR`: files with their content types, the
//! `index.html` fallback for client-side routes but never for the API's paths,
//! caching, precompressed files, and no way out of the directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::*;

const INDEX: &str = "<!doctype html><title>frontend index</title>";
const SCRIPT: &str = "console.log('the app');";
const SECRET: &str = "secret beside the directory";

/// `<tmp>/public` holding a small build, and `<tmp>/secret.txt` beside it that
/// no request may reach. Kept for the process's life: the server reads it.
fn build() -> PathBuf {
    let root = tempfile::tempdir().unwrap().keep();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    let public = root.join("public");
    let assets = public.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(public.join("index.html"), INDEX).unwrap();
    std::fs::write(public.join("robots.txt"), "User-agent: *\n").unwrap();
    std::fs::write(
        public.join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    std::fs::write(assets.join("index-B4xk2_9a.js"), SCRIPT).unwrap();
    std::fs::write(assets.join("index-B4xk2_9a.js.gz"), b"gzip bytes").unwrap();
    std::fs::write(assets.join("index-B4xk2_9a.js.br"), b"brotli bytes").unwrap();
    std::fs::write(assets.join("index-C1d2e3f4.css"), "body { margin: 0 }").unwrap();
    public
}

fn serving(settings: &mut hearth::config::Settings) {
    settings.static_dir = Some(build());
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

async fn get(app: &TestApp, path: &str) -> Response {
    app.anon().get(app.url(path)).send().await.unwrap()
}

/// The index page, as a client-side route gets it.
async fn assert_index(app: &TestApp, path: &str) {
    let r = get(app, path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(header(&r, "content-type"), "text/html", "{path}");
    assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
    assert_eq!(r.text().await.unwrap(), INDEX, "{path}");
}

/// The answer to a request sent as written, on a raw socket: reqwest would tidy
/// `..` and encoded dots away before sending.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut answer))
        .await
        .expect("no answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

fn static_dir(app: &TestApp) -> &Path {
    app.state.settings.static_dir.as_deref().unwrap()
}

both_backends! {
    async fn the_index_is_served_at_the_root_and_for_client_side_routes(app, |settings| { serving(settings); }) {
        for path in ["/", "/index.html", "/todo", "/todo/login", "/chat/", "/catalogue/albums/3", "/blog?page=2"] {
            assert_index(&app, path).await;
        }
        let r = app.anon().head(app.url("/todo/login")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "cache-control"), "no-cache");
        assert!(r.bytes().await.unwrap().is_empty());
    }

    async fn files_are_served_with_their_content_types(app, |settings| { serving(settings); }) {
        let r = get(&app, "/assets/index-B4xk2_9a.js").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), "text/javascript");
        assert_eq!(r.text().await.unwrap(), SCRIPT);
        for (path, kind) in [
            ("/assets/index-C1d2e3f4.css", "text/css"),
            ("/logo.svg", "image/svg+xml"),
            ("/robots.txt", "text/plain"),
        ] {
            let r = get(&app, path).await;
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(header(&r, "content-type"), kind, "{path}");
            assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        }
    }

    async fn hashed_assets_are_cached_for_a_year_and_the_rest_revalidated(app, |settings| { serving(settings); }) {
        for path in ["/assets/index-B4xk2_9a.js", "/assets/index-C1d2e3f4.css"] {
            let r = get(&app, path).await;
            assert_eq!(header(&r, "cache-control"), "public, max-age=31536000, immutable", "{path}");
        }
        for path in ["/", "/index.html", "/robots.txt", "/logo.svg", "/todo"] {
            let r = get(&app, path).await;
            assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
        }
        // revalidation is cheap: the file's date is sent and honoured
        let r = get(&app, "/").await;
        let modified = header(&r, "last-modified").to_owned();
        assert!(!modified.is_empty());
        let r = app.anon().get(app.url("/")).header("If-Modified-Since", modified).send().await.unwrap();
        assert_eq!(r.status(), 304);
    }

    async fn precompressed_files_are_sent_to_clients_that_accept_them(app, |settings| { serving(settings); }) {
        let path = "/assets/index-B4xk2_9a.js";
        for (accept, encoding, body) in [
            ("br", "br", "brotli bytes"),
            ("gzip", "gzip", "gzip bytes"),
            ("gzip, deflate, br", "br", "brotli bytes"),
            ("identity", "", SCRIPT),
        ] {
            let r = app.anon().get(app.url(path)).header("Accept-Encoding", accept).send().await.unwrap();
            assert_eq!(r.status(), 200, "{accept}");
            assert_eq!(header(&r, "content-encoding"), encoding, "{accept}");
            assert_eq!(header(&r, "content-type"), "text/javascript", "{accept}");
            assert!(header(&r, "vary").to_ascii_lowercase().contains("accept-encoding"), "{accept}");
            assert_eq!(r.text().await.unwrap(), body, "{accept}");
        }
        let r = get(&app, path).await;
        assert_eq!(header(&r, "content-encoding"), "");
    }

    async fn a_missing_file_is_404_not_the_index(app, |settings| { serving(settings); }) {
        for path in ["/assets/gone-12345678.js", "/favicon.ico", "/todo/missing.png"] {
            let r = get(&app, path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert_ne!(r.text().await.unwrap(), INDEX, "{path}");
        }
    }

    async fn the_apis_paths_keep_their_own_answers(app, |settings| { serving(settings); }) {
        for path in [
            "/api/nothing",
            "/api/nothing/",
            "/api/messages/99999",
            "/authentication/nothing",
            "/music/nothing",
            "/music/album/99999",
            "/api-token-auth/nothing",
            "/healthz/nothing",
            "/API/nothing",
        ] {
            let r = get(&app, path).await;
            assert!(r.status() == 404 || r.status() == 401, "{path}: {}", r.status());
            assert_eq!(header(&r, "content-type"), "application/json", "{path}");
        }
        // the admin answers its own paths (with its login page here)
        let r = get(&app, "/admin/nothing/").await;
        assert_ne!(r.text().await.unwrap(), INDEX);
        // Django's trailing-slash redirect still works for the API
        let r = app.anon().get(app.url("/api/tasks")).send().await.unwrap();
        assert_eq!(r.status(), 401, "followed to /api/tasks/");
        // the routes themselves are untouched
        let r = get(&app, "/music/album").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), "application/json");
    }

    async fn only_get_and_head_reach_the_frontend(app, |settings| { serving(settings); }) {
        for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE] {
            let r = app.anon().request(method.clone(), app.url("/todo")).send().await.unwrap();
            assert_eq!(r.status(), 404, "{method}");
            assert_ne!(r.text().await.unwrap(), INDEX, "{method}");
        }
    }

    async fn no_request_leaves_the_directory(app, |settings| { serving(settings); }) {
        assert!(static_dir(&app).parent().unwrap().join("secret.txt").exists());
        for target in [
            "/../secret.txt",
            "/assets/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "/.%2e/secret.txt",
            "/..%5csecret.txt",
            "//etc/passwd",
            "/%2Fetc%2Fpasswd",
            "/%2fetc/passwd",
            "/./index.html",
            "/assets/%00.js",
            "/C:/Windows/win.ini",
        ] {
            let (status, answer) = raw_get(&app, target).await;
            assert!(status == 404 || status == 400, "{target}: {status}");
            assert!(!answer.contains(SECRET), "{target}");
            assert!(!answer.contains("root:"), "{target}");
        }
        // a path that merely looks absolute is a client-side route, nothing more
        let (status, answer) = raw_get(&app, "/etc/passwd").await;
        assert_eq!(status, 200);
        assert!(answer.ends_with(INDEX), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_static_dir_the_root_is_the_apis_404() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    for path in ["/", "/todo/login"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(header(&r, "content-type"), "application/json");
    }
}
