//! A live feed of new rows (the messages behind `/api/messages/stream`): a
//! broadcast of server-sent events, each serialized once for every client. On
//! SQLite the posting process feeds it. On PostgreSQL every new row is NOTIFYd, and
//! each instance's one listener turns the notifications into events, so every
//! instance sharing the database sees every row. Hearth's inserts are announced
//! after their commit by the instance's notifier; inserts from elsewhere by a
//! trigger on the table. What a row is, and how it reads, is the [`Source`]'s: the
//! hub knows only ids and events.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_postgres::AsyncMessage;

use crate::config::Settings;
use crate::db::{Backend, Conn, Db, PgUrl};
use crate::error::ApiError;

mod notifier;
use notifier::Notifier;

/// Rows read at a time when the listener catches up.
const PAGE: i64 = 1000;
/// How far below the newest id it sent the listener looks again after a reconnect:
/// inserts can commit out of id order.
const WINDOW: i64 = 1000;
/// Notifications turned into events with one query.
const BATCH: usize = 256;
/// How long a new client waits for a starting listener.
const READY_WAIT: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A new row, ready to send.
#[derive(Debug)]
pub struct Live {
    pub id: i64,
    kind: &'static str,
    data: String,
    event: Event,
}

impl Live {
    /// An event named `kind` with the row serialized as its data; `None` (logged)
    /// when it does not serialize.
    pub fn new(kind: &'static str, id: i64, row: &impl serde::Serialize) -> Option<Arc<Self>> {
        match serde_json::to_string(row) {
            Ok(data) => Some(Arc::new(Self {
                id,
                kind,
                event: Event::default().event(kind).id(id.to_string()).data(&data),
                data,
            })),
            Err(err) => {
                tracing::error!(id, kind, error = %err, "cannot serialize a row for the stream");
                None
            }
        }
    }

    /// The event with `cursor` as its SSE id, the id a client resumes after.
    /// PostgreSQL's ids can commit out of order: a row that arrives after a newer
    /// one carries the newer id, so that `Last-Event-ID` never moves back and a
    /// resumed client is not sent the newer row again.
    pub fn event(&self, cursor: i64) -> Event {
        if cursor <= self.id {
            return self.event.clone();
        }
        Event::default()
            .event(self.kind)
            .id(cursor.to_string())
            .data(&self.data)
    }
}

/// Rows read by id, each with its event (`None` when it did not serialize).
pub type Rows = Vec<(i64, Option<Arc<Live>>)>;

/// Where the feed's rows come from: a table whose inserts are NOTIFYd on `channel`
/// (PostgreSQL), and how to read them.
#[derive(Clone, Copy)]
pub struct Source {
    pub channel: &'static str,
    /// The newest id, 0 when there is none.
    pub last_id: fn(&mut Conn) -> Result<i64, ApiError>,
    /// The rows among these ids that exist, oldest first.
    pub by_ids: fn(&mut Conn, &[i64]) -> Result<Rows, ApiError>,
    /// Up to `limit` rows with an id above `after`, oldest first.
    pub after: fn(&mut Conn, i64, i64) -> Result<Rows, ApiError>,
}

/// A client's view of the feed: new messages, and the server's shutdown.
pub struct Subscription {
    pub feed: broadcast::Receiver<Arc<Live>>,
    pub closing: watch::Receiver<bool>,
}

#[derive(Clone)]
pub struct Hub {
    feed: broadcast::Sender<Arc<Live>>,
    /// Dropped with the last `Hub`, which also stops the listener.
    closing: Arc<watch::Sender<bool>>,
    /// Whether the feed is complete from here on: the listener knows where it starts.
    ready: watch::Receiver<bool>,
    /// Ids of messages this instance inserted, for the notifier (PostgreSQL).
    outbox: Option<mpsc::UnboundedSender<i64>>,
}

impl Hub {
    /// On PostgreSQL this spawns the listener, so it needs a Tokio runtime.
    pub fn start(db: &Db, settings: &Settings, source: Source) -> Self {
        let (feed, _) = broadcast::channel(settings.stream_buffer);
        let (closing, _) = watch::channel(false);
        let (ready_tx, ready) = watch::channel(db.backend() == Backend::Sqlite);
        let mut outbox = None;
        if let Some(pg) = db.pg().cloned().map(Arc::new) {
            let (tx, rx) = mpsc::unbounded_channel();
            outbox = Some(tx);
            let notifier = Notifier {
                channel: source.channel,
                outbox: rx,
                pending: Vec::new(),
            };
            tokio::spawn(notifier.run(pg.clone(), closing.subscribe()));
            let listener = Listener {
                source,
                db: db.clone(),
                feed: feed.clone(),
                ready: ready_tx,
                mark: None,
                sent: BTreeSet::new(),
            };
            tokio::spawn(listener.run(pg.clone(), closing.subscribe()));
        }
        Self {
            feed,
            closing: Arc::new(closing),
            ready,
            outbox,
        }
    }

