//! TLS to PostgreSQL: a cluster of the test's own (initdb and pg_ctl from the
//! machine's PostgreSQL, run as the `postgres` user) that takes TLS connections only,
//! with a certificate for `localhost` signed by a CA the test makes.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection, QueryableByName, RunQueryDsl as _};
use hearth::db::Db;

use crate::helpers::*;

struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

fn as_postgres(program: &Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd
}

#[track_caller]
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// `None` when the machine has no PostgreSQL server programs (and they are not
    /// required).
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                let version = bin.parent().and_then(Path::file_name);
                version.and_then(|v| v.to_str()?.parse::<u32>().ok())
            });
        let Some(bin) = bin else {
            assert!(!pg_required(), "no initdb under /usr/lib/postgresql/*/bin");
            eprintln!("SKIPPED: TLS to PostgreSQL (no initdb under /usr/lib/postgresql)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let path = path.as_path();
        // the CA, and the server's certificate for localhost only
        let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(path).args(args));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hearth-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(path.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path));
        run(Command::new("chmod")
            .arg("0600")
            .arg(path.join("server.key")));
        let cluster = Self { dir, bin, port };
        run(as_postgres(&cluster.bin.join("initdb")).args([
            "-D",
            &cluster.data(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ]));
        let dir = path.display();
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n\
             fsync = off\n"
        );
        append(&path.join("data/postgresql.conf"), &conf);
        std::fs::write(
            path.join("data/pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        run(as_postgres(&cluster.bin.join("pg_ctl")).args([
            "-D",
            &cluster.data(),
            "-l",
            &format!("{dir}/log"),
            "-w",
            "start",
        ]));
        let mut conn =
            PgConnection::establish(&cluster.url("127.0.0.1", "postgres", "require")).unwrap();
        conn.batch_execute("CREATE DATABASE hearth").unwrap();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self, host: &str, database: &str, sslmode: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/{database}?sslmode={sslmode}&sslrootcert={}",
            self.port,
            self.dir.path().join("ca.crt").display()
        )
    }
}

fn append(file: &Path, text: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[derive(QueryableByName, Debug)]
struct Session {
    #[diesel(sql_type = diesel::sql_types::Text)]
    application_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
}

/// Serves on the cluster with `sslmode`, and checks the API, the stream and the
/// shared readers over it.
async fn serves_over_tls(cluster: &Cluster, host: &str, sslmode: &str) {
    let url = cluster.url(host, "hearth", sslmode);
    let Some(app) = TestApp::spawn(Backend::Postgres, |s| s.database_url = url.clone()).await
    else {
        return;
    };
    let alice = app.user(sslmode).await;
    let mut stream = alice.get("/api/messages/stream").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let posted = expect(
        alice
            .post("/api/messages")
            .json(&json!({"text": "over TLS"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let list = expect(alice.get("/api/messages").send().await.unwrap(), 200).await;
    assert!(list.to_string().contains("over TLS"), "{list}");
    let mut seen = String::new();
    while !seen.contains("over TLS") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream sent nothing")
            .unwrap()
            .expect("the stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&format!("id: {}", posted["id"])), "{seen}");

    let sessions: Vec<Session> = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        diesel::sql_query(
            "SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s \
             USING (pid) WHERE a.datname = 'hearth' AND a.pid <> pg_backend_pid()",
        )
        .load(&mut conn)
        .unwrap()
    })
    .await
    .unwrap();
    let names: Vec<&str> = sessions
        .iter()
        .map(|s| s.application_name.as_str())
        .collect();
    for name in ["hearth-reader", "hearth-listener", "hearth-notifier"] {
        assert!(names.contains(&name), "no {name} session: {sessions:?}");
    }
    assert!(sessions.iter().all(|s| s.ssl), "{sessions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgresql_as_sslmode_asks() {
    let Some(cluster) = tokio::task::spawn_blocking(Cluster::start).await.unwrap() else {
        return;
    };
    serves_over_tls(&cluster, "localhost", "verify-full").await;
    serves_over_tls(&cluster, "127.0.0.1", "require").await;

    let refused = |url: String| async move {
        tokio::task::spawn_blocking(move || Db::connect(&url, 1).map(|_| ()))
            .await
            .unwrap()
            .expect_err("connected")
    };
    let plain = refused(cluster.url("127.0.0.1", "hearth", "disable")).await;
    assert!(format!("{plain:#}").contains("no encryption"), "{plain:#}");
    // the certificate names localhost, not 127.0.0.1
    let wrong_host = refused(cluster.url("127.0.0.1", "hearth", "verify-full")).await;
    let message = format!("{wrong_host:#}");
    assert!(message.contains("does not match host name"), "{message}");
}
