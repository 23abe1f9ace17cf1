//! `Conn`: both backends behind one type, so every typed query is written once,
//! and the verbs that run one on the connection's own backend.

use diesel::query_dsl::methods::{ExecuteDsl, LoadQuery};
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

#[derive(diesel::MultiConnection)]
pub enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs one typed query on the connection's own backend instead of through the
/// derived `MultiConnection`, which writes out the SQL text of every query each
/// time it runs it, even when the statement is cached: a fifth of a one-row read.
/// The query is still written once (`|c| query.load(c)`), compiled for each backend.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $body,
            $crate::db::Conn::Sqlite($c) => $body,
        }
    };
}
pub(super) use native;

/// A typed query that either backend runs, its binds borrowed for `'q`.
pub trait Query<'q, U>:
    RunQueryDsl<PgConnection>
    + RunQueryDsl<SqliteConnection>
    + LoadQuery<'q, PgConnection, U>
    + LoadQuery<'q, SqliteConnection, U>
{
}

impl<'q, Q, U> Query<'q, U> for Q where
    Q: RunQueryDsl<PgConnection>
        + RunQueryDsl<SqliteConnection>
        + LoadQuery<'q, PgConnection, U>
        + LoadQuery<'q, SqliteConnection, U>
{
}

/// Each verb runs its query natively (see `native!`); call these, not Diesel's
/// `RunQueryDsl` methods with the `Conn` itself, on a hot path.
impl Conn {
    /// Every row of the query (`get_results` of an `INSERT ... RETURNING` too).
    pub fn load<'q, U, Q: Query<'q, U>>(&mut self, query: Q) -> QueryResult<Vec<U>> {
        native!(self, |c| query.load(c))
    }

    /// The first row of a statement that finds one at most (a lookup by key), as
    /// [`Db::first`](super::Db::first) runs it: the same statement in both places,
    /// no `LIMIT` added.
    pub fn first<'q, U, Q: Query<'q, U>>(&mut self, query: Q) -> QueryResult<Option<U>> {
        Ok(self.load(query)?.into_iter().next())
    }

    /// The query's one row (an aggregate, an `INSERT ... RETURNING` of one row).
    pub fn get_result<'q, U, Q: Query<'q, U>>(&mut self, query: Q) -> QueryResult<U> {
        native!(self, |c| query.get_result(c))
    }

    /// Runs a statement that returns no rows; how many it touched.
    pub fn execute<Q>(&mut self, query: Q) -> QueryResult<usize>
    where
        Q: RunQueryDsl<PgConnection>
            + RunQueryDsl<SqliteConnection>
            + ExecuteDsl<PgConnection>
            + ExecuteDsl<SqliteConnection>,
    {
        native!(self, |c| query.execute(c))
    }
}
