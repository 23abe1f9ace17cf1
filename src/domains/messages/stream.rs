//! `GET /api/messages/stream`: new messages as server-sent events, after a replay
//! of those past `Last-Event-ID`. The client subscribes before the replay is read,
//! so nothing posted in between is lost, and a live message that was also
//! replayed is sent once. A stream lasts as long as the login that opened it:
//! it is checked again with every heartbeat, and the stream ends when the token
//! that opened it expires.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use super::queries;
use super::ticket::{self, Hold};
use crate::auth::MaybeUser;
use crate::db::Db;
use crate::error::ApiError;
use crate::live::Subscription;
use crate::observe::Metrics;
use crate::state::AppState;

/// Messages replayed at most; past that the stream ends after them and the client
/// resumes from the last one.
const REPLAY_LIMIT: usize = 1000;
/// How soon `EventSource` reconnects after the stream ends.
const RETRY: Duration = Duration::from_secs(1);

/// New messages as server-sent events: `event: message`, `id:` the message id
/// (never lower than an id already sent: see [`crate::live::Live::event`]),
/// `data:` the message as the list shows it. A client that falls too far behind is
/// disconnected and resumes with `Last-Event-ID`.
/// One event of the stream as a client's parser hands it over; `data` is the
/// message as JSON, as `GET /api/messages/{id}` answers it.
#[derive(utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "describes the wire format for the OpenAPI document"
)]
pub struct StreamEvent {
    #[schema(example = "message")]
    event: String,
    /// The message id, for `Last-Event-ID`; never lower than one sent before on
    /// the same stream (a message that commits after a newer one carries the newer id).
    id: String,
    data: String,
}

#[utoipa::path(
    get, path = "/api/messages/stream", tag = "messages",
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "Replay the messages after this id first"),
        ("last_event_id" = Option<i64>, Query, description = "The same, where the header cannot be set"),
        ("ticket" = Option<String>, Query, description = "A ticket from `POST /api/messages/stream/ticket`, where no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "A stream of `message` events and comment heartbeats, until the login that opened it ends",
            content_type = "text/event-stream", body = StreamEvent),
        (status = 401, description = "Not authenticated, or the ticket is unknown, used or expired"),
    ),
    security(("jwt" = []), ("token" = []), ("session" = [])),
)]
pub async fn stream(
    caller: MaybeUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let hold = match query_value(&uri, "ticket") {
        Some(key) => {
            let key_hash = state.keys.lookup_hash(&key);
            state
                .db
                .run(move |conn| match ticket::redeem(conn, key_hash)? {
                    Some(hold) if hold.stands(conn)? => Ok(Some(hold)),
                    _ => Ok(None),
                })
                .await?
                .ok_or_else(|| {
                    ApiError::AuthFailed(serde_json::json!({
                        "detail": "Invalid or expired stream ticket.",
                        "code": "ticket_not_valid",
                    }))
                })?
        }
        None => {
            let auth = caller.0.ok_or(ApiError::NotAuthenticated)?;
            Hold::of(&auth, &headers, &state)
        }
    };
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
    let after = after.unwrap_or(i64::MIN);
    let cursor = replay.last().map_or(after, |m| m.id);
    let mut pending = VecDeque::with_capacity(replay.len() + 1);
    pending.push_back(Event::default().retry(RETRY));
    pending.extend(
        replay
            .into_iter()
            .filter_map(|m| super::feed::event(&m))
            .map(|l| l.event(l.id)),
    );
    let heartbeat = state.settings.stream_heartbeat;
    let client = Client {
        pending,
        hold,
        db: state.db.clone(),
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat),
        live: (!capped).then_some(live),
        replayed,
        after,
        cursor,
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
    query_value(uri, "last_event_id").and_then(|value| value.trim().parse().ok())
}

fn query_value(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
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
    /// The highest id sent, the SSE id of every event from here on.
    cursor: i64,
    /// The login that opened the stream, checked on every `recheck` tick.
    hold: Hold,
    db: Db,
    recheck: tokio::time::Interval,
    _connected: Connected,
}

impl Client {
    async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        let live = self.live.as_mut()?;
        let until = self.hold.until.map(deadline);
        loop {
            let due = tokio::select! {
                biased;
                _ = live.closing.wait_for(|closing| *closing) => return None,
                () = sleep_until(until) => return None,
                _ = self.recheck.tick() => true,
                received = live.feed.recv() => match received {
                    Ok(message) => {
                        if message.id > self.after && !self.replayed.remove(&message.id) {
                            self.cursor = self.cursor.max(message.id);
                            return Some(message.event(self.cursor));
                        }
                        false
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "a stream client fell behind; disconnecting it");
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            if due {
                let hold = self.hold.clone();
                match self.db.read(move |conn| hold.stands(conn)).await {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot check a stream's login; ending the stream");
                        return None;
                    }
                }
            }
        }
    }
}

/// The instant a Unix time falls at, on tokio's clock.
fn deadline(unix: i64) -> tokio::time::Instant {
    let left = unix.saturating_sub(chrono::Utc::now().timestamp());
    tokio::time::Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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
