//! The command line, run as an operator runs it: the built binary, in a temporary
//! working directory, configured by environment variables only.
//!
//! The PostgreSQL case creates its own database on the server named by
//! `HEARTH_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`); when
//! that server cannot be reached it says so and passes, unless
//! `HEARTH_REQUIRE_POSTGRES=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test panics on a failed setup step"
)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};
use hearth::auth::password::{Hasher, Verified};
use hearth::auth::users::{self, User};
use hearth::db::Db;

const SECRET: &str = "cli-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";
const STRONG: &str = "Tr0ub4dor&3-cli";
const OTHER_STRONG: &str = "Correct-Horse-7-battery";

/// A working directory and a database for one test.
struct Sandbox {
    dir: tempfile::TempDir,
    database_url: String,
    _pg: Option<PgDatabase>,
}

/// What one run of the binary printed, and how it ended.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
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
    fn success(self) -> Self {
        assert!(
            self.ok,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// A failure explained on one `hearth: ...` line that contains `needle`.
    #[track_caller]
    fn failure(self, needle: &str) -> Self {
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

    fn mentions(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }
}

fn hearth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    // Nothing from the caller's environment leaks in (DATABASE_URL, DEBUG, ...).
    cmd.env_clear().stdin(Stdio::null());
    cmd
}

impl Sandbox {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}", dir.path().join("h.db").display());
        Self {
            dir,
            database_url,
            _pg: None,
        }
    }

    /// `None` when PostgreSQL cannot be reached and is not required.
    fn postgres() -> Option<Self> {
        let pg = PgDatabase::create()?;
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: pg.url.clone(),
            _pg: Some(pg),
        })
    }

    /// The binary with this sandbox's settings (debug on, cheap password hashes).
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = hearth();
        cmd.current_dir(self.dir.path())
            .env("DATABASE_URL", &self.database_url)
            .env("SECRET_KEY", SECRET)
            .env("DEBUG", "true")
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.output().unwrap().into()
    }

    fn createsuperuser(&self, username: &str, password: &str) -> Run {
        self.run(
            &[
                "createsuperuser",
                "--username",
                username,
                "--email",
                "admin@example.com",
                "--noinput",
            ],
            &[("HEARTH_SUPERUSER_PASSWORD", password)],
        )
    }

    fn user(&self, username: &str) -> Option<User> {
        let db = Db::connect(&self.database_url, 1).unwrap();
        let mut conn = db.get().unwrap();
        users::find_by_username(&mut conn, username).unwrap()
    }
}

fn verifies(user: &User, password: &str) -> bool {
    Hasher::new(1024, 1).verify_now(password, &user.password) != Verified::No
}

fn assert_creates_a_superuser_once(sandbox: &Sandbox) {
    let run = sandbox.createsuperuser("admin", STRONG).success();
    assert!(
        run.stdout.contains("Superuser created successfully."),
        "{}",
        run.stdout
    );
    assert!(!run.mentions(STRONG), "the password was printed");

    let user = sandbox.user("admin").unwrap();
    assert!(user.is_staff && user.is_superuser && user.is_active);
    assert_eq!(user.email, "admin@example.com");
    assert!(user.password.starts_with("$argon2id$"), "{}", user.password);
    assert!(verifies(&user, STRONG));

    sandbox
        .createsuperuser("admin", OTHER_STRONG)
        .failure("Error: That username is already taken.");
    assert!(verifies(&sandbox.user("admin").unwrap(), STRONG));
}

#[test]
fn createsuperuser_creates_a_staff_superuser_once() {
    assert_creates_a_superuser_once(&Sandbox::sqlite());
}

#[test]
fn createsuperuser_works_on_postgres() {
    let Some(sandbox) = Sandbox::postgres() else {
        return;
    };
    assert_creates_a_superuser_once(&sandbox);
}

#[test]
fn a_weak_password_is_refused_with_djangos_messages() {
    let sandbox = Sandbox::sqlite();
    sandbox
        .createsuperuser("admin", "1234")
        .failure("This password is too short. It must contain at least 8 characters.; This password is too common.; This password is entirely numeric.");
    sandbox
        .createsuperuser("adminuser1", "adminuser1")
        .failure("The password is too similar to the username.");
    assert!(sandbox.user("admin").is_none());
}

