//! PostgreSQL frozen (a partition) or away (a refusal), through a TCP proxy that the
//! test controls: requests get 503 in time, nothing hangs or exits, service comes
//! back by itself, and no write answered 2xx is lost.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Open,
    /// Nothing passes and nothing is closed, as in a network partition.
    Frozen,
    /// Every connection is closed, new ones too, as when PostgreSQL is down.
    Down,
}

/// A TCP proxy in front of the test's PostgreSQL server.
struct Cut {
    link: watch::Sender<Link>,
    addr: SocketAddr,
    target: String,
}

impl Cut {
    async fn start() -> Self {
        let server = pg_server_url();
        let target = server
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or("127.0.0.1:5432", |(host, _)| host)
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, _) = watch::channel(Link::Open);
        let watching = link.subscribe();
        let upstream = target.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), watching.clone()));
            }
        });
        Self { link, addr, target }
    }

    /// `url` through this proxy.
    fn route(&self, url: &str) -> String {
        url.replacen(&self.target, &self.addr.to_string(), 1)
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn relay(client: TcpStream, upstream: String, mut link: watch::Receiver<Link>) {
    let Ok(state) = link.wait_for(|l| *l != Link::Frozen).await.map(|l| *l) else {
        return;
    };
    if state == Link::Down {
        return;
    }
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::spawn(pump(client_read, server_write, link.clone()));
    tokio::spawn(pump(server_read, client_write, link));
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut link: watch::Receiver<Link>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(state) = link.wait_for(|l| *l != Link::Frozen).await.map(|l| *l) else {
            return;
        };
        if state == Link::Down {
            return;
        }
        tokio::select! {
            changed = link.changed() => if changed.is_err() { return },
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if to.write_all(&buf[..n]).await.is_err() { return },
            },
        }
    }
}

/// An app on PostgreSQL through `cut`, waiting at most `timeout` on it.
async fn app_behind(cut: &Cut, timeout: Duration) -> Option<TestApp> {
    TestApp::spawn(Backend::Postgres, |s| {
        s.database_url = cut.route(&s.database_url);
        s.database_timeout = timeout;
    })
    .await
}

/// Waits for the answers the issue asks for: a request's 503 within 5 s, and
/// `/readyz`'s within one.
const REQUEST_BOUND: Duration = Duration::from_secs(5);
const READY_BOUND: Duration = Duration::from_secs(1);

async fn post(actor: &Actor, text: &str) -> Result<Response, reqwest::Error> {
    actor
        .post("/api/messages")
        .json(&json!({ "text": text }))
        .timeout(REQUEST_BOUND)
        .send()
        .await
}

/// Retries `GET /api/messages` until it answers 200; false when it did not within 5 s.
async fn recovers(actor: &Actor) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let r = actor
            .get("/api/messages")
            .timeout(REQUEST_BOUND)
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_gets_quick_503s_and_service_resumes_when_it_thaws() {
    let cut = Cut::start().await;
    let Some(app) = app_behind(&cut, Duration::from_secs(1)).await else {
        return;
    };
    let alice = app.user("alice").await;
    expect(post(&alice, "before").await.unwrap(), 201).await;

    cut.set(Link::Frozen);
    let read = alice
        .get("/api/messages")
        .timeout(REQUEST_BOUND)
        .send()
        .await;
    assert_eq!(
        read.expect("a read hung on a frozen database").status(),
        503
    );
    let write = post(&alice, "during").await;
    assert_eq!(
        write.expect("a write hung on a frozen database").status(),
        503
    );
    let ready = app
        .anon()
        .get(app.url("/readyz"))
        .timeout(READY_BOUND)
        .send()
        .await;
    let ready = ready.expect("/readyz hung on a frozen database");
    assert_eq!(
        expect(ready, 503).await,
        json!({"status": "database unavailable"})
    );
    expect(
        app.anon().get(app.url("/healthz")).send().await.unwrap(),
        200,
    )
    .await;

    cut.set(Link::Open);
    assert!(recovers(&alice).await, "no recovery within 5 s of the thaw");
    expect(
        app.anon().get(app.url("/readyz")).send().await.unwrap(),
        200,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_an_outage_loses_no_acknowledged_write() {
    let cut = Cut::start().await;
    let Some(app) = app_behind(&cut, Duration::from_secs(1)).await else {
        return;
    };
    let actors = [
        app.user("load1").await,
        app.user("load2").await,
        app.user("load3").await,
    ];
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = watch::channel(false);
    let mut writers = Vec::new();
    for actor in actors {
        let (acknowledged, statuses, stopped) =
            (acknowledged.clone(), statuses.clone(), stopped.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !*stopped.borrow() {
                n += 1;
                match post(&actor, &format!("{} {n}", actor.username)).await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        statuses.lock().unwrap().push(status);
                        if status == 201 {
                            let body: Value = r.json().await.unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(body["id"].as_i64().unwrap());
                        }
                    }
                    Err(err) => panic!("no answer within 5 s: {err}"),
                }
            }
            actor
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    cut.set(Link::Down);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cut.set(Link::Open);
    let back = Instant::now();
    let witness = app.user("witness").await;
    assert!(
        recovers(&witness).await,
        "no recovery within 5 s of PostgreSQL's return"
    );
    // the writers' own posts succeed again too
    let seen = statuses.lock().unwrap().len();
    while statuses.lock().unwrap()[seen..].iter().all(|s| *s != 201) {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "writes did not resume within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send_replace(true);
    for writer in writers {
        writer.await.unwrap();
    }

    let statuses = statuses.lock().unwrap().clone();
    assert!(statuses.contains(&503), "the outage was never seen");
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    for id in &acknowledged {
        let r = witness
            .get(&format!("/api/messages/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "message {id} was answered 201 and is gone");
    }
    assert!(!acknowledged.is_empty());
}
