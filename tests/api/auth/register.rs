//! Seed 000's sign-up (text/plain errors) and the DRF register views of seeds 002/003.

use super::*;

const REGISTER: [&str; 2] = ["/api/user/register/", "/music/register"];

async fn signup_text(app: &crate::helpers::TestApp, body: Value) -> String {
    let r = app.post_json("/api/auth/signup/", body).await;
    let (status, kind, text) = text_of(r).await;
    assert_eq!(status, 400, "{text}");
    assert!(kind.starts_with("text/plain"), "{kind}: {text}");
    text
}

both_backends! {
    async fn signup_returns_a_working_pair_and_the_username(app) {
        let username = new_username("su");
        let r = app.post_json("/api/auth/signup/", json!({ "username": username, "password": PASSWORD })).await;
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let text = r.text().await.unwrap();
        assert_no_password(&text, PASSWORD);
        let body: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{body}");
        assert_eq!(body["user"], json!({ "username": username }));
        assert_eq!(jwt_claims(body["access"].as_str().unwrap())["token_type"], "access");
        assert_eq!(jwt_claims(body["refresh"].as_str().unwrap())["token_type"], "refresh");
        // both tokens work at once
        let me = expect(app.me_bearer(body["access"].as_str().unwrap()).await, 200).await;
        assert_eq!(me["username"], username);
        let fresh = expect(app.refresh(body["refresh"].as_str().unwrap()).await, 200).await;
        expect(app.me_bearer(fresh["access"].as_str().unwrap()).await, 200).await;
        assert_eq!(app.count("users").await, 1);
    }

    async fn signup_without_username_or_password_is_plain_text_400(app) {
        for body in [
            json!({ "username": new_username("su") }),
            json!({ "password": PASSWORD }),
            json!({ "username": "", "password": "" }),
            json!({ "username": new_username("su"), "password": "" }),
            json!({}),
        ] {
            assert_eq!(signup_text(&app, body).await, "username and password required");
        }
        assert_eq!(app.count("users").await, 0);
    }

    async fn signup_with_a_taken_username_is_plain_text_400(app) {
        let alice = app.user("alice").await;
        let text = signup_text(&app, json!({ "username": alice.username, "password": PASSWORD })).await;
        assert_eq!(text, "username taken");
        assert_eq!(app.count("users").await, 1);
        assert_eq!(app.count("logins").await, 0);
    }

    async fn signup_validator_messages_are_joined_by_a_space(app) {
        // letters only: a random hex name can be "too similar" to the numeric password
        let username: String = new_username("sv")
            .chars()
            .map(|c| if c.is_ascii_digit() { char::from(b'g' + c as u8 - b'0') } else { c })
            .collect();
        let say = |password: &str| json!({ "username": username, "password": password });
        assert_eq!(signup_text(&app, say("abc")).await, format!("{TOO_SHORT} {TOO_COMMON}"));
        assert_eq!(signup_text(&app, say("123")).await, format!("{TOO_SHORT} {TOO_COMMON} {ENTIRELY_NUMERIC}"));
        assert_eq!(signup_text(&app, say("82019374650193")).await, ENTIRELY_NUMERIC);
        assert_eq!(signup_text(&app, say(&username)).await, TOO_SIMILAR);
        assert_eq!(app.count("users").await, 0);
        // nothing was written: the name is still free
        app.signup(&username, PASSWORD).await;
    }

    async fn signup_refuses_bad_and_over_long_usernames(app) {
        let text = signup_text(&app, json!({ "username": "bad name!", "password": PASSWORD })).await;
        assert_eq!(text, BAD_USERNAME);
        let text = signup_text(&app, json!({ "username": "u".repeat(151), "password": PASSWORD })).await;
        assert_eq!(text, "Ensure this value has at most 150 characters (it has 151).");
        assert_eq!(app.count("users").await, 0);
        // 150 characters is fine
        app.signup(&"u".repeat(150), PASSWORD).await;
    }

    async fn signup_accepts_a_form_body(app) {
        let username = new_username("sf");
        let r = app.post_form("/api/auth/signup/", &[("username", &username), ("password", PASSWORD)]).await;
        assert_eq!(expect(r, 200).await["user"], json!({ "username": username }));
    }

    async fn signup_with_malformed_json_is_400_parse_error(app) {
        let r = app.post_raw("/api/auth/signup/", "application/json", r#"{"username": "#).await;
        let body = expect(r, 400).await;
        assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{body}");
        let r = app.post_raw("/api/auth/signup/", "application/json", "[1, 2]").await;
        assert_eq!(expect(r, 400).await, json!({ "non_field_errors": ["Invalid data. Expected a dictionary, but got list."] }));
        assert_eq!(app.count("users").await, 0);
    }

    async fn signup_get_is_405_with_allow(app) {
        let r = app.anon().get(app.url("/api/auth/signup/")).send().await.unwrap();
        let allow = r.headers().get("allow").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_eq!(expect(r, 405).await, json!({ "detail": "Method \"GET\" not allowed." }));
        assert!(allow.contains("POST"), "Allow: {allow}");
    }

    async fn usernames_are_case_sensitive(app) {
        let base = new_username("CaseUser");
        app.signup(&base, PASSWORD).await;
        app.signup(&base.to_lowercase(), PASSWORD).await;
        assert_eq!(app.count("users").await, 2);
    }

    async fn register_answers_201_id_and_username_only(app) {
        for path in REGISTER {
            let username = new_username("dr");
            let r = app.post_json(path, json!({ "username": username, "password": PASSWORD, "is_staff": true, "is_superuser": true })).await;
            assert_eq!(r.status(), 201);
            let text = r.text().await.unwrap();
            assert_no_password(&text, PASSWORD);
            let body: Value = serde_json::from_str(&text).unwrap();
            let id = body["id"].as_i64().unwrap();
            assert_eq!(body, json!({ "id": id, "username": username }));
            // the account logs in, and is_staff in the body was ignored
            let (access, _) = app.obtain_pair(&username, PASSWORD).await;
            assert_eq!(jwt_claims(&access)["user_id"], json!(id.to_string()));
            let me = expect(app.me_bearer(&access).await, 200).await;
            assert_eq!((me["is_staff"].as_bool(), me["is_superuser"].as_bool()), (Some(false), Some(false)));
            assert!(app.password_hash(id).await.starts_with("$argon2id$"));
        }
        assert_eq!(app.count("users").await, 2);
    }

    async fn register_with_a_taken_username_is_400(app) {
        let alice = app.user("alice").await;
        for path in REGISTER {
            let r = app.post_json(path, json!({ "username": alice.username, "password": PASSWORD })).await;
            assert_eq!(expect(r, 400).await, json!({ "username": [USERNAME_TAKEN] }));
        }
        assert_eq!(app.count("users").await, 1);
    }

    async fn register_runs_the_password_validators_in_django_order(app) {
        let username = new_username("dv");
        for path in REGISTER {
            let r = app.post_json(path, json!({ "username": username, "password": "123" })).await;
            assert_eq!(expect(r, 400).await, json!({ "password": [TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC] }));
            let r = app.post_json(path, json!({ "username": username, "password": username })).await;
            assert_eq!(expect(r, 400).await, json!({ "password": [TOO_SIMILAR] }));
            let r = app.post_json(path, json!({ "username": username, "password": "x7Qz!" })).await;
            assert_eq!(expect(r, 400).await, json!({ "password": [TOO_SHORT] }));
        }
        assert_eq!(app.count("users").await, 0);
    }

    async fn register_reports_missing_and_blank_fields(app) {
        for path in REGISTER {
            let r = app.post_json(path, json!({})).await;
            assert_eq!(expect(r, 400).await, json!({ "username": [REQUIRED], "password": [REQUIRED] }));
            let r = app.post_json(path, json!({ "username": new_username("dm") })).await;
            assert_eq!(expect(r, 400).await, json!({ "password": [REQUIRED] }));
            let r = app.post_json(path, json!({ "password": PASSWORD })).await;
            assert_eq!(expect(r, 400).await, json!({ "username": [REQUIRED] }));
            let r = app.post_json(path, json!({ "username": "", "password": "" })).await;
            assert_eq!(expect(r, 400).await, json!({ "username": [BLANK], "password": [BLANK] }));
        }
        assert_eq!(app.count("users").await, 0);
    }

    async fn register_refuses_bad_and_over_long_usernames(app) {
        for path in REGISTER {
            // a bad username stops before the password validators, as DRF does
            let r = app.post_json(path, json!({ "username": "no spaces allowed", "password": "123" })).await;
            assert_eq!(expect(r, 400).await, json!({ "username": [BAD_USERNAME] }));
            let r = app.post_json(path, json!({ "username": "u".repeat(151), "password": PASSWORD })).await;
            assert_eq!(expect(r, 400).await, json!({ "username": ["Ensure this field has no more than 150 characters."] }));
        }
        assert_eq!(app.count("users").await, 0);
    }

    async fn register_refuses_a_body_that_is_not_an_object(app) {
        for path in REGISTER {
            let r = app.post_raw(path, "application/json", r#"["username", "password"]"#).await;
            assert_eq!(expect(r, 400).await, json!({ "non_field_errors": ["Invalid data. Expected a dictionary, but got list."] }));
            let r = app.post_raw(path, "application/json", "42").await;
            assert_eq!(expect(r, 400).await, json!({ "non_field_errors": ["Invalid data. Expected a dictionary, but got int."] }));
            let r = app.post_raw(path, "application/json", "{oops").await;
            assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        }
        assert_eq!(app.count("users").await, 0);
    }

    async fn register_accepts_a_form_body(app) {
        for path in REGISTER {
            let username = new_username("df");
            let r = app.post_form(path, &[("username", &username), ("password", PASSWORD)]).await;
            assert_eq!(expect(r, 201).await["username"], json!(username));
        }
        assert_eq!(app.count("users").await, 2);
    }

    async fn new_accounts_get_the_default_argon2id_cost(app, |s| {
        s.argon2_memory_kib = 19_456;
        s.argon2_iterations = 2;
    }) {
        let body = expect(app.post_json("/api/user/register/", json!({ "username": new_username("cost"), "password": PASSWORD })).await, 201).await;
        let hash = app.password_hash(body["id"].as_i64().unwrap()).await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }

    async fn simultaneous_sign_ups_of_one_name_create_one_user(app) {
        let username = new_username("race");
        let client = app.anon();
        let url = app.url("/api/auth/signup/");
        let responses = futures::future::join_all(
            (0..10).map(|_| client.post(&url).json(&json!({ "username": username, "password": PASSWORD })).send()),
        )
        .await;
        let mut ok = 0;
        for r in responses {
            let (status, _, text) = text_of(r.unwrap()).await;
            match status.as_u16() {
                200 => ok += 1,
                400 => assert_eq!(text, "username taken"),
                other => panic!("unexpected {other}: {text}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(app.count("users").await, 1);
    }
}

#[test]
fn default_settings_use_owasp_argon2id_cost() {
    let settings = hearth::config::Settings::with_database("sqlite://unused.db", SECRET);
    assert_eq!(settings.argon2_memory_kib, 19_456);
    assert_eq!(settings.argon2_iterations, 2);
}
