//! One table's insert, as [`Db::insert`] runs it: on SQLite one write of the
//! writer's transaction, on PostgreSQL with the other rows waiting (`postgres::batch`).
//!
//! [`Db::insert`]: crate::db::Db::insert

use super::Conn;
use crate::error::ApiError;

/// A table's insert, for rows of one shape.
pub trait Inserts: 'static {
    type Row: Send + 'static;
    type Out: Send + 'static;
    /// Inserts `rows` in one statement; what they became, in whatever order the
    /// statement returned them: PostgreSQL does not promise the rows' order.
    fn insert(conn: &mut Conn, rows: &[Self::Row]) -> Result<Vec<Self::Out>, ApiError>;

    /// True when `out` holds what `row` was given: the owner and the content, all
    /// but what the database chose (the id). Two rows it cannot tell apart are the
    /// same request made twice, and either answer is right for both.
    fn became(row: &Self::Row, out: &Self::Out) -> bool;

    /// Deletes rows this table's [`Inserts::insert`] just stored, whose answers
    /// could not be paired with their requests (none was answered or announced).
    fn undo(conn: &mut Conn, outs: &[Self::Out]) -> Result<(), ApiError>;

    /// Inserts one row, in a write of the caller's own (the admin's, say).
    fn insert_one(conn: &mut Conn, row: &Self::Row) -> Result<Self::Out, ApiError> {
        Self::insert(conn, std::slice::from_ref(row))?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("an insert returned no row")))
    }
}
