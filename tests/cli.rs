//! The command line, run as an operator runs it: the built binary, in a temporary
//! working directory, configured by environment variables only (`common`, which
//! also says where the PostgreSQL cases' databases come from).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test panics on a failed setup step"
)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{hearth, Place, Run};
use diesel::Connection as _;
use hearth::auth::users::{self, User};
use hearth::db::Db;
use hearth::password::{Hasher, Verified};

const STRONG: &str = "Tr0ub4dor&3-cli";
const OTHER_STRONG: &str = "Correct-Horse-7-battery";

/// A working directory and a database for one test.
struct Sandbox {
    place: Place,
    database_url: String,
}

impl Run {
    fn mentions(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }
}

impl Sandbox {
    fn sqlite() -> Self {
        Self::on(Place::sqlite())
    }

    /// `None` when PostgreSQL cannot be reached and is not required.
    fn postgres() -> Option<Self> {
        Place::postgres().map(Self::on)
    }

    fn on(place: Place) -> Self {
        let database_url = place.database("hearth");
        Self {
            place,
            database_url,
        }
    }

    fn dir(&self) -> &Path {
        self.place.dir()
    }

    /// The binary with this sandbox's settings (debug on, cheap password hashes).
    fn command(&self, args: &[&str]) -> Command {
        self.place.command(&self.database_url, args)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.place.run(&self.database_url, args, env)
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
                (
                    "DATABASE_URL",
                    "postgres://hearth@db.invalid/hearth?sslmode=verify-full",
                ),
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
#[test]
fn served_requests_are_logged_without_terminal_colours_to_a_file() {
    let (line, id, text) = access_line(false, "/music/song", None);
    let rest = line.split_once("Z  INFO hearth::access: ").unwrap().1;
    let prefix = format!("served id=\"{id}\" method=GET path=\"/music/song\" status=200 micros=");
    assert!(rest.starts_with(&prefix), "{line}");
    assert!(rest[prefix.len()..].parse::<u64>().is_ok(), "{line}");
    assert!(
        !text.contains('\u{1b}'),
        "terminal colours in a log file: {text:?}"
    );
    // a request id the client chose is quoted as tracing quotes it
    let (line, id, _) = access_line(false, "/music/song", Some(r#"a"b\c"#));
    assert_eq!(id, r#"a"b\c"#);
    assert!(line.contains(r#" id="a\"b\\c" "#), "{line}");
}

#[test]
fn served_requests_are_logged_as_json_lines_with_log_json() {
    let (line, id, _) = access_line(true, "/music/song", None);
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["level"], "INFO", "{line}");
    assert_eq!(entry["target"], "hearth::access", "{line}");
    let fields = &entry["fields"];
    assert_eq!(fields["message"], "served", "{line}");
    assert_eq!(fields["id"], id.as_str(), "{line}");
    assert_eq!(fields["method"], "GET", "{line}");
    assert_eq!(fields["path"], "/music/song", "{line}");
    assert_eq!(fields["status"], 200, "{line}");
    assert!(fields["micros"].is_u64(), "{line}");
    let stamp = entry["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{line}"
    );
    let (line, id, _) = access_line(true, "/music/song", Some(r#"a"b\c"#));
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["fields"]["id"], id.as_str(), "{line}");
}

#[test]
fn every_access_line_is_in_the_log_when_the_server_has_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hearth.log");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server(
        hearth()
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .args(["serve", "--addr", &addr])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(&mut server, &addr);
    let base = format!("http://{addr}");
    let ids: Vec<String> = runtime().block_on(async {
        let client = reqwest::Client::new();
        let mut ids = Vec::new();
        for _ in 0..200 {
            let r = client
                .get(format!("{base}/music/song"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            ids.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
        }
        ids
    });
    // at once: the last lines are still waiting to be written
    let stopped = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(server.0.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let served: Vec<&str> = text.lines().filter(|l| l.contains(" served ")).collect();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !served.iter().any(|l| l.contains(id.as_str())))
        .collect();
    assert!(missing.is_empty(), "{} of 200 lines missing", missing.len());
    assert_eq!(served.len(), 200, "{text}");
}

/// The access line of one `GET path` (with the client's own `X-Request-Id` when
/// `request_id`) to a server logging to a file (JSON lines when `json`), the
/// request id the answer carried, and the whole log.
fn access_line(json: bool, path: &str, request_id: Option<&str>) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hearth.log");
    let addr = format!("127.0.0.1:{}", free_port());
    let _server = Server(
        hearth()
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .env("LOG_JSON", json.to_string())
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
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{}\r\n",
            request_id.map_or_else(String::new, |id| format!("X-Request-Id: {id}\r\n"))
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("no x-request-id")
        .to_owned();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("served") {
            break text;
        }
        assert!(Instant::now() < deadline, "no access line in {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let line = text
        .lines()
        .find(|l| l.contains("served"))
        .unwrap()
        .to_owned();
    (line, id, text)
}

/// Waits until `addr` accepts connections, or fails with what the server said.
fn wait_listening(server: &mut Server, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = server.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("hearth serve exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "hearth serve did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SQLite on a disk that fills up: the server runs with a file-size limit a little
/// above its database (RLIMIT_FSIZE, SIGXFSZ ignored, so writes past it fail as on
/// a full disk), and posts messages until the log of writes cannot grow. Every
/// post answered 201 must be stored under its own id; the others are 503; reads go on.
#[cfg(target_os = "linux")]
#[test]
fn a_write_the_disk_cannot_take_is_503_and_never_acknowledged() {
    const WAVE: usize = 16;
    let sandbox = Sandbox::sqlite();
    sandbox.run(&["migrate"], &[]).success();
    let db_kib = std::fs::metadata(sandbox.dir().join("hearth"))
        .unwrap()
        .len()
        / 1024;
    let addr = format!("127.0.0.1:{}", free_port());
    let mut shell = common::sandboxed("bash", sandbox.dir(), &sandbox.database_url);
    shell
        .env("RUST_LOG", "error")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" serve --addr {addr}",
            db_kib + 160
        ))
        .arg(common::BIN)
        .stdout(std::fs::File::create(sandbox.dir().join("log")).unwrap())
        .stderr(Stdio::piped());
    let mut server = Server(shell.spawn().unwrap());
    wait_listening(&mut server, &addr);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused_ids = runtime.block_on(async {
        let client = reqwest::Client::new();
        let base = format!("http://{addr}");
        let signup: serde_json::Value = client
            .post(format!("{base}/api/auth/signup/"))
            .json(&serde_json::json!({"username": "writer", "password": STRONG}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = format!("Bearer {}", signup["access"].as_str().unwrap());
        let mut acknowledged: Vec<(i64, String)> = Vec::new();
        let mut refused = 0;
        let mut refused_ids = Vec::new();
        // in waves of concurrent posts, so that SQLite's writer commits several
        // in one transaction, and a failing commit fails every post of it
        for wave in 0..300 {
            let posts = (0..WAVE).map(|i| {
                let text = format!("{:05} {}", wave * WAVE + i, "x".repeat(1500));
                let request = client
                    .post(format!("{base}/api/messages"))
                    .header("Authorization", &bearer)
                    .json(&serde_json::json!({ "text": text }))
                    .send();
                async move {
                    let r = request.await.unwrap();
                    let status = r.status().as_u16();
                    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
                    let body: serde_json::Value = r.json().await.unwrap();
                    (status, request_id, body, text)
                }
            });
            for (status, request_id, body, text) in futures::future::join_all(posts).await {
                if status == 201 {
                    acknowledged.push((body["id"].as_i64().unwrap(), text));
                    continue;
                }
                assert_eq!(status, 503, "{body}");
                assert_eq!(
                    body,
                    serde_json::json!({"detail": "Service temporarily unavailable, try again later."})
                );
                refused += 1;
                refused_ids.push(request_id);
            }
            if refused >= 5 {
                break;
            }
        }
        let mut ids: Vec<i64> = acknowledged.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            acknowledged.len(),
            "an id was acknowledged twice"
        );
        assert!(refused >= 5, "the file-size limit was never reached");
        eprintln!("{} posts acknowledged, {refused} refused", acknowledged.len());
        assert!(!acknowledged.is_empty());
        for (id, text) in &acknowledged {
            let r = client
                .get(format!("{base}/api/messages/{id}"))
                .header("Authorization", &bearer)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "message {id} was answered 201 and is gone");
            let stored: serde_json::Value = r.json().await.unwrap();
            assert_eq!(stored["text"].as_str(), Some(text.as_str()));
        }
        let r = client
            .get(format!("{base}/api/messages?limit=1"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "reads stop with the disk");
        let total = r.headers()["x-total-count"].to_str().unwrap().to_owned();
        assert_eq!(total, acknowledged.len().to_string());
        refused_ids
    });
    // each refusal is logged with its cause, under the id its response carried
    drop(server);
    let log = std::fs::read_to_string(sandbox.dir().join("log")).unwrap();
    for id in refused_ids {
        let line = log
            .lines()
            .find(|l| l.contains(&id))
            .unwrap_or_else(|| panic!("no log line for request {id}:\n{log}"));
        assert!(
            line.contains("ERROR") && line.contains("database unavailable"),
            "{line}"
        );
    }
}

#[test]
fn serve_refuses_a_static_dir_without_an_index() {
    let sandbox = Sandbox::sqlite();
    let empty = sandbox.dir().join("dist");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.to_str().unwrap();
    sandbox
        .run(&["serve", "--addr", "127.0.0.1:0", "--static", empty], &[])
        .failure("index.html");
    sandbox
        .run(
            &["serve", "--addr", "127.0.0.1:0"],
            &[("STATIC_DIR", empty)],
        )
        .failure("STATIC_DIR");
}

/// `hearth serve` in the sandbox with `env`, once it answers `/healthz` on `port`.
fn serve_on(sandbox: &Sandbox, port: u16, env: &[(&str, &str)]) -> Server {
    let mut cmd = sandbox.command(&["serve"]);
    cmd.envs(env.iter().copied())
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = Server(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sandbox
        .run(&["healthcheck"], &[("PORT", &port.to_string())])
        .ok
    {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "hearth serve exited"
        );
        assert!(Instant::now() < deadline, "hearth serve never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

#[test]
fn port_is_honoured_on_every_interface_and_healthcheck_asks_healthz() {
    let sandbox = Sandbox::sqlite();
    let port = free_port();
    let server = serve_on(&sandbox, port, &[]);
    // 0.0.0.0, not only 127.0.0.1
    assert!(TcpStream::connect(("127.0.0.2", port)).is_ok());
    drop(server);
    sandbox
        .run(&["healthcheck"], &[("PORT", &port.to_string())])
        .failure("cannot connect");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One request per connection, so that no request races a kept-alive
/// connection's closing.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn access_token(base: &str, username: &str, password: &str) -> String {
    let r = client()
        .post(format!("{base}/api/token/"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    body["access"].as_str().unwrap().to_owned()
}

/// Posts a message; its id, or `None` when the server refused the connection.
async fn post_message(base: &str, access: &str, text: &str) -> Option<i64> {
    let sent = client()
        .post(format!("{base}/api/messages"))
        .bearer_auth(access)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await;
    let r = match sent {
        Ok(r) => r,
        Err(err) if err.is_connect() => return None,
        Err(err) => panic!("a request got no complete answer: {err:?}"),
    };
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.expect("an incomplete body");
    Some(body["id"].as_i64().unwrap())
}

#[test]
fn backup_copies_a_live_sqlite_database_that_hearth_then_serves() {
    let sandbox = Sandbox::sqlite();
    sandbox.createsuperuser("admin", STRONG).success();
    let port = free_port();
    let server = serve_on(&sandbox, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let copy = sandbox.dir().join("copy.db");
    let posted = runtime().block_on(async {
        let access = access_token(&base, "admin", STRONG).await;
        let posters: Vec<_> = (0..4)
            .map(|w| {
                let (base, access) = (base.clone(), access.clone());
                tokio::spawn(async move {
                    for i in 0..50 {
                        post_message(&base, &access, &format!("{w}-{i}"))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let backup = tokio::task::spawn_blocking({
            let mut backup = sandbox.command(&["backup", &copy.display().to_string()]);
            move || Run::from(backup.output().unwrap())
        });
        let backup = backup.await.unwrap().success();
        assert!(backup.stdout.contains("Backed up to"), "{}", backup.stdout);
        for poster in posters {
            poster.await.unwrap();
        }
        200
    });
    drop(server);
    assert_eq!(posted, 200);
    sandbox
        .run(&["backup", &copy.display().to_string()], &[])
        .failure("already exists");

    let mut conn = diesel::SqliteConnection::establish(&copy.display().to_string()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let check: Vec<Check> =
        diesel::RunQueryDsl::load(diesel::sql_query("PRAGMA integrity_check"), &mut conn).unwrap();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].integrity_check, "ok");
    drop(conn);

    // restored: the copy in place of the database
    let restored = Sandbox {
        place: Place::sqlite(),
        database_url: format!("sqlite://{}", copy.display()),
    };
    let port = free_port();
    let _server = serve_on(&restored, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    runtime().block_on(async {
        let access = access_token(&base, "admin", STRONG).await;
        let r = client()
            .get(format!("{base}/api/messages"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let total: i64 = r.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0..=200).contains(&total), "{total}");
        assert!(post_message(&base, &access, "after the restore")
            .await
            .is_some());
    });
}

#[test]
fn backup_of_postgres_points_to_pg_dump() {
    let sandbox = Sandbox::sqlite();
    sandbox
        .run(
            &["backup", "x.db"],
            &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/hearth")],
        )
        .failure("pg_dump");
}

/// Reads a message stream until it ends or brings message `until`: the ids of its
/// messages (from their data) into `ids`, the last SSE id (where to resume) into
/// `cursor`; whether it ended cleanly (end of body rather than an error).
async fn read_stream(
    response: reqwest::Response,
    ids: &mut Vec<i64>,
    cursor: &mut i64,
    until: i64,
) -> bool {
    let mut response = response;
    let mut buffer = String::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(None) => return true,
            Err(_) => return false,
        }
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if !block.contains("event: message") {
                continue;
            }
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(str::to_owned))
            };
            if let Some(sse_id) = field("id: ").and_then(|id| id.trim().parse().ok()) {
                *cursor = sse_id;
            }
            let data: serde_json::Value = serde_json::from_str(&field("data: ").unwrap()).unwrap();
            let id = data["id"].as_i64().unwrap();
            ids.push(id);
            if id == until {
                return true;
            }
        }
    }
}

#[test]
fn sigterm_finishes_requests_and_a_stream_resumes_on_the_other_instance() {
    let Some(sandbox) = Sandbox::postgres() else {
        return;
    };
    sandbox.createsuperuser("admin", STRONG).success();
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = serve_on(&sandbox, port_a, &[]);
    let _b = serve_on(&sandbox, port_b, &[]);
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    runtime().block_on(async {
        let access = access_token(&base_a, "admin", STRONG).await;
        let stream = client()
            .get(format!("{base_a}/api/messages/stream"))
            .bearer_auth(&access)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let posters: Vec<_> = (0..4)
            .map(|w| {
                let (a, access, stopped) = (base_a.clone(), access.clone(), stopped.clone());
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    let mut i = 0;
                    while !*stopped.borrow() {
                        i += 1;
                        // until A stops listening
                        match post_message(&a, &access, &format!("{w}-{i}")).await {
                            Some(id) => ids.push(id),
                            None => break,
                        }
                    }
                    ids
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let terminated = Command::new("kill")
            .args(["-TERM", &a.0.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let (mut seen, mut cursor) = (Vec::new(), 0);
        let clean = read_stream(stream, &mut seen, &mut cursor, i64::MAX).await;
        assert!(clean, "the stream on A was cut off instead of ended");
        let status = tokio::task::spawn_blocking(move || {
            let status = a.0.wait().unwrap();
            (a, status)
        })
        .await
        .unwrap()
        .1;
        assert!(status.success(), "A exited with {status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.send_replace(true);
        let mut posted = Vec::new();
        for poster in posters {
            posted.extend(poster.await.unwrap());
        }
        let last = post_message(&base_b, &access, "the end").await.unwrap();
        let resumed = client()
            .get(format!("{base_b}/api/messages/stream"))
            .bearer_auth(&access)
            .header("Last-Event-ID", cursor.to_string())
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        assert_eq!(resumed.status(), 200);
        assert!(read_stream(resumed, &mut seen, &mut cursor, last).await);
        let missing: Vec<_> = posted.iter().filter(|id| !seen.contains(id)).collect();
        assert!(missing.is_empty(), "the stream missed {missing:?}");
        let mut once = seen.clone();
        once.sort_unstable();
        once.dedup();
        assert_eq!(once.len(), seen.len(), "a message came twice: {seen:?}");
        assert!(posted.len() > 4, "too little load: {}", posted.len());
    });
}
