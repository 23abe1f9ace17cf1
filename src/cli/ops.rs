//! `backup` and `healthcheck`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};
use diesel::connection::SimpleConnection as _;

use crate::config::Settings;
use crate::db::{Db, Target};

/// SQLite's `VACUUM INTO`: one read transaction, so the copy is the database as of
/// one moment while writers go on (WAL), and it comes out compact.
pub fn backup(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    if let Target::Postgres(_) = Target::parse(&settings.database_url)? {
        bail!("hearth backup copies a SQLite database; for PostgreSQL use pg_dump (see README)");
    }
    if file.exists() {
        bail!("{} already exists", file.display());
    }
    let path = file
        .to_str()
        .with_context(|| format!("{} is not UTF-8", file.display()))?;
    let db = Db::connect_with(&settings.database_url, 1, settings.database_timeout)?;
    let mut conn = super::connection(&db)?;
    conn.batch_execute(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .with_context(|| format!("cannot back up to {}", file.display()))?;
    println!("Backed up to {}", file.display());
    Ok(())
}

const HEALTHCHECK_WAIT: Duration = Duration::from_secs(5);

pub fn healthcheck(settings: &Settings, addr: Option<&str>) -> anyhow::Result<()> {
    let addr = addr.unwrap_or(&settings.addr);
    let target = local(addr)?;
    // a Host header that ALLOWED_HOSTS lets through
    let host = settings
        .allowed_hosts
        .iter()
        .map(|h| h.trim_start_matches('.'))
        .find(|h| !h.is_empty() && *h != "*")
        .unwrap_or("localhost");
    let mut tcp = TcpStream::connect_timeout(&target, HEALTHCHECK_WAIT)
        .with_context(|| format!("cannot connect to {target}"))?;
    tcp.set_read_timeout(Some(HEALTHCHECK_WAIT))?;
    tcp.set_write_timeout(Some(HEALTHCHECK_WAIT))?;
    write!(
        tcp,
        "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = tcp.read(&mut head).context("no answer")?;
    let head = String::from_utf8_lossy(&head[..n]);
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") {
        bail!("/healthz answered {status:?}");
    }
    Ok(())
}

/// The address to ask: a server listening on every interface is asked on loopback.
fn local(addr: &str) -> anyhow::Result<SocketAddr> {
    let mut target = addr
        .to_socket_addrs()
        .with_context(|| format!("not an address: {addr}"))?
        .next()
        .with_context(|| format!("not an address: {addr}"))?;
    if target.ip().is_unspecified() {
        target.set_ip(match target {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(target)
}
