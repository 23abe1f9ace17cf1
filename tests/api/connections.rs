//! Connections: idle and trickling ones are closed, their number is capped, and a
//! message stream keeps to its own heartbeat.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Longer than any timeout these tests set: a connection still open after it was
/// kept for ever.
const GUARD: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; what it sent meanwhile.
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(GUARD, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was kept open");
    String::from_utf8_lossy(&seen).into_owned()
}

/// One whole response: its head and the body its `Content-Length` gives.
async fn response(tcp: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed after {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .expect("a Content-Length");
            if body.len() >= length.trim().parse::<usize>().unwrap() {
                return text;
            }
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

both_backends! {
    async fn a_silent_connection_is_closed(app, |s| { s.header_timeout = Duration::from_secs(1); }) {
        let mut tcp = connect(&app).await;
        until_closed(&mut tcp).await;
    }

    async fn a_request_head_sent_a_byte_at_a_time_is_cut_off(app, |s| { s.header_timeout = Duration::from_secs(1); }) {
        let mut tcp = connect(&app).await;
        let trickle = async {
            for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a')) {
                if tcp.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        assert!(tokio::time::timeout(GUARD, trickle).await.is_ok(), "the trickle was never cut off");
    }

    async fn an_idle_kept_alive_connection_is_closed(app, |s| { s.header_timeout = Duration::from_secs(1); }) {
        let mut tcp = connect(&app).await;
        tcp.write_all(HEALTHZ).await.unwrap();
        let seen = until_closed(&mut tcp).await;
        assert!(seen.starts_with("HTTP/1.1 200 OK"), "{seen}");
        assert_eq!(seen.matches("HTTP/1.1").count(), 1, "{seen}");
    }

    async fn a_kept_alive_connection_in_use_outlives_the_header_timeout(app, |s| { s.header_timeout = Duration::from_secs(1); }) {
        let mut tcp = connect(&app).await;
        // each head comes well within the timeout; together they take three times it
        for _ in 0..10 {
            tcp.write_all(HEALTHZ).await.unwrap();
            let head = tokio::time::timeout(GUARD, response(&mut tcp)).await.expect("no answer");
            assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // and once idle, it is closed all the same
        assert_eq!(until_closed(&mut tcp).await, "");
    }

    async fn connections_over_the_cap_wait_for_a_free_one(app, |s| { s.max_connections = 2; }) {
        let first = connect(&app).await;
        let _second = connect(&app).await;
        // both are accepted (the cap counts accepted ones) once the server has seen them
        let mut third = connect(&app).await;
        third.write_all(HEALTHZ).await.unwrap();
        let mut buf = [0u8; 64];
        let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf)).await;
        assert!(early.is_err(), "a third connection was served past the cap of 2");
        drop(first);
        let n = tokio::time::timeout(GUARD, third.read(&mut buf)).await.expect("never served").unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"), "{}", String::from_utf8_lossy(&buf[..n]));
    }

    async fn a_stream_outlives_the_header_timeout_on_its_heartbeats(app, |s| {
        s.header_timeout = Duration::from_secs(1);
        s.stream_heartbeat = Duration::from_secs(1);
    }) {
        let alice = app.user("alice").await;
        let mut response = alice.get("/api/messages/stream").timeout(GUARD).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut heartbeats = 0;
        while heartbeats < 3 {
            let chunk = response.chunk().await.unwrap().expect("the stream ended");
            heartbeats += chunk.windows(2).filter(|w| w == b"\n\n").count();
        }
    }
}
