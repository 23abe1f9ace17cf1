//! `/api/messages/stream`: new messages as server-sent events, on one instance and
//! across instances sharing PostgreSQL; replay, slow clients and the gauge.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::*;

const STREAM: &str = "/api/messages/stream";
/// Long enough for any event a test waits for; a broken test fails instead of hanging.
const WAIT: Duration = Duration::from_secs(30);

/// One server-sent event block.
#[derive(Debug, Default)]
struct Block {
    event: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    retry: Option<String>,
}

/// A stream client reading with reqwest, as an `EventSource` would.
struct Events {
    response: Response,
    buffer: Vec<u8>,
}

impl Events {
    async fn open(request: reqwest::RequestBuilder) -> Self {
        let response = request
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Self {
            response,
            buffer: Vec::new(),
        }
    }

    /// The next block that is more than comments (heartbeats); `None` at the end.
    async fn next_block(&mut self) -> Option<Block> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let mut block = Block::default();
                for line in std::str::from_utf8(&raw).unwrap().lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                    match field {
                        "event" => block.event = Some(value),
                        "id" => block.id = Some(value),
                        "data" => block.data.push(value),
                        "retry" => block.retry = Some(value),
                        _ => {}
                    }
                }
                if block.event.is_some() || block.id.is_some() || block.retry.is_some() {
                    return Some(block);
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("no event in time")
                .unwrap()?;
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The next `message` event as (id, data), checking its shape; its SSE id is
    /// the message's.
    async fn next_message(&mut self) -> (i64, Value) {
        let (id, data) = self.next_event().await;
        assert_eq!(data["id"], id, "{data}");
        (id, data)
    }

    /// The next `message` event as (SSE id, data).
    async fn next_event(&mut self) -> (i64, Value) {
        loop {
            let block = self.next_block().await.expect("the stream ended");
            if block.event.is_none() && block.retry.is_some() {
                continue;
            }
            assert_eq!(block.event.as_deref(), Some("message"), "{block:?}");
            assert_eq!(block.data.len(), 1, "{block:?}");
            let data: Value = serde_json::from_str(&block.data[0]).unwrap();
            let id: i64 = block.id.as_deref().unwrap().parse().unwrap();
            return (id, data);
        }
    }
}

/// The same user posting to another instance.
async fn post_to(app: &TestApp, actor: &Actor, text: &str) -> Value {
    let r = app
        .anon()
        .post(app.url("/api/messages"))
        .bearer_auth(&actor.access)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    expect(r, 201).await
}

