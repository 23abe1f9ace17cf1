//! PostgreSQL: inserts into one table that arrive together go out as one
//! multi-row `INSERT`: one statement, one run of the table's counting trigger and
//! one commit for the lot, where each insert on its own paid all three. That
//! work, not Hearth's, held the writes at 10x the reference: PostgreSQL spent a
//! whole core on them.
//!
//! No thread waits for work: the first insert that finds fewer than `RUNNERS`
//! batches under way starts a task that sends whatever has queued, again and
//! again, and ends when nothing is left. Each insert is answered only after its
//! statement, and so its commit, succeeded. When the statement fails on a row's
//! data (a foreign key, say), each row is tried on its own, so that one bad row
//! fails alone. SQLite needs none of this: its writer thread already commits the
//! writes that queue up together (`writer`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::{Conn, Db};
use crate::error::ApiError;

/// A table's insert, for rows of one shape.
pub trait Inserts: 'static {
    type Row: Send + 'static;
    type Out: Send + 'static;
    /// Inserts `rows` in one statement; what each became, in the rows' order.
    fn insert(conn: &mut Conn, rows: &[Self::Row]) -> Result<Vec<Self::Out>, ApiError>;

    /// Inserts one row, in a write of the caller's own (the admin's, say).
    fn insert_one(conn: &mut Conn, row: &Self::Row) -> Result<Self::Out, ApiError> {
        Self::insert(conn, std::slice::from_ref(row))?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("an insert returned no row")))
    }
}

/// Batches under way at once per table: while one waits on its commit, the next
/// gathers. More would each be smaller and take connections from the pool.
const RUNNERS: usize = 2;
/// The most rows of one statement.
const MAX_BATCH: usize = 128;

/// The queues, one per [`Inserts`] type, made at the first insert.
#[derive(Default)]
pub(super) struct Batches(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

struct Queue<I: Inserts> {
    state: Mutex<State<I>>,
}

struct State<I: Inserts> {
    waiting: Vec<Job<I>>,
    running: usize,
}

/// What runs once a row is stored.
type Committed<T> = Box<dyn FnOnce(&T) + Send>;

struct Job<I: Inserts> {
    row: I::Row,
    committed: Committed<I::Out>,
    reply: oneshot::Sender<Result<I::Out, ApiError>>,
}

impl Batches {
    fn queue<I: Inserts>(&self) -> Arc<Queue<I>> {
        let mut queues = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queues.entry(TypeId::of::<I>()).or_insert_with(|| {
            Arc::new(Queue::<I> {
                state: Mutex::new(State {
                    waiting: Vec::new(),
                    running: 0,
                }),
            })
        });
        Arc::clone(queue)
            .downcast()
            .unwrap_or_else(|_| unreachable!("one queue per type"))
    }
}

impl Db {
    /// Inserts `row` with `I`, then `committed` with what it became once it is
    /// stored. On PostgreSQL it goes out with the other rows of `I` that are
    /// waiting; on SQLite it is one write of the writer's transaction.
    pub async fn insert<I, C>(&self, row: I::Row, committed: C) -> Result<I::Out, ApiError>
    where
        I: Inserts,
        C: FnOnce(&I::Out) + Send + 'static,
    {
        let Some(batches) = &self.batches else {
            return self
                .run_then(move |conn| I::insert_one(conn, &row), committed)
                .await;
        };
        let queue = batches.queue::<I>();
        let (reply, answer) = oneshot::channel();
        let job = Job {
            row,
            committed: Box::new(committed),
            reply,
        };
        let start = {
            let mut state = queue.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.waiting.push(job);
            let start = state.running < RUNNERS;
            if start {
                state.running += 1;
            }
            start
        };
        if start {
            tokio::spawn(drain(self.clone(), queue));
        }
        self.bounded(async {
            answer.await.map_err(|_| {
                ApiError::Internal(anyhow::anyhow!("an insert's batch ended without it"))
            })?
        })
        .await
    }
}

/// Sends batches until none is waiting. Holds the database only while it runs.
async fn drain<I: Inserts>(db: Db, queue: Arc<Queue<I>>) {
    loop {
        let jobs: Vec<Job<I>> = {
            let mut state = queue.state.lock().unwrap_or_else(PoisonError::into_inner);
            // a request that gave up (its client left, or it timed out) is not written
            state.waiting.retain(|job| !job.reply.is_closed());
            if state.waiting.is_empty() {
                state.running -= 1;
                return;
            }
            let n = state.waiting.len().min(MAX_BATCH);
            state.waiting.drain(..n).collect()
        };
        let (rows, waiters): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|job| (job.row, (job.committed, job.reply)))
            .unzip();
        let results = match db.pooled(move |conn| Ok(run::<I>(conn, rows))).await {
            Ok(results) => results,
            Err(err) => waiters.iter().map(|_| Err(again(&err))).collect(),
        };
        for ((committed, reply), result) in waiters.into_iter().zip(results) {
            if let Ok(out) = &result {
                // a runner that unwound would leave its place taken for good
                let announced = std::panic::catch_unwind(AssertUnwindSafe(|| committed(out)));
                if announced.is_err() {
                    tracing::error!("announcing a stored row failed");
                }
            }
            // the request may have gone: nobody to tell
            let _ = reply.send(result);
        }
    }
}

/// Every row's own result: all in one statement, or, when that failed on the
/// data, one by one.
fn run<I: Inserts>(conn: &mut Conn, rows: Vec<I::Row>) -> Vec<Result<I::Out, ApiError>> {
    match I::insert(conn, &rows) {
        Ok(outs) if outs.len() == rows.len() => outs.into_iter().map(Ok).collect(),
        Ok(outs) => {
            let err = ApiError::Internal(anyhow::anyhow!(
                "{} rows inserted, {} returned",
                rows.len(),
                outs.len()
            ));
            rows.iter().map(|_| Err(again(&err))).collect()
        }
        Err(err) if rows.len() == 1 => vec![Err(err)],
        Err(err @ ApiError::Unavailable(_)) => rows.iter().map(|_| Err(again(&err))).collect(),
        Err(_) => rows.iter().map(|row| I::insert_one(conn, row)).collect(),
    }
}

/// The same failure again, for each row of a batch: `ApiError` is not `Clone`.
fn again(err: &ApiError) -> ApiError {
    match err {
        ApiError::Unavailable(e) => ApiError::Unavailable(anyhow::anyhow!("{e:#}")),
        ApiError::Internal(e) => ApiError::Internal(anyhow::anyhow!("{e:#}")),
        other => ApiError::Internal(anyhow::anyhow!("{other:#}")),
    }
}
