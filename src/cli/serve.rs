//! `serve` and `migrate`.

use std::io::IsTerminal as _;

use anyhow::Context as _;

use crate::app::{self, AppState};
use crate::config::Settings;
use crate::db::Db;

pub fn serve(settings: Settings, addr: Option<String>) -> anyhow::Result<()> {
    let _log_guard = init_tracing(&settings);
    let addr = addr.unwrap_or_else(|| settings.addr.clone());
    let db = Db::connect(&settings.database_url, settings.pool_size)?;
    db.migrate()?;
    // Blocking work is database calls (password hashes have threads of their own):
    // a thread more than the pool's connections only waits for one, and those waits
    // cost 5-8 % of a song read on PostgreSQL in context switches.
    let blocking = usize::try_from(settings.pool_size).unwrap_or(8);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking)
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let state = AppState::new(settings, db);
        app::serve(listener, state, shutdown_signal())
            .await
            .context("server failed")
    })
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let applied = db.migrate()?;
    println!("{applied} migration(s) applied");
    Ok(())
}

/// Logs go through a background writer, so a request never waits on stdout; keep
/// the guard alive until the server stops, or the last lines are lost.
fn init_tracing(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    // colours only for a person at a terminal: in a log file they are noise, and
    // writing them was a third of the cost of an access line
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(writer);
    if settings.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