fn id_of(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

/// The `stream_clients` gauge in `/metrics`.
async fn stream_clients(app: &TestApp) -> i64 {
    let r = app.anon().get(app.url("/metrics")).send().await.unwrap();
    let text = r.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("hearth_stream_clients "))
        .unwrap_or_else(|| panic!("no gauge in {text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn until_stream_clients(app: &TestApp, n: i64) {
    let waited = tokio::time::timeout(WAIT, async {
        while stream_clients(app).await != n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "stream_clients stayed at {} instead of {n}",
        stream_clients(app).await
    );
}

/// Opens the stream on a raw socket with a small receive buffer, reads the response
/// head and nothing more.
async fn stalled_stream(app: &TestApp, access: &str) -> tokio::net::TcpStream {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET {STREAM} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {access}\r\n\
         Connection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut byte))
            .await
            .expect("no response head in time")
            .unwrap();
        assert_eq!(n, 1, "closed after {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// A text near the length limit, 4 bytes a character: about 16 kB an event.
fn large_text(i: usize) -> String {
    format!("{i} {}", "\u{1d11e}".repeat(3990))
}

both_backends! {
    async fn a_stream_client_receives_a_message_posted_by_another_user(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let mut events = Events::open(bob.get(STREAM)).await;
        let first = events.next_block().await.unwrap();
        assert_eq!(first.retry.as_deref(), Some("1000"), "{first:?}");
        let posted = post_message(&alice, "hello, live").await;
        let (id, data) = events.next_message().await;
        assert_eq!(id, id_of(&posted));
        assert_eq!(data, posted);
        let list = expect(bob.get("/api/messages").send().await.unwrap(), 200).await;
        assert_eq!(data, list[0]);
        // the poster's own stream gets it too, once
        let mut own = Events::open(alice.get(STREAM)).await;
        let second = post_message(&bob, "second").await;
        assert_eq!(events.next_message().await.1, second);
        assert_eq!(own.next_message().await.1, second);
    }

    async fn a_message_added_in_the_admin_is_sent_live(app) {
        let staff = app.staff("staff").await;
        let bob = app.user("bob").await;
        let mut events = Events::open(bob.get(STREAM)).await;
        let browser = crate::admin::admin_login(&app, &staff.username).await;
        let sender = staff.id.to_string();
        let r = browser
            .post("/admin/messages/message/add/", &[("sender", &sender), ("text", "from the admin")])
            .await;
        assert_eq!(r.status(), 302);
        let (id, data) = events.next_message().await;
        assert_eq!(id, crate::admin::last_id(&app, "messages").await);
        assert_eq!(data["text"], "from the admin");
        assert_eq!(data["sender"], staff.username.as_str());
    }

    async fn each_way_of_signing_in_opens_the_stream_and_anonymous_gets_401(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let token = app.drf_token(&bob.username, PASSWORD).await;
        let browser = app.session_login(&bob.username, PASSWORD).await;
        let mut bearer = Events::open(bob.get(STREAM)).await;
        let mut drf = Events::open(
            app.anon().get(app.url(STREAM)).header("Authorization", format!("Token {token}")),
        )
        .await;
        let mut session = Events::open(browser.get(STREAM)).await;
        let posted = post_message(&alice, "to all of them").await;
        for events in [&mut bearer, &mut drf, &mut session] {
            assert_eq!(events.next_message().await.1, posted);
        }

        assert_401(app.anon().get(app.url(STREAM)).send().await.unwrap()).await;
        let r = app.get_with(STREAM, "Bearer not-a-token").await;
        assert_eq!(r.status(), 401);
        // other methods: 401 anonymous, 405 signed in
        let r = app.anon().post(app.url(STREAM)).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = bob.post(STREAM).send().await.unwrap();
        assert_eq!(r.status(), 405);
    }

    async fn last_event_id_replays_what_was_missed_then_goes_live(app) {
        let alice = app.user("alice").await;
        let first = post_message(&alice, "one").await;
        let second = post_message(&alice, "two").await;
        let third = post_message(&alice, "three").await;
        let mut events =
            Events::open(alice.get(STREAM).header("Last-Event-ID", id_of(&first).to_string())).await;
        assert_eq!(events.next_message().await.1, second);
        assert_eq!(events.next_message().await.1, third);
        let fourth = post_message(&alice, "four").await;
        assert_eq!(events.next_message().await.1, fourth);
        // nothing came twice: the next event is the next message
        let fifth = post_message(&alice, "five").await;
        assert_eq!(events.next_message().await.1, fifth);

        // the query parameter, for clients that cannot set the header
        let path = format!("{STREAM}?last_event_id={}", id_of(&third));
        let mut events = Events::open(alice.get(&path)).await;
        assert_eq!(events.next_message().await.1, fourth);
        assert_eq!(events.next_message().await.1, fifth);
        // the header wins over the query
        let mut events =
            Events::open(alice.get(&path).header("Last-Event-ID", id_of(&fourth).to_string())).await;
        assert_eq!(events.next_message().await.1, fifth);
    }

    async fn a_stalled_client_delays_no_post_and_is_let_go(app, |settings| {
        settings.send_timeout = Duration::from_secs(1);
    }) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let stalled = stalled_stream(&app, &bob.access).await;
        let mut events = Events::open(bob.get(STREAM)).await;
        until_stream_clients(&app, 2).await;
        // more than the socket buffers of the stalled client hold
        let count = 600;
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            while received.len() < count {
                received.push(events.next_message().await.0);
            }
            (received, events)
        });
        let mut posted = Vec::new();
        for i in 0..count {
            posted.push(id_of(&post_message(&alice, &large_text(i)).await));
        }
        let (received, events) = reader.await.unwrap();
        assert_eq!(received, posted);
        // the kernel gives up on the stalled connection, and the server lets it go
        until_stream_clients(&app, 1).await;
        drop((stalled, events));
    }

    async fn a_client_that_falls_too_far_behind_is_disconnected(app, |settings| {
        settings.stream_buffer = 8;
        settings.send_timeout = Duration::ZERO;
    }) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let mut lagging = stalled_stream(&app, &bob.access).await;
        until_stream_clients(&app, 1).await;
        let count = 600;
        for i in 0..count {
            post_message(&alice, &large_text(i)).await;
        }
        // it reads again: what was buffered, then the end of the stream
        let mut body = Vec::new();
        tokio::time::timeout(WAIT, lagging.read_to_end(&mut body))
            .await
            .expect("the lagging stream was not ended")
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.ends_with("0\r\n\r\n"), "the chunked body did not end");
        let got = text.matches("event: message").count();
        assert!(got < count, "a lagging client got all {got} messages");
        until_stream_clients(&app, 0).await;
    }

    async fn the_stream_clients_gauge_counts_open_streams(app, |settings| {
        settings.stream_heartbeat = Duration::from_secs(1);
    }) {
        let alice = app.user("alice").await;
        assert_eq!(stream_clients(&app).await, 0);
        let first = Events::open(alice.get(STREAM)).await;
        let second = Events::open(alice.get(STREAM)).await;
        assert_eq!(stream_clients(&app).await, 2);
        drop(first);
        until_stream_clients(&app, 1).await;
        drop(second);
        until_stream_clients(&app, 0).await;
    }
}

