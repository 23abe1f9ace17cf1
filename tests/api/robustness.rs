//! What hostile input and bad timing must not break: NUL characters, a parent
//! deleted while a child is created, CSRF on every session-authenticated write,
//! shared caches, and the small edges of ids, offsets, dates, hosts and names.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

use std::time::Duration;

use diesel::connection::SimpleConnection as _;

use crate::admin::admin_login;
use crate::helpers::*;

const NUL: &str = "Null characters are not allowed.";

/// A connection of the test's own to the app's database, beside Hearth's pool.
fn other_connection(app: &TestApp) -> Box<dyn diesel::connection::SimpleConnection + Send> {
    use diesel::Connection as _;
    match hearth::db::Target::parse(&app.state.settings.database_url).unwrap() {
        hearth::db::Target::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
            conn.batch_execute("PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;")
                .unwrap();
            Box::new(conn)
        }
        hearth::db::Target::Postgres(url) => {
            Box::new(diesel::PgConnection::establish(&url).unwrap())
        }
    }
}

/// Deletes in a transaction of its own that stays open until `commit`: a request
/// sent meanwhile finds the row still there, then meets the delete.
fn begin_delete(app: &TestApp, sql: &str) -> Box<dyn diesel::connection::SimpleConnection + Send> {
    let mut conn = other_connection(app);
    let begin = match app.backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    conn.batch_execute(&format!("{begin}; {sql};")).unwrap();
    conn
}

async fn album(admin: &Actor) -> i64 {
    let body = json!({"name": "Blue", "artist": "Joni", "year_released": "1971-06-22"});
    let r = admin
        .post("/music/album/create")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect(r, 201).await["id"].as_i64().unwrap()
}