#[test]
fn noinput_without_a_password_is_an_error() {
    let sandbox = Sandbox::sqlite();
    sandbox
        .run(
            &["createsuperuser", "--username", "admin", "--noinput"],
            &[],
        )
        .failure("HEARTH_SUPERUSER_PASSWORD");
    // Without --noinput and without a terminal, it cannot prompt either.
    sandbox
        .run(&["createsuperuser", "--username", "admin"], &[])
        .failure("HEARTH_SUPERUSER_PASSWORD");
    assert!(sandbox.user("admin").is_none());
}

#[test]
fn an_invalid_username_or_email_is_refused() {
    let sandbox = Sandbox::sqlite();
    sandbox
        .createsuperuser("no spaces", STRONG)
        .failure("Enter a valid username.");
    sandbox
        .run(
            &[
                "createsuperuser",
                "--username",
                "admin",
                "--email",
                "nope",
                "--noinput",
            ],
            &[("HEARTH_SUPERUSER_PASSWORD", STRONG)],
        )
        .failure("Enter a valid email address.");
}

fn token_of(run: &Run, username: &str) -> String {
    let line = run.stdout.trim();
    let key = line
        .strip_prefix("Generated token ")
        .and_then(|rest| rest.strip_suffix(&format!(" for user {username}")))
        .unwrap_or_else(|| panic!("unexpected output: {line}"));
    assert!(
        key.len() == 40
            && key
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "not a 40-hex key: {key}"
    );
    key.to_owned()
}

#[test]
fn drf_create_token_prints_the_same_key_until_reset() {
    let sandbox = Sandbox::sqlite();
    sandbox.createsuperuser("admin", STRONG).success();
    let first = token_of(
        &sandbox.run(&["drf-create-token", "admin"], &[]).success(),
        "admin",
    );
    let again = token_of(
        &sandbox.run(&["drf-create-token", "admin"], &[]).success(),
        "admin",
    );
    assert_eq!(first, again);
    let reset = token_of(
        &sandbox
            .run(&["drf-create-token", "admin", "--reset"], &[])
            .success(),
        "admin",
    );
    assert_ne!(first, reset);
    let after = token_of(
        &sandbox.run(&["drf_create_token", "admin"], &[]).success(),
        "admin",
    );
    assert_eq!(reset, after);
}

#[test]
fn drf_create_token_for_an_unknown_user_is_an_error() {
    Sandbox::sqlite()
        .run(&["drf-create-token", "ghost"], &[])
        .failure("User ghost does not exist.");
}

#[test]
fn changepassword_sets_the_password_and_ends_every_login() {
    let sandbox = Sandbox::sqlite();
    sandbox.createsuperuser("admin", STRONG).success();
    let before = sandbox.user("admin").unwrap();
    let old_key = sandbox
        .run(&["drf-create-token", "admin"], &[])
        .success()
        .stdout;

    let run = sandbox
        .run(
            &["changepassword", "admin"],
            &[("HEARTH_NEW_PASSWORD", OTHER_STRONG)],
        )
        .success();
    assert!(
        run.stdout
            .contains("Password changed successfully for user 'admin'"),
        "{}",
        run.stdout
    );
    assert!(!run.mentions(OTHER_STRONG), "the password was printed");

    let after = sandbox.user("admin").unwrap();
    assert!(verifies(&after, OTHER_STRONG));
    assert!(!verifies(&after, STRONG));
    assert!(
        after.auth_version > before.auth_version,
        "issued access tokens still valid"
    );
    // the DRF token ended with the password: a new one is made
    let new_key = sandbox
        .run(&["drf-create-token", "admin"], &[])
        .success()
        .stdout;
    assert_ne!(old_key, new_key);
}

#[test]
fn changepassword_refuses_a_weak_password_and_an_unknown_user() {
    let sandbox = Sandbox::sqlite();
    sandbox.createsuperuser("admin", STRONG).success();
    sandbox
        .run(
            &["changepassword", "admin"],
            &[("HEARTH_NEW_PASSWORD", "password")],
        )
        .failure("This password is too common.");
    assert!(verifies(&sandbox.user("admin").unwrap(), STRONG));
    sandbox
        .run(
            &["changepassword", "ghost"],
            &[("HEARTH_NEW_PASSWORD", OTHER_STRONG)],
        )
        .failure("user 'ghost' does not exist");
}

