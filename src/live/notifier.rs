//! This instance's NOTIFYs of the rows it inserted (PostgreSQL).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{wait_to_retry, MIN_BACKOFF};
use crate::db::PgUrl;

/// Most bytes of ids in one notification (PostgreSQL's limit is 8000).
const PAYLOAD: usize = 7900;

/// One per instance on PostgreSQL: NOTIFYs the ids of the messages this instance
/// inserted, after their commit, as many to a notification as have come in since
/// the last. A NOTIFY serializes commits database-wide until its own commit is on
/// disk; here that is one short commit per batch, which does not wait for the disk
/// (`synchronous_commit = off`: a notification lost in a crash is news to no one).
pub(super) struct Notifier {
    pub(super) channel: &'static str,
    pub(super) outbox: mpsc::UnboundedReceiver<i64>,
    /// Ids taken from the outbox and not yet sent; kept across reconnects.
    pub(super) pending: Vec<i64>,
}

impl Notifier {
    pub(super) async fn run(mut self, url: Arc<PgUrl>, mut closing: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            // not stopped by `closing`: requests still finishing may post
            match self.session(&url, &mut backoff).await {
                // the hub is gone
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "the live notifier lost PostgreSQL");
                }
            }
            if !wait_to_retry(&mut closing, &mut backoff).await {
                return;
            }
        }
    }

    /// Notifies until the connection fails or the outbox closes.
    async fn session(&mut self, url: &PgUrl, backoff: &mut Duration) -> anyhow::Result<()> {
        let (client, connection) = url.connect("hearth-notifier").await?;
        let driver = tokio::spawn(connection);
        let outcome = async {
            client.batch_execute("SET synchronous_commit = off").await?;
            let notify = client.prepare("SELECT pg_notify($1, $2)").await?;
            *backoff = MIN_BACKOFF;
            loop {
                if self.pending.is_empty() {
                    match self.outbox.recv().await {
                        Some(id) => self.pending.push(id),
                        None => return Ok(()),
                    }
                }
                while let Ok(id) = self.outbox.try_recv() {
                    self.pending.push(id);
                }
                let (payload, taken) = payload(&self.pending);
                client.execute(&notify, &[&self.channel, &payload]).await?;
                self.pending.drain(..taken);
            }
        }
        .await;
        driver.abort();
        outcome
    }
}

/// The first ids of `ids` that fit in one notification, comma-separated, and how
/// many that is.
fn payload(ids: &[i64]) -> (String, usize) {
    let mut payload = String::new();
    let mut taken = 0;
    for id in ids {
        let id = id.to_string();
        if !payload.is_empty() && payload.len() + 1 + id.len() > PAYLOAD {
            break;
        }
        if !payload.is_empty() {
            payload.push(',');
        }
        payload.push_str(&id);
        taken += 1;
    }
    (payload, taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_holds_as_many_ids_as_fit() {
        assert_eq!(payload(&[7]), ("7".to_owned(), 1));
        assert_eq!(payload(&[1, 22, 333]), ("1,22,333".to_owned(), 3));
        let many: Vec<i64> = (1_000_000_000..1_000_010_000).collect();
        let (text, taken) = payload(&many);
        assert!(text.len() <= PAYLOAD, "{}", text.len());
        assert_eq!(taken, (PAYLOAD + 1) / 11);
        assert_eq!(text.split(',').count(), taken);
        let (rest, _) = payload(&many[taken..]);
        assert!(rest.starts_with(&many[taken].to_string()));
    }
}
