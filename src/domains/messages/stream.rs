//! `GET /api/messages/stream`: new messages as server-sent events, after a replay
//! of those past `Last-Event-ID`. The client subscribes before the replay is read,
//! so nothing posted in between is lost, and a live message that was also
//! replayed is sent once.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use super::live::{Live, Subscription};
use super::queries;
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::telemetry::Metrics;

/// Messages replayed at most; past that the stream ends after them and the client
/// resumes from the last one.
const REPLAY_LIMIT: usize = 1000;
/// How soon `EventSource` reconnects after the stream ends.
const RETRY: Duration = Duration::from_secs(1);

/// New messages as server-sent events: `event: message`, `id:` the message id,
/// `data:` the message as the list shows it. A client that falls too far behind is
/// disconnected and resumes with `Last-Event-ID`.
#[utoipa::path(
    get, path = "/api/messages/stream", tag = "messages",
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "Replay the messages after this id first"),
        ("last_event_id" = Option<i64>, Query, description = "The same, where the header cannot be set"),
    ),
    responses(
        (status = 200, description = "An endless stream of `message` events and comment heartbeats",
            content_type = "text/event-stream", body = String),
        (status = 401, description = "Not authenticated"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn stream(
    _user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let connected = Connected::new(state.metrics.clone());
    let live = state.live.subscribe().await?;
    let after = last_event_id(&headers, &uri);
    let mut replay = match after {
        Some(after) => {
            let limit = i64::try_from(REPLAY_LIMIT + 1).unwrap_or(i64::MAX);
            state
                .db
                .read(move |conn| queries::list_after(conn, after, limit))
                .await?
        }
        None => Vec::new(),
    };
    let capped = replay.len() > REPLAY_LIMIT;
    replay.truncate(REPLAY_LIMIT);
    let replayed = replay.iter().map(|m| m.id).collect();
    let mut pending = VecDeque::with_capacity(replay.len() + 1);
    pending.push_back(Event::default().retry(RETRY));
    pending.extend(
        replay
            .into_iter()
            .filter_map(Live::new)
            .map(|l| l.event.clone()),
    );
    let client = Client {
        pending,
        live: (!capped).then_some(live),
        replayed,
        after: after.unwrap_or(i64::MIN),
        _connected: connected,
    };
    let events = futures_util::stream::unfold(client, |mut client| async move {
        let event = client.next().await?;
        Some((Ok::<_, Infallible>(event), client))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.settings.stream_heartbeat))
        .into_response();
    // nginx would otherwise hold events back to fill its buffer
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The header, else the query parameter; anything unreadable means no replay.
fn last_event_id(headers: &HeaderMap, uri: &Uri) -> Option<i64> {
    if let Some(value) = headers.get("last-event-id") {
        return value.to_str().ok()?.trim().parse().ok();
    }
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == "last_event_id")
        .and_then(|(_, value)| value.trim().parse().ok())
}

struct Client {
    /// Sent first: the retry delay and the replay.
    pending: VecDeque<Event>,
    /// `None` after a capped replay.
    live: Option<Subscription>,
    /// Replayed ids, each dropped from here when it comes by live.
    replayed: HashSet<i64>,
    /// The client's `Last-Event-ID`: a message at or below it that is notified
    /// late (posted before the client connected) is not news to it.
    after: i64,
    _connected: Connected,
}

impl Client {
    async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        let live = self.live.as_mut()?;
        loop {
            tokio::select! {
                biased;
                _ = live.closing.wait_for(|closing| *closing) => return None,
                received = live.feed.recv() => match received {
                    Ok(message) => {
                        if message.id > self.after && !self.replayed.remove(&message.id) {
                            return Some(message.event.clone());
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "a stream client fell behind; disconnecting it");
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Counts an open stream in the `stream_clients` gauge for as long as it lives.
struct Connected(Arc<Metrics>);

impl Connected {
    fn new(metrics: Arc<Metrics>) -> Self {
        metrics.stream_clients.inc();
        Self(metrics)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.stream_clients.dec();
    }
}
