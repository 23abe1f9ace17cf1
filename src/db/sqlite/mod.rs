//! SQLite's engine: each thread's own connection for read statements (`local`),
//! the one thread that runs every write (`writer`), and the checkpointer that
//! keeps the write-ahead log short (`checkpoint`).

mod checkpoint;
mod local;
mod writer;

use std::sync::mpsc;

use self::local::Local;
use self::writer::Writer;

pub(super) struct Engine {
    pub(super) local: Local,
    pub(super) writer: Writer,
    /// Dropped with the engine, which ends the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

impl Engine {
    /// Starts the writer and the checkpointer for the file at `path`, once the
    /// pool has made it and put it in WAL mode.
    pub(super) fn start(path: &str) -> anyhow::Result<Self> {
        Ok(Self {
            _checkpointer: checkpoint::start(path)?,
            writer: Writer::start(path)?,
            local: Local::new(path),
        })
    }
}
