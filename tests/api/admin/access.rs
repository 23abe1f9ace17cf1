//! Who gets in: anonymous visitors and plain users go to the login page, staff see
//! every model but users and tokens, CSRF guards every POST, and every page forbids
//! framing and script.

use super::*;

both_backends! {
    async fn anonymous_visitors_are_sent_to_the_login_page(app) {
        let browser = Session::new(&app);
        let r = browser.get("/admin/").await;
        assert_eq!(r.status(), 302);
        assert_eq!(location(&r), "/admin/login/?next=/admin/");
        let r = browser.get("/admin/music/album/?q=a%20b").await;
        assert_eq!(location(&r), "/admin/login/?next=/admin/music/album/%3Fq%3Da%2520b");
        for path in ["/admin/music/album/add/", "/admin/music/album/1/change/", "/admin/nothing/here/"] {
            let r = browser.get(path).await;
            assert_eq!(r.status(), 302, "{path}");
            assert!(location(&r).starts_with("/admin/login/?next="), "{path}");
        }
        // a POST with a good CSRF token but no session goes to log in too, and writes nothing
        browser.page("/admin/login/").await;
        let r = browser.post("/admin/music/album/add/", &[("name", "X"), ("artist", "Y"), ("year_released", "2001-01-01")]).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.count("albums").await, 0);
    }

    async fn a_plain_user_cannot_log_in_and_is_sent_back(app) {
        let alice = app.user("alice").await;
        let browser = Session::new(&app);
        browser.page("/admin/login/").await;
        let r = browser.post("/admin/login/", &[("username", &alice.username), ("password", PASSWORD)]).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("correct username and password for a staff account"), "{html}");
        assert!(html.contains(&format!("value=\"{}\"", alice.username)), "the username is kept");
        assert!(browser.cookie("sessionid").is_none());
        let r = browser.get("/admin/").await;
        assert_eq!(r.status(), 302);
        // a wrong password is the same answer
        let staff = app.staff("staff").await;
        let (status, html) = browser.submit("/admin/login/", &[("username", &staff.username), ("password", "wrong")]).await;
        assert_eq!(status, 200);
        assert!(html.contains("correct username and password"));
        // blank fields are required, beside each field
        let (status, html) = browser.submit("/admin/login/", &[("username", ""), ("password", "")]).await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("This field is required.").count(), 2);
    }

    async fn staff_see_every_model_but_not_users_and_tokens(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        let (status, html) = browser.page("/admin/").await;
        assert_eq!(status, 200);
        let lower = html.to_lowercase();
        for name in ["messages", "tasks", "blog posts", "albums", "songs", "likes"] {
            assert!(lower.contains(name), "the index lacks {name}");
        }
        assert!(!html.contains("/admin/accounts/"), "staff see the accounts: {html}");
        for path in ["/admin/accounts/user/", "/admin/accounts/token/add/", "/admin/accounts/user/1/change/"] {
            let (status, html) = browser.page(path).await;
            assert_eq!(status, 403, "{path}");
            assert!(html.contains("<!doctype html>"));
        }
        for path in ["/admin/messages/message/", "/admin/tasks/task/", "/admin/blog/blogpost/",
                     "/admin/music/album/", "/admin/music/song/", "/admin/music/like/",
                     "/admin/music/album/add/", "/admin/music/"] {
            assert_eq!(browser.page(path).await.0, 200, "{path}");
        }
    }

    async fn a_superuser_sees_users_and_tokens(app) {
        let root = app.superuser("root").await;
        let browser = admin_login(&app, &root.username).await;
        let (_, html) = browser.page("/admin/").await;
        let lower = html.to_lowercase();
        for name in ["users", "tokens", "messages", "tasks", "blog posts", "albums", "songs", "likes"] {
            assert!(lower.contains(name), "the index lacks {name}");
        }
        let (status, html) = browser.page("/admin/accounts/user/").await;
        assert_eq!(status, 200);
        assert!(html.contains(&root.username));
    }

    async fn every_post_needs_the_csrf_token(app) {
        let root = app.superuser("root").await;
        // the login form itself
        let browser = Session::new(&app);
        let r = browser.post_raw("/admin/login/", &[("username", &root.username), ("password", PASSWORD)]).await;
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("CSRF verification failed"));
        assert!(browser.cookie("sessionid").is_none());
        // a logged-in form without the token, or with a wrong one
        let browser = admin_login(&app, &root.username).await;
        let fields = [("name", "A"), ("artist", "B"), ("year_released", "2001-01-01")];
        let r = browser.post_raw("/admin/music/album/add/", &fields).await;
        assert_eq!(r.status(), 403);
        let mut wrong = vec![("csrfmiddlewaretoken", "x".repeat(32))];
        wrong.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post_raw("/admin/music/album/add/", &wrong).await.status(), 403);
        assert_eq!(browser.post_raw("/admin/logout/", &[]).await.status(), 403);
        assert_eq!(app.count("albums").await, 0);
        // with it, the same form is saved
        let r = browser.post("/admin/music/album/add/", &fields).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.count("albums").await, 1);
    }

    async fn pages_forbid_framing_and_scripts(app) {
        let root = app.superuser("root").await;
        let browser = admin_login(&app, &root.username).await;
        for path in ["/admin/login/", "/admin/", "/admin/music/album/", "/admin/music/album/add/",
                     "/admin/accounts/user/", "/admin/no/such/page/"] {
            let r = browser.get(path).await;
            let headers = r.headers().clone();
            assert_eq!(headers["x-frame-options"], "DENY", "{path}");
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("script-src 'none'") && csp.contains("default-src 'self'"), "{path}: {csp}");
            assert!(csp.contains("frame-ancestors 'none'"));
            let html = r.text().await.unwrap();
            assert!(!html.to_lowercase().contains("<script"), "{path}");
        }
        let r = browser.get("/admin/static/admin.css").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    }

    async fn unknown_pages_and_methods_are_html(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        for path in ["/admin/music/nothing/", "/admin/music/album/999/change/", "/admin/music/album/abc/change/",
                     "/admin/music/album/1/explode/", "/admin/a/b/c/d/e/"] {
            let r = browser.get(path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        }
        let r = browser.get("/admin/music/album").await;
        assert_eq!((r.status().as_u16(), location(&r)), (301, "/admin/music/album/".to_owned()));
        let r = browser.client.put(app.url("/admin/music/album/")).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(browser.get("/admin/logout/").await.status(), 405);
    }

    async fn logging_out_ends_the_session(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        let (status, html) = browser.submit("/admin/logout/", &[]).await;
        assert_eq!(status, 200);
        assert!(html.contains("Logged out"));
        assert_eq!(browser.get("/admin/").await.status(), 302);
        // and a login follows `next` only to a local path
        let browser = Session::new(&app);
        browser.page("/admin/login/").await;
        let r = browser.post("/admin/login/?next=/admin/music/", &[("username", &staff.username), ("password", PASSWORD)]).await;
        assert_eq!(location(&r), "/admin/music/");
        let r = browser.post("/admin/login/", &[("username", &staff.username), ("password", PASSWORD), ("next", "//evil.example/")]).await;
        assert_eq!(location(&r), "/admin/");
    }
}
