//! The caller's own account (`/api/auth/csrf/`, `me`, `sessions`, `logout-all`) and
//! the conventions every auth route shares: no passwords out, CORS, 404, 413.

use super::*;

async fn body_text(r: Response) -> String {
    r.text().await.unwrap()
}

both_backends! {
    async fn csrf_route_answers_the_token_and_sets_the_cookie(app) {
        let r = app.anon().get(app.url("/api/auth/csrf/")).send().await.unwrap();
        let cookie = set_cookie(&r, "csrftoken").expect("the csrftoken cookie is set");
        let body = expect(r, 200).await;
        let token = body["csrfToken"].as_str().unwrap().to_owned();
        assert_eq!(body, json!({ "csrfToken": token }));
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(cookie.starts_with(&format!("csrftoken={token};")), "{cookie}");
        // an SPA uses it as is: the cookie it holds and the header it sends
        let alice = app.user("alice").await;
        let r = app
            .anon()
            .post(app.url("/authentication/login"))
            .header("Cookie", format!("csrftoken={token}"))
            .header("X-CSRFToken", &token)
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 200).await, json!({ "error": "None, login successful" }));
        // a browser that holds a cookie keeps it
        let browser = app.browser_session().await;
        let held = browser.csrf();
        let body = expect(browser.get("/api/auth/csrf/").send().await.unwrap(), 200).await;
        assert_eq!(body["csrfToken"], json!(held));
    }

    async fn me_answers_the_user_without_a_password(app) {
        let alice = app.user("alice").await;
        let r = app.me_bearer(&alice.access).await;
        let text = r.text().await.unwrap();
        assert_no_password(&text, &alice.password);
        let me: Value = serde_json::from_str(&text).unwrap();
        let mut keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, [
            "date_joined", "email", "first_name", "id", "is_active", "is_staff", "is_superuser", "last_login",
            "last_name", "username",
        ]);
        assert_eq!(me["id"], json!(alice.id));
        assert_eq!(me["username"], json!(alice.username));
        assert_eq!(me["is_active"], json!(true));
        assert!(me["date_joined"].as_str().unwrap().ends_with('Z'), "{me}");
    }

    async fn passwords_never_appear_in_any_auth_response(app) {
        let username = new_username("secret");
        let mut texts = Vec::new();
        texts.push(body_text(app.post_json("/api/auth/signup/", json!({ "username": username, "password": PASSWORD })).await).await);
        let other = new_username("secret");
        texts.push(body_text(app.post_json("/api/user/register/", json!({ "username": other, "password": PASSWORD })).await).await);
        texts.push(body_text(app.post_json("/music/register", json!({ "username": new_username("s"), "password": PASSWORD })).await).await);
        let (access, refresh) = app.obtain_pair(&username, PASSWORD).await;
        texts.push(body_text(app.post_json("/api/auth/token/", json!({ "username": username, "password": PASSWORD })).await).await);
        texts.push(body_text(app.refresh(&refresh).await).await);
        texts.push(body_text(app.post_json("/api-token-auth/", json!({ "username": username, "password": PASSWORD })).await).await);
        texts.push(body_text(app.me_bearer(&access).await).await);
        texts.push(body_text(app.get_with("/api/auth/sessions/", &format!("Bearer {access}")).await).await);
        let browser = app.browser_session().await;
        let body = json!({ "username": new_username("s"), "password": PASSWORD, "confirm_password": PASSWORD });
        texts.push(body_text(browser.post_csrf("/authentication/register").json(&body).send().await.unwrap()).await);
        let body = json!({ "username": username, "password": PASSWORD });
        texts.push(body_text(browser.post_csrf("/authentication/login").json(&body).send().await.unwrap()).await);
        texts.push(body_text(browser.get("/api/auth/me/").send().await.unwrap()).await);
        for text in texts {
            assert_no_password(&text, PASSWORD);
        }
    }

    async fn logout_all_ends_every_token_and_session_of_the_caller(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let (access_1, refresh_1) = app.obtain_pair(&alice.username, &alice.password).await;
        let (access_2, refresh_2) = app.obtain_pair(&alice.username, &alice.password).await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let old_session = browser.cookie("sessionid").unwrap();
        let key = app.drf_token(&alice.username, &alice.password).await;
        let (bob_access, bob_refresh) = app.obtain_pair(&bob.username, &bob.password).await;
        let bob_key = app.drf_token(&bob.username, &bob.password).await;

        let r = app.anon().post(app.url("/api/auth/logout-all/")).bearer_auth(&access_1).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({ "detail": "Logged out everywhere." }));

        for access in [&access_1, &access_2, &alice.access] {
            expect_bad_access(app.me_bearer(access).await, "Token is invalid").await;
        }
        for refresh in [&refresh_1, &refresh_2] {
            assert_eq!(expect_401(app.refresh(refresh).await).await, token_not_valid("Token is blacklisted"));
        }
        let r = browser.get("/api/auth/me/").send().await.unwrap();
        assert_401(r).await;
        let r = app.anon().get(app.url("/api/auth/me/")).header("Cookie", format!("sessionid={old_session}")).send().await.unwrap();
        assert_401(r).await;
        let r = app.get_with("/api/auth/me/", &format!("Token {key}")).await;
        assert_eq!(expect_401(r).await, json!({ "detail": "Invalid token." }));

        // another user is not touched
        expect(app.me_bearer(&bob_access).await, 200).await;
        expect(app.refresh(&bob_refresh).await, 200).await;
        expect(app.get_with("/api/auth/me/", &format!("Token {bob_key}")).await, 200).await;
        // and the caller can log in again, with a new DRF key
        let (fresh, _) = app.obtain_pair(&alice.username, &alice.password).await;
        expect(app.me_bearer(&fresh).await, 200).await;
        assert_ne!(app.drf_token(&alice.username, &alice.password).await, key);
    }

    async fn logout_all_from_a_session_needs_csrf_and_clears_the_cookie(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let r = browser.post("/api/auth/logout-all/").send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({ "detail": "CSRF Failed: CSRF token missing." }));
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        let r = browser.post_csrf("/api/auth/logout-all/").send().await.unwrap();
        assert!(set_cookie(&r, "sessionid").is_some_and(|c| c.contains("Max-Age=0")));
        expect(r, 200).await;
        expect_401(browser.get("/api/auth/me/").send().await.unwrap()).await;
        let r = app.anon().post(app.url("/api/auth/logout-all/")).send().await.unwrap();
        assert_401(r).await;
    }

    async fn sessions_lists_the_callers_logins_with_the_current_one_marked(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let (access_1, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let r = app
            .anon()
            .post(app.url("/api/token/"))
            .header("User-Agent", "hearth-test-agent/1.0")
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        let access_2 = expect(r, 200).await["access"].as_str().unwrap().to_owned();
        let browser = app.session_login(&alice.username, &alice.password).await;
        app.obtain_pair(&bob.username, &bob.password).await;

        let logins = logins_of(&app, &access_1).await;
        assert_eq!(logins.len(), 3, "{logins:?}");
        let mut kinds: Vec<&str> = logins.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        kinds.sort_unstable();
        assert_eq!(kinds, ["jwt", "jwt", "session"]);
        for login in &logins {
            let mut keys: Vec<&str> = login.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["client_addr", "created", "current", "id", "kind", "last_used", "user_agent"]);
            assert_eq!(login["client_addr"], "127.0.0.1");
            assert!(login["created"].as_str().unwrap().ends_with('Z'));
        }
        assert!(logins.iter().any(|l| l["user_agent"] == "hearth-test-agent/1.0"), "{logins:?}");
        let first = current_id(&logins);
        assert_eq!(logins.iter().find(|l| l["id"] == json!(first)).unwrap()["kind"], "jwt");
        let second = current_id(&logins_of(&app, &access_2).await);
        assert_ne!(first, second);
        let from_session = expect(browser.get("/api/auth/sessions/").send().await.unwrap(), 200).await;
        let session_id = current_id(from_session.as_array().unwrap());
        assert_eq!(logins.iter().find(|l| l["id"] == json!(session_id)).unwrap()["kind"], "session");
        // a token that belongs to no login marks none
        let r = app.get_with("/api/auth/sessions/", &format!("Bearer {}", alice.access)).await;
        assert!(expect(r, 200).await.as_array().unwrap().iter().all(|l| l["current"] == json!(false)));
        let r = app.anon().get(app.url("/api/auth/sessions/")).send().await.unwrap();
        assert_401(r).await;
    }

    async fn deleting_a_login_ends_it_alone(app) {
        let alice = app.user("alice").await;
        let (access_1, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let (access_2, refresh_2) = app.obtain_pair(&alice.username, &alice.password).await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let second = current_id(&logins_of(&app, &access_2).await);

        let path = format!("/api/auth/sessions/{second}/");
        let r = app.anon().delete(app.url(&path)).bearer_auth(&access_1).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.text().await.unwrap().is_empty());
        expect_bad_access(app.me_bearer(&access_2).await, "Token is invalid").await;
        assert_eq!(expect_401(app.refresh(&refresh_2).await).await, token_not_valid("Token is blacklisted"));
        // the others go on
        expect(app.me_bearer(&access_1).await, 200).await;
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        let left = logins_of(&app, &access_1).await;
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|l| l["id"] != json!(second)));
        // an ended login is gone
        let r = app.anon().delete(app.url(&path)).bearer_auth(&access_1).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({ "detail": "No Login matches the given query." }));
        // ending the session's login from a JWT ends the session
        let session_id = current_id(expect(browser.get("/api/auth/sessions/").send().await.unwrap(), 200).await.as_array().unwrap());
        let r = app.anon().delete(app.url(&format!("/api/auth/sessions/{session_id}/"))).bearer_auth(&access_1).send().await.unwrap();
        assert_eq!(r.status(), 204);
        expect_401(browser.get("/api/auth/me/").send().await.unwrap()).await;
    }

    async fn another_users_login_is_not_found(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let (alice_access, _) = app.obtain_pair(&alice.username, &alice.password).await;
        let (bob_access, _) = app.obtain_pair(&bob.username, &bob.password).await;
        let bobs = current_id(&logins_of(&app, &bob_access).await);
        let r = app.anon().delete(app.url(&format!("/api/auth/sessions/{bobs}/"))).bearer_auth(&alice_access).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({ "detail": "No Login matches the given query." }));
        expect(app.me_bearer(&bob_access).await, 200).await;
        let r = app.anon().delete(app.url("/api/auth/sessions/not-a-number/")).bearer_auth(&alice_access).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({ "detail": "Not found." }));
        let r = app.anon().delete(app.url(&format!("/api/auth/sessions/{bobs}/"))).send().await.unwrap();
        assert_401(r).await;
    }

    async fn cors_preflight_from_the_dev_frontend_is_allowed(app) {
        let r = app
            .anon()
            .request(reqwest::Method::OPTIONS, app.url("/api/token/"))
            .header("Origin", "http://localhost:5173")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,authorization,x-csrftoken")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let h = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_ascii_lowercase()).unwrap_or_default();
        assert_eq!(h("access-control-allow-origin"), "http://localhost:5173");
        assert_eq!(h("access-control-allow-credentials"), "true");
        for header in ["content-type", "authorization", "x-csrftoken"] {
            assert!(h("access-control-allow-headers").contains(header), "{}", h("access-control-allow-headers"));
        }
        assert!(h("access-control-allow-methods").contains("post"), "{}", h("access-control-allow-methods"));
        // the actual request gets the origin back too
        let r = app.anon().get(app.url("/api/auth/csrf/")).header("Origin", "http://127.0.0.1:5173").send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "http://127.0.0.1:5173");
        assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    }

    async fn cors_gives_an_unknown_origin_no_allow_origin(app) {
        let r = app
            .anon()
            .request(reqwest::Method::OPTIONS, app.url("/api/token/"))
            .header("Origin", "http://evil.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,authorization")
            .send()
            .await
            .unwrap();
        // without Access-Control-Allow-Origin the browser refuses the request
        // (tower-http still sends its fixed allow-* headers, which grant nothing alone)
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{:?}", r.headers());
        let r = app.anon().get(app.url("/api/auth/csrf/")).header("Origin", "http://evil.example").send().await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }

    async fn an_unknown_route_is_404_not_found(app) {
        for path in ["/api/auth/nope/", "/api/token/nope/", "/authentication/elsewhere"] {
            let r = app.anon().get(app.url(path)).send().await.unwrap();
            assert_eq!(expect(r, 404).await, json!({ "detail": "Not found." }), "{path}");
        }
    }

    async fn a_body_over_the_limit_is_413_and_writes_nothing(app, |s| {
        s.body_limit = 1024;
    }) {
        let padding = "x".repeat(4096);
        let body = json!({ "username": new_username("big"), "password": PASSWORD, "padding": padding });
        for path in ["/api/auth/signup/", "/api/user/register/", "/api/token/"] {
            let r = app.post_json(path, body.clone()).await;
            assert_eq!(r.status(), 413, "{path}");
        }
        assert_eq!(app.count("users").await, 0);
        // a body under the limit is fine
        app.signup(&new_username("small"), PASSWORD).await;
    }
}