/// PostgreSQL's `pg_stat_activity` rows of this app's listeners.
async fn listeners(app: &TestApp, terminate: bool) -> i64 {
    pg_sessions(app, "hearth-listener", "", terminate).await
}

async fn until_listeners(app: &TestApp, n: i64) {
    tokio::time::timeout(WAIT, async {
        while listeners(app, false).await != n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the listeners did not connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_to_one_instance_reaches_stream_clients_of_another() {
    let Some(one) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let other = one.sibling().await;
    let (alice, bob) = (one.user("alice").await, one.user("bob").await);
    let mut there =
        Events::open(other.anon().get(other.url(STREAM)).bearer_auth(&bob.access)).await;
    let mut here = Events::open(bob.get(STREAM)).await;
    let posted = post_message(&alice, "across instances").await;
    assert_eq!(there.next_message().await.1, posted);
    assert_eq!(here.next_message().await.1, posted);
    let back = post_to(&other, &bob, "and back").await;
    assert_eq!(there.next_message().await.1, back);
    assert_eq!(here.next_message().await.1, back);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_and_catches_up_after_postgresql_drops_it() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    let mut events = Events::open(alice.get(STREAM)).await;
    until_listeners(&app, 1).await;
    assert_eq!(listeners(&app, true).await, 1);
    // posted while the listener is down or coming back: caught up or notified
    let during = post_message(&alice, "while it was away").await;
    assert_eq!(events.next_message().await.1, during);
    until_listeners(&app, 1).await;
    let after = post_message(&alice, "after it came back").await;
    assert_eq!(events.next_message().await.1, after);
}

/// Inserts a message with plain SQL, as psql or another program would; its id.
fn insert_from_outside(conn: &mut diesel::PgConnection, sender: i64, text: &str) -> i64 {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(format!(
        "INSERT INTO messages (sender_id, text, timestamp) \
         VALUES ({sender}, '{text}', now()) RETURNING id"
    ))
    .get_result::<Row>(conn)
    .unwrap()
    .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_inserted_outside_hearth_is_sent_live() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    let mut events = Events::open(alice.get(STREAM)).await;
    // a connection of another program, as psql's would be
    let url = app.state.settings.database_url.clone();
    let sender = alice.id;
    let id: i64 = tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        insert_from_outside(&mut conn, sender, "from psql")
    })
    .await
    .unwrap();
    let (got, data) = events.next_message().await;
    assert_eq!(got, id);
    assert_eq!(data["text"], "from psql");
    assert_eq!(data["sender"], alice.username.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_committed_after_a_newer_one_never_moves_last_event_id_back() {
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let alice = app.user("alice").await;
    let mut events = Events::open(alice.get(STREAM)).await;
    // two transactions of another program: the older id commits last
    let url = app.state.settings.database_url.clone();
    let sender = alice.id;
    let (ids_tx, ids_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let writer = tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection as _;
        use diesel::Connection as _;
        let insert = |conn: &mut diesel::PgConnection, text: &str| {
            conn.batch_execute("BEGIN").unwrap();
            insert_from_outside(conn, sender, text)
        };
        let mut first = diesel::PgConnection::establish(&url).unwrap();
        let mut second = diesel::PgConnection::establish(&url).unwrap();
        let older = insert(&mut first, "older");
        let newer = insert(&mut second, "newer");
        second.batch_execute("COMMIT").unwrap();
        ids_tx.send((older, newer)).unwrap();
        go_rx.recv().unwrap();
        first.batch_execute("COMMIT").unwrap();
    });
    let (older, newer) = ids_rx.await.unwrap();
    assert!(older < newer);
    let (id, data) = events.next_event().await;
    assert_eq!((id, data["id"].as_i64()), (newer, Some(newer)));
    go_tx.send(()).unwrap();
    writer.await.unwrap();
    let (id, data) = events.next_event().await;
    assert_eq!(data["id"].as_i64(), Some(older));
    assert_eq!(data["text"], "older");
    assert_eq!(id, newer, "the SSE id moved back");

    // resumed where the browser would: nothing comes twice
    drop(events);
    let mut events = Events::open(alice.get(STREAM).header("Last-Event-ID", id.to_string())).await;
    let next = post_message(&alice, "after the resume").await;
    assert_eq!(events.next_message().await.1, next);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_still_announced_after_the_notifier_loses_postgresql() {
    let Some(one) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let other = one.sibling().await;
    let alice = one.user("alice").await;
    let mut there = Events::open(
        other
            .anon()
            .get(other.url(STREAM))
            .bearer_auth(&alice.access),
    )
    .await;
    let before = post_message(&alice, "before").await;
    assert_eq!(there.next_message().await.1, before);
    // both instances' notifiers; the other instance's listener stays connected
    assert_eq!(pg_sessions(&one, "hearth-notifier", "", true).await, 2);
    let during = post_message(&alice, "while the notifier was away").await;
    assert_eq!(there.next_message().await.1, during);
    let after = post_message(&alice, "after").await;
    assert_eq!(there.next_message().await.1, after);
}

// A stream lasts as long as the login that opened it (checked with every
// heartbeat, one second here) and the token that opened it.

fn fast_recheck(settings: &mut hearth::config::Settings) {
    settings.stream_heartbeat = Duration::from_secs(1);
}

/// Reads the stream to its end: the ids of the messages it still sent. Fails when
/// it does not end.
async fn until_end(events: &mut Events) -> Vec<i64> {
    tokio::time::timeout(WAIT, async {
        let mut ids = Vec::new();
        while let Some(block) = events.next_block().await {
            if let Some(id) = block.id {
                ids.push(id.parse().unwrap());
            }
        }
        ids
    })
    .await
    .expect("the stream outlived its login")
}

/// A login of the user through `POST /api/token/`, as `(access, refresh)`.
async fn jwt_login(app: &TestApp, actor: &Actor) -> (String, String) {
    app.obtain_pair(&actor.username, &actor.password).await
}

async fn bearer_stream(app: &TestApp, access: &str) -> Events {
    let mut events = Events::open(app.anon().get(app.url(STREAM)).bearer_auth(access)).await;
    assert!(events.next_block().await.unwrap().retry.is_some());
    events
}

async fn ticket(app: &TestApp, access: &str) -> String {
    let r = app
        .anon()
        .post(app.url("/api/messages/stream/ticket"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = expect(r, 201).await;
    assert_eq!(body["expires_in"], 30);
    body["ticket"].as_str().unwrap().to_owned()
}

fn ticket_url(app: &TestApp, ticket: &str) -> String {
    app.url(&format!("{STREAM}?ticket={ticket}"))
}

both_backends! {
    async fn a_stream_ends_when_its_jwt_login_logs_out(app, |settings| { fast_recheck(settings); }) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let (access, refresh) = jwt_login(&app, &alice).await;
        let mut events = bearer_stream(&app, &access).await;
        let before = post_message(&bob, "before the logout").await;
        assert_eq!(events.next_message().await.0, id_of(&before));
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        expect(r, 200).await;
        until_end(&mut events).await;
        // and it cannot be opened again with that token
        let r = app.anon().get(app.url(STREAM)).bearer_auth(&access).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    async fn a_stream_ends_at_logout_all(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let (access, _) = jwt_login(&app, &alice).await;
        let mut events = bearer_stream(&app, &access).await;
        // another login of hers ends them all
        let (other, _) = jwt_login(&app, &alice).await;
        let r = app.anon().post(app.url("/api/auth/logout-all/")).bearer_auth(&other).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        until_end(&mut events).await;
    }

    async fn a_stream_ends_when_the_password_changes(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let mut events = bearer_stream(&app, &alice.access).await;
        // what `hearth changepassword` and the admin's password form do
        let id = alice.id;
        app.db.run(move |conn| hearth::auth::logins::revoke_all(conn, id)).await.unwrap();
        until_end(&mut events).await;
    }

    async fn a_stream_ends_when_its_user_is_deactivated(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let mut events = bearer_stream(&app, &alice.access).await;
        app.set_active(alice.id, false).await;
        until_end(&mut events).await;
    }

    async fn a_stream_ends_when_its_session_logs_out(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let browser = app.session_login(&alice.username, &alice.password).await;
        let mut events = Events::open(browser.get(STREAM)).await;
        assert!(events.next_block().await.unwrap().retry.is_some());
        let r = browser.post_csrf("/authentication/logout").send().await.unwrap();
        assert_eq!(expect(r, 200).await["error"], "None, logged out successfully");
        until_end(&mut events).await;
    }

    async fn a_stream_ends_when_its_drf_token_is_revoked(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let key = app.drf_token(&alice.username, &alice.password).await;
        let mut events = Events::open(
            app.anon().get(app.url(STREAM)).header("Authorization", format!("Token {key}")),
        )
        .await;
        assert!(events.next_block().await.unwrap().retry.is_some());
        let id = alice.id;
        app.db.run(move |conn| hearth::auth::tokens::revoke(conn, id)).await.unwrap();
        until_end(&mut events).await;
    }

    async fn a_stream_ends_when_its_access_token_expires(app, |settings| {
        fast_recheck(settings);
        settings.access_token_lifetime = Duration::from_secs(3);
    }) {
        let alice = app.user("alice").await;
        let (access, _) = jwt_login(&app, &alice).await;
        let mut events = bearer_stream(&app, &access).await;
        until_end(&mut events).await;
    }

    async fn a_stream_ticket_opens_the_stream_once(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let (access, _) = jwt_login(&app, &alice).await;
        let key = ticket(&app, &access).await;
        assert_ne!(key, access);
        // no Authorization header, as from an EventSource
        let mut events = Events::open(app.anon().get(ticket_url(&app, &key))).await;
        let posted = post_message(&bob, "seen through a ticket").await;
        assert_eq!(events.next_message().await.1, posted);
        let r = app.anon().get(ticket_url(&app, &key)).send().await.unwrap();
        let body = expect(r, 401).await;
        assert_eq!(body["code"], "ticket_not_valid", "{body}");
        for unknown in ["", "0123", &"ab".repeat(32)] {
            let r = app.anon().get(ticket_url(&app, unknown)).send().await.unwrap();
            assert_eq!(r.status(), 401, "{unknown:?}");
        }
        // a ticket is no Bearer token
        let r = app.anon().get(app.url("/api/messages")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(app.count("stream_tickets").await, 0);
    }

    async fn a_stream_ticket_resumes_after_last_event_id(app) {
        let alice = app.user("alice").await;
        let first = post_message(&alice, "one").await;
        let second = post_message(&alice, "two").await;
        let key = ticket(&app, &alice.access).await;
        let url = format!("{}&last_event_id={}", ticket_url(&app, &key), id_of(&first));
        let mut events = Events::open(app.anon().get(url)).await;
        assert_eq!(events.next_message().await.1, second);
    }

    async fn stream_tickets_are_for_logged_in_callers_only(app) {
        let r = app.anon().post(app.url("/api/messages/stream/ticket")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = app.anon().post(app.url("/api/messages/stream/ticket")).bearer_auth("not.a.token").send().await.unwrap();
        assert_eq!(r.status(), 401);
        let alice = app.user("alice").await;
        let r = alice.get("/api/messages/stream/ticket").send().await.unwrap();
        assert_eq!(r.status(), 405);
        let r = app.anon().get(app.url("/api/messages/stream/ticket")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        // a session needs its CSRF token for it, as for any unsafe request
        let browser = app.session_login(&alice.username, &alice.password).await;
        let r = browser.post("/api/messages/stream/ticket").send().await.unwrap();
        assert_eq!(r.status(), 403);
        let r = browser.post_csrf("/api/messages/stream/ticket").send().await.unwrap();
        expect(r, 201).await;
        assert_eq!(app.count("stream_tickets").await, 1);
    }

    async fn a_ticket_stream_ends_with_its_login(app, |settings| { fast_recheck(settings); }) {
        let alice = app.user("alice").await;
        let (access, refresh) = jwt_login(&app, &alice).await;
        let key = ticket(&app, &access).await;
        let mut events = Events::open(app.anon().get(ticket_url(&app, &key))).await;
        assert!(events.next_block().await.unwrap().retry.is_some());
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        expect(r, 200).await;
        until_end(&mut events).await;
    }

    async fn a_ticket_from_an_ended_login_opens_nothing(app) {
        let alice = app.user("alice").await;
        let (access, refresh) = jwt_login(&app, &alice).await;
        let key = ticket(&app, &access).await;
        let r = app.post_json("/api/user/logout/", json!({ "refresh": refresh })).await;
        expect(r, 200).await;
        let r = app.anon().get(ticket_url(&app, &key)).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
}
