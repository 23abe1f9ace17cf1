//! The messages as the live feed's [`Source`] (see [`crate::live`]): every new
//! message goes to `/api/messages/stream` as a `message` event.

use std::sync::Arc;

use super::payload::MessageOut;
use super::queries::{self, Message};
use crate::db::Conn;
use crate::error::ApiError;
use crate::live::{Live, Rows, Source};

/// The PostgreSQL channel of new messages; the table's trigger uses it too.
pub const CHANNEL: &str = "hearth_messages";

pub const FEED: Source = Source {
    channel: CHANNEL,
    last_id: queries::last_id,
    by_ids,
    after,
};

/// The stream's event for a message.
pub fn event(message: &Message) -> Option<Arc<Live>> {
    Live::new("message", message.id, &MessageOut::from(message.clone()))
}

fn rows(messages: Vec<Message>) -> Rows {
    messages.iter().map(|m| (m.id, event(m))).collect()
}

fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Rows, ApiError> {
    queries::find_many(conn, ids).map(rows)
}

fn after(conn: &mut Conn, after: i64, limit: i64) -> Result<Rows, ApiError> {
    queries::list_after(conn, after, limit).map(rows)
}
