//! Seed 001's session views (`/authentication/login|register|logout`) and Django's
//! CSRF check, on those views and on DRF routes used with a session.

use super::*;

const VIEWS: [&str; 3] = [
    "/authentication/login",
    "/authentication/register",
    "/authentication/logout",
];
const EVIL: &str = "http://evil.example";

fn csrf_failed(reason: &str) -> Value {
    json!({ "detail": format!("CSRF Failed: {reason}") })
}

/// The `{"error": ...}` text of a session view's 200.
async fn error_text(r: Response) -> String {
    let body = expect(r, 200).await;
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {body}"))
        .to_owned()
}

async fn stored_session_hashes(app: &TestApp) -> Vec<Option<String>> {
    use diesel::{QueryDsl as _, RunQueryDsl as _};
    use hearth::auth::logins::logins;
    app.db
        .run(|conn| Ok(logins::table.select(logins::session_key_hash).load(conn)?))
        .await
        .unwrap()
}

both_backends! {
    async fn get_answers_the_tutorial_text_and_sets_the_csrf_cookie(app) {
        for (path, text) in VIEWS.into_iter().zip([
            "Needs a post request to log user in",
            "Needs a post request to register new user",
            "Needs a post request to log out current user",
        ]) {
            let r = app.anon().get(app.url(path)).send().await.unwrap();
            let cookie = set_cookie(&r, "csrftoken").unwrap_or_else(|| panic!("{path} set no csrftoken"));
            let value = cookie.split(';').next().unwrap().trim_start_matches("csrftoken=");
            assert_eq!(value.len(), 32, "{cookie}");
            assert!(cookie.contains("Path=/") && cookie.contains("SameSite=Lax"), "{cookie}");
            assert_eq!(error_text(r).await, text);
        }
    }

    async fn the_csrf_cookie_is_kept_across_answers(app) {
        let browser = app.browser_session().await;
        let first = browser.csrf();
        browser.get("/authentication/register").send().await.unwrap();
        assert_eq!(browser.csrf(), first);
    }

    async fn post_without_the_csrf_cookie_is_403(app) {
        let alice = app.user("alice").await;
        for path in VIEWS {
            let r = app.post_json(path, json!({ "username": alice.username, "password": alice.password })).await;
            assert_eq!(expect(r, 403).await, csrf_failed("CSRF cookie not set."));
        }
        assert_eq!(app.count("logins").await, 0);
    }

    async fn post_with_the_cookie_but_no_token_is_403(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        for path in VIEWS {
            let r = browser.post(path).json(&json!({ "username": alice.username, "password": alice.password })).send().await.unwrap();
            assert_eq!(expect(r, 403).await, csrf_failed("CSRF token missing."));
        }
        assert_eq!(app.count("logins").await, 0);
    }

    async fn post_with_a_wrong_token_is_403(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        let r = browser
            .post("/authentication/login")
            .header("X-CSRFToken", "A".repeat(32))
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header incorrect."));
        let r = browser.post("/authentication/login").header("X-CSRFToken", "short").send().await.unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."));
        assert_eq!(app.count("logins").await, 0);
    }

    async fn post_from_an_untrusted_origin_is_403(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        let r = browser
            .post_csrf("/authentication/login")
            .header("Origin", EVIL)
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect(r, 403).await,
            csrf_failed("Origin checking failed - http://evil.example does not match any trusted origins.")
        );
        assert_eq!(app.count("logins").await, 0);
    }

    async fn post_from_a_trusted_or_own_origin_is_accepted(app) {
        let alice = app.user("alice").await;
        for origin in ["http://localhost:5173", "http://127.0.0.1:5173", app.base.as_str()] {
            let browser = app.browser_session().await;
            let r = browser
                .post_csrf("/authentication/login")
                .header("Origin", origin)
                .json(&json!({ "username": alice.username, "password": alice.password }))
                .send()
                .await
                .unwrap();
            assert_eq!(error_text(r).await, "None, login successful", "{origin}");
        }
    }

    async fn login_sets_an_http_only_session_that_authenticates(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        let before = browser.csrf();
        let r = browser
            .post_csrf("/authentication/login")
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        let session = set_cookie(&r, "sessionid").expect("sessionid is set");
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Lax"), "{session}");
        assert!(session.contains("Path=/"), "{session}");
        assert!(set_cookie(&r, "csrftoken").is_some());
        let text = r.text().await.unwrap();
        assert_no_password(&text, &alice.password);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({ "error": "None, login successful" }));
        // Django rotates the CSRF secret at login
        assert_ne!(browser.csrf(), before);
        let me = expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        assert_eq!(me["username"], json!(alice.username));
        assert!(me["last_login"].is_string(), "{me}");
    }

    async fn login_with_a_wrong_password_sets_no_session(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        for body in [
            json!({ "username": alice.username, "password": "wrong-password" }),
            json!({ "username": new_username("ghost"), "password": alice.password }),
            json!({}),
        ] {
            let r = browser.post_csrf("/authentication/login").json(&body).send().await.unwrap();
            assert!(set_cookie(&r, "sessionid").is_none());
            assert!(set_cookie(&r, "csrftoken").is_some());
            assert_eq!(error_text(r).await, "Username and/or password incorrect");
        }
        let r = browser.get("/api/auth/me/").send().await.unwrap();
        assert_401(r).await;
        assert_eq!(app.count("logins").await, 0);
    }

    async fn an_inactive_user_cannot_log_in(app) {
        let alice = app.user("alice").await;
        app.set_active(alice.id, false).await;
        let browser = app.browser_session().await;
        let r = browser.post_csrf("/authentication/login").json(&json!({ "username": alice.username, "password": alice.password })).send().await.unwrap();
        assert_eq!(error_text(r).await, "Username and/or password incorrect");
    }

    async fn login_accepts_a_form_body_with_csrfmiddlewaretoken(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrfmiddlewaretoken", &browser.csrf())
            .append_pair("username", &alice.username)
            .append_pair("password", &alice.password)
            .finish();
        let r = browser
            .post("/authentication/login")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_text(r).await, "None, login successful");
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        // a wrong form token is named as the form's
        let browser = app.browser_session().await;
        let r = browser
            .post("/authentication/login")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("csrfmiddlewaretoken={}&username=x&password=y", "B".repeat(32)))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF token from POST incorrect."));
    }

    async fn login_with_malformed_json_is_400(app) {
        let browser = app.browser_session().await;
        let r = browser.post_csrf("/authentication/login").header("Content-Type", "application/json").body("{oops").send().await.unwrap();
        let body = expect(r, 400).await;
        assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{body}");
    }

    async fn a_session_needs_csrf_for_unsafe_methods_on_drf_routes(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let path = "/api/auth/sessions/999999/";
        let r = browser.request(reqwest::Method::DELETE, path).send().await.unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF token missing."));
        let r = browser.request(reqwest::Method::DELETE, path).header("X-CSRFToken", "B".repeat(32)).send().await.unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header incorrect."));
        let r = browser.request_csrf(reqwest::Method::DELETE, path).header("Origin", EVIL).send().await.unwrap();
        assert_eq!(
            expect(r, 403).await,
            csrf_failed("Origin checking failed - http://evil.example does not match any trusted origins.")
        );
        let r = browser.request_csrf(reqwest::Method::DELETE, path).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({ "detail": "No Login matches the given query." }));
        // safe methods need none
        expect(browser.get("/api/auth/sessions/").send().await.unwrap(), 200).await;
    }

    async fn logout_ends_the_session_on_the_server(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let old = browser.cookie("sessionid").unwrap();
        let r = browser.post_csrf("/authentication/logout").send().await.unwrap();
        let cleared = set_cookie(&r, "sessionid").expect("the session cookie is cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert!(set_cookie(&r, "csrftoken").is_some());
        assert_eq!(error_text(r).await, "None, logged out successfully");
        assert_eq!(browser.cookie("sessionid"), None);
        let r = browser.get("/api/auth/me/").send().await.unwrap();
        assert_401(r).await;
        // the old cookie sent again is anonymous: the session is over on the server
        let r = app.anon().get(app.url("/api/auth/me/")).header("Cookie", format!("sessionid={old}")).send().await.unwrap();
        assert_401(r).await;
    }

    async fn logout_when_anonymous_still_answers(app) {
        let browser = app.browser_session().await;
        let r = browser.post_csrf("/authentication/logout").send().await.unwrap();
        assert_eq!(error_text(r).await, "None, logged out successfully");
    }

    async fn logging_in_again_ends_the_previous_session(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let old = browser.cookie("sessionid").unwrap();
        let r = browser.post_csrf("/authentication/login").json(&json!({ "username": alice.username, "password": alice.password })).send().await.unwrap();
        assert_eq!(error_text(r).await, "None, login successful");
        let new = browser.cookie("sessionid").unwrap();
        assert_ne!(new, old);
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        let r = app.anon().get(app.url("/api/auth/me/")).header("Cookie", format!("sessionid={old}")).send().await.unwrap();
        expect_401(r).await;
    }

    async fn register_checks_in_the_tutorials_order(app) {
        let alice = app.user("alice").await;
        let browser = app.browser_session().await;
        let u = new_username("reg");
        let p = PASSWORD;
        let checks = [
            (json!({ "username": u, "password": p }), "Username and password required".to_owned()),
            (json!({ "password": p, "confirm_password": p }), "Username and password required".to_owned()),
            (json!({ "username": u, "password": "", "confirm_password": "" }), "Username and password required".to_owned()),
            (json!({ "username": u, "password": p, "confirm_password": format!("{p}x") }), "Passwords don't match".to_owned()),
            (json!({ "username": alice.username, "password": p, "confirm_password": p }), "Username already taken".to_owned()),
            (json!({ "username": alice.username, "password": "abc", "confirm_password": "xyz" }), "Passwords don't match".to_owned()),
            (json!({ "username": u, "password": "abc", "confirm_password": "abc" }), format!("{TOO_SHORT} {TOO_COMMON}")),
            (json!({ "username": u, "password": "x7Qz!", "confirm_password": "x7Qz!" }), TOO_SHORT.to_owned()),
            (json!({ "username": u, "password": u, "confirm_password": u }), TOO_SIMILAR.to_owned()),
            (json!({ "username": "bad name!", "password": p, "confirm_password": p }), BAD_USERNAME.to_owned()),
        ];
        for (body, text) in checks {
            let r = browser.post_csrf("/authentication/register").json(&body).send().await.unwrap();
            assert!(set_cookie(&r, "csrftoken").is_some());
            assert!(set_cookie(&r, "sessionid").is_none());
            assert_eq!(error_text(r).await, text, "{body}");
        }
        assert_eq!(app.count("users").await, 1);
        assert_eq!(app.count("logins").await, 0);
    }

    async fn register_creates_the_user_and_logs_in(app) {
        let browser = app.browser_session().await;
        let u = new_username("reg");
        let body = json!({ "username": u, "password": PASSWORD, "confirm_password": PASSWORD });
        let r = browser.post_csrf("/authentication/register").header("Origin", "http://localhost:5173").json(&body).send().await.unwrap();
        assert!(set_cookie(&r, "sessionid").is_some() && set_cookie(&r, "csrftoken").is_some());
        let text = r.text().await.unwrap();
        assert_no_password(&text, PASSWORD);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({ "error": "None, user creation successful" }));
        let me = expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        assert_eq!(me["username"], json!(u));
        // the account exists: a second registration is refused, and JWT login works
        let r = browser.post_csrf("/authentication/register").json(&body).send().await.unwrap();
        assert_eq!(error_text(r).await, "Username already taken");
        app.obtain_pair(&u, PASSWORD).await;
        assert_eq!(app.count("users").await, 1);
    }

    async fn register_accepts_a_form_body(app) {
        let browser = app.browser_session().await;
        let u = new_username("regf");
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrfmiddlewaretoken", &browser.csrf())
            .append_pair("username", &u)
            .append_pair("password", PASSWORD)
            .append_pair("confirm_password", PASSWORD)
            .finish();
        let r = browser.post("/authentication/register").header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        assert_eq!(error_text(r).await, "None, user creation successful");
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
    }

    async fn session_keys_are_stored_hashed(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let key = browser.cookie("sessionid").unwrap();
        let stored = stored_session_hashes(&app).await;
        assert_eq!(stored.len(), 1);
        let hash = stored[0].clone().expect("a session login has a key hash");
        assert_ne!(hash, key);
        assert!(!hash.contains(&key));
        // the stored hash is no key
        let r = app.anon().get(app.url("/api/auth/me/")).header("Cookie", format!("sessionid={hash}")).send().await.unwrap();
        assert_401(r).await;
    }

    async fn a_deactivated_users_session_is_anonymous(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        app.set_active(alice.id, false).await;
        let r = browser.get("/api/auth/me/").send().await.unwrap();
        assert_401(r).await;
    }

    async fn the_session_views_check_csrf_even_with_a_bearer_token(app) {
        let alice = app.user("alice").await;
        let r = app
            .anon()
            .post(app.url("/authentication/login"))
            .bearer_auth(&alice.access)
            .json(&json!({ "username": alice.username, "password": alice.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF cookie not set."));
        let r = app.anon().post(app.url("/authentication/logout")).bearer_auth(&alice.access).send().await.unwrap();
        assert_eq!(expect(r, 403).await, csrf_failed("CSRF cookie not set."));
    }

    async fn a_session_expires_for_real(app, |s| {
        s.session_cookie_age = std::time::Duration::from_secs(1);
    }) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        expect(browser.get("/api/auth/me/").send().await.unwrap(), 200).await;
        let key = browser.cookie("sessionid").unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        // the cookie may linger in a client; the server no longer knows the session
        let r = app.anon().get(app.url("/api/auth/me/")).header("Cookie", format!("sessionid={key}")).send().await.unwrap();
        assert_401(r).await;
    }
}
