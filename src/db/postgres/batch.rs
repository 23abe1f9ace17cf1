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
//! fails alone. The returned rows are given to their requests by value, not by
//! position (`pair`). SQLite needs none of this: its writer thread already commits
//! the writes that queue up together (`sqlite::writer`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::db::{Conn, Db, Inserts};
use crate::error::ApiError;

/// Batches under way at once per table: while one waits on its commit, the next
/// gathers. More would each be smaller and take connections from the pool.
const RUNNERS: usize = 2;
/// The most rows of one statement.
const MAX_BATCH: usize = 128;

/// The queues, one per [`Inserts`] type, made at the first insert.
#[derive(Default)]
pub(in crate::db) struct Batches(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

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

impl Batches {
    /// Queues `row` with the other rows of `I` waiting, and answers once its
    /// batch is stored (or failed), within the request's limit.
    pub(in crate::db) async fn insert<I, C>(
        &self,
        db: &Db,
        row: I::Row,
        committed: C,
    ) -> Result<I::Out, ApiError>
    where
        I: Inserts,
        C: FnOnce(&I::Out) + Send + 'static,
    {
        let queue = self.queue::<I>();
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
            tokio::spawn(drain(db.clone(), queue));
        }
        db.bounded(async {
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
/// data, one by one. A batch whose returned rows cannot be paired with its rows
/// is taken back ([`Inserts::undo`]) and inserted one by one: that never happens
/// while PostgreSQL keeps the order of `VALUES`, and a transaction around every
/// batch to roll it back instead cost 15 % of the writes a second.
fn run<I: Inserts>(conn: &mut Conn, rows: Vec<I::Row>) -> Vec<Result<I::Out, ApiError>> {
    if rows.len() == 1 {
        return vec![I::insert_one(conn, &rows[0])];
    }
    match I::insert(conn, &rows) {
        Ok(outs) => match pair::<I>(&rows, outs) {
            Ok(paired) => paired.into_iter().map(Ok).collect(),
            Err(outs) => {
                tracing::error!(
                    "a batch's returned rows did not match its rows; inserting one by one"
                );
                match I::undo(conn, &outs) {
                    Ok(()) => rows.iter().map(|row| I::insert_one(conn, row)).collect(),
                    Err(err) => rows.iter().map(|_| Err(again(&err))).collect(),
                }
            }
        },
        Err(err @ ApiError::Unavailable(_)) => rows.iter().map(|_| Err(again(&err))).collect(),
        Err(_) => rows.iter().map(|row| I::insert_one(conn, row)).collect(),
    }
}

/// `outs` in the order of `rows`, each the one that [`Inserts::became`] from its
/// row, or `Err(outs)` back when some row has none. Linear when the order held (as
/// it does today), quadratic in the batch (at most `MAX_BATCH`) when it did not.
fn pair<I: Inserts>(rows: &[I::Row], outs: Vec<I::Out>) -> Result<Vec<I::Out>, Vec<I::Out>> {
    if outs.len() != rows.len() {
        return Err(outs);
    }
    if rows.iter().zip(&outs).all(|(row, out)| I::became(row, out)) {
        return Ok(outs);
    }
    let mut used = vec![false; outs.len()];
    let mut order = Vec::with_capacity(rows.len());
    for row in rows {
        let found = (0..outs.len()).find(|&at| !used[at] && I::became(row, &outs[at]));
        let Some(at) = found else {
            return Err(outs);
        };
        used[at] = true;
        order.push(at);
    }
    let mut slots: Vec<Option<I::Out>> = outs.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|at| slots[at].take())
        .collect())
}

/// The same failure again, for each row of a batch: `ApiError` is not `Clone`.
fn again(err: &ApiError) -> ApiError {
    match err {
        ApiError::Unavailable(e) => ApiError::Unavailable(anyhow::anyhow!("{e:#}")),
        ApiError::Internal(e) => ApiError::Internal(anyhow::anyhow!("{e:#}")),
        other => ApiError::Internal(anyhow::anyhow!("{other:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of (owner, text); what they become adds an id.
    struct Notes;

    impl Inserts for Notes {
        type Row = (i64, &'static str);
        type Out = (i64, i64, &'static str);

        fn insert(_: &mut Conn, _: &[Self::Row]) -> Result<Vec<Self::Out>, ApiError> {
            unreachable!("the matcher is tested without a database")
        }

        fn became(row: &Self::Row, out: &Self::Out) -> bool {
            (row.0, row.1) == (out.1, out.2)
        }

        fn undo(_: &mut Conn, _: &[Self::Out]) -> Result<(), ApiError> {
            unreachable!("the matcher is tested without a database")
        }
    }

    const ROWS: [(i64, &str); 4] = [(1, "a"), (2, "b"), (1, "c"), (2, "b")];

    #[test]
    fn results_in_the_rows_order_are_kept() {
        let outs = vec![(10, 1, "a"), (11, 2, "b"), (12, 1, "c"), (13, 2, "b")];
        assert_eq!(pair::<Notes>(&ROWS, outs.clone()), Ok(outs));
    }

    #[test]
    fn results_out_of_order_go_to_the_row_they_came_from() {
        let outs = vec![(12, 1, "c"), (13, 2, "b"), (10, 1, "a"), (11, 2, "b")];
        let paired = pair::<Notes>(&ROWS, outs).unwrap();
        for (row, out) in ROWS.iter().zip(&paired) {
            assert_eq!((row.0, row.1), (out.1, out.2));
        }
        let mut ids: Vec<i64> = paired.iter().map(|out| out.0).collect();
        assert_eq!(ids[..3], [10, 13, 12]);
        ids.sort_unstable();
        assert_eq!(ids, [10, 11, 12, 13], "each result is given once");
    }

    #[test]
    fn results_that_do_not_match_the_rows_pair_with_none() {
        let another = vec![(10, 1, "a"), (11, 2, "b"), (12, 3, "c"), (13, 2, "b")];
        assert_eq!(
            pair::<Notes>(&ROWS, another.clone()),
            Err(another),
            "all given back"
        );
        let twice = vec![(10, 1, "a"), (11, 1, "a"), (12, 1, "c"), (13, 2, "b")];
        assert_eq!(pair::<Notes>(&ROWS, twice.clone()), Err(twice));
        let fewer = vec![(10, 1, "a"), (11, 2, "b"), (12, 1, "c")];
        assert_eq!(pair::<Notes>(&ROWS, fewer.clone()), Err(fewer));
    }
}
