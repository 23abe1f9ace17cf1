//! DRF's authtoken: `/api-token-auth/` and `Authorization: Token <key>`.

use super::*;

fn is_key(key: &str) -> bool {
    key.len() == 40
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn stored_token(app: &TestApp) -> (String, String) {
    use diesel::{QueryDsl as _, RunQueryDsl as _};
    use hearth::auth::tokens::api_tokens;
    app.db
        .run(|conn| {
            Ok(api_tokens::table
                .select((api_tokens::key_hash, api_tokens::key_sealed))
                .first(conn)?)
        })
        .await
        .unwrap()
}

both_backends! {
    async fn api_token_auth_returns_the_same_key_every_time(app) {
        let alice = app.user("alice").await;
        let r = app.post_json("/api-token-auth/", json!({ "username": alice.username, "password": alice.password })).await;
        let body = expect(r, 200).await;
        let key = body["token"].as_str().unwrap().to_owned();
        assert_eq!(body, json!({ "token": key }));
        assert!(is_key(&key), "{key}");
        let r = app.post_form("/api-token-auth/", &[("username", &alice.username), ("password", &alice.password)]).await;
        assert_eq!(expect(r, 200).await, json!({ "token": key }));
        assert_eq!(app.count("api_tokens").await, 1);
        // another user gets another key
        let bob = app.user("bob").await;
        assert_ne!(app.drf_token(&bob.username, &bob.password).await, key);
    }

    async fn the_key_authenticates_without_csrf(app) {
        let alice = app.user("alice").await;
        let key = app.drf_token(&alice.username, &alice.password).await;
        let me = expect(app.get_with("/api/auth/me/", &format!("Token {key}")).await, 200).await;
        assert_eq!(me["username"], json!(alice.username));
        // an unsafe method with the key needs no CSRF, even from a browser holding a session
        let browser = app.session_login(&alice.username, &alice.password).await;
        let r = browser.request(reqwest::Method::DELETE, "/api/auth/sessions/999999/").send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({ "detail": "CSRF Failed: CSRF token missing." }));
        let r = browser
            .request(reqwest::Method::DELETE, "/api/auth/sessions/999999/")
            .header("Authorization", format!("Token {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 404).await, json!({ "detail": "No Login matches the given query." }));
    }

    async fn api_token_auth_refuses_bad_credentials(app) {
        let alice = app.user("alice").await;
        let r = app.post_json("/api-token-auth/", json!({ "username": alice.username, "password": "wrong" })).await;
        assert_eq!(expect(r, 400).await, json!({ "non_field_errors": [BAD_CREDENTIALS] }));
        let r = app.post_json("/api-token-auth/", json!({ "username": new_username("nobody"), "password": "x" })).await;
        assert_eq!(expect(r, 400).await, json!({ "non_field_errors": [BAD_CREDENTIALS] }));
        app.set_active(alice.id, false).await;
        let r = app.post_json("/api-token-auth/", json!({ "username": alice.username, "password": alice.password })).await;
        assert_eq!(expect(r, 400).await, json!({ "non_field_errors": [BAD_CREDENTIALS] }));
        let r = app.post_json("/api-token-auth/", json!({})).await;
        assert_eq!(expect(r, 400).await, json!({ "username": [REQUIRED], "password": [REQUIRED] }));
        let r = app.post_raw("/api-token-auth/", "application/json", "{").await;
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        assert_eq!(app.count("api_tokens").await, 0);
    }

    async fn an_unknown_or_malformed_key_is_401(app) {
        let r = app.get_with("/api/auth/me/", &format!("Token {}", "0".repeat(40))).await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token." }));
        let r = app.get_with("/api/auth/me/", "Token").await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token header. No credentials provided." }));
        let r = app.get_with("/api/auth/me/", "Token a b").await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token header. Token string should not contain spaces." }));
    }

    async fn the_keyword_is_read_in_any_case_as_drf_reads_it(app) {
        let alice = app.user("alice").await;
        let key = app.drf_token(&alice.username, &alice.password).await;
        for header in [format!("token {key}"), format!("TOKEN {key}"), format!("Token\t{key}"), format!("  tOkEn   {key} ")] {
            let me = expect(app.get_with("/api/auth/me/", &header).await, 200).await;
            assert_eq!(me["username"], json!(alice.username), "{header}");
        }
        let r = app.get_with("/api/auth/me/", "token").await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token header. No credentials provided." }));
        // simplejwt's header type is matched as written: a lowercase one is no credentials
        let r = app.get_with("/api/auth/me/", &format!("bearer {}", alice.access)).await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Authentication credentials were not provided." }));
        let r = app.get_with("/api/auth/me/", &format!("Bearer\t{}", alice.access)).await;
        assert_eq!(expect(r, 200).await["username"], json!(alice.username));
    }

    async fn an_inactive_users_key_is_refused(app) {
        let alice = app.user("alice").await;
        let key = app.drf_token(&alice.username, &alice.password).await;
        app.set_active(alice.id, false).await;
        let r = app.get_with("/api/auth/me/", &format!("Token {key}")).await;
        assert_eq!(expect_401(r).await, json!({ "detail": "User inactive or deleted." }));
    }

    async fn the_key_is_not_stored_in_plain_text(app) {
        let alice = app.user("alice").await;
        let key = app.drf_token(&alice.username, &alice.password).await;
        let (key_hash, key_sealed) = stored_token(&app).await;
        assert_ne!(key_hash, key);
        assert!(!key_hash.contains(&key) && !key_sealed.contains(&key), "{key_hash} / {key_sealed}");
        // neither stored value works as a key
        for stored in [&key_hash, &key_sealed] {
            let r = app.get_with("/api/auth/me/", &format!("Token {stored}")).await;
            assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token." }));
        }
    }

    async fn simultaneous_token_requests_share_one_key(app) {
        let alice = app.user("alice").await;
        let client = app.anon();
        let url = app.url("/api-token-auth/");
        let body = json!({ "username": alice.username, "password": alice.password });
        let responses =
            futures::future::join_all((0..10).map(|_| client.post(&url).json(&body).send())).await;
        let mut keys = Vec::new();
        for r in responses {
            keys.push(expect(r.unwrap(), 200).await["token"].as_str().unwrap().to_owned());
        }
        keys.dedup();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(app.count("api_tokens").await, 1);
    }
}
