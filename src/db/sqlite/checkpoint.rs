//! SQLite's checkpointer: a thread beside the pool that keeps the write-ahead log
//! from growing without end.

use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

/// How often the checkpointer looks at SQLite's write-ahead log, and the size
/// above which it empties it.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
const WAL_LIMIT: u64 = 16 << 20;
const CHECKPOINT_WAIT: Duration = Duration::from_millis(50);

/// Keeps SQLite's write-ahead log from growing without end. SQLite's own automatic
/// checkpoints copy the log into the database but start it afresh only at a moment
/// when no reader is in it, which under steady load never comes: the log grew by
/// 200 MB a second while posting, past 2.5 GB in 15 s, and posts slowed by half. A
/// `TRUNCATE` checkpoint waits for the readers of the moment, holds new writers
/// back for that long, and empties the file. It waits `CHECKPOINT_WAIT` at most,
/// so a long reader (a backup, another program) costs writers that much per try,
/// not a failure.
pub(super) fn start(path: &str) -> anyhow::Result<mpsc::Sender<()>> {
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout={};",
        CHECKPOINT_WAIT.as_millis()
    ))?;
    let wal = format!("{path}-wal");
    let (alive, stop) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("hearth-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
                let large = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_LIMIT);
                if large {
                    // busy while a long reader lasts: tried again next time
                    if let Err(err) = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);") {
                        tracing::debug!(error = %err, "cannot checkpoint the SQLite log yet");
                    }
                }
            }
        })?;
    Ok(alive)
}
