//! What every handler may reach: the database, the settings, the keys, the password
//! hasher, the metrics and the live feed. Below everything that uses it; the app
//! module composes it with the routers.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::Db;
use crate::live::{Hub, Source};
use crate::observe::Metrics;
use crate::password::Hasher;

/// Cloned by every extractor and middleware of every request: one reference count,
/// not a dozen counters that both cores contend for (a song read +18 %).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub metrics: Arc<Metrics>,
    pub live: Hub,
    /// Set on shutdown, so that `/readyz` sends load balancers elsewhere.
    pub stopping: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl AppState {
    /// `feed` is what the live hub announces (on PostgreSQL it starts listening
    /// here, so this needs a Tokio runtime).
    pub fn new(settings: Settings, db: Db, feed: Source) -> Self {
        let keys = Arc::new(Keys::derive(&settings.secret_key));
        let hasher = Hasher::new(settings.argon2_memory_kib, settings.argon2_iterations);
        let live = Hub::start(&db, &settings, feed);
        Self(Arc::new(AppParts {
            db,
            settings: Arc::new(settings),
            keys,
            hasher,
            metrics: Arc::default(),
            live,
            stopping: AtomicBool::new(false),
        }))
    }
}
