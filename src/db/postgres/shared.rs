//! PostgreSQL reads on a few connections that every request shares.
//!
//! A pooled connection serves one request at a time from a blocking thread: the
//! request hops to that thread and back, and PostgreSQL wakes up once per query.
//! Here the queries of all requests go out on one of `CONNECTIONS` connections
//! driven on the async threads (diesel-async over tokio-postgres): whatever
//! arrives meanwhile is written in one go and PostgreSQL answers it in one go. On
//! two cores that served a song 1.6x and the lists 1.2x as fast as the pooled,
//! blocking way (alternating runs).
//!
//! Only single statements run here, never a transaction. A query that fails is
//! run again the pooled way, which says what went wrong, and its connection is
//! opened afresh; until then its share of the reads goes the pooled way too.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection as _};

use super::PgUrl;

/// With PostgreSQL on another machine, two: PostgreSQL runs each connection's
/// queries one after another, on one core. On this machine, see [`Shared::new`].
const CONNECTIONS: usize = 2;
/// Before trying again to open a connection that could not be opened.
const RETRY: Duration = Duration::from_secs(1);

pub type SharedConn = Arc<AsyncPgConnection>;

pub struct Shared {
    url: PgUrl,
    slots: Vec<Mutex<Slot>>,
    next: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    conn: Option<SharedConn>,
    opening: bool,
}

/// Which connection a query ran on, to replace that one and no other when it failed.
pub struct Ticket {
    slot: usize,
    conn: SharedConn,
}

impl Shared {
    /// When PostgreSQL runs on this machine its readers get half the cores, as
    /// Hearth's own threads do (`cli::serve`): one reader on two cores carried
    /// 9-11 % more lists a second than two, whose queries took turns with
    /// Hearth's threads for the same cores, and its p99 fell from 14.0 to 12.2 ms.
    pub fn new(url: PgUrl) -> Arc<Self> {
        let connections = if url.on_this_machine() {
            crate::db::half_the_cores()
        } else {
            CONNECTIONS
        };
        Arc::new(Self {
            url,
            slots: (0..connections).map(|_| Mutex::default()).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// The next connection, if it is open; otherwise it starts opening it.
    pub fn take(self: &Arc<Self>) -> Option<Ticket> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let state = self.slots[slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = &state.conn {
            return Some(Ticket {
                slot,
                conn: conn.clone(),
            });
        }
        drop(state);
        if self.begin_opening(slot) {
            tokio::spawn(self.clone().open(slot));
        }
        None
    }

    /// How many connections the reads share.
    pub fn connections(&self) -> usize {
        self.slots.len()
    }

    /// Opens every connection now, so that the first reads share too.
    pub async fn open_all(self: &Arc<Self>) {
        let opening = (0..self.slots.len())
            .filter(|&slot| self.begin_opening(slot))
            .map(|slot| self.clone().open(slot));
        futures_util::future::join_all(opening).await;
    }

    /// True when the slot has no connection and none is being opened: the caller
    /// is to open it.
    fn begin_opening(&self, slot: usize) -> bool {
        let mut state = self.slots[slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let begin = state.conn.is_none() && !state.opening;
        state.opening |= begin;
        begin
    }

    /// Runs `query` on the ticket's connection; on failure the connection is
    /// replaced and `None` says to run the read the pooled way.
    pub async fn run<R, Fut>(
        self: &Arc<Self>,
        ticket: Ticket,
        query: impl FnOnce(SharedConn) -> Fut,
    ) -> Option<R>
    where
        Fut: Future<Output = QueryResult<R>>,
    {
        match query(ticket.conn.clone()).await {
            Ok(rows) => Some(rows),
            Err(err) => {
                tracing::debug!(error = %err, "a read on a shared connection failed");
                self.drop_conn(&ticket);
                None
            }
        }
    }

    fn drop_conn(&self, ticket: &Ticket) {
        let mut state = self.slots[ticket.slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let same = state
            .conn
            .as_ref()
            .is_some_and(|conn| Arc::ptr_eq(conn, &ticket.conn));
        if same {
            tracing::warn!("lost a shared PostgreSQL connection; opening another");
            state.conn = None;
        }
    }

    async fn open(self: Arc<Self>, slot: usize) {
        let opened = connect(&self.url).await;
        if let Err(err) = &opened {
            tracing::warn!(error = %err, "cannot open a shared PostgreSQL connection");
            tokio::time::sleep(RETRY).await;
        }
        let mut state = self.slots[slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.opening = false;
        state.conn = opened.ok().map(Arc::new);
    }
}

async fn connect(url: &PgUrl) -> anyhow::Result<AsyncPgConnection> {
    let (client, connection) = url.connect("hearth-reader").await?;
    let mut conn = AsyncPgConnection::try_from_client_and_connection(client, connection).await?;
    conn.batch_execute(&crate::db::pool::pg_session(url.timeout))
        .await?;
    Ok(conn)
}
