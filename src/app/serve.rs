//! The connections' loop: hyper with a header-read timeout, a cap on connections,
//! and a graceful stop.

use std::sync::Arc;

use super::app;
use super::head_timer::Heads;
use crate::state::AppState;

/// Serves until `shutdown` completes, then stops gracefully: `/readyz` answers 503,
/// the listener closes (new connections are refused), open streams end, and the
/// requests in flight get `shutdown_timeout` to finish.
///
/// Each connection must send a request's head within `header_timeout` (hyper's
/// timeout, which axum's `serve` leaves unset: idle and trickling connections were
/// kept for ever; its timer is `head_timer`'s), and at most `max_connections` are
/// served at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::TokioIo;

    state.db.open_shared().await;
    let settings = state.settings.clone();
    let service = app(state.clone());
    // HTTP/1 only: telling HTTP/2 apart waits for the first bytes with no timeout
    // (and browsers speak HTTP/2 only over TLS, which a proxy in front ends)
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(settings.header_timeout);
    let heads = Arc::new(Heads::default());
    Heads::watch(&heads, settings.header_timeout);
    let permits = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    let connections = tokio_util::task::TaskTracker::new();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut listener = Some(listener);
    let mut backlog = None;
    loop {
        let accepted = match (&listener, &backlog) {
            (Some(open), _) => tokio::select! {
                biased;
                () = &mut shutdown => {
                    state.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
                    backlog = listener.take().and_then(|l| l.into_std().ok());
                    continue;
                }
                accepted = accept(open, &permits) => accepted,
            },
            // The kernel's backlog, taken without waiting for the reactor to report
            // it: the close would reset those connections, their requests sent.
            (None, Some(queue)) => match queue.accept() {
                Ok((tcp, peer)) => tcp
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpStream::from_std(tcp))
                    .ok()
                    .map(|tcp| (tcp, peer, None)),
                Err(_) => break,
            },
            (None, None) => break,
        };
        let Some((tcp, peer, permit)) = accepted else {
            continue;
        };
        set_send_timeout(&tcp, settings.send_timeout);
        let asked = Arc::new(FirstRequest::default());
        let service = tower::ServiceBuilder::new()
            .map_request({
                let asked = asked.clone();
                move |req: axum::http::Request<hyper::body::Incoming>| {
                    asked.seen();
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                }
            })
            .service(service.clone());
        let conn = builder.clone().timer(heads.timer()).serve_connection(
            TokioIo::new(tcp),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => Some(ended),
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let ended = match ended {
                Some(ended) => ended,
                None => {
                    // hyper closes a connection that has sent nothing yet: its
                    // request, maybe on its way, would go unanswered
                    tokio::select! {
                        ended = conn.as_mut() => ended,
                        () = asked.wait(FIRST_REQUEST_WAIT) => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    }
                }
            };
            if let Err(err) = ended {
                tracing::trace!(error = %err, "connection ended");
            }
            drop(permit);
        });
    }
    drop(backlog);
    stop.send_replace(true);
    connections.close();
    let drained = async {
        // Streams end last, so that what the requests still running post reaches
        // them first: their clients resume elsewhere after the last id they saw.
        loop {
            let streams = state.metrics.stream_clients.get();
            if i64::try_from(connections.len()).is_ok_and(|open| open <= streams) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if state.db.backend() == crate::db::Backend::Postgres {
            // the notifier's last round trip, through PostgreSQL and back
            tokio::time::sleep(NOTIFY_SETTLE).await;
        }
        // open streams would keep the server waiting for their clients
        state.live.close();
        connections.wait().await;
    };
    if tokio::time::timeout(settings.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?settings.shutdown_timeout,
            "requests still running at shutdown were cut off"
        );
    }
    Ok(())
}

/// At shutdown, how long new messages get to reach this instance's streams.
const NOTIFY_SETTLE: std::time::Duration = std::time::Duration::from_millis(200);

/// At shutdown, how long a connection that has sent no request yet gets to send one.
const FIRST_REQUEST_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a connection has sent a request (one atomic load per request after that).
#[derive(Default)]
struct FirstRequest {
    seen: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl FirstRequest {
    fn seen(&self) {
        use std::sync::atomic::Ordering;
        if !self.seen.load(Ordering::Relaxed) {
            self.seen.store(true, Ordering::Release);
            self.notify.notify_waiters();
        }
    }

    /// Until the first request has come, or `limit`.
    async fn wait(&self, limit: std::time::Duration) {
        let notified = self.notify.notified();
        if self.seen.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(limit, notified).await;
    }
}

/// The next connection, once one of the `permits` is free; `None` when accepting
/// failed (out of file descriptors, say): after a pause, the caller tries again.
async fn accept(
    listener: &tokio::net::TcpListener,
    permits: &Arc<tokio::sync::Semaphore>,
) -> Option<(
    tokio::net::TcpStream,
    std::net::SocketAddr,
    Option<tokio::sync::OwnedSemaphorePermit>,
)> {
    let permit = permits.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((tcp, peer)) => Some((tcp, peer, Some(permit))),
        Err(err) => {
            tracing::warn!(error = %err, "cannot accept a connection");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            None
        }
    }
}

/// TCP_USER_TIMEOUT: the kernel drops a connection whose peer has taken none of its
/// data for this long, so a client that stopped reading a stream is let go.
fn set_send_timeout(tcp: &tokio::net::TcpStream, timeout: std::time::Duration) {
    #[cfg(target_os = "linux")]
    if !timeout.is_zero() {
        if let Err(err) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(timeout)) {
            tracing::debug!(error = %err, "cannot set TCP_USER_TIMEOUT");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (tcp, timeout);
}
