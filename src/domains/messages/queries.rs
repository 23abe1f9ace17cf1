//! The `messages` table and its queries. A message is always read joined to its
//! sender, whose username the API shows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::logins::{logins, standing, Standing};
use crate::auth::users::users;
use crate::db::{native, Conn, OptionalExt as _, SharedConn};
use crate::error::ApiError;

diesel::table! {
    messages (id) {
        id -> BigInt,
        sender_id -> BigInt,
        text -> Text,
        timestamp -> Timestamp,
    }
}

diesel::joinable!(messages -> users (sender_id));
diesel::allow_tables_to_appear_in_same_query!(messages, users);
diesel::allow_tables_to_appear_in_same_query!(messages, logins);

/// A message with its sender's username.
#[derive(Debug, Clone, Queryable)]
pub struct Message {
    pub id: i64,
    pub text: String,
    pub sender_id: i64,
    pub sender: String,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub timestamp: NaiveDateTime,
}

type Columns = (
    messages::id,
    messages::text,
    messages::sender_id,
    users::username,
    messages::timestamp,
);

const COLUMNS: Columns = (
    messages::id,
    messages::text,
    messages::sender_id,
    users::username,
    messages::timestamp,
);

/// The page query: one page of messages, oldest first, each row with the verdict
/// on the caller's standing and the number of all messages. A macro, so that the
/// pooled and the shared connections run this one query.
macro_rules! page {
    ($standing:expr, $limit:expr, $offset:expr) => {{
        let all = diesel::alias!(messages as all_messages);
        messages::table
            .inner_join(users::table)
            .order(messages::id.asc())
            .limit($limit)
            .offset($offset)
            .select(((COLUMNS, standing!($standing)), all.count().single_value()))
    }};
}

/// One page, oldest first, how many messages there are, and the verdict on the
/// caller's `standing` (see [`crate::db::with_verdict`]).
pub fn list(
    conn: &mut Conn,
    standing: Standing,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Message>, i64, Option<bool>), ApiError> {
    let rows = native!(conn, |c| page!(standing, limit, offset).load(c))?;
    crate::db::with_verdict(rows, offset, || count(conn))
}

/// [`list`] on a shared PostgreSQL connection (see [`crate::db::confirmed`]).
pub async fn list_shared(
    pg: SharedConn,
    standing: Standing,
    limit: i64,
    offset: i64,
) -> QueryResult<Option<(Vec<Message>, i64)>> {
    let rows = diesel_async::RunQueryDsl::load(page!(standing, limit, offset), &mut &*pg).await?;
    Ok(crate::db::confirmed(rows, offset, standing.settled))
}

pub fn count(conn: &mut Conn) -> Result<i64, ApiError> {
    Ok(native!(conn, |c| messages::table.count().get_result(c))?)
}

pub fn find(conn: &mut Conn, id: i64) -> Result<Option<Message>, ApiError> {
    native!(conn, |c| messages::table
        .inner_join(users::table)
        .filter(messages::id.eq(id))
        .select(COLUMNS)
        .first(c)
        .found())
}

/// Inserts a message from `sender_id`, whose username is already known to the caller.
pub fn create(
    conn: &mut Conn,
    sender_id: i64,
    sender: &str,
    text: &str,
    timestamp: NaiveDateTime,
) -> Result<Message, ApiError> {
    let id = native!(conn, |c| diesel::insert_into(messages::table)
        .values((
            messages::sender_id.eq(sender_id),
            messages::text.eq(text),
            messages::timestamp.eq(timestamp),
        ))
        .returning(messages::id)
        .get_result(c))?;
    Ok(Message {
        id,
        text: text.to_owned(),
        sender_id,
        sender: sender.to_owned(),
        timestamp,
    })
}

/// `false` when the message no longer exists.
pub fn set_text(conn: &mut Conn, id: i64, text: &str) -> Result<bool, ApiError> {
    let updated = diesel::update(messages::table.find(id))
        .set(messages::text.eq(text))
        .execute(conn)?;
    Ok(updated > 0)
}

/// `false` when the message no longer exists.
pub fn delete(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::delete(messages::table.find(id)).execute(conn)? > 0)
}

/// Up to `limit` messages with an id above `after_id`, oldest first (stream replay).
pub fn list_after(conn: &mut Conn, after_id: i64, limit: i64) -> Result<Vec<Message>, ApiError> {
    Ok(messages::table
        .inner_join(users::table)
        .filter(messages::id.gt(after_id))
        .order(messages::id.asc())
        .limit(limit)
        .select(COLUMNS)
        .load(conn)?)
}

/// The messages among `ids` that exist, oldest first.
pub fn find_many(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Message>, ApiError> {
    Ok(messages::table
        .inner_join(users::table)
        .filter(messages::id.eq_any(ids))
        .order(messages::id.asc())
        .select(COLUMNS)
        .load(conn)?)
}

/// The newest message's id, 0 when there is none.
pub fn last_id(conn: &mut Conn) -> Result<i64, ApiError> {
    let id: Option<i64> = messages::table
        .select(diesel::dsl::max(messages::id))
        .first(conn)?;
    Ok(id.unwrap_or(0))
}