#[test]
fn check_deploy_lists_the_unsafe_settings() {
    let sandbox = Sandbox::sqlite();
    let run = sandbox
        .run(&["check", "--deploy"], &[("SECRET_KEY", "too-short")])
        .success();
    for id in [
        "security.W004",
        "security.W009",
        "security.W012",
        "security.W016",
        "security.W018",
        "security.W020",
        "hearth.W001",
    ] {
        assert!(
            run.stdout.contains(id),
            "{id} missing from:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("System check identified 7 issues (0 silenced)."),
        "{}",
        run.stdout
    );

    let plain = sandbox.run(&["check"], &[]).success();
    assert!(
        plain
            .stdout
            .contains("System check identified no issues (0 silenced)."),
        "{}",
        plain.stdout
    );
}

#[test]
fn check_deploy_passes_a_hardened_configuration() {
    let sandbox = Sandbox::sqlite();
    let run = sandbox
        .run(
            &["check", "--deploy"],
            &[
                ("DEBUG", "false"),
                ("DATABASE_URL", "postgres://hearth@db.invalid/hearth"),
                ("ALLOWED_HOSTS", "api.example.com"),
                ("SESSION_COOKIE_SECURE", "true"),
                ("CSRF_COOKIE_SECURE", "true"),
                ("SECURE_HSTS_SECONDS", "31536000"),
            ],
        )
        .success();
    assert!(
        run.stdout.contains("System check identified no issues"),
        "{}",
        run.stdout
    );
}

#[test]
fn serve_without_secret_key_refuses_to_start_when_debug_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let run: Run = hearth()
        .current_dir(dir.path())
        .env("DEBUG", "false")
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap()
        .into();
    run.failure("SECRET_KEY");
    assert!(!dir.path().join(".hearth_secret_key").exists());
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let sandbox = Sandbox::sqlite();
    let started = Instant::now();
    sandbox
        .run(
            &["migrate"],
            &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/hearth")],
        )
        .failure("cannot open the database at postgres://postgres@127.0.0.1:1/hearth");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// Kills the server when the test ends, even when it fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_with_no_configuration_starts_on_sqlite_with_a_kept_key() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server(
        hearth()
            .current_dir(dir.path())
            .args(["serve", "--addr", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut stderr = String::new();
            let _ =
                std::io::Read::read_to_string(&mut server.0.stderr.take().unwrap(), &mut stderr);
            panic!("hearth serve exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "hearth serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("hearth.db").exists());
    let key_file = dir.path().join(".hearth_secret_key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.trim().len() >= 50, "short generated key");
    assert_private(&key_file);
}

#[cfg(unix)]
fn assert_private(file: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
}

#[cfg(not(unix))]
fn assert_private(_file: &Path) {}

/// A fresh database on the test PostgreSQL server, dropped afterwards.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create() -> Option<Self> {
        let server = std::env::var("HEARTH_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let required = std::env::var("HEARTH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let name = format!("hearth_cli_{}", hearth::auth::crypto::random_hex(8));
        let created = PgConnection::establish(&server)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = created {
            assert!(
                !required,
                "PostgreSQL is required (HEARTH_REQUIRE_POSTGRES=1) but: {e}"
            );
            eprintln!("SKIPPED: PostgreSQL case (cannot use {server}: {e})");
            return None;
        }
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(Self { server, name, url })
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

#[test]
fn served_requests_are_logged_without_terminal_colours_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hearth.log");
    let addr = format!("127.0.0.1:{}", free_port());
    let _server = Server(
        hearth()
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .args(["serve", "--addr", &addr])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        if let Ok(stream) = TcpStream::connect(&addr) {
            break stream;
        }
        assert!(
            Instant::now() < deadline,
            "hearth serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::io::Write::write_all(
        &mut stream,
        b"GET /music/song HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("served") {
            break text;
        }
        assert!(Instant::now() < deadline, "no access line in {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let line = text.lines().find(|l| l.contains("served")).unwrap();
    assert!(
        line.contains("path=\"/music/song\"") && line.contains("status=200"),
        "{line}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "terminal colours in a log file: {text:?}"
    );
}
