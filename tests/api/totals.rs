//! `X-Total-Count` from the counts the database keeps (`row_counts`): exact after
//! concurrent inserts and deletes, after rows written with SQL from outside
//! Hearth, after cascades and moves, compared with a `COUNT(*)` every time.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

use diesel::connection::SimpleConnection as _;

use crate::helpers::*;

async fn total(actor_get: reqwest::RequestBuilder) -> i64 {
    let r = actor_get.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `COUNT(*)` of a query's rows.
async fn count_where(app: &TestApp, sql: String) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.db
        .run(move |conn| {
            let c: Count = diesel::RunQueryDsl::get_result(diesel::sql_query(sql), conn)?;
            Ok(c.n)
        })
        .await
        .unwrap()
}

/// SQL from outside Hearth, on a connection of the test's own.
async fn outside(app: &TestApp, sql: String) {
    let url = app.state.settings.database_url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        match hearth::db::Target::parse(&url).unwrap() {
            hearth::db::Target::Sqlite(path) => {
                let mut c = diesel::SqliteConnection::establish(&path).unwrap();
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; {sql}"
                ))
                .unwrap();
            }
            hearth::db::Target::Postgres(url) => {
                diesel::PgConnection::establish(&url)
                    .unwrap()
                    .batch_execute(&sql)
                    .unwrap();
            }
        }
    })
    .await
    .unwrap();
}

both_backends! {
    async fn message_totals_stay_exact_under_concurrent_posts_and_deletes(app) {
        let alice = std::sync::Arc::new(app.user("alice").await);
        let mut ids = Vec::new();
        for n in 0..50 {
            let m = expect(alice.post("/api/messages").json(&json!({"text": format!("m{n}")})).send().await.unwrap(), 201).await;
            ids.push(m["id"].as_i64().unwrap());
        }
        let mut tasks = Vec::new();
        for n in 0..100 {
            let alice = alice.clone();
            tasks.push(tokio::spawn(async move {
                alice.post("/api/messages").json(&json!({"text": format!("p{n}")})).send().await.unwrap().status()
            }));
        }
        for id in ids.iter().take(40) {
            let alice = alice.clone();
            let path = format!("/api/messages/{id}");
            tasks.push(tokio::spawn(async move { alice.delete(&path).send().await.unwrap().status() }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_success());
        }
        assert_eq!(app.count("messages").await, 110);
        assert_eq!(total(alice.get("/api/messages?limit=1")).await, 110);
        // past the end, the total still comes from the counts
        assert_eq!(total(alice.get("/api/messages?offset=5000")).await, 110);

        // rows written from outside Hearth are counted by the same triggers
        let sender = alice.id;
        outside(&app, format!(
            "INSERT INTO messages (sender_id, text, timestamp) VALUES \
             ({sender}, 'psql 1', '2026-01-01 00:00:00'), ({sender}, 'psql 2', '2026-01-01 00:00:00'); \
             DELETE FROM messages WHERE id = {}", ids[45]
        )).await;
        assert_eq!(app.count("messages").await, 111);
        assert_eq!(total(alice.get("/api/messages?limit=1")).await, 111);
    }

    async fn task_totals_are_per_owner_and_exact(app) {
        let alice = std::sync::Arc::new(app.user("alice").await);
        let bob = std::sync::Arc::new(app.user("bob").await);
        let mut jobs = Vec::new();
        for n in 0..60 {
            let who = if n % 3 == 0 { bob.clone() } else { alice.clone() };
            jobs.push(tokio::spawn(async move {
                let r = who.post("/api/tasks/").json(&json!({"title": format!("t{n}")})).send().await.unwrap();
                let task = expect(r, 201).await;
                if n % 4 == 0 {
                    let r = who.delete(&format!("/api/tasks/{}/", task["id"])).send().await.unwrap();
                    assert_eq!(r.status(), 204);
                }
            }));
        }
        for j in jobs {
            j.await.unwrap();
        }
        for who in [&alice, &bob] {
            let expected = count_where(&app, format!("SELECT COUNT(*) AS n FROM tasks WHERE user_id = {}", who.id)).await;
            assert!(expected > 0);
            assert_eq!(total(who.get("/api/tasks/?limit=1")).await, expected);
        }
        // a task given to another owner from outside moves between the counts
        outside(&app, format!("UPDATE tasks SET user_id = {} WHERE user_id = {}", bob.id, alice.id)).await;
        assert_eq!(total(alice.get("/api/tasks/")).await, 0);
        assert_eq!(total(bob.get("/api/tasks/")).await, app.count("tasks").await);
    }

    async fn music_totals_follow_cascades_and_moves(app) {
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album = |name: &str| json!({"name": name, "artist": "x", "year_released": "2001-01-01"});
        let a1 = expect(admin.post("/music/album/create").json(&album("one")).send().await.unwrap(), 201).await["id"].as_i64().unwrap();
        let a2 = expect(admin.post("/music/album/create").json(&album("two")).send().await.unwrap(), 201).await["id"].as_i64().unwrap();
        let mut songs = Vec::new();
        for n in 0..6 {
            let body = json!({"song_name": format!("s{n}"), "album": if n < 4 { a1 } else { a2 }, "num_streams": n});
            songs.push(expect(admin.post("/music/song/create").json(&body).send().await.unwrap(), 201).await["id"].as_i64().unwrap());
        }
        for song in &songs {
            expect(alice.post("/music/likes").json(&json!({"song": song})).send().await.unwrap(), 201).await;
        }
        let in_album = |a: i64| app.anon().get(app.url(&format!("/music/songInAlbum?album={a}")));
        assert_eq!(total(in_album(a1)).await, 4);
        assert_eq!(total(alice.get("/music/likes")).await, 6);
        // a song moved to the other album
        let r = admin.patch(&format!("/music/song/{}", songs[0])).json(&json!({"album": a2})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!((total(in_album(a1)).await, total(in_album(a2)).await), (3, 3));
        // deleting an album deletes its songs and their likes, and their counts
        let r = admin.delete(&format!("/music/album/{a1}/delete")).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(total(app.anon().get(app.url("/music/album"))).await, app.count("albums").await);
        assert_eq!(total(app.anon().get(app.url("/music/song"))).await, app.count("songs").await);
        assert_eq!(total(in_album(a2)).await, 3);
        assert_eq!(total(in_album(a1)).await, 0);
        assert_eq!(total(alice.get("/music/likes")).await, app.count("song_likes").await);
        assert_eq!(app.count("song_likes").await, 3);
    }

    async fn blog_totals_count_outside_inserts_and_truncation(app) {
        let alice = app.user("alice").await;
        for n in 0..3 {
            expect(alice.post("/api/blogposts/").json(&json!({"title": format!("p{n}"), "content": "c"})).send().await.unwrap(), 201).await;
        }
        let posts = || app.anon().get(app.url("/api/blogposts/"));
        assert_eq!(total(posts()).await, 3);
        let clear = match app.backend {
            Backend::Postgres => "TRUNCATE blog_posts",
            Backend::Sqlite => "DELETE FROM blog_posts",
        };
        outside(&app, clear.to_owned()).await;
        assert_eq!(total(posts()).await, 0);
        expect(alice.post("/api/blogposts/").json(&json!({"title": "again", "content": "c"})).send().await.unwrap(), 201).await;
        assert_eq!(total(posts()).await, 1);
    }
}
