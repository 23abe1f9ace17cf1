//! SQLite: each thread's own connection for one read statement at a time.
//!
//! A read from the pool takes its lock twice, reads the clock, and lends a
//! connection that the other core used last, its page cache and statements in that
//! core's caches. A thread that keeps a connection of its own does none of that;
//! `shared` is PostgreSQL's answer to the same question.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use diesel::SqliteConnection;

use crate::error::ApiError;

thread_local! {
    /// This thread's connection and the database it belongs to.
    static CONN: RefCell<Option<(Weak<()>, SqliteConnection)>> = const { RefCell::new(None) };
}

/// One database's share of the threads' connections. Clones are the same database.
#[derive(Clone)]
pub(in crate::db) struct Local {
    path: Arc<str>,
    /// Alive while a clone of this database is: a thread's connection to a database
    /// no longer served is replaced, one to a database still served is left alone.
    owner: Arc<()>,
}

impl Local {
    pub(in crate::db) fn new(path: &str) -> Self {
        Self {
            path: path.into(),
            owner: Arc::new(()),
        }
    }

    /// `work` with `query` on this thread's connection, or `Err(query)` back when
    /// the thread's connection belongs to another database still in use (tests
    /// serve several from one thread) or none could be opened: the pool then runs it.
    pub(in crate::db) fn run<Q, R>(
        &self,
        query: Q,
        work: impl FnOnce(Q, &mut SqliteConnection) -> Result<R, ApiError>,
    ) -> Result<Result<R, ApiError>, Q> {
        let done = CONN.try_with(move |slot| {
            let Ok(mut slot) = slot.try_borrow_mut() else {
                return Err(query);
            };
            match &*slot {
                Some((owner, _)) if std::ptr::eq(owner.as_ptr(), Arc::as_ptr(&self.owner)) => {}
                Some((owner, _)) if owner.strong_count() > 0 => return Err(query),
                _ => match crate::db::pool::open_sqlite(&self.path) {
                    Ok(conn) => *slot = Some((Arc::downgrade(&self.owner), conn)),
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot open a reading connection");
                        return Err(query);
                    }
                },
            }
            let Some((_, conn)) = slot.as_mut() else {
                return Err(query);
            };
            let result = work(query, conn);
            if matches!(result, Err(ApiError::Unavailable(_))) {
                // as the pool does with a connection found lost
                *slot = None;
            }
            Ok(result)
        });
        done.unwrap_or_else(|_| {
            Ok(Err(ApiError::Unavailable(anyhow::anyhow!(
                "a read on a thread that is ending"
            ))))
        })
    }
}
