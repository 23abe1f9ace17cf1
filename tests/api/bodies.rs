//! Request bodies as each kind of view reads them: DRF's parsers (JSON, forms,
//! multipart) on the API views, `json.loads` on the tutorials' plain views.

use crate::helpers::*;

const BOUNDARY: &str = "hearth-boundary-7";

/// A `multipart/form-data` body; a part with a file name is a file.
fn multipart(parts: &[(&str, Option<&str>, &str)]) -> String {
    let mut body = String::new();
    for (name, file, value) in parts {
        let file = file
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        body += &format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n");
    }
    body + &format!("--{BOUNDARY}--\r\n")
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

both_backends! {
    async fn api_views_take_multipart_bodies_as_drf_does(app) {
        let alice = app.user("alice").await;
        // a page posting a FormData
        let r = alice.post("/api/messages").header("Content-Type", multipart_type())
            .body(multipart(&[("text", None, "from a form ✓"), ("ignored", None, "x")])).send().await.unwrap();
        assert_eq!(expect(r, 201).await["text"], "from a form ✓");
        let r = alice.post("/api/tasks/").header("Content-Type", multipart_type())
            .body(multipart(&[("title", None, "first"), ("title", None, "last wins")])).send().await.unwrap();
        assert_eq!(expect(r, 201).await["title"], "last wins");
        let r = app.post_raw("/api/token/", &multipart_type(),
            multipart(&[("username", None, &alice.username), ("password", None, &alice.password)])).await;
        assert!(expect(r, 200).await["access"].is_string());
        // a file is no text; a missing field is missing; a body without a boundary is unreadable
        let r = alice.post("/api/messages").header("Content-Type", multipart_type())
            .body(multipart(&[("text", Some("notes.txt"), "file content")])).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"text": ["Not a valid string."]}));
        let r = alice.post("/api/messages").header("Content-Type", multipart_type())
            .body(multipart(&[("other", None, "x")])).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"text": ["This field is required."]}));
        let r = alice.post("/api/messages").header("Content-Type", "multipart/form-data")
            .body(multipart(&[("text", None, "x")])).send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("Multipart form parse error - "));
        let r = alice.post("/api/messages").header("Content-Type", multipart_type())
            .body("--not-the-boundary\r\n").send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("Multipart form parse error - "));
        assert_eq!(app.count("messages").await, 1);
        assert_eq!(app.count("tasks").await, 1);
    }

    async fn api_views_refuse_media_types_drf_has_no_parser_for(app) {
        let alice = app.user("alice").await;
        let body = r#"{"text": "hi"}"#;
        for kind in ["text/plain; charset=UTF-8", "application/vnd.api+json", "text/json", "application/xml"] {
            let r = alice.post("/api/messages").header("Content-Type", kind).body(body).send().await.unwrap();
            assert_eq!(expect(r, 415).await, json!({"detail": format!("Unsupported media type \"{kind}\" in request.")}), "{kind}");
        }
        // no Content-Type at all
        let r = alice.post("/api/messages").body(body).send().await.unwrap();
        assert_eq!(expect(r, 415).await, json!({"detail": "Unsupported media type \"\" in request."}));
        // what DRF matches: parameters aside, any case, a wildcard
        for kind in ["Application/JSON; charset=utf-8", "*/*"] {
            let r = alice.post("/api/messages").header("Content-Type", kind).body(body).send().await.unwrap();
            assert_eq!(expect(r, 201).await["text"], "hi", "{kind}");
        }
        // a body of null or of another type than an object
        let r = alice.post("/api/messages").json(&json!(null)).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"non_field_errors": ["No data provided"]}));
        let r = alice.post("/api/messages").json(&json!(["hi"])).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
        // blanks are no JSON; nothing at all is an empty object
        let r = alice.post("/api/messages").header("Content-Type", "application/json").body("  \n").send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        let r = alice.post("/api/messages").header("Content-Type", "text/plain").body("").send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"text": ["This field is required."]}));
        assert_eq!(app.count("messages").await, 2);
    }

    async fn the_plain_views_read_any_body_as_json(app) {
        // seed 000's fetch of a string body sends text/plain
        let username = new_username("plain");
        let body = json!({"username": username, "password": PASSWORD}).to_string();
        let r = app.post_raw("/api/auth/signup/", "text/plain;charset=UTF-8", body.clone()).await;
        assert_eq!(expect(r, 200).await["user"]["username"], json!(username));
        let browser = app.browser_session().await;
        let r = browser.post_csrf("/authentication/login").header("Content-Type", "text/plain").body(body).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({"error": "None, login successful"}));
        // anything that is not JSON is a parse error, multipart too, and writes nothing
        let r = app.post_raw("/api/auth/signup/", &multipart_type(),
            multipart(&[("username", None, "formuser"), ("password", None, PASSWORD)])).await;
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        let r = app.post_raw("/api/auth/signup/", "application/json", "  ").await;
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        assert_eq!(app.count("users").await, 1);
    }

    async fn a_session_view_sets_its_cookie_on_a_body_it_cannot_read(app) {
        let browser = app.browser_session().await;
        for (path, body) in [("/authentication/login", "{"), ("/authentication/register", "[1]")] {
            let r = browser.post_csrf(path).header("Content-Type", "application/json").body(body).send().await.unwrap();
            let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_owned()).collect();
            assert_eq!(r.status(), 400, "{path}");
            assert!(cookies.iter().any(|c| c.starts_with("csrftoken=")), "{path}: {cookies:?}");
        }
        // a failed CSRF check runs no view: no cookie
        let r = app.post_raw("/authentication/login", "application/json", "{").await;
        assert_eq!(r.status(), 403);
        assert!(r.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("csrftoken=")));
        assert_eq!(app.count("users").await, 0);
    }

    async fn a_session_view_takes_a_body_up_to_the_configured_limit(app) {
        // BODY_LIMIT (2.5 MB by default) applies here as everywhere, not axum's 2 MiB
        let browser = app.browser_session().await;
        let body = json!({"username": "nobody", "password": "x", "padding": "x".repeat(2_300_000)});
        let r = browser.post_csrf("/authentication/login").json(&body).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({"error": "Username and/or password incorrect"}));
        let body = json!({"username": "nobody", "password": "x", "padding": "x".repeat(2_700_000)});
        let r = browser.post_csrf("/authentication/login").json(&body).send().await.unwrap();
        assert_eq!(expect(r, 413).await, json!({"detail": "Request body is too large."}));
    }

    async fn seed_002s_logout_takes_json_and_forms_only(app) {
        let (_, refresh) = {
            let alice = app.user("alice").await;
            app.obtain_pair(&alice.username, &alice.password).await
        };
        let kind = multipart_type();
        let r = app.post_raw("/api/user/logout/", &kind, multipart(&[("refresh", None, &refresh)])).await;
        assert_eq!(expect(r, 415).await, json!({"detail": format!("Unsupported media type \"{kind}\" in request.")}));
        let r = app.post_form("/api/user/logout/", &[("refresh", &refresh)]).await;
        assert_eq!(expect(r, 200).await, json!({"message": "You have been logged out"}));
    }
}
