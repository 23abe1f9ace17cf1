//! simplejwt's views: obtain, refresh (rotation, blacklist, atomic claim, reuse
//! detection), verify, and seed 002's blacklist logout.

use std::time::Duration;

use super::*;

const OBTAIN: [&str; 2] = ["/api/token/", "/api/auth/token/"];
const REFRESH: [&str; 2] = ["/api/token/refresh/", "/api/auth/token/refresh/"];

/// Django 5.2's `make_password("Django-imported-pass-7", salt="hearthsaltABCDEF",
/// hasher="pbkdf2_sha256")`, made by the reference.
const DJANGO_HASH: &str =
    "pbkdf2_sha256$1000000$hearthsaltABCDEF$HTpeGwckZsvoHhNs+w4KgXrDXSbnqaJX9q26hBMWmtg=";
const DJANGO_PASSWORD: &str = "Django-imported-pass-7";

fn access_and_refresh(body: &Value) -> (String, String) {
    (
        body["access"].as_str().unwrap().to_owned(),
        body["refresh"].as_str().unwrap().to_owned(),
    )
}

both_backends! {
    async fn obtain_gives_simplejwt_claims_and_default_lifetimes(app) {
        let alice = app.user("alice").await;
        for path in OBTAIN {
            let r = app.post_json(path, json!({ "username": alice.username, "password": alice.password })).await;
            let body = expect(r, 200).await;
            assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
            let (access, refresh) = access_and_refresh(&body);
            let header = jwt_claims(&format!("x.{}", access.split('.').next().unwrap()));
            assert_eq!(header["alg"], "HS256");
            let (a, r) = (jwt_claims(&access), jwt_claims(&refresh));
            assert_eq!(a["token_type"], "access");
            assert_eq!(r["token_type"], "refresh");
            for claims in [&a, &r] {
                assert_eq!(claims["user_id"], json!(alice.id.to_string()), "{claims}");
                assert!(!claims["jti"].as_str().unwrap().is_empty());
                assert!(claims["iat"].is_i64() && claims["exp"].is_i64(), "{claims}");
            }
            assert_ne!(a["jti"], r["jti"]);
            assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 30 * 60);
            assert_eq!(r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(), 24 * 3600);
            expect(app.me_bearer(&access).await, 200).await;
        }
        assert_eq!(app.count("logins").await, 2);
    }

    async fn obtain_refuses_a_wrong_password_and_an_unknown_user_alike(app) {
        let alice = app.user("alice").await;
        for path in OBTAIN {
            let r = app.post_json(path, json!({ "username": alice.username, "password": "not-the-password" })).await;
            assert_eq!(expect_401(r).await, json!({ "detail": NO_ACTIVE_ACCOUNT }));
            let r = app.post_json(path, json!({ "username": new_username("ghost"), "password": "whatever-123" })).await;
            assert_eq!(expect_401(r).await, json!({ "detail": NO_ACTIVE_ACCOUNT }));
            // usernames are case-sensitive
            let r = app.post_json(path, json!({ "username": alice.username.to_uppercase(), "password": alice.password })).await;
            assert_eq!(expect_401(r).await, json!({ "detail": NO_ACTIVE_ACCOUNT }));
        }
        assert_eq!(app.count("logins").await, 0);
    }

    async fn obtain_refuses_an_inactive_user(app) {
        let alice = app.user("alice").await;
        app.set_active(alice.id, false).await;
        for path in OBTAIN {
            let r = app.post_json(path, json!({ "username": alice.username, "password": alice.password })).await;
            assert_eq!(expect_401(r).await, json!({ "detail": NO_ACTIVE_ACCOUNT }));
        }
        assert_eq!(app.count("logins").await, 0);
    }

    async fn obtain_reports_missing_fields(app) {
        for path in OBTAIN {
            assert_eq!(expect(app.post_json(path, json!({ "password": "x" })).await, 400).await, json!({ "username": [REQUIRED] }));
            assert_eq!(expect(app.post_json(path, json!({ "username": "x" })).await, 400).await, json!({ "password": [REQUIRED] }));
            assert_eq!(
                expect(app.post_json(path, json!({})).await, 400).await,
                json!({ "username": [REQUIRED], "password": [REQUIRED] })
            );
            let r = app.post_raw(path, "application/json", "{").await;
            assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        }
    }

    async fn obtain_accepts_a_form_body(app) {
        let bob = app.user("bob").await;
        for path in OBTAIN {
            let r = app.post_form(path, &[("username", &bob.username), ("password", &bob.password)]).await;
            let (access, _) = access_and_refresh(&expect(r, 200).await);
            expect(app.me_bearer(&access).await, 200).await;
        }
    }

    async fn a_django_pbkdf2_hash_logs_in_and_is_upgraded_to_argon2id(app) {
        let (id, username) = app.user_with_hash("django", DJANGO_HASH).await;
        let r = app.post_json("/api/token/", json!({ "username": username, "password": "wrong-password" })).await;
        expect_401(r).await;
        assert_eq!(app.password_hash(id).await, DJANGO_HASH, "a failed login must not touch the hash");
        let (access, _) = app.obtain_pair(&username, DJANGO_PASSWORD).await;
        expect(app.me_bearer(&access).await, 200).await;
        let upgraded = app.password_hash(id).await;
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        // the new hash checks the same password, and no other
        app.obtain_pair(&username, DJANGO_PASSWORD).await;
        assert_eq!(app.password_hash(id).await, upgraded, "an up-to-date hash is kept");
        let r = app.post_json("/api/token/", json!({ "username": username, "password": "wrong-password" })).await;
        expect_401(r).await;
    }

    async fn refresh_rotates_and_blacklists_the_old_token(app) {
        let carol = app.user("carol").await;
        for path in REFRESH {
            let (_, old) = app.obtain_pair(&carol.username, &carol.password).await;
            let body = expect(app.post_json(path, json!({ "refresh": old })).await, 200).await;
            assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
            let (access, refresh) = access_and_refresh(&body);
            assert_ne!(refresh, old);
            assert_eq!(jwt_claims(&access)["token_type"], "access");
            assert_eq!(jwt_claims(&access)["user_id"], json!(carol.id.to_string()));
            assert_eq!(jwt_claims(&refresh)["token_type"], "refresh");
            expect(app.me_bearer(&access).await, 200).await;
            // the old token is now refused on both refresh routes
            for again in REFRESH {
                let r = app.post_json(again, json!({ "refresh": old })).await;
                assert_eq!(expect_401(r).await, token_not_valid("Token is blacklisted"));
            }
            // the rotated one works once more
            let next = expect(app.post_json(path, json!({ "refresh": refresh })).await, 200).await;
            expect(app.me_bearer(next["access"].as_str().unwrap()).await, 200).await;
        }
    }

    async fn refresh_refuses_bad_tokens(app) {
        let alice = app.user("alice").await;
        let (access, _) = app.obtain_pair(&alice.username, &alice.password).await;
        for path in REFRESH {
            let r = app.post_json(path, json!({ "refresh": "garbage" })).await;
            assert_eq!(expect_401(r).await, token_not_valid("Token is invalid"));
            let r = app.post_json(path, json!({ "refresh": access })).await;
            assert_eq!(expect_401(r).await, token_not_valid("Token has wrong type"));
            assert_eq!(expect(app.post_json(path, json!({})).await, 400).await, json!({ "refresh": [REQUIRED] }));
            let r = app.post_raw(path, "application/json", "{").await;
            assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        }
    }

    async fn refresh_accepts_a_form_body(app) {
        let alice = app.user("alice").await;
        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let r = app.post_form("/api/token/refresh/", &[("refresh", &refresh)]).await;
        let (access, _) = access_and_refresh(&expect(r, 200).await);
        expect(app.me_bearer(&access).await, 200).await;
    }

    async fn fifty_simultaneous_refreshes_of_one_token_make_one_pair(app) {
        let alice = app.user("alice").await;
        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let client = app.anon();
        let url = app.url("/api/token/refresh/");
        let responses = futures::future::join_all((0..50).map(|_| {
            client.post(&url).json(&json!({ "refresh": refresh })).send()
        }))
        .await;
        let mut winners = Vec::new();
        for r in responses {
            let (status, body) = json_of(r.unwrap()).await;
            match status.as_u16() {
                200 => winners.push(body),
                401 => assert_eq!(body, token_not_valid("Token is blacklisted")),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        // losers within the grace period do not revoke the winner's login
        let (access, refresh) = access_and_refresh(&winners[0]);
        expect(app.me_bearer(&access).await, 200).await;
        expect(app.refresh(&refresh).await, 200).await;
    }

    async fn reusing_a_rotated_token_after_the_grace_period_revokes_the_login(app, |s| {
        s.refresh_reuse_grace = Duration::from_secs(0);
    }) {
        let alice = app.user("alice").await;
        let (_, a) = app.obtain_pair(&alice.username, &alice.password).await;
        let (other_access, other_refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let (b_access, b_refresh) = access_and_refresh(&expect(app.refresh(&a).await, 200).await);
        expect(app.me_bearer(&b_access).await, 200).await;
        // the rotated token again: theft, the whole family ends
        assert_eq!(expect_401(app.refresh(&a).await).await, token_not_valid("Token is blacklisted"));
        assert_eq!(expect_401(app.refresh(&b_refresh).await).await, token_not_valid("Token is blacklisted"));
        let body = expect_401(app.me_bearer(&b_access).await).await;
        assert_eq!(body["code"], "token_not_valid", "{body}");
        // another login of the same user is not touched
        expect(app.me_bearer(&other_access).await, 200).await;
        expect(app.refresh(&other_refresh).await, 200).await;
    }

    async fn reusing_a_rotated_token_within_the_grace_period_keeps_the_login(app) {
        let alice = app.user("alice").await;
        let (_, a) = app.obtain_pair(&alice.username, &alice.password).await;
        let (b_access, b_refresh) = access_and_refresh(&expect(app.refresh(&a).await, 200).await);
        // another tab presents the old token at once: refused, but nothing is revoked
        assert_eq!(expect_401(app.refresh(&a).await).await, token_not_valid("Token is blacklisted"));
        expect(app.me_bearer(&b_access).await, 200).await;
        let c = expect(app.refresh(&b_refresh).await, 200).await;
        expect(app.me_bearer(c["access"].as_str().unwrap()).await, 200).await;
    }

    async fn an_access_token_expires_for_real(app, |s| {
        s.access_token_lifetime = Duration::from_secs(1);
    }) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let claims = jwt_claims(&access);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        expect_bad_access(app.me_bearer(&access).await, "Token is expired").await;
        let r = app.post_json("/api/token/verify/", json!({ "token": access })).await;
        assert_eq!(expect_401(r).await, token_not_valid("Token is expired"));
        // the refresh token is still good and gives a fresh access token
        let body = expect(app.refresh(&refresh).await, 200).await;
        expect(app.me_bearer(body["access"].as_str().unwrap()).await, 200).await;
    }

    async fn a_refresh_token_expires_for_real(app, |s| {
        s.refresh_token_lifetime = Duration::from_secs(1);
    }) {
        let alice = app.user("alice").await;
        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is expired"));
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        assert_eq!(expect(r, 400).await, json!({ "error": "Token is expired" }));
    }

    async fn without_rotation_refresh_answers_only_an_access_token(app, |s| {
        s.rotate_refresh_tokens = false;
    }) {
        let alice = app.user("alice").await;
        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        for path in REFRESH {
            let body = expect(app.post_json(path, json!({ "refresh": refresh })).await, 200).await;
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["access"], "{body}");
            expect(app.me_bearer(body["access"].as_str().unwrap()).await, 200).await;
        }
        // the same refresh token keeps working until logout blacklists it
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        expect(r, 200).await;
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is blacklisted"));
    }

    async fn verify_accepts_live_tokens_and_refuses_others(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let verify = |token: &str| app.post_json("/api/token/verify/", json!({ "token": token }));
        assert_eq!(expect(verify(&access).await, 200).await, json!({}));
        assert_eq!(expect(verify(&refresh).await, 200).await, json!({}));
        assert_eq!(expect_401(verify("abc.def.ghi").await).await, token_not_valid("Token is invalid"));
        assert_eq!(expect_401(verify("garbage").await).await, token_not_valid("Token is invalid"));
        assert_eq!(expect(app.post_json("/api/token/verify/", json!({})).await, 400).await, json!({ "token": [REQUIRED] }));
        // a rotated refresh token is blacklisted
        let (_, next) = access_and_refresh(&expect(app.refresh(&refresh).await, 200).await);
        assert_eq!(expect(verify(&refresh).await, 400).await, json!({ "non_field_errors": ["Token is blacklisted"] }));
        // and so is one ended by logout
        expect(app.post_json("/api/user/logout/", json!({ "refresh": next })).await, 200).await;
        assert_eq!(expect(verify(&next).await, 400).await, json!({ "non_field_errors": ["Token is blacklisted"] }));
    }

    async fn logout_blacklists_the_refresh_token_and_ends_its_login(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let (other_access, other_refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        assert_eq!(expect(r, 200).await, json!({ "message": "You have been logged out" }));
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is blacklisted"));
        let body = expect_401(app.me_bearer(&access).await).await;
        assert_eq!(body["code"], "token_not_valid", "{body}");
        let r = app.post_json("/api/token/verify/", json!({ "token": access })).await;
        assert_eq!(expect_401(r).await, token_not_valid("Token is invalid"));
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        assert_eq!(expect(r, 400).await, json!({ "error": "Token is blacklisted" }));
        // the user's other login goes on
        expect(app.me_bearer(&other_access).await, 200).await;
        expect(app.refresh(&other_refresh).await, 200).await;
    }

    async fn logout_reports_bad_input_as_error(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let logout = |body: Value| app.post_json("/api/user/logout/", body);
        assert_eq!(expect(logout(json!({})).await, 400).await, json!({ "error": "Refresh token is required" }));
        assert_eq!(expect(logout(json!({ "refresh": "" })).await, 400).await, json!({ "error": "Refresh token is required" }));
        assert_eq!(expect(logout(json!({ "refresh": "not-a-token" })).await, 400).await, json!({ "error": "Token is invalid" }));
        assert_eq!(expect(logout(json!({ "refresh": access })).await, 400).await, json!({ "error": "Token has wrong type" }));
        let r = app.post_raw("/api/user/logout/", "application/json", "{").await;
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        // nothing was ended
        expect(app.refresh(&refresh).await, 200).await;
    }

    async fn logout_accepts_a_form_body(app) {
        let alice = app.user("alice").await;
        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let r = app.post_form("/api/user/logout/", &[("refresh", &refresh)]).await;
        assert_eq!(expect(r, 200).await, json!({ "message": "You have been logged out" }));
        assert_eq!(expect_401(app.refresh(&refresh).await).await, token_not_valid("Token is blacklisted"));
    }

    async fn a_login_kept_alive_by_rotation_stays_listed(app, |s| {
        s.refresh_token_lifetime = Duration::from_secs(6);
    }) {
        let alice = app.user("alice").await;
        let (_, first) = app.obtain_pair(&alice.username, &alice.password).await;
        // `exp` is in whole seconds, so a token lives between 5 and 6 s: each step
        // below keeps at least 1.5 s from either edge on a loaded machine
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let (access, refresh) = access_and_refresh(&expect(app.refresh(&first).await, 200).await);
        // past the first refresh token's lifetime, within the second one's
        tokio::time::sleep(Duration::from_millis(2800)).await;
        let r = app.get_with("/api/auth/sessions/", &format!("Bearer {access}")).await;
        let logins = expect(r, 200).await;
        assert_eq!(logins.as_array().unwrap().len(), 1, "{logins}");
        assert_eq!(logins[0]["current"], json!(true));
        expect(app.refresh(&refresh).await, 200).await;
    }
}
