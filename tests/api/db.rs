//! The database layer as operators meet it: instances migrating together, and an
//! outage answered without leaking anything.

use diesel::connection::SimpleConnection;
use std::time::Duration;

use diesel::{Connection, PgConnection};

use crate::helpers::*;

/// A fresh PostgreSQL database, or `None` (after saying so) when there is none.
fn fresh_pg_database() -> Option<(String, String)> {
    let server = pg_server_url();
    let name = format!("hearth_mig_{}", uuid_hex());
    match PgConnection::establish(&server).and_then(|mut c| {
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }) {
        Ok(()) => {
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(b, _)| b)
                .to_owned();
            Some((server, format!("{base}/{name}")))
        }
        Err(e) => {
            assert!(!pg_required(), "PostgreSQL is required but: {e}");
            eprintln!("SKIPPED: PostgreSQL not reachable: {e}");
            None
        }
    }
}

#[test]
fn instances_starting_together_migrate_one_postgres_database_once() {
    let Some((server, url)) = fresh_pg_database() else {
        return;
    };
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || hearth::db::Db::connect(&url, 1).unwrap().migrate().unwrap())
        })
        .collect();
    let applied: Vec<usize> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    // one instance applied every migration, the others found nothing to do
    assert_eq!(applied.iter().filter(|n| **n > 0).count(), 1, "{applied:?}");
    let db = hearth::db::Db::connect(&url, 1).unwrap();
    assert!(db.is_migrated().unwrap());
    assert_eq!(db.migrate().unwrap(), 0);
    drop(db);
    let name = url.rsplit('/').next().unwrap().to_owned();
    let mut conn = PgConnection::establish(&server).unwrap();
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_a_generic_503_and_readyz_says_so() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    expect(alice.get("/api/messages").send().await.unwrap(), 200).await;
    expect(
        app.anon().get(app.url("/readyz")).send().await.unwrap(),
        200,
    )
    .await;
    let name = app.pg_database().unwrap();
    let server = pg_server_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&server).unwrap();
        conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    })
    .await
    .unwrap();
    let r = alice.get("/api/messages").send().await.unwrap();
    let body = expect(r, 503).await;
    assert_eq!(
        body,
        json!({"detail": "Service temporarily unavailable, try again later."})
    );
    let r = app.anon().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    // nothing about the cause reaches the client
    let text = alice
        .get("/api/messages")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains("database") || text.contains("Service temporarily unavailable"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("sql"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_lost_to_a_postgresql_restart_are_replaced() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    // use several pooled connections at once, so more than one is lost
    let lists = (0..8).map(|_| alice.get("/api/messages").send());
    for r in futures::future::join_all(lists).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    let name = app.pg_database().unwrap();
    let server = pg_server_url();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&server).unwrap();
        conn.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND application_name <> 'hearth-listener'"
        ))
        .unwrap();
    })
    .await
    .unwrap();
    // each lost connection may fail one request (503), and is not lent again
    let mut unavailable = 0;
    let mut ok_in_a_row = 0;
    for _ in 0..40 {
        let r = alice.get("/api/messages").send().await.unwrap();
        match r.status().as_u16() {
            200 => ok_in_a_row += 1,
            503 => {
                unavailable += 1;
                ok_in_a_row = 0;
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        ok_in_a_row >= 20,
        "still failing: {unavailable} answers were 503"
    );
    assert!(unavailable <= 8, "{unavailable} answers were 503");
}

/// On PostgreSQL the pages of tasks, messages and songs are read on the two
/// connections that requests share; when those are lost, the reads go the pooled
/// way until they are open again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_reads_share_connections_and_outlast_losing_them() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    let r = alice
        .post("/api/tasks/")
        .json(&serde_json::json!({"title": "shared"}))
        .send()
        .await
        .unwrap();
    expect(r, 201).await;
    let page = || async {
        let body = expect(alice.get("/api/tasks/").send().await.unwrap(), 200).await;
        assert_eq!(body[0]["title"], "shared", "{body}");
    };
    const READER: &str = "hearth-reader";
    const TASK_PAGE: &str = r#"FROM "tasks" WHERE"#;
    // PostgreSQL here is on this machine: half the cores, at least one
    assert_eq!(app.db.shared_connections(), hearth::db::half_the_cores());
    let readers = i64::try_from(app.db.shared_connections()).unwrap();
    assert_eq!(pg_sessions(&app, READER, "", false).await, readers);
    for _ in 0..readers {
        page().await;
    }
    // each reader ran the page query last (the pooled connections have other names)
    assert_eq!(pg_sessions(&app, READER, TASK_PAGE, false).await, readers);

    assert_eq!(pg_sessions(&app, READER, "", true).await, readers);
    // a read that meets a lost reader is served the pooled way; the reader reopens
    for _ in 0..4 {
        page().await;
    }
    // both reopened readers serve pages again; a session PostgreSQL already lists
    // may not be handed to Hearth yet, so the pages go on until both have run one
    tokio::time::timeout(Duration::from_secs(30), async {
        while pg_sessions(&app, READER, TASK_PAGE, false).await < readers {
            page().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the shared connections did not serve pages again");
    assert_eq!(pg_sessions(&app, READER, "", false).await, readers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_write_ahead_log_is_emptied_after_a_reader_held_it() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    let path = app.state.settings.database_url["sqlite://".len()..].to_owned();
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let alice = app.user("alice").await;
    // another program's long read: no checkpoint can get past it, so the log grows
    let mut reader = diesel::SqliteConnection::establish(&path).unwrap();
    reader
        .batch_execute("BEGIN; SELECT COUNT(*) FROM messages;")
        .unwrap();
    let text = "x".repeat(3000);
    let mut posted = 0;
    while wal_size() <= 32 << 20 {
        let r = alice
            .post("/api/messages")
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        expect(r, 201).await;
        posted += 1;
        assert!(
            posted < 20_000,
            "the log did not grow: {} bytes",
            wal_size()
        );
    }
    reader.batch_execute("COMMIT;").unwrap();
    // nothing writes any more, so SQLite itself would not checkpoint again
    tokio::time::timeout(Duration::from_secs(30), async {
        while wal_size() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the log still holds {} bytes", wal_size()));
    let r = alice.get("/api/messages?limit=1").send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], posted.to_string().as_str());
}

/// Each thread keeps a SQLite connection for reads: one thread serving two
/// databases reads each one's own rows, and a database no longer served leaves its
/// connection to the next.
#[tokio::test(flavor = "current_thread")]
async fn sqlite_databases_served_from_one_thread_each_read_their_own_rows() {
    let first = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    let second = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    let mut apps = vec![(first, "in the first"), (second, "in the second")];
    async fn post(app: &TestApp, text: &str) -> Actor {
        let alice = app.user("alice").await;
        post_message(&alice, text).await;
        alice
    }
    async fn texts(alice: &Actor) -> Vec<String> {
        let r = alice.get("/api/messages").send().await.unwrap();
        let body = expect(r, 200).await;
        let rows = body.as_array().unwrap();
        rows.iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    }
    let mut clients = Vec::new();
    for (app, text) in &apps {
        clients.push(post(app, text).await);
    }
    for _ in 0..3 {
        for ((_, text), alice) in apps.iter().zip(&clients) {
            assert_eq!(texts(alice).await, [*text]);
        }
    }
    drop(apps.remove(0));
    clients.remove(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    let alice = post(&third, "in the third").await;
    for _ in 0..3 {
        assert_eq!(texts(&alice).await, ["in the third"]);
        assert_eq!(texts(&clients[0]).await, ["in the second"]);
    }
}

both_backends! {
    async fn inserts_sent_together_fail_alone_and_return_their_own_rows(app) {
        use hearth::domains::tasks::queries::{Add, TaskRow};
        let alice = app.user("alice").await;
        // every fifth row names no user: a foreign-key violation in its batch
        let inserts: Vec<_> = (0..60)
            .map(|n| {
                let db = app.db.clone();
                let user_id = if n % 5 == 0 { alice.id + 1_000_000 } else { alice.id };
                let row = TaskRow {
                    user_id,
                    title: format!("t{n}"),
                    completed: n % 2 == 0,
                    at: hearth::time::now(),
                };
                tokio::spawn(async move { db.insert::<Add, _>(row, |_| ()).await })
            })
            .collect();
        let mut stored = Vec::new();
        for (n, insert) in inserts.into_iter().enumerate() {
            match insert.await.unwrap() {
                Ok(task) => {
                    assert_ne!(n % 5, 0, "row {n} names no user but was stored");
                    assert_eq!(task.title, format!("t{n}"));
                    assert_eq!(task.completed, n % 2 == 0);
                    stored.push(task);
                }
                Err(err) => {
                    assert_eq!(n % 5, 0, "row {n} failed: {err:?}");
                    assert_eq!(err.status(), 500);
                }
            }
        }
        assert_eq!(stored.len(), 48);
        // each answer is the row stored under its id, and nothing else was stored
        let r = alice.get("/api/tasks/?limit=1000").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "48");
        let listed = expect(r, 200).await;
        let listed = listed["results"].as_array().or(listed.as_array()).unwrap().clone();
        assert_eq!(listed.len(), 48);
        for task in &stored {
            let row = listed.iter().find(|t| t["id"] == task.id).unwrap();
            assert_eq!(row["title"], task.title.as_str());
            assert_eq!(row["completed"], task.completed);
        }
    }
}

both_backends! {
    async fn a_batch_that_cannot_be_paired_is_taken_back_exactly(app) {
        use hearth::db::Inserts as _;
        use hearth::domains::tasks::queries::{Add, TaskRow};
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let row = |user_id: i64, title: &str| TaskRow {
            user_id,
            title: title.to_owned(),
            completed: false,
            at: hearth::time::now(),
        };
        let rows = vec![row(alice.id, "kept"), row(alice.id, "taken back"), row(bob.id, "taken back too")];
        let kept = app
            .db
            .run(move |conn| {
                let outs = Add::insert(conn, &rows)?;
                let (kept, back): (Vec<_>, Vec<_>) = outs.into_iter().partition(|t| t.title == "kept");
                Add::undo(conn, &back)?;
                Ok(kept)
            })
            .await
            .unwrap();
        assert_eq!(kept.len(), 1);
        let listed = expect(alice.get("/api/tasks/").send().await.unwrap(), 200).await;
        let listed = listed["results"].as_array().or(listed.as_array()).unwrap().clone();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["id"], kept[0].id);
        assert_eq!(app.count("tasks").await, 1);
    }
}

both_backends! {
    async fn stored_timestamps_read_back_to_the_microsecond(app) {
        let alice = app.user("alice").await;
        let stamps = [
            "1999-12-31 23:59:59.999999",
            "2000-01-01 00:00:00",
            "2000-01-01 00:00:00.000001",
            "1970-01-01 00:00:00",
            "0001-01-01 00:00:00",
            "2026-12-02 12:34:56.5",
            "2026-12-02 23:59:59.999999",
            "2026-12-03 00:00:00",
            "9999-12-31 23:59:59.999999",
        ];
        let values: Vec<String> = stamps
            .iter()
            .enumerate()
            .map(|(n, at)| format!("({}, 't{n}', false, '{at}', '{at}')", alice.id))
            .collect();
        let sql = format!(
            "INSERT INTO tasks (user_id, title, completed, created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        app.db
            .run(move |conn| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn)?))
            .await
            .unwrap();
        let page = expect(alice.get("/api/tasks/").send().await.unwrap(), 200).await;
        let shown: Vec<&str> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["created_at"].as_str().unwrap())
            .collect();
        let wanted: Vec<String> = stamps
            .iter()
            .map(|at| {
                let (date, time) = at.split_once(' ').unwrap();
                let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
                format!("{date}T{time}.{fraction:0<6}Z")
            })
            .collect();
        assert_eq!(shown, wanted);
    }
}