both_backends! {
    async fn nul_characters_in_text_fields_are_400_and_write_nothing(app) {
        let alice = app.user("alice").await;
        let admin = app.staff("admin").await;
        let album_id = album(&admin).await;
        let cases = [
            (&alice, "/api/messages", json!({"text": "a\u{0}b"}), "text", "messages"),
            (&alice, "/api/tasks/", json!({"title": "a\u{0}b"}), "title", "tasks"),
            (&alice, "/api/blogposts/", json!({"title": "t", "content": "a\u{0}b"}), "content", "blog_posts"),
            (&admin, "/music/album/create", json!({"name": "\u{0}", "artist": "x", "year_released": "2001-01-01"}), "name", "albums"),
            (&admin, "/music/song/create", json!({"song_name": "a\u{0}", "album": album_id, "num_streams": 1}), "song_name", "songs"),
        ];
        for (actor, path, body, field, table) in cases {
            let before = app.count(table).await;
            let r = actor.post(path).json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, json!({ field: [NUL] }), "{path}");
            assert_eq!(app.count(table).await, before, "{path} wrote a row");
        }
        // both validators speak when both fail, as DRF's run_validators does
        let long = format!("{}\u{0}", "x".repeat(4000));
        let r = alice.post("/api/messages").json(&json!({"text": long})).send().await.unwrap();
        assert_eq!(
            expect(r, 400).await,
            json!({"text": ["Ensure this field has no more than 4000 characters.", NUL]})
        );
        // an edit too
        let message = expect(alice.post("/api/messages").json(&json!({"text": "fine"})).send().await.unwrap(), 201).await;
        let path = format!("/api/messages/{}", message["id"]);
        let r = alice.patch(&path).json(&json!({"text": "\u{0}"})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"text": [NUL]}));
        let r = alice.get(&path).send().await.unwrap();
        assert_eq!(expect(r, 200).await["text"], "fine");
    }

    async fn nul_characters_in_usernames_and_passwords_are_refused_at_every_door(app) {
        let users = app.count("users").await;
        // simplejwt's and DRF's serializers: CharFields
        for path in ["/api/token/", "/api/auth/token/", "/api-token-auth/"] {
            let r = app.post_json(path, json!({"username": "a\u{0}b", "password": "x"})).await;
            assert_eq!(expect(r, 400).await, json!({"username": [NUL]}), "{path}");
            let r = app.post_json(path, json!({"username": "someone", "password": "pass\u{0}word"})).await;
            assert_eq!(expect(r, 400).await, json!({"password": [NUL]}), "{path}");
        }
        for path in ["/api/user/register/", "/music/register"] {
            let r = app.post_json(path, json!({"username": "nul\u{0}name", "password": PASSWORD})).await;
            assert_eq!(expect(r, 400).await["username"], json!([NUL]), "{path}");
        }
        // seed 000's plain sign-up view: its own text/plain 400
        let r = app.post_json("/api/auth/signup/", json!({"username": "nul\u{0}name", "password": PASSWORD})).await;
        let (status, kind, _) = text_of(r).await;
        assert_eq!(status, 400);
        assert!(kind.starts_with("text/plain"), "{kind}");
        // seed 001's session views answer in their own words
        let browser = app.browser_session().await;
        let r = browser.post_csrf("/authentication/login").json(&json!({"username": "a\u{0}", "password": "x"})).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({"error": "Username and/or password incorrect"}));
        let r = browser
            .post_csrf("/authentication/register")
            .json(&json!({"username": "a\u{0}", "password": PASSWORD, "confirm_password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_ne!(expect(r, 200).await["error"], "None, user creation successful");
        assert_eq!(app.count("users").await, users);
    }

    async fn the_admin_search_takes_a_nul_on_every_model(app) {
        let root = app.superuser("root").await;
        let browser = admin_login(&app, &root.username).await;
        let (status, index) = browser.page("/admin/").await;
        assert_eq!(status, 200);
        let index = index.replace("&#x2f;", "/");
        let mut lists: Vec<String> = index
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| href.starts_with("/admin/") && href.matches('/').count() == 4 && !href.ends_with("/add/"))
            .map(str::to_owned)
            .collect();
        lists.sort();
        lists.dedup();
        assert!(lists.len() >= 8, "the index lists every model: {lists:?}");
        for list in lists {
            let (status, _) = browser.page(&format!("{list}?q=%00")).await;
            assert_eq!(status, 200, "{list}?q=%00");
            let (status, _) = browser.page(&format!("{list}?q=a%00b")).await;
            assert_eq!(status, 200, "{list}?q=a%00b");
        }
    }

    async fn a_song_created_while_its_album_is_deleted_is_the_checks_400(app) {
        let admin = app.staff("admin").await;
        let album_id = album(&admin).await;
        let mut deleting = begin_delete(&app, &format!("DELETE FROM albums WHERE id = {album_id}"));
        let body = json!({"song_name": "River", "album": album_id, "num_streams": 1});
        let request = admin.post("/music/song/create").json(&body).send();
        let create = tokio::spawn(request);
        // let the create find the album and reach the delete's lock
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::spawn_blocking(move || deleting.batch_execute("COMMIT").unwrap()).await.unwrap();
        let r = create.await.unwrap().unwrap();
        assert_eq!(
            expect(r, 400).await,
            json!({"album": [format!("Invalid pk \"{album_id}\" - object does not exist.")]})
        );
        assert_eq!(app.count("songs").await, 0);
    }

    async fn a_like_created_while_its_song_is_deleted_is_the_checks_400(app) {
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album_id = album(&admin).await;
        let body = json!({"song_name": "River", "album": album_id, "num_streams": 1});
        let song = expect(admin.post("/music/song/create").json(&body).send().await.unwrap(), 201).await;
        let song_id = song["id"].as_i64().unwrap();
        let mut deleting = begin_delete(&app, &format!("DELETE FROM songs WHERE id = {song_id}"));
        let like = tokio::spawn(alice.post("/music/likes").json(&json!({"song": song_id})).send());
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::spawn_blocking(move || deleting.batch_execute("COMMIT").unwrap()).await.unwrap();
        let r = like.await.unwrap().unwrap();
        assert_eq!(
            expect(r, 400).await,
            json!({"song": [format!("Invalid pk \"{song_id}\" - object does not exist.")]})
        );
        assert_eq!(app.count("song_likes").await, 0);
    }

    async fn a_session_cookie_needs_csrf_to_get_a_drf_token_or_log_out(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let credentials = json!({"username": alice.username, "password": alice.password});
        let r = browser.post("/api-token-auth/").json(&credentials).send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({"detail": "CSRF Failed: CSRF token missing."}));
        assert_eq!(app.count("api_tokens").await, 0);
        let r = browser.post_csrf("/api-token-auth/").json(&credentials).send().await.unwrap();
        assert!(expect(r, 200).await["token"].is_string());
        // without the cookie the route stays open to anyone, as before
        let r = app.post_json("/api-token-auth/", credentials.clone()).await;
        assert_eq!(r.status(), 200);

        let (_, refresh) = app.obtain_pair(&alice.username, &alice.password).await;
        let r = browser.post("/api/user/logout/").json(&json!({"refresh": refresh})).send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({"detail": "CSRF Failed: CSRF token missing."}));
        // the refresh token was not blacklisted
        assert_eq!(app.refresh(&refresh).await.status(), 200);
    }

    async fn answers_that_may_depend_on_the_session_vary_on_cookie_and_stay_private(app) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let vary = |r: &Response| r.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join(", ");
        let cache = |r: &Response| r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
        let r = browser.get("/api/tasks/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(vary(&r).contains("Cookie"), "{}", vary(&r));
        assert_eq!(cache(&r).as_deref(), Some("private"));
        // an anonymous 401 may be cached, but only for requests without the cookie
        let r = app.anon().get(app.url("/api/tasks/")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(vary(&r).contains("Cookie"));
        // in one line with CORS's, as Django writes it
        let lines = r.headers().get_all("vary").iter().count();
        assert_eq!(lines, 1, "{}", vary(&r));
        assert_eq!(vary(&r), "Cookie, origin, access-control-request-method, access-control-request-headers");
        let r = alice.get("/api/messages").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(cache(&r).as_deref(), Some("private"));
    }

    async fn an_unknown_session_cookie_is_deleted(app) {
        let alice = app.user("alice").await;
        let r = app
            .anon()
            .get(app.url("/api/blogposts/"))
            .header("Cookie", "sessionid=nosuchsession0123456789abcdefghij")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cleared = set_cookie(&r, "sessionid").expect("the stale cookie is deleted");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        // a live one is kept, and a logged-out one is deleted
        let browser = app.session_login(&alice.username, &alice.password).await;
        let r = browser.get("/api/tasks/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(set_cookie(&r, "sessionid").is_none());
        let key = browser.cookie("sessionid").unwrap();
        expect(browser.post_csrf("/authentication/logout").send().await.unwrap(), 200).await;
        let r = app.anon().get(app.url("/api/tasks/")).header("Cookie", format!("sessionid={key}")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(set_cookie(&r, "sessionid").is_some_and(|c| c.contains("Max-Age=0")));
    }

    async fn a_huge_offset_never_links_to_a_negative_one(app) {
        let alice = app.user("alice").await;
        expect(alice.post("/api/messages").json(&json!({"text": "one"})).send().await.unwrap(), 201).await;
        let r = alice.get("/api/messages?offset=9223372036854775807&limit=5").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(!link.contains("offset=-"), "{link}");
        assert!(!link.contains("rel=\"next\""), "{link}");
        assert_eq!(expect(r, 200).await, json!([]));
    }

    async fn ids_are_digits_only_as_in_django(app) {
        let admin = app.staff("admin").await;
        let album_id = album(&admin).await;
        for path in [format!("/music/album/+{album_id}"), format!("/music/album/%20{album_id}"), format!("/music/album/-{album_id}")] {
            let r = admin.get(&path).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
        }
        let r = admin.delete(&format!("/music/album/+{album_id}/delete")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(app.count("albums").await, 1);
        let r = admin.get(&format!("/music/album/{album_id}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn a_year_has_four_digits_and_no_sign(app) {
        let admin = app.staff("admin").await;
        for date in ["+10000-01-01", "-0001-01-01", "0000-01-01", "10000-01-01"] {
            let body = json!({"name": "A", "artist": "B", "year_released": date});
            let r = admin.post("/music/album/create").json(&body).send().await.unwrap();
            assert_eq!(
                expect(r, 400).await,
                json!({"year_released": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
                "{date}"
            );
        }
        assert_eq!(app.count("albums").await, 0);
    }

    async fn a_second_host_header_is_refused(app) {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let answer = tokio::task::spawn_blocking(move || {
            use std::io::{Read as _, Write as _};
            let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(tcp, "GET /api/blogposts/ HTTP/1.1\r\nHost: {addr}\r\nHost: evil.example\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            let _ = tcp.read_to_string(&mut answer);
            answer
        })
        .await
        .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }

    async fn a_compatibility_form_of_a_taken_name_is_taken(app) {
        let first = app.post_json("/api/user/register/", json!({"username": "alice", "password": PASSWORD})).await;
        expect(first, 201).await;
        // fullwidth "ａｌｉｃｅ" is "alice" once NFKC-normalized, as Django stores names
        let fullwidth = "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}";
        let r = app.post_json("/api/user/register/", json!({"username": fullwidth, "password": PASSWORD})).await;
        assert_eq!(expect(r, 400).await, json!({"username": ["A user with that username already exists."]}));
        let r = app.post_json("/api/auth/signup/", json!({"username": fullwidth, "password": PASSWORD})).await;
        let (status, _, text) = text_of(r).await;
        assert_eq!((status.as_u16(), text.as_str()), (400, "username taken"));
        // a new name in a compatibility form is stored normalized
        let r = app.post_json("/api/user/register/", json!({"username": "\u{ff42}ob", "password": PASSWORD})).await;
        assert_eq!(expect(r, 201).await["username"], "bob");
        assert_eq!(app.count("users").await, 2);
    }
}
