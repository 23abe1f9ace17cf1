//! `Authorization: Bearer` on a protected route (`/api/auth/me/`), and tokens minted
//! outside Hearth with simplejwt's claims.

use super::*;

/// A token as simplejwt mints it, signed with `key`.
fn simplejwt_token(key: &str, user_id: i64, token_type: &str, lifetime: i64, age: i64) -> String {
    let iat = chrono::Utc::now().timestamp() - age;
    let claims = json!({
        "token_type": token_type,
        "exp": iat + lifetime,
        "iat": iat,
        "jti": format!("{:032x}", nanos()),
        "user_id": user_id.to_string(),
    });
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

fn nanos() -> u128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The same token with one character of its signature changed.
fn tampered(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{rest}.{first}{}", &signature[1..])
}

both_backends! {
    async fn anonymous_me_is_401_not_provided_with_the_challenge(app) {
        let r = app.anon().get(app.url("/api/auth/me/")).send().await.unwrap();
        assert_401(r).await;
    }

    async fn bearer_without_a_token_is_a_bad_authorization_header(app) {
        for header in ["Bearer", "Bearer ", "Bearer a b"] {
            let body = expect_401(app.get_with("/api/auth/me/", header).await).await;
            assert_eq!(body, json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }), "{header:?}");
        }
    }

    async fn garbage_tampered_and_refresh_tokens_are_refused(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        expect_bad_access(app.me_bearer("garbage").await, "Token is invalid").await;
        expect_bad_access(app.me_bearer(&tampered(&access)).await, "Token is invalid").await;
        expect_bad_access(app.me_bearer(&refresh).await, "Token has wrong type").await;
        let body = expect_401(app.me_bearer(&refresh).await).await;
        assert_eq!(body["messages"], json!([{ "token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type" }]));
        // alg "none" is never accepted
        use base64::Engine as _;
        let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none}.{}.", access.split('.').nth(1).unwrap());
        expect_bad_access(app.me_bearer(&unsigned).await, "Token is invalid").await;
        // the untouched token still works
        expect(app.me_bearer(&access).await, 200).await;
    }

    async fn a_simplejwt_token_signed_with_the_secret_key_is_accepted(app) {
        let alice = app.user("alice").await;
        let token = simplejwt_token(SECRET, alice.id, "access", 300, 0);
        let me = expect(app.me_bearer(&token).await, 200).await;
        assert_eq!(me["username"], json!(alice.username));
        // and a refresh token minted the same way refreshes once
        let refresh = simplejwt_token(SECRET, alice.id, "refresh", 3600, 0);
        let body = expect(app.refresh(&refresh).await, 200).await;
        expect(app.me_bearer(body["access"].as_str().unwrap()).await, 200).await;
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is blacklisted"));
    }

    async fn a_token_signed_with_another_key_is_refused(app) {
        let alice = app.user("alice").await;
        let token = simplejwt_token(&format!("{SECRET}-not"), alice.id, "access", 300, 0);
        expect_bad_access(app.me_bearer(&token).await, "Token is invalid").await;
        let refresh = simplejwt_token(&format!("{SECRET}-not"), alice.id, "refresh", 3600, 0);
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is invalid"));
        assert_eq!(app.count("logins").await, 0);
    }

    async fn an_expired_minted_token_is_refused(app) {
        let alice = app.user("alice").await;
        let token = simplejwt_token(SECRET, alice.id, "access", 60, 3600);
        expect_bad_access(app.me_bearer(&token).await, "Token is expired").await;
        let refresh = simplejwt_token(SECRET, alice.id, "refresh", 60, 3600);
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is expired"));
    }

    async fn an_inactive_users_access_token_is_refused(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        app.set_active(alice.id, false).await;
        let body = expect_401(app.me_bearer(&access).await).await;
        assert_eq!(body, json!({ "detail": "User is inactive", "code": "user_inactive" }));
        let body = expect_401(app.refresh(&refresh).await).await;
        assert_eq!(body["code"], "no_active_account", "{body}");
    }

    async fn the_lists_that_check_a_bearer_in_their_own_query_refuse_the_same_tokens(app) {
        // `/api/messages` and `/api/tasks/` confirm the token inside the page's own
        // query, or on its own when the page is empty; their creates, with the
        // extractor, before any body is read
        let alice = app.user("alice").await;
        let (access, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let (second, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let get = |path: &'static str, token: String| {
            let request = app.anon().get(app.url(path)).bearer_auth(token);
            async move { request.send().await.unwrap() }
        };
        let post = |path: &'static str, token: String, body: &'static str| {
            let request = app
                .anon()
                .post(app.url(path))
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .body(body);
            async move { request.send().await.unwrap() }
        };
        let refused = |r: Response| async move {
            let body = expect_401(r).await;
            assert!(body.get("detail").is_some() && body.as_array().is_none(), "{body}");
            body
        };
        // empty pages first, then pages with a row to carry the verdict
        for seeded in [false, true] {
            if seeded {
                expect(post("/api/messages", access.clone(), r#"{"text": "kept"}"#).await, 201).await;
                expect(post("/api/tasks/", access.clone(), r#"{"title": "kept"}"#).await, 201).await;
            }
            for path in ["/api/messages", "/api/tasks/"] {
                let page = expect(get(path, access.clone()).await, 200).await;
                assert_eq!(page.as_array().unwrap().len(), usize::from(seeded), "{page}");
                expect_bad_access(get(path, tampered(&access)).await, "Token is invalid").await;
                let minted = simplejwt_token(SECRET, alice.id + 1000, "access", 300, 0);
                let body = refused(get(path, minted).await).await;
                assert_eq!(body, json!({ "detail": "User not found", "code": "user_not_found" }));
            }
        }
        // one ended login: its tokens only
        let ended = current_id(&logins_of(&app, &second).await);
        let r = app.anon().delete(app.url(&format!("/api/auth/sessions/{ended}/"))).bearer_auth(&access).send().await.unwrap();
        assert_eq!(r.status(), 204);
        for path in ["/api/messages", "/api/tasks/"] {
            expect_bad_access(get(path, second.clone()).await, "Token is invalid").await;
            expect(get(path, access.clone()).await, 200).await;
        }
        app.set_active(alice.id, false).await;
        for (path, body) in [("/api/messages", r#"{"text": "x"}"#), ("/api/tasks/", r#"{"title": "x"}"#)] {
            let body_401 = refused(get(path, access.clone()).await).await;
            assert_eq!(body_401, json!({ "detail": "User is inactive", "code": "user_inactive" }));
            // refused before the body is read, whether it is good or malformed
            for body in [body, "{not json"] {
                let refused = expect_401(post(path, access.clone(), body).await).await;
                assert_eq!(refused["code"], "user_inactive", "{refused}");
            }
        }
        app.set_active(alice.id, true).await;
        expect(get("/api/tasks/", access.clone()).await, 200).await;
        let r = app.anon().post(app.url("/api/auth/logout-all/")).bearer_auth(&alice.access).send().await.unwrap();
        expect(r, 200).await;
        for path in ["/api/messages", "/api/tasks/"] {
            expect_bad_access(get(path, access.clone()).await, "Token is invalid").await;
            expect_bad_access(post(path, access.clone(), "{not json").await, "Token is invalid").await;
        }
        // nothing was written by a refused caller
        let r = app.anon().get(app.url("/api/messages")).bearer_auth(&app.user("bob").await.access).send().await.unwrap();
        let texts: Vec<Value> = expect(r, 200).await.as_array().unwrap().iter().map(|m| m["text"].clone()).collect();
        assert_eq!(texts, [json!("kept")]);
        let (fresh, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let titles: Vec<Value> = expect(get("/api/tasks/", fresh).await, 200).await.as_array().unwrap().iter().map(|t| t["title"].clone()).collect();
        assert_eq!(titles, [json!("kept")]);
    }

    async fn a_bad_bearer_does_not_fall_back_to_the_session(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        let r = browser.get("/api/auth/me/").bearer_auth("garbage").send().await.unwrap();
        expect_bad_access(r, "Token is invalid").await;
        let r = browser.get("/api/auth/me/").header("Authorization", "Token 0000").send().await.unwrap();
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token." }));
    }

    async fn a_valid_bearer_wins_over_the_session(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let r = browser.get("/api/auth/me/").bearer_auth(&bob.access).send().await.unwrap();
        assert_eq!(expect(r, 200).await["username"], json!(bob.username));
    }

    async fn other_authorization_schemes_are_ignored(app) {
        // Basic is not an authenticator here: anonymous
        let r = app.get_with("/api/auth/me/", "Basic YWxpY2U6cHc=").await;
        assert_401(r).await;
    }

    async fn logout_all_also_ends_tokens_minted_elsewhere(app) {
        let alice = app.user("alice").await;
        let access = simplejwt_token(SECRET, alice.id, "access", 300, 0);
        let refresh = simplejwt_token(SECRET, alice.id, "refresh", 3600, 0);
        expect(app.me_bearer(&access).await, 200).await;
        let r = app.anon().post(app.url("/api/auth/logout-all/")).bearer_auth(&alice.access).send().await.unwrap();
        expect(r, 200).await;
        expect_bad_access(app.me_bearer(&access).await, "Token is invalid").await;
        // a refresh token Hearth never saw, issued before the logout-all, opens nothing
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is blacklisted"));
        let r = app.post_json("/api/token/verify/", json!({ "token": refresh })).await;
        assert_eq!(expect_401(r).await, token_not_valid("Token is invalid"));
    }

    async fn simultaneous_refreshes_of_a_minted_token_adopt_it_once(app) {
        let alice = app.user("alice").await;
        let refresh = simplejwt_token(SECRET, alice.id, "refresh", 3600, 0);
        let client = app.anon();
        let url = app.url("/api/token/refresh/");
        let responses = futures::future::join_all(
            (0..20).map(|_| client.post(&url).json(&json!({ "refresh": refresh })).send()),
        )
        .await;
        let mut ok = 0;
        for r in responses {
            let (status, body) = json_of(r.unwrap()).await;
            match status.as_u16() {
                200 => ok += 1,
                401 => assert_eq!(body, token_not_valid("Token is blacklisted")),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(ok, 1);
    }
}
