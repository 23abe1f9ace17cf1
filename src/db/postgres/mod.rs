//! PostgreSQL's engine: how to reach it (`url`, with TLS), the connections that
//! reads share (`shared`), and the inserts that go out together (`batch`).

mod batch;
mod shared;
mod url;

use std::sync::Arc;

pub use self::url::{PgUrl, TlsMode};
use batch::Batches;
use shared::Shared;

pub(super) struct Engine {
    /// How to reach it, and how long a request waits for it.
    pub(super) url: PgUrl,
    pub(super) shared: Arc<Shared>,
    pub(super) batches: Batches,
}

impl Engine {
    pub(super) fn new(url: PgUrl) -> Self {
        Self {
            shared: Shared::new(url.clone()),
            url,
            batches: Batches::default(),
        }
    }
}
