//! The `messages` table and its queries. A message is always read joined to its
//! sender, whose username the API shows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::logins::logins;
use crate::auth::standing::{standing, Standing, Vouched};
use crate::auth::users::users;
use crate::db::counts::{self, row_counts};
use crate::db::{Conn, Inserts, Statement};
use crate::error::ApiError;
use crate::extract::Window;

diesel::table! {
    messages (id) {
        id -> BigInt,
        sender_id -> BigInt,
        text -> Text,
        timestamp -> Timestamp,
    }
}

/// The messages' count in `row_counts`.
const SCOPE: &str = "messages";

diesel::joinable!(messages -> users (sender_id));
diesel::allow_tables_to_appear_in_same_query!(messages, users);
diesel::allow_tables_to_appear_in_same_query!(messages, logins);
diesel::allow_tables_to_appear_in_same_query!(messages, row_counts);

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

/// One page of messages, oldest first (`limit`, `offset`, the cursor's key), each
/// row with the verdict on the caller's `standing` and the number of all messages.
pub fn page(
    standing: Standing,
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Vouched<Message>, Option<i64>)> {
    messages::table
        .inner_join(users::table)
        .filter(messages::id.gt(after))
        .order(messages::id.asc())
        .limit(limit)
        .offset(offset)
        .select(((COLUMNS, standing!(standing)), counts::total!(SCOPE, 0)))
}

/// The number of all messages, for a page past the end.
pub fn count() -> impl Statement<Option<i64>> {
    counts::total_of(SCOPE, 0)
}

/// One message by id, with its sender: `db.first(by_id(id))` for a request,
/// `conn.first(by_id(id))` inside a closure.
pub fn by_id(id: i64) -> impl Statement<Message> {
    messages::table
        .inner_join(users::table)
        .filter(messages::id.eq(id))
        .select(COLUMNS)
}

/// A message to post, from a sender whose username the caller already knows.
#[derive(Debug)]
pub struct NewMessage {
    pub sender_id: i64,
    pub sender: String,
    pub text: String,
    pub timestamp: NaiveDateTime,
}

/// Posting messages: those posted at the same moment go in together ([`Db::insert`]).
///
/// [`Db::insert`]: crate::db::Db::insert
pub struct Post;

impl Inserts for Post {
    type Row = NewMessage;
    type Out = Message;

    fn insert(conn: &mut Conn, rows: &[NewMessage]) -> Result<Vec<Message>, ApiError> {
        let values: Vec<_> = rows
            .iter()
            .map(|row| {
                (
                    messages::sender_id.eq(row.sender_id),
                    messages::text.eq(&row.text),
                    messages::timestamp.eq(row.timestamp),
                )
            })
            .collect();
        let stored: Vec<(i64, i64, String, NaiveDateTime)> = conn.load(
            diesel::insert_into(messages::table)
                .values(&values)
                .returning((
                    messages::id,
                    messages::sender_id,
                    messages::text,
                    messages::timestamp,
                )),
        )?;
        let senders = crate::domains::Names::of(rows, |row| (row.sender_id, &row.sender));
        Ok(stored
            .into_iter()
            .map(|(id, sender_id, text, timestamp)| Message {
                id,
                text,
                sender_id,
                sender: senders.of_user(sender_id),
                timestamp,
            })
            .collect())
    }

    fn became(row: &NewMessage, out: &Message) -> bool {
        row.sender_id == out.sender_id && row.timestamp == out.timestamp && row.text == out.text
    }

    fn undo(conn: &mut Conn, outs: &[Message]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        diesel::delete(messages::table.filter(messages::id.eq_any(ids))).execute(conn)?;
        Ok(())
    }
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
