//! The number of rows of a table, or of one owner's rows, as the database keeps it:
//! triggers add and take away in the transaction of every insert and delete
//! (migration `row_counts`), so a total is the sum of a few counter rows at any
//! table size. `owner` is 0 for a whole table.

use diesel::prelude::*;

use crate::db::{Conn, Statement};
use crate::error::ApiError;

diesel::table! {
    row_counts (scope, owner, shard) {
        scope -> Text,
        owner -> BigInt,
        shard -> Integer,
        n -> Integer,
    }
}

/// The count as a subquery, for a page query to carry in each row
/// (`Option<i64>`; `None` when nothing was ever counted).
macro_rules! total {
    ($scope:expr, $owner:expr) => {
        $crate::db::counts::row_counts::table
            .filter($crate::db::counts::row_counts::scope.eq($scope))
            .filter($crate::db::counts::row_counts::owner.eq($owner))
            .select(diesel::dsl::sum($crate::db::counts::row_counts::n))
            .single_value()
    };
}
pub(crate) use total;

/// The count as a statement of its own, for a page past the end ([`Db::page`]).
///
/// [`Db::page`]: crate::db::Db::page
pub fn total_of(scope: &'static str, owner: i64) -> impl Statement<Option<i64>> {
    diesel::select(total!(scope, owner))
}

/// The count on its own, inside a closure.
pub fn count(conn: &mut Conn, scope: &'static str, owner: i64) -> Result<i64, ApiError> {
    let n: Option<i64> = conn.get_result(diesel::select(total!(scope, owner)))?;
    Ok(n.unwrap_or(0))
}