    /// Every message committed after this returns reaches the subscription (unless
    /// it falls too far behind). 503 while a just-started listener cannot tell.
    pub async fn subscribe(&self) -> Result<Subscription, ApiError> {
        let mut ready = self.ready.clone();
        let started = tokio::time::timeout(READY_WAIT, ready.wait_for(|ready| *ready))
            .await
            .is_ok_and(|r| r.is_ok());
        if !started {
            return Err(ApiError::Unavailable(anyhow::anyhow!(
                "the message listener has not started"
            )));
        }
        Ok(Subscription {
            feed: self.feed.subscribe(),
            closing: self.closing.subscribe(),
        })
    }

    /// Makes a row just committed live; `event` is asked for only when some
    /// client of this process listens. Never waits, for clients or for PostgreSQL;
    /// called in commit order (`Db::run_then`).
    pub fn publish(&self, id: i64, event: impl FnOnce() -> Option<Arc<Live>>) {
        // PostgreSQL: every instance's listener hears of it from the notifier, this one's too
        if let Some(outbox) = &self.outbox {
            let _ = outbox.send(id);
        } else if self.feed.receiver_count() > 0 {
            if let Some(live) = event() {
                let _ = self.feed.send(live);
            }
        }
    }

    /// Ends every stream, so a graceful shutdown does not wait for their clients.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One per instance on PostgreSQL: LISTENs, loads each notified row once, and
/// broadcasts it to the local clients.
struct Listener {
    source: Source,
    db: Db,
    feed: broadcast::Sender<Arc<Live>>,
    ready: watch::Sender<bool>,
    /// The newest id before the first LISTEN: anything above it is news.
    mark: Option<i64>,
    /// Ids handled lately, so a message met twice (notified and caught up) goes
    /// out once.
    sent: BTreeSet<i64>,
}

impl Listener {
    async fn run(mut self, url: Arc<PgUrl>, mut closing: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let outcome = tokio::select! {
                _ = closing.wait_for(|closing| *closing) => return,
                outcome = self.session(&url, &mut backoff) => outcome,
            };
            if let Err(err) = outcome {
                tracing::warn!(error = %err, retry_in = ?backoff, "the live feed lost PostgreSQL");
            }
            if !wait_to_retry(&mut closing, &mut backoff).await {
                return;
            }
        }
    }

    /// Listens until the connection fails.
    async fn session(&mut self, url: &PgUrl, backoff: &mut Duration) -> anyhow::Result<()> {
        if self.mark.is_none() {
            self.mark = Some(self.db.read(self.source.last_id).await?);
            // from here the first catch-up covers whatever LISTEN misses
            self.ready.send_replace(true);
        }
        let (client, mut connection) = url.connect("hearth-listener").await?;
        let (tx, mut notes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let note = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                match note {
                    // one id (the trigger) or several, comma-separated (a notifier)
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        for id in n.payload().split(',').filter_map(|id| id.parse().ok()) {
                            if tx.send(Ok(id)).is_err() {
                                return;
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => {
                        let _ = tx.send(Err(err));
                        return;
                    }
                    None => return,
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {}", self.source.channel))
            .await?;
        *backoff = MIN_BACKOFF;
        self.catch_up().await?;
        while let Some(first) = notes.recv().await {
            let mut ids = vec![first?];
            while ids.len() < BATCH {
                match notes.try_recv() {
                    Ok(id) => ids.push(id?),
                    Err(_) => break,
                }
            }
            ids.retain(|id| !self.sent.contains(id));
            if ids.is_empty() {
                continue;
            }
            if self.feed.receiver_count() == 0 {
                // nobody to tell; whoever connects later replays from the database
                self.sent.extend(ids);
                self.trim();
                continue;
            }
            let by_ids = self.source.by_ids;
            let rows = self.db.read(move |conn| by_ids(conn, &ids)).await?;
            self.send(rows);
        }
        anyhow::bail!("the LISTEN connection closed")
    }

    /// Sends what was posted while nobody listened.
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        let mark = self.mark.unwrap_or_default();
        let mut after = self
            .sent
            .last()
            .map_or(mark, |last| mark.max(last - WINDOW));
        loop {
            let read = self.source.after;
            let rows = self.db.read(move |conn| read(conn, after, PAGE)).await?;
            let full = i64::try_from(rows.len()).is_ok_and(|n| n == PAGE);
            let Some(last) = rows.last().map(|(id, _)| *id) else {
                return Ok(());
            };
            after = last;
            self.send(rows);
            if !full {
                return Ok(());
            }
        }
    }

    fn send(&mut self, rows: Rows) {
        for (id, live) in rows {
            if self.sent.insert(id) {
                if let Some(live) = live {
                    let _ = self.feed.send(live);
                }
            }
        }
        self.trim();
    }

    fn trim(&mut self) {
        if let Some(&last) = self.sent.last() {
            self.sent = self.sent.split_off(&(last - WINDOW));
        }
    }
}

/// Sleeps `backoff` and doubles it (up to `MAX_BACKOFF`); false when the server
/// closes meanwhile.
async fn wait_to_retry(closing: &mut watch::Receiver<bool>, backoff: &mut Duration) -> bool {
    let slept = tokio::select! {
        _ = closing.wait_for(|closing| *closing) => false,
        () = tokio::time::sleep(*backoff) => true,
    };
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    slept
}
