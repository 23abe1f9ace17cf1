//! The live feed behind `/api/messages/stream`: a broadcast of new messages, each
//! serialized once for every client. On SQLite the posting process feeds it. On
//! PostgreSQL every new message is NOTIFYd, and each instance's one listener turns
//! the notifications into events, so every instance sharing the database sees every
//! message. Hearth's inserts are announced after their commit by the instance's
//! notifier; inserts from elsewhere by a trigger on the table.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::payload::MessageOut;
use super::queries::{self, Message};
use crate::config::Settings;
use crate::db::{Backend, Conn, Db};
use crate::error::ApiError;

pub const CHANNEL: &str = "hearth_messages";

/// Rows read at a time when the listener catches up.
const PAGE: i64 = 1000;
/// How far below the newest id it sent the listener looks again after a reconnect:
/// inserts can commit out of id order.
const WINDOW: i64 = 1000;
/// Notifications turned into events with one query.
const BATCH: usize = 256;
/// Most bytes of ids in one notification (PostgreSQL's limit is 8000).
const PAYLOAD: usize = 7900;
/// How long a new client waits for a starting listener.
const READY_WAIT: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A new message, ready to send.
#[derive(Debug)]
pub struct Live {
    pub id: i64,
    pub event: Event,
}

impl Live {
    pub fn new(message: Message) -> Option<Arc<Self>> {
        let id = message.id;
        match serde_json::to_string(&MessageOut::from(message)) {
            Ok(data) => Some(Arc::new(Self {
                id,
                event: Event::default()
                    .event("message")
                    .id(id.to_string())
                    .data(data),
            })),
            Err(err) => {
                tracing::error!(id, error = %err, "cannot serialize a message for the stream");
                None
            }
        }
    }
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
    pub fn start(db: &Db, settings: &Settings) -> Self {
        let (feed, _) = broadcast::channel(settings.stream_buffer);
        let (closing, _) = watch::channel(false);
        let (ready_tx, ready) = watch::channel(db.backend() == Backend::Sqlite);
        let mut outbox = None;
        if db.backend() == Backend::Postgres {
            let (tx, rx) = mpsc::unbounded_channel();
            outbox = Some(tx);
            let notifier = Notifier {
                outbox: rx,
                pending: Vec::new(),
            };
            tokio::spawn(notifier.run(settings.database_url.clone(), closing.subscribe()));
            let listener = Listener {
                db: db.clone(),
                feed: feed.clone(),
                ready: ready_tx,
                mark: None,
                sent: BTreeSet::new(),
            };
            tokio::spawn(listener.run(settings.database_url.clone(), closing.subscribe()));
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

    /// Makes a message just inserted (and committed) on `conn` live. Never waits,
    /// for clients or for PostgreSQL.
    pub fn publish(&self, conn: &mut Conn, message: &Message) {
        match conn {
            // every instance's listener hears of it from the notifier, this one's too
            Conn::Pg(_) => {
                if let Some(outbox) = &self.outbox {
                    let _ = outbox.send(message.id);
                }
            }
            Conn::Sqlite(_) => {
                if self.feed.receiver_count() > 0 {
                    if let Some(live) = Live::new(message.clone()) {
                        let _ = self.feed.send(live);
                    }
                }
            }
        }
    }

    /// Ends every stream, so a graceful shutdown does not wait for their clients.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One per instance on PostgreSQL: LISTENs, loads each notified message once, and
/// broadcasts it to the local clients.
struct Listener {
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
    async fn run(mut self, url: String, mut closing: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let outcome = tokio::select! {
                _ = closing.wait_for(|closing| *closing) => return,
                outcome = self.session(&url, &mut backoff) => outcome,
            };
            if let Err(err) = outcome {
                tracing::warn!(error = %err, retry_in = ?backoff, "the message stream lost PostgreSQL");
            }
            if !wait_to_retry(&mut closing, &mut backoff).await {
                return;
            }
        }
    }

    /// Listens until the connection fails.
    async fn session(&mut self, url: &str, backoff: &mut Duration) -> anyhow::Result<()> {
        if self.mark.is_none() {
            self.mark = Some(self.db.read(queries::last_id).await?);
            // from here the first catch-up covers whatever LISTEN misses
            self.ready.send_replace(true);
        }
        let (client, mut connection) = crate::db::pg_config(url, "hearth-listener")?
            .connect(NoTls)
            .await?;
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
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
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
            let rows = self
                .db
                .read(move |conn| queries::find_many(conn, &ids))
                .await?;
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
            let rows = self
                .db
                .read(move |conn| queries::list_after(conn, after, PAGE))
                .await?;
            let full = i64::try_from(rows.len()).is_ok_and(|n| n == PAGE);
            let Some(last) = rows.last().map(|m| m.id) else {
                return Ok(());
            };
            after = last;
            self.send(rows);
            if !full {
                return Ok(());
            }
        }
    }

    fn send(&mut self, rows: Vec<Message>) {
        for message in rows {
            if self.sent.insert(message.id) {
                if let Some(live) = Live::new(message) {
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

/// One per instance on PostgreSQL: NOTIFYs the ids of the messages this instance
/// inserted, after their commit, as many to a notification as have come in since
/// the last. A NOTIFY serializes commits database-wide until its own commit is on
/// disk; here that is one short commit per batch, which does not wait for the disk
/// (`synchronous_commit = off`: a notification lost in a crash is news to no one).
struct Notifier {
    outbox: mpsc::UnboundedReceiver<i64>,
    /// Ids taken from the outbox and not yet sent; kept across reconnects.
    pending: Vec<i64>,
}

impl Notifier {
    async fn run(mut self, url: String, mut closing: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            // not stopped by `closing`: requests still finishing may post
            match self.session(&url, &mut backoff).await {
                // the hub is gone
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "the message notifier lost PostgreSQL");
                }
            }
            if !wait_to_retry(&mut closing, &mut backoff).await {
                return;
            }
        }
    }

    /// Notifies until the connection fails or the outbox closes.
    async fn session(&mut self, url: &str, backoff: &mut Duration) -> anyhow::Result<()> {
        let (client, connection) = crate::db::pg_config(url, "hearth-notifier")?
            .connect(NoTls)
            .await?;
        let driver = tokio::spawn(connection);
        let outcome = async {
            client.batch_execute("SET synchronous_commit = off").await?;
            let notify = client.prepare("SELECT pg_notify($1, $2)").await?;
            *backoff = MIN_BACKOFF;
            loop {
                if self.pending.is_empty() {
                    match self.outbox.recv().await {
                        Some(id) => self.pending.push(id),
                        None => return Ok(()),
                    }
                }
                while let Ok(id) = self.outbox.try_recv() {
                    self.pending.push(id);
                }
                let (payload, taken) = payload(&self.pending);
                client.execute(&notify, &[&CHANNEL, &payload]).await?;
                self.pending.drain(..taken);
            }
        }
        .await;
        driver.abort();
        outcome
    }
}

/// The first ids of `ids` that fit in one notification, comma-separated, and how
/// many that is.
fn payload(ids: &[i64]) -> (String, usize) {
    let mut payload = String::new();
    let mut taken = 0;
    for id in ids {
        let id = id.to_string();
        if !payload.is_empty() && payload.len() + 1 + id.len() > PAYLOAD {
            break;
        }
        if !payload.is_empty() {
            payload.push(',');
        }
        payload.push_str(&id);
        taken += 1;
    }
    (payload, taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_holds_as_many_ids_as_fit() {
        assert_eq!(payload(&[7]), ("7".to_owned(), 1));
        assert_eq!(payload(&[1, 22, 333]), ("1,22,333".to_owned(), 3));
        let many: Vec<i64> = (1_000_000_000..1_000_010_000).collect();
        let (text, taken) = payload(&many);
        assert!(text.len() <= PAYLOAD, "{}", text.len());
        assert_eq!(taken, (PAYLOAD + 1) / 11);
        assert_eq!(text.split(',').count(), taken);
        let (rest, _) = payload(&many[taken..]);
        assert!(rest.starts_with(&many[taken].to_string()));
    }
}
