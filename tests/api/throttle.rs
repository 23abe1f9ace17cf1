//! Brute-force protection on the login and sign-up routes.

use crate::helpers::*;

/// A login from a given client address (the test server trusts 127.0.0.1 as a proxy).
async fn login_from(app: &TestApp, addr: &str, username: &str, password: &str) -> Response {
    app.anon()
        .post(app.url("/api/token/"))
        .header("X-Forwarded-For", addr)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn failed_logins_past_the_limit_are_429_with_retry_after(app, |s| {
        s.login_rate_limit = 3;
        s.trusted_proxies = vec!["127.0.0.1".into()];
    }) {
        let alice = app.user("alice").await;
        for _ in 0..3 {
            expect(login_from(&app, "10.0.0.1", &alice.username, "wrong-password").await, 401).await;
        }
        let r = login_from(&app, "10.0.0.1", &alice.username, "wrong-password").await;
        let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
        let body = expect(r, 429).await;
        assert_eq!(body, json!({"detail": format!("Request was throttled. Expected available in {wait} seconds.")}));
        // the right password is refused too while the username cools off, from anywhere
        expect(login_from(&app, "10.0.0.9", &alice.username, PASSWORD).await, 429).await;
        // another user from another address is unaffected
        let bob = app.user("bob").await;
        expect(login_from(&app, "10.0.0.2", &bob.username, PASSWORD).await, 200).await;
    }

    async fn one_address_failing_for_many_usernames_is_throttled(app, |s| {
        s.login_rate_limit_address = 4;
        s.trusted_proxies = vec!["127.0.0.1".into()];
    }) {
        for i in 0..4 {
            expect(login_from(&app, "10.0.0.3", &format!("ghost{i}"), "x-wrong-1").await, 401).await;
        }
        expect(login_from(&app, "10.0.0.3", "ghost-next", "x-wrong-1").await, 429).await;
        let carol = app.user("carol").await;
        expect(login_from(&app, "10.0.0.4", &carol.username, PASSWORD).await, 200).await;
    }

    async fn every_login_route_shares_the_username_limit(app, |s| { s.login_rate_limit = 2; }) {
        let dave = app.user("dave").await;
        let anon = app.anon();
        let r = anon.post(app.url("/api-token-auth/")).json(&json!({"username": dave.username, "password": "nope-nope"})).send().await.unwrap();
        expect(r, 400).await;
        let r = anon.post(app.url("/api/auth/token/")).json(&json!({"username": dave.username, "password": "nope-nope"})).send().await.unwrap();
        expect(r, 401).await;
        let r = anon.post(app.url("/api-token-auth/")).json(&json!({"username": dave.username, "password": PASSWORD})).send().await.unwrap();
        assert!(r.headers().contains_key("retry-after"));
        expect(r, 429).await;
        let browser = app.browser_session().await;
        let r = browser.post("/authentication/login").header("X-CSRFToken", browser.csrf())
            .json(&json!({"username": dave.username, "password": PASSWORD})).send().await.unwrap();
        expect(r, 429).await;
    }

    async fn sign_ups_past_the_limit_are_429_and_write_nothing(app, |s| { s.signup_rate_limit = 2; }) {
        let anon = app.anon();
        for i in 0..2 {
            let r = anon.post(app.url("/api/user/register/"))
                .json(&json!({"username": format!("new{i}_{}", new_username("s")), "password": PASSWORD})).send().await.unwrap();
            expect(r, 201).await;
        }
        let before = app.count("users").await;
        let r = anon.post(app.url("/api/auth/signup/")).json(&json!({"username": "one_more", "password": PASSWORD})).send().await.unwrap();
        expect(r, 429).await;
        assert_eq!(app.count("users").await, before);
    }
}
