//! `serve` and `migrate`.

use std::io::IsTerminal as _;

use anyhow::Context as _;

use crate::app;
use crate::config::{vars, Settings};
use crate::db::Db;
use crate::state::AppState;

pub fn serve(mut settings: Settings, addr: Option<String>) -> anyhow::Result<()> {
    let _log_guard = init_tracing(&settings);
    let addr = addr.unwrap_or_else(|| settings.addr.clone());
    settings.max_connections = fit_connections(settings.max_connections, settings.pool_size);
    let db = Db::connect_with(
        &settings.database_url,
        settings.pool_size,
        settings.database_timeout,
    )?;
    db.migrate()?;
    // Blocking work is database calls (password hashes have threads of their own):
    // a thread more than the pool's connections only waits for one, and those waits
    // cost 5-8 % of a song read on PostgreSQL in context switches.
    let blocking = usize::try_from(settings.pool_size).unwrap_or(8);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    // PostgreSQL on this machine needs cores of its own: with a worker per core,
    // Hearth's threads and PostgreSQL's processes took turns on each core, and a
    // song read's p99 was 8.6 ms against 3.7 ms with half the cores
    if db.shares_cores() && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        runtime.worker_threads(crate::db::half_the_cores());
    }
    let runtime = runtime
        .enable_all()
        .max_blocking_threads(blocking)
        .build()?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let state = AppState::new(settings, db, crate::domains::messages::feed::FEED);
        app::serve(listener, state, shutdown_signal())
            .await
            .context("server failed")
    });
    // a query stuck on an unreachable database must not hold the exit
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    crate::observe::access::flush();
    tracing::info!("stopped");
    served
}

/// Raises the soft limit on open files to the hard one (idle connections once ran
/// the process out of them at the default 1024) and keeps the connection cap under
/// it, with room for the database's connections, logs and the like.
fn fit_connections(wanted: usize, pool_size: u32) -> usize {
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %err, "cannot raise the limit on open files");
    }
    let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return wanted;
    };
    let room = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(64 + 2 * usize::try_from(pool_size).unwrap_or(64))
        .max(1);
    if room < wanted {
        tracing::warn!(
            max_connections = room,
            open_files = soft,
            "MAX_CONNECTIONS lowered to fit the limit on open files"
        );
    }
    wanted.min(room)
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect_with(&settings.database_url, 1, settings.database_timeout)?;
    let applied = db.migrate()?;
    println!("{applied} migration(s) applied");
    Ok(())
}

/// Logs go through a background writer, so a request never waits on stdout; keep
/// the guard alive until the server stops, or the last lines are lost.
fn init_tracing(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env(vars::RUST_LOG.name).unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(vars::RUST_LOG.default.unwrap_or_default())
        });
    // buffered: the writer's thread flushes once it has written all that waits,
    // one system call for many lines under load rather than one per line
    let (writer, guard) =
        tracing_appender::non_blocking(std::io::BufWriter::new(std::io::stdout()));
    crate::observe::access::install(writer.clone(), settings.log_json);
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
