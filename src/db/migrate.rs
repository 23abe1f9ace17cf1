//! Embedded migrations, applied at start and checked by `/readyz`.

use anyhow::Context as _;
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Conn, Db, DEFAULT_TIMEOUT};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any key will do, as long as every Hearth instance uses the same one.
const MIGRATION_LOCK_KEY: i64 = 0x4845_4152_5448;

impl Db {
    /// Applies pending migrations. On PostgreSQL an advisory lock makes instances
    /// that start together take turns; the second finds nothing left to do.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.0.pool.get().context("cannot reach the database")?;
        let applied = match &mut **conn {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!(e))?
                .len(),
            Conn::Pg(c) => {
                // a migration may take longer than any request
                c.batch_execute("SET statement_timeout = 0")?;
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
                let result = c
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| anyhow::anyhow!(e));
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
                let timeout = self.pg().map_or(DEFAULT_TIMEOUT, |pg| pg.timeout);
                c.batch_execute(&format!("SET statement_timeout = {}", timeout.as_millis()))?;
                result?
            }
        };
        Ok(applied)
    }

    /// True when no migration is pending (for `/readyz`).
    pub fn is_migrated(&self) -> anyhow::Result<bool> {
        let mut conn = self.0.pool.get().context("cannot reach the database")?;
        let pending = match &mut **conn {
            Conn::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|p| p.len()),
            Conn::Pg(c) => c.pending_migrations(PG_MIGRATIONS).map(|p| p.len()),
        };
        // the probe of `/readyz`: any failure may mean a lost connection
        conn.lost |= pending.is_err();
        Ok(pending.map_err(|e| anyhow::anyhow!(e))? == 0)
    }
}
