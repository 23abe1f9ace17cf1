//! Users and tokens: a password set in the admin passes Django's validators, is
//! stored as argon2id and ends the user's sessions; nobody drops their own superuser
//! flag; tokens are made and deleted without their key being shown.

use super::*;

both_backends! {
    async fn a_superuser_adds_and_edits_users(app) {
        let root = app.superuser("root").await;
        let browser = admin_login(&app, &root.username).await;
        let users = app.count("users").await;
        let (_, html) = browser.submit("/admin/accounts/user/add/", &[("username", "new user"), ("password", "123"), ("email", "nope")]).await;
        assert!(field_errors(&html, "username").contains("Enter a valid username."));
        assert!(field_errors(&html, "email").contains("Enter a valid email address."));
        assert!(!html.contains("value=\"123\""), "a password is never shown again");
        let (_, html) = browser.submit("/admin/accounts/user/add/", &[("username", "newbie"), ("password", "123"), ("is_active", "on")]).await;
        assert!(field_errors(&html, "password").contains("This password is too short."));
        assert!(field_errors(&html, "password").contains("This password is entirely numeric."));
        let (_, html) = browser.submit("/admin/accounts/user/add/", &[("username", &root.username), ("password", PASSWORD)]).await;
        assert!(field_errors(&html, "username").contains("A user with that username already exists."));
        assert_eq!(app.count("users").await, users);
        let r = browser.post("/admin/accounts/user/add/", &[("username", "newbie"), ("password", PASSWORD), ("email", "n@example.com"), ("is_active", "on"), ("is_staff", "on")]).await;
        assert_eq!(r.status(), 302);
        let id = last_id(&app, "users").await;
        assert!(app.password_hash(id).await.starts_with("$argon2id$"));
        // the new staff user can log into the admin, and sees no users
        let newbie = admin_login(&app, "newbie").await;
        assert_eq!(newbie.page("/admin/accounts/user/").await.0, 403);
        // the change form keeps the password when left blank; flags are editable
        let change = format!("/admin/accounts/user/{id}/change/");
        let before = app.password_hash(id).await;
        let r = browser.post(&change, &[("username", "newbie"), ("password", ""), ("email", ""), ("is_active", "on")]).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.password_hash(id).await, before);
        assert_eq!(newbie.get("/admin/").await.status(), 302, "no longer staff");
    }

    async fn a_password_set_in_the_admin_is_hashed_and_ends_every_session(app) {
        let root = app.superuser("root").await;
        let alice = app.user("alice").await;
        let session = app.session_login(&alice.username, PASSWORD).await;
        assert_eq!(session.get("/api/auth/me/").send().await.unwrap().status(), 200);
        let (access, _) = app.obtain_pair(&alice.username, PASSWORD).await;
        let browser = admin_login(&app, &root.username).await;
        let change = format!("/admin/accounts/user/{}/change/", alice.id);
        let (_, html) = browser.submit(&change, &[("username", &alice.username), ("password", &alice.username), ("is_active", "on")]).await;
        assert!(field_errors(&html, "password").contains("The password is too similar to the username."));
        let new_password = "Another-long-passw0rd";
        let r = browser.post(&change, &[("username", &alice.username), ("password", new_password), ("is_active", "on")]).await;
        assert_eq!(r.status(), 302);
        let hash = app.password_hash(alice.id).await;
        assert!(hash.starts_with("$argon2id$") && !hash.contains(new_password));
        assert_ne!(session.get("/api/auth/me/").send().await.unwrap().status(), 200, "the session ended");
        assert_eq!(app.me_bearer(&access).await.status(), 401, "the access token ended");
        app.obtain_pair(&alice.username, new_password).await;
        // deactivating ends the logins too
        let (access, _) = app.obtain_pair(&alice.username, new_password).await;
        let r = browser.post(&change, &[("username", &alice.username), ("password", "")]).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.me_bearer(&access).await.status(), 401);
    }

    async fn nobody_removes_their_own_superuser_flag(app) {
        let root = app.superuser("root").await;
        let other = app.superuser("other").await;
        let browser = admin_login(&app, &root.username).await;
        let mine = format!("/admin/accounts/user/{}/change/", root.id);
        let (status, html) = browser.submit(&mine, &[("username", &root.username), ("password", ""), ("is_active", "on"), ("is_staff", "on")]).await;
        assert_eq!(status, 200);
        assert!(field_errors(&html, "is_superuser").contains("You cannot remove your own superuser status."));
        assert_eq!(browser.page("/admin/accounts/user/").await.0, 200, "still a superuser");
        // another superuser's flag can go
        let theirs = format!("/admin/accounts/user/{}/change/", other.id);
        let r = browser.post(&theirs, &[("username", &other.username), ("password", ""), ("is_active", "on"), ("is_staff", "on")]).await;
        assert_eq!(r.status(), 302);
        let demoted = admin_login(&app, &other.username).await;
        assert_eq!(demoted.page("/admin/accounts/user/").await.0, 403);
    }

    async fn deleting_a_user_lists_everything_of_theirs(app) {
        let root = app.superuser("root").await;
        let bob = app.user("bob").await;
        expect(bob.post("/api/messages").json(&json!({"text": "hello from bob"})).send().await.unwrap(), 201).await;
        expect(bob.post("/api/blogposts/").json(&json!({"title": "Bob's post", "content": "c"})).send().await.unwrap(), 201).await;
        let browser = admin_login(&app, &root.username).await;
        let path = format!("/admin/accounts/user/{}/delete/", bob.id);
        let (_, html) = browser.page(&path).await;
        assert!(html.contains("Message: hello from bob") && html.contains("Blog post: Bob&#x27;s post"), "{html}");
        assert_eq!(browser.post(&path, &[("post", "yes")]).await.status(), 302);
        assert_eq!((app.count("messages").await, app.count("blog_posts").await), (0, 0));
    }

    async fn tokens_are_made_and_deleted_without_showing_the_key(app) {
        let root = app.superuser("root").await;
        let carol = app.user("carol").await;
        let browser = admin_login(&app, &root.username).await;
        let (_, html) = browser.page("/admin/accounts/token/add/").await;
        assert!(html.contains(&format!(">{}</option>", carol.username)), "users are chosen by name");
        let user = carol.id.to_string();
        let r = browser.post("/admin/accounts/token/add/", &[("user", &user)]).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.count("api_tokens").await, 1);
        let (status, html) = browser.submit("/admin/accounts/token/add/", &[("user", &user)]).await;
        assert_eq!(status, 200);
        assert!(field_errors(&html, "user").contains("This user already has a token."));
        let key = app.drf_token(&carol.username, PASSWORD).await;
        let (_, html) = browser.page("/admin/accounts/token/").await;
        assert!(html.contains(&carol.username) && !html.contains(&key));
        let id = last_id(&app, "api_tokens").await;
        assert_eq!(browser.post(&format!("/admin/accounts/token/{id}/delete/"), &[]).await.status(), 302);
        assert_eq!(app.count("api_tokens").await, 0);
        assert_eq!(app.get_with("/api/auth/me/", &format!("Token {key}")).await.status(), 401);
    }
}
