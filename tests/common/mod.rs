//! What the tests of the built binary share: `hearth` run as an operator runs it,
//! in a temporary working directory and configured by environment variables only,
//! on databases made for the test (SQLite files in that directory, or fresh
//! PostgreSQL databases on `HEARTH_TEST_DATABASE_URL`'s server, default
//! `postgres://postgres@127.0.0.1:5432/test`, dropped at the end). When that server
//! cannot be reached a PostgreSQL case says so and passes, unless
//! `HEARTH_REQUIRE_POSTGRES=1`.
#![allow(dead_code, reason = "each test crate uses a part of it")]

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};

/// The `SECRET_KEY` of every [`sandboxed`] run.
pub const SECRET: &str = "hearth-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";

/// What one run of the binary printed, and how it ended.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.ok,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// A failure explained on one `hearth: ...` line that contains `needle`.
    #[track_caller]
    pub fn failure(self, needle: &str) -> Self {
        assert!(
            !self.ok,
            "expected failure\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("hearth: ") && last.contains(needle),
            "expected one line with {needle:?}, got stderr: {}",
            self.stderr
        );
        self
    }
}

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// The built binary, with nothing of the caller's environment (`DATABASE_URL`,
/// `DEBUG`, ...) and no standard input.
pub fn hearth() -> Command {
    isolated(BIN)
}

fn isolated(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().stdin(Stdio::null());
    cmd
}

/// `program` as the tests run Hearth: in `dir`, on `database_url`, in debug with
/// [`SECRET`] and cheap password hashes, and nothing else of the caller's environment.
pub fn sandboxed(program: &str, dir: &Path, database_url: &str) -> Command {
    let mut cmd = isolated(program);
    cmd.current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", SECRET)
        .env("DEBUG", "true")
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1");
    cmd
}

/// Where one test's databases live, and its working directory: SQLite files in a
/// temporary folder, or fresh PostgreSQL databases dropped at the end.
pub struct Place {
    dir: tempfile::TempDir,
    pg: Option<String>,
    made: RefCell<Vec<PgDatabase>>,
}

impl Place {
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            pg: None,
            made: RefCell::default(),
        }
    }

    /// `None` when PostgreSQL cannot be reached and is not required.
    pub fn postgres() -> Option<Self> {
        let server = std::env::var("HEARTH_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let required = std::env::var("HEARTH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        if let Err(e) = PgConnection::establish(&server) {
            assert!(
                !required,
                "PostgreSQL is required (HEARTH_REQUIRE_POSTGRES=1) but: {e}"
            );
            eprintln!("SKIPPED: PostgreSQL case (cannot use {server}: {e})");
            return None;
        }
        Some(Self {
            pg: Some(server),
            ..Self::sqlite()
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A URL for a new, empty database.
    pub fn database(&self, name: &str) -> String {
        match &self.pg {
            None => format!("sqlite://{}", self.dir().join(name).display()),
            Some(server) => {
                let db = PgDatabase::create(server, name);
                let url = db.url.clone();
                self.made.borrow_mut().push(db);
                url
            }
        }
    }

    /// The binary in this place's folder on `database_url`.
    pub fn command(&self, database_url: &str, args: &[&str]) -> Command {
        let mut cmd = sandboxed(BIN, self.dir(), database_url);
        cmd.args(args);
        cmd
    }

    /// One run of the binary, with `env` besides the usual settings.
    pub fn run(&self, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(database_url, args);
        cmd.envs(env.iter().copied());
        cmd.output().unwrap().into()
    }
}

/// A PostgreSQL database made for a test, dropped with this value.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(server: &str, name: &str) -> Self {
        let name = format!("hearth_test_{name}_{}", hearth::crypto::random_hex(6));
        PgConnection::establish(server)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
        let url = format!("{base}/{name}");
        Self {
            server: server.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.server) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
