//! The operations routes and the headers every response carries.

use crate::helpers::*;

both_backends! {
    async fn health_and_readiness_answer(app) {
        assert_eq!(expect(app.anon().get(app.url("/healthz")).send().await.unwrap(), 200).await, json!({"status": "ok"}));
        assert_eq!(expect(app.anon().get(app.url("/readyz")).send().await.unwrap(), 200).await, json!({"status": "ready"}));
    }

    async fn metrics_count_requests_by_route_pattern_and_status(app) {
        let alice = app.user("alice").await;
        for _ in 0..3 {
            expect(alice.get("/api/messages").send().await.unwrap(), 200).await;
        }
        expect(alice.post("/api/messages").json(&json!({"text": "hi"})).send().await.unwrap(), 201).await;
        expect(alice.post("/api/messages").json(&json!({})).send().await.unwrap(), 400).await;
        for _ in 0..2 {
            expect(alice.get("/api/messages/999999").send().await.unwrap(), 404).await;
        }
        expect(app.anon().get(app.url("/music/song/999999")).send().await.unwrap(), 404).await;
        let r = app.anon().get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        // each label set counted on its own line, however its requests arrived
        for line in [
            r#"hearth_http_requests_total{method="GET",route="/api/messages",status="200"} 3"#,
            r#"hearth_http_requests_total{method="POST",route="/api/messages",status="201"} 1"#,
            r#"hearth_http_requests_total{method="POST",route="/api/messages",status="400"} 1"#,
            r#"hearth_http_requests_total{method="GET",route="/api/messages/{id}",status="404"} 2"#,
            r#"hearth_http_requests_total{method="GET",route="/music/song/{id}",status="404"} 1"#,
            r#"hearth_http_request_duration_seconds_count{method="GET",route="/api/messages"} 3"#,
            r#"hearth_http_request_duration_seconds_count{method="POST",route="/api/messages"} 2"#,
        ] {
            assert_eq!(text.lines().filter(|l| *l == line).count(), 1, "{line} in {text}");
        }
        assert!(text.contains("hearth_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("hearth_db_pool_connections_idle"), "{text}");
        assert!(text.contains("hearth_stream_clients"), "{text}");
    }

    async fn the_openapi_document_and_its_page_are_served(app) {
        let r = app.anon().get(app.url("/api/schema/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let doc: Value = r.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in ["/api/messages", "/api/tasks/{id}/", "/api/token/refresh/", "/music/songInAlbum", "/api/auth/signup/", "/api-token-auth/"] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        let r = app.anon().get(app.url("/api/docs/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = r.text().await.unwrap();
        assert!(page.contains("/api/blogposts/{id}/") && !page.contains("<script"), "page");
    }

    async fn every_response_carries_the_security_headers_and_a_request_id(app) {
        let r = app.anon().get(app.url("/music/song")).header("X-Request-Id", "abc-123").send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(h["x-request-id"], "abc-123");
        assert!(!h.contains_key("strict-transport-security"));
        let r = app.anon().get(app.url("/no/such")).send().await.unwrap();
        assert!(!r.headers()["x-request-id"].is_empty());
    }

    async fn cors_answers_its_origins_and_every_answer_varies_on_origin(app, |s| {
        s.cors_allowed_origins = vec!["http://localhost:5173".into()];
    }) {
        let vary = |r: &reqwest::Response| {
            r.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_ascii_lowercase()).collect::<Vec<_>>().join(", ")
        };
        let get = |origin: Option<&str>| {
            let request = app.anon().get(app.url("/music/song"));
            match origin {
                Some(origin) => request.header("Origin", origin),
                None => request,
            }
        };
        let r = get(Some("http://localhost:5173")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h["access-control-expose-headers"].to_str().unwrap().contains("x-total-count"));
        assert!(vary(&r).contains("origin"), "{}", vary(&r));
        // another origin, and no origin: no grant, and a cache still keys on Origin
        for origin in [Some("http://evil.example"), None] {
            let r = get(origin).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(!r.headers().contains_key("access-control-allow-origin"), "{origin:?}");
            assert!(vary(&r).contains("origin"), "{origin:?}: {}", vary(&r));
            assert!(vary(&r).contains("cookie"), "{origin:?}: {}", vary(&r));
        }
        let r = app
            .anon()
            .request(reqwest::Method::OPTIONS, app.url("/api/messages"))
            .header("Origin", "http://localhost:5173")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
        assert_eq!(h["access-control-max-age"], "86400");
        assert!(vary(&r).contains("origin"));
    }

    async fn the_answers_made_before_the_router_grant_the_origin_too(app, |s| {
        s.cors_allowed_origins = vec!["http://localhost:5173".into()];
        s.allowed_hosts = vec!["127.0.0.1".into()];
        s.body_limit = 1024;
    }) {
        let alice = app.user("alice").await;
        let origin = |o: &str, r: reqwest::RequestBuilder| r.header("Origin", o.to_owned());
        let big = json!({ "text": "x".repeat(4096) });
        // a declared length over the limit, a refused Host, and axum's 405 made
        // into DRF's
        let requests = [
            (413, alice.post("/api/messages").json(&big)),
            (400, app.anon().get(app.url("/api/blogposts/")).header("Host", "evil.example")),
            (405, alice.request(reqwest::Method::PUT, "/api/messages")),
        ];
        for (status, request) in requests {
            let again = request.try_clone();
            let r = origin("http://localhost:5173", request).send().await.unwrap();
            assert_eq!(r.status(), status);
            let h = r.headers();
            assert_eq!(h["access-control-allow-origin"], "http://localhost:5173", "{status}: {h:?}");
            assert_eq!(h["access-control-allow-credentials"], "true", "{status}");
            assert!(h["access-control-expose-headers"].to_str().unwrap().contains("x-total-count"));
            assert!(h["content-type"].to_str().unwrap().starts_with("application/json"), "{status}");
            // another origin is granted nothing, here as anywhere
            if let Some(again) = again {
                let r = origin("http://evil.example", again).send().await.unwrap();
                assert_eq!(r.status(), status);
                assert!(!r.headers().contains_key("access-control-allow-origin"), "{status}");
            }
        }
        // a body sent in chunks that grows over the limit
        let (addr, access) = (app.base.trim_start_matches("http://").to_owned(), alice.access.clone());
        let answer = tokio::task::spawn_blocking(move || {
            use std::io::{Read as _, Write as _};
            let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
            tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            write!(
                tcp,
                "POST /api/messages HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://localhost:5173\r\n\
                 Authorization: Bearer {access}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            for _ in 0..8 {
                let _ = write!(tcp, "200\r\n{}\r\n", " ".repeat(512));
            }
            let _ = write!(tcp, "0\r\n\r\n");
            let mut answer = String::new();
            let _ = tcp.read_to_string(&mut answer);
            answer.to_ascii_lowercase()
        })
        .await
        .unwrap();
        assert!(answer.starts_with("http/1.1 413"), "{answer}");
        assert!(answer.contains("access-control-allow-origin: http://localhost:5173\r\n"), "{answer}");
        assert_eq!(app.count("messages").await, 0);
    }

    async fn a_get_without_its_slash_is_sent_to_it_as_django_sends_it(app) {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client.get(app.url("/api/blogposts?limit=2")).send().await.unwrap();
        assert_eq!(r.status(), 301);
        assert_eq!(r.headers()["location"], "/api/blogposts/?limit=2");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(r.text().await.unwrap(), "");
    }

    async fn hsts_is_sent_when_configured(app, |s| { s.secure_hsts_seconds = 3600; }) {
        let r = app.anon().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.headers()["strict-transport-security"], "max-age=3600");
    }
}
