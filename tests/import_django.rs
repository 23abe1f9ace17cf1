//! `hearth import-django`, `dumpdata` and `loaddata`, run as an operator runs them
//! (`common`), reading a small Django-shaped database that each test builds (an
//! SQLite file, or a fresh PostgreSQL database).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test panics on a failed setup step"
)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::{Place, Run, SECRET};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use hearth::auth::logins;
use hearth::auth::tokens;
use hearth::auth::users::{self, User};
use hearth::crypto::Keys;
use hearth::db::{Conn, Db};
use hearth::django::signing;
use hearth::domains::messages::queries::messages;
use hearth::password::{Hasher, Verified};
use secrecy::SecretString;
use serde_json::json;

const PASSWORD: &str = "secret-pass";
/// Django 5.2's Argon2PasswordHasher and ScryptPasswordHasher (cheap settings), of PASSWORD.
const ARGON2: &str = "argon2$argon2id$v=19$m=1024,t=1,p=1$RVJrbnVxZ3VnZnltNVMxdWhGdlpGTQ$qS/o32ku8NohjOPpyT2MPYHVyZAiLggluLYHA7YARjk";
const SCRYPT: &str = "scrypt$1024$Z2bORdnjIVAllo1sSHXwz8$8$5$X65hEHrUHJXys3wA6mz0P65FNMuySz33E57kdqkhyG9GpQYBxnJLsKBxB17LPKR4mJLKFos+J53OJ5444IBuCA==";
const MD5: &str = "md5$Vavn8mc4ftD9VRwP3mfHLa$8bbd01ad6790cf6b6aa2b2824f1c959f";
const DRF_KEY: &str = "0123456789abcdef0123456789abcdef01234567";

impl Run {
    /// The summary line of a model: (imported, skipped).
    #[track_caller]
    fn line(&self, model: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{model} ")))
            .unwrap_or_else(|| panic!("no line for {model} in:\n{}", self.stdout))
    }
}

impl Place {
    fn hearth(&self, database_url: &str, args: &[&str]) -> Run {
        self.run(database_url, args, &[])
    }
}

/// Django 5.2's tables for these apps, in each backend's column types.
const DJANGO_SCHEMA: &str = r#"
CREATE TABLE django_migrations (id {PK}, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied {TS} NOT NULL);
CREATE TABLE auth_user (id {PK}, password varchar(128) NOT NULL, last_login {TS} NULL, is_superuser {BOOL} NOT NULL,
  username varchar(150) NOT NULL UNIQUE, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL,
  is_staff {BOOL} NOT NULL, is_active {BOOL} NOT NULL, date_joined {TS} NOT NULL, first_name varchar(150) NOT NULL);
CREATE TABLE authtoken_token ("key" varchar(40) NOT NULL PRIMARY KEY, created {TS} NOT NULL,
  user_id integer NOT NULL UNIQUE REFERENCES auth_user (id));
CREATE TABLE token_blacklist_outstandingtoken (id {BIGPK}, token text NOT NULL, created_at {TS} NULL,
  expires_at {TS} NOT NULL, user_id integer NULL REFERENCES auth_user (id), jti varchar(255) NOT NULL UNIQUE);
CREATE TABLE token_blacklist_blacklistedtoken (id {BIGPK}, blacklisted_at {TS} NOT NULL,
  token_id bigint NOT NULL UNIQUE REFERENCES token_blacklist_outstandingtoken (id));
CREATE TABLE django_session (session_key varchar(40) NOT NULL PRIMARY KEY, session_data text NOT NULL, expire_date {TS} NOT NULL);
CREATE TABLE messaging_message (id {BIGPK}, text varchar(4000) NOT NULL, "timestamp" {TS} NOT NULL,
  sender_id integer NOT NULL REFERENCES auth_user (id));
CREATE TABLE tasks_task (id {BIGPK}, title varchar(200) NOT NULL, completed {BOOL} NOT NULL, created_at {TS} NOT NULL,
  updated_at {TS} NOT NULL, user_id integer NOT NULL REFERENCES auth_user (id));
CREATE TABLE api_blogpost (id {BIGPK}, title varchar(100) NOT NULL, content text NOT NULL, created_at {TS} NOT NULL,
  updated_at {TS} NOT NULL, author_id integer NOT NULL REFERENCES auth_user (id));
CREATE TABLE music_album (id {BIGPK}, name varchar(200) NOT NULL, artist varchar(100) NOT NULL, year_released date NOT NULL);
CREATE TABLE music_song (id {BIGPK}, song_name varchar(100) NOT NULL, num_streams integer NOT NULL,
  album_id bigint NOT NULL REFERENCES music_album (id));
CREATE TABLE music_userlikessong (id {BIGPK}, song_id bigint NOT NULL REFERENCES music_song (id),
  user_id integer NOT NULL REFERENCES auth_user (id));
"#;

const APPS: [&str; 9] = [
    "contenttypes",
    "auth",
    "authtoken",
    "token_blacklist",
    "sessions",
    "messaging",
    "tasks",
    "api",
    "music",
];

fn pbkdf2(password: &str) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"saltsalt", 1000, &mut out);
    format!("pbkdf2_sha256$1000$saltsalt${}", STANDARD.encode(out))
}

/// A Django project's database, built by hand.
struct Django {
    url: String,
    conn: Conn,
}

impl Django {
    fn connect(url: &str) -> Conn {
        match url.strip_prefix("sqlite://") {
            Some(path) => Conn::Sqlite(SqliteConnection::establish(path).unwrap()),
            None => {
                let mut conn = PgConnection::establish(url).unwrap();
                // another zone than UTC: the import must still read UTC
                conn.batch_execute("SET TIME ZONE 'Europe/Paris'").unwrap();
                Conn::Pg(conn)
            }
        }
    }

    fn new(url: String, tables: &str, apps: &[&str]) -> Self {
        let mut conn = Self::connect(&url);
        let pg = matches!(conn, Conn::Pg(_));
        let sql = tables
            .replace(
                "{PK}",
                if pg {
                    "serial PRIMARY KEY"
                } else {
                    "integer PRIMARY KEY AUTOINCREMENT"
                },
            )
            .replace(
                "{BIGPK}",
                if pg {
                    "bigserial PRIMARY KEY"
                } else {
                    "integer PRIMARY KEY AUTOINCREMENT"
                },
            )
            .replace(
                "{TS}",
                if pg {
                    "timestamp with time zone"
                } else {
                    "datetime"
                },
            )
            .replace("{BOOL}", if pg { "boolean" } else { "bool" });
        conn.batch_execute(&sql).unwrap();
        let mut django = Self { url, conn };
        for app in apps {
            django.exec(&format!(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('{app}', '0001_initial', {})",
                django.ts("2026-01-01 00:00:00")
            ));
        }
        django
    }

    fn pg(&self) -> bool {
        matches!(self.conn, Conn::Pg(_))
    }

    /// A UTC timestamp literal as Django stores it.
    fn ts(&self, t: &str) -> String {
        if self.pg() {
            format!("'{t}+00'")
        } else {
            format!("'{t}'")
        }
    }

    fn b(&self, v: bool) -> &'static str {
        match (self.pg(), v) {
            (true, true) => "true",
            (true, false) => "false",
            (false, true) => "1",
            (false, false) => "0",
        }
    }

    fn exec(&mut self, sql: &str) {
        self.conn
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn user(&mut self, id: i64, username: &str, password: &str, staff: bool) {
        let sql = format!(
            "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, \
             last_name, email, is_staff, is_active, date_joined) VALUES ({id}, '{password}', NULL, {s}, \
             '{username}', 'First', 'Last', '{username}@example.com', {s}, {t}, {joined})",
            s = self.b(staff),
            t = self.b(true),
            joined = self.ts("2026-01-02 03:04:05.123456"),
        );
        self.exec(&sql);
    }

    fn session(&mut self, key: &str, data: &serde_json::Value, secret: &str, expires: &str) {
        let signed = signing::sign_session(data, secret, 1_767_000_000);
        let sql = format!(
            "INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('{key}', '{signed}', {})",
            self.ts(expires)
        );
        self.exec(&sql);
    }

    /// The tutorials' project: four users (hashes of four hashers), a DRF token,
    /// refresh tokens (live, blacklisted, expired), sessions (good, expired, signed
    /// with another key, from before a password change) and a row in every table.
    fn tutorial(url: String) -> Self {
        let mut d = Self::new(url, DJANGO_SCHEMA, &APPS);
        d.user(1, "admin", &pbkdf2(PASSWORD), true);
        d.user(2, "alice", ARGON2, false);
        d.user(3, "bob", MD5, false);
        d.user(4, "carol", SCRYPT, false);
        d.user(5, "dave", "!unusablepasswordxyz", false);
        let sql = format!(
            "INSERT INTO authtoken_token (\"key\", created, user_id) VALUES ('{DRF_KEY}', {}, 2)",
            d.ts("2026-01-03 00:00:00")
        );
        d.exec(&sql);
        for (id, user, jti, expires) in [
            (1, "2", "jti-live", "2099-01-01 00:00:00"),
            (2, "3", "jti-blacklisted", "2099-01-01 00:00:00"),
            (3, "1", "jti-expired", "2020-01-01 00:00:00"),
            (4, "NULL", "jti-orphan", "2099-01-01 00:00:00"),
        ] {
            let sql = format!(
                "INSERT INTO token_blacklist_outstandingtoken (id, token, created_at, expires_at, user_id, jti) \
                 VALUES ({id}, 'x.y.z', {}, {}, {user}, '{jti}')",
                d.ts("2026-01-03 00:00:00"),
                d.ts(expires)
            );
            d.exec(&sql);
        }
        let sql = format!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) VALUES ({}, 2)",
            d.ts("2026-01-04 00:00:00")
        );
        d.exec(&sql);
        let alice_hash = signing::session_auth_hash(ARGON2, SECRET);
        let good = json!({"_auth_user_id": "2", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend", "_auth_user_hash": alice_hash});
        d.session("goodsessionkey", &good, SECRET, "2099-01-01 00:00:00");
        d.session("expiredsessionkey", &good, SECRET, "2020-01-01 00:00:00");
        d.session(
            "foreignsessionkey",
            &good,
            "another-key",
            "2099-01-01 00:00:00",
        );
        let stale = json!({"_auth_user_id": "2", "_auth_user_hash": signing::session_auth_hash("old", SECRET)});
        d.session("stalesessionkey", &stale, SECRET, "2099-01-01 00:00:00");
        let sql = format!(
            "INSERT INTO messaging_message (id, text, \"timestamp\", sender_id) VALUES (5, 'hello', {t}, 2), (9, 'hi', {t}, 1); \
             INSERT INTO tasks_task (id, title, completed, created_at, updated_at, user_id) VALUES (4, 'milk', {tr}, {t}, {t}, 4); \
             INSERT INTO api_blogpost (id, title, content, created_at, updated_at, author_id) VALUES (2, 'Post', 'Body', {t}, {t}, 2); \
             INSERT INTO music_album (id, name, artist, year_released) VALUES (3, 'Blue', 'Joni Mitchell', '1971-06-22'); \
             INSERT INTO music_song (id, song_name, num_streams, album_id) VALUES (7, 'River', 1200, 3); \
             INSERT INTO music_userlikessong (id, song_id, user_id) VALUES (6, 7, 2);",
            t = d.ts("2026-01-05 06:07:08.654321"),
            tr = d.b(true),
        );
        d.exec(&sql);
        d
    }
}

fn hearth_conn(url: &str) -> (Db, diesel::r2d2::PooledConnection<hearth::db::Manager>) {
    let db = Db::connect(url, 1).unwrap();
    db.migrate().unwrap();
    let conn = db.get().unwrap();
    (db, conn)
}

fn user(url: &str, username: &str) -> Option<User> {
    let (_db, mut conn) = hearth_conn(url);
    users::find_by_username(&mut conn, username).unwrap()
}

fn count_users(url: &str) -> i64 {
    let (_db, mut conn) = hearth_conn(url);
    users::users::table.count().get_result(&mut **conn).unwrap()
}

fn assert_imports_everything(place: &Place) {
    let django = Django::tutorial(place.database("django"));
    let target = place.database("hearth");

    let dry = place
        .hearth(
            &target,
            &["import-django", "--from", &django.url, "--dry-run"],
        )
        .success();
    assert!(
        dry.stdout.contains("Dry run: nothing was written."),
        "{}",
        dry.stdout
    );
    assert!(
        dry.line("auth.user").contains("5 would import"),
        "{}",
        dry.stdout
    );
    assert_eq!(count_users(&target), 0, "the dry run wrote");

    let run = place
        .hearth(&target, &["import-django", "--from", &django.url])
        .success();
    let out = &run.stdout;
    assert!(run.line("auth.user").contains("5 imported"), "{out}");
    assert!(run.line("authtoken.token").contains("1 imported"), "{out}");
    let jwt = run.line("token_blacklist.outstandingtoken");
    assert!(
        jwt.contains("2 imported")
            && jwt.contains("expired: 1")
            && jwt.contains("deleted in Django: 1"),
        "{out}"
    );
    let sessions = run.line("sessions.session");
    assert!(
        sessions.contains("1 imported")
            && sessions.contains("expired: 1")
            && sessions.contains("signature does not verify with the SECRET_KEY given: 1")
            && sessions.contains("password changed since the login (Django ends it too): 1"),
        "{out}"
    );
    for model in [
        "messaging.message",
        "tasks.task",
        "api.blogpost",
        "music.album",
        "music.song",
        "music.userlikessong",
    ] {
        let line = run.line(model);
        assert!(
            line.contains(" imported") && !line.contains("skipped"),
            "{out}"
        );
    }
    assert!(
        run.line("messaging.message").contains("2 imported"),
        "{out}"
    );
    assert!(
        out.contains("bob (md5)") && out.contains("cannot log in until their password is reset"),
        "{out}"
    );
    assert!(out.contains("1 user(s) have no usable password"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");

    // the same users, ids, flags and timestamps; hashes as they were
    let admin = user(&target, "admin").unwrap();
    assert_eq!(
        (admin.id, admin.is_staff, admin.is_superuser),
        (1, true, true)
    );
    assert_eq!(
        hearth::time::iso(&admin.date_joined),
        "2026-01-02T03:04:05.123456Z"
    );
    assert_eq!(admin.email, "admin@example.com");
    let bob = user(&target, "bob").unwrap();
    assert_eq!(bob.password, MD5, "an unverifiable hash is kept as it is");
    let hasher = Hasher::new(1024, 1);
    for name in ["admin", "alice", "carol"] {
        let u = user(&target, name).unwrap();
        assert_eq!(
            hasher.verify_now(PASSWORD, &u.password),
            Verified::YesRehash,
            "{name}"
        );
        assert_eq!(
            hasher.verify_now("wrong-pass", &u.password),
            Verified::No,
            "{name}"
        );
    }

    let keys = Keys::derive(&SecretString::from(SECRET));
    let (_db, mut conn) = hearth_conn(&target);
    // the DRF key finds alice, and is shown again the same
    let by_token = tokens::user_by_key_hash(&mut conn, &keys.lookup_hash(DRF_KEY)).unwrap();
    assert_eq!(by_token.map(|u| u.username).as_deref(), Some("alice"));
    assert_eq!(tokens::get_or_create(&mut conn, &keys, 2).unwrap(), DRF_KEY);
    // refresh tokens: live, blacklisted, the expired one not kept
    let live = logins::find_refresh(&mut conn, &keys.lookup_hash("jti-live"))
        .unwrap()
        .unwrap();
    assert!(live.blacklisted_at.is_none() && live.rotated_at.is_none());
    let dead = logins::find_refresh(&mut conn, &keys.lookup_hash("jti-blacklisted"))
        .unwrap()
        .unwrap();
    assert!(dead.blacklisted_at.is_some());
    assert!(
        logins::find_refresh(&mut conn, &keys.lookup_hash("jti-expired"))
            .unwrap()
            .is_none()
    );
    // Django's session cookie logs alice in; the others do not
    let session = logins::session_user(&mut conn, &keys.lookup_hash("goodsessionkey")).unwrap();
    assert_eq!(session.map(|(_, u)| u.username).as_deref(), Some("alice"));
    for key in ["expiredsessionkey", "foreignsessionkey", "stalesessionkey"] {
        assert!(
            logins::session_user(&mut conn, &keys.lookup_hash(key))
                .unwrap()
                .is_none(),
            "{key}"
        );
    }
    // a new row comes after the imported ids
    let id: i64 = diesel::insert_into(messages::table)
        .values((
            messages::sender_id.eq(1),
            messages::text.eq("after"),
            messages::timestamp.eq(hearth::time::now()),
        ))
        .returning(messages::id)
        .get_result(&mut **conn)
        .unwrap();
    assert_eq!(id, 10);
    drop(conn);

    // and the data reads back the way Django wrote it, as a fixture
    let dump = place
        .hearth(&target, &["dumpdata", "messaging", "music.song"])
        .success();
    let objects: serde_json::Value = serde_json::from_str(&dump.stdout).unwrap();
    assert_eq!(
        objects,
        json!([
            {"model": "messaging.message", "pk": 5, "fields": {"sender": 2, "text": "hello", "timestamp": "2026-01-05T06:07:08.654321Z"}},
            {"model": "messaging.message", "pk": 9, "fields": {"sender": 1, "text": "hi", "timestamp": "2026-01-05T06:07:08.654321Z"}},
            {"model": "messaging.message", "pk": 10, "fields": {"sender": 1, "text": "after", "timestamp": objects[2]["fields"]["timestamp"]}},
            {"model": "music.song", "pk": 7, "fields": {"song_name": "River", "album": 3, "num_streams": 1200}},
        ])
    );

    // a second import into the now full database is refused without --merge
    place
        .hearth(&target, &["import-django", "--from", &django.url])
        .failure("Hearth's database is not empty (5 users, 3 messages");
    let merged = place
        .hearth(
            &target,
            &["import-django", "--from", &django.url, "--merge", "keep"],
        )
        .success();
    assert!(
        merged
            .line("auth.user")
            .contains("0 imported, 5 skipped (id already in Hearth (Hearth's row kept): 5)"),
        "{}",
        merged.stdout
    );
    assert!(
        merged.line("messaging.message").contains("0 imported"),
        "{}",
        merged.stdout
    );
}

#[test]
fn imports_a_django_sqlite_project() {
    assert_imports_everything(&Place::sqlite());
}

#[test]
fn imports_a_django_postgres_project() {
    let Some(place) = Place::postgres() else {
        return;
    };
    assert_imports_everything(&place);
}

#[test]
fn a_database_that_is_not_django_is_refused() {
    let place = Place::sqlite();
    let target = place.database("hearth");
    let other = place.database("other");
    let mut conn = SqliteConnection::establish(other.strip_prefix("sqlite://").unwrap()).unwrap();
    conn.batch_execute("CREATE TABLE things (id integer primary key)")
        .unwrap();
    place
        .hearth(&target, &["import-django", "--from", &other])
        .failure("is not a Django project's database (it has no django_migrations table)");
    place
        .hearth(
            &target,
            &[
                "import-django",
                "--from",
                &place.database("missing.sqlite3"),
            ],
        )
        .failure("no SQLite database at");
    place
        .hearth(
            &target,
            &["import-django", "--from", "mysql://somewhere/db"],
        )
        .failure("--from must be sqlite:///path/to/db.sqlite3 or postgres://");
    assert_eq!(count_users(&target), 0);
}

#[test]
fn a_missing_table_of_a_migrated_app_is_refused_and_nothing_written() {
    let place = Place::sqlite();
    let target = place.database("hearth");
    // music is migrated, but its song table is gone
    let schema = DJANGO_SCHEMA.replace("CREATE TABLE music_song", "CREATE TABLE music_songs");
    let mut django = Django::new(place.database("django"), &schema, &APPS);
    django.user(1, "admin", &pbkdf2(PASSWORD), true);
    place
        .hearth(&target, &["import-django", "--from", &django.url])
        .failure("the Django database has no music_song table, though its app music is migrated");
    assert_eq!(count_users(&target), 0);
}

#[test]
fn apps_never_installed_are_reported_not_required() {
    let place = Place::sqlite();
    let target = place.database("hearth");
    // a project of tutorial 000 only: auth, sessions and messaging
    let schema: String = DJANGO_SCHEMA
        .split(";\n")
        .filter(|t| {
            [
                "django_migrations",
                "auth_user",
                "django_session",
                "messaging_message",
            ]
            .iter()
            .any(|n| t.contains(&format!("CREATE TABLE {n} ")))
        })
        .map(|t| format!("{t};\n"))
        .collect();
    let mut django = Django::new(
        place.database("django"),
        &schema,
        &["auth", "sessions", "messaging"],
    );
    django.user(1, "admin", &pbkdf2(PASSWORD), true);
    let run = place
        .hearth(&target, &["import-django", "--from", &django.url])
        .success();
    assert!(run.stdout.contains("Not in the Django project (nothing to import): authtoken, token_blacklist, tasks, api, music"), "{}", run.stdout);
    assert_eq!(count_users(&target), 1);
}

#[test]
fn a_wrong_secret_key_skips_every_session_and_says_so() {
    let place = Place::sqlite();
    let target = place.database("hearth");
    let django = Django::tutorial(place.database("django"));
    let run = place
        .hearth(
            &target,
            &[
                "import-django",
                "--from",
                &django.url,
                "--django-secret-key",
                "not-the-key",
            ],
        )
        .success();
    assert!(
        run.line("sessions.session").contains("0 imported"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "WARNING: none of the 3 unexpired sessions verifies with the SECRET_KEY given"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("JWTs Django issued (access and refresh) do not verify in Hearth"),
        "{}",
        run.stdout
    );
    // everything else came
    assert_eq!(count_users(&target), 5);
}

#[test]
fn a_row_hearth_refuses_rolls_back_the_whole_import() {
    let place = Place::sqlite();
    let target = place.database("hearth");
    let mut django = Django::tutorial(place.database("django"));
    // Django's IntegerField allows it in the database; Hearth's column does not
    django.exec(
        "INSERT INTO music_song (id, song_name, num_streams, album_id) VALUES (8, 'Bad', -1, 3)",
    );
    place
        .hearth(&target, &["import-django", "--from", &django.url])
        .failure(
            "writing music.song failed, so the import was rolled back and nothing was written",
        );
    assert_eq!(count_users(&target), 0);
}

#[test]
fn fixtures_move_between_hearth_databases_and_bad_ones_are_refused() {
    let place = Place::sqlite();
    let django = Django::tutorial(place.database("django"));
    let source = place.database("hearth");
    place
        .hearth(&source, &["import-django", "--from", &django.url])
        .success();
    let file = place.dir().join("all.json");
    place
        .hearth(
            &source,
            &["dumpdata", "--indent", "2", "-o", file.to_str().unwrap()],
        )
        .success();

    let copy = place.database("copy");
    let run = place
        .hearth(&copy, &["loaddata", file.to_str().unwrap()])
        .success();
    assert!(
        run.line("auth.user").contains("5 imported"),
        "{}",
        run.stdout
    );
    assert!(
        run.line("authtoken.token").contains("1 imported"),
        "{}",
        run.stdout
    );
    // loading again replaces, as Django's loaddata does
    place
        .hearth(&copy, &["loaddata", file.to_str().unwrap()])
        .success();
    let again = place
        .hearth(&copy, &["dumpdata", "--indent", "2"])
        .success();
    assert_eq!(again.stdout, std::fs::read_to_string(&file).unwrap());

    place
        .hearth(&copy, &["dumpdata", "nosuchapp"])
        .failure("No installed app with label 'nosuchapp'.");
    place
        .hearth(&copy, &["dumpdata", "music.nosuch"])
        .failure("Unknown model: music.nosuch");

    let fresh = place.database("fresh");
    let bad = place.dir().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"model": "auth.user", "pk": 1, "fields": {"username": "x", "password": "p", "date_joined": "2026-01-01T00:00:00Z"}},
            {"model": "messaging.message", "pk": 1, "fields": {"sender": 1, "text": 5, "timestamp": "2026-01-01T00:00:00Z"}}]"#,
    )
    .unwrap();
    place
        .hearth(&fresh, &["loaddata", bad.to_str().unwrap()])
        .failure("object 2 (messaging.message): 'text' must be a string");
    std::fs::write(&bad, "{not json").unwrap();
    place
        .hearth(&fresh, &["loaddata", bad.to_str().unwrap()])
        .failure("is not a Django JSON fixture");
    assert_eq!(count_users(&fresh), 0);
}

#[test]
fn a_merge_never_gives_one_users_rows_to_another() {
    let place = Place::sqlite();
    let django = Django::tutorial(place.database("django"));
    let target = place.database("hearth");
    // Hearth's own alice takes id 1, which is Django's admin
    place
        .run(
            &target,
            &["createsuperuser", "--username", "alice", "--noinput"],
            &[("HEARTH_SUPERUSER_PASSWORD", "Hearth-own-pass-81")],
        )
        .success();
    let before = user(&target, "alice").unwrap();
    assert_eq!(before.id, 1);

    for merge in ["keep", "replace"] {
        let run = place
            .hearth(
                &target,
                &[
                    "import-django",
                    "--from",
                    &django.url,
                    "--merge",
                    merge,
                    "--dry-run",
                ],
            )
            .success();
        let users = run.line("auth.user");
        // a user is the same only by id and username: Hearth's alice stays whatever the mode
        let expected = "3 would import, 2 skipped (id held by another Hearth user: 1; username taken by another Hearth user: 1)";
        assert!(users.contains(expected), "{merge}: {}", run.stdout);
        // Django's alice's rows never go to anyone else
        assert!(
            run.line("authtoken.token")
                .contains("skipped (its user was not imported: 1)"),
            "{}",
            run.stdout
        );
        assert!(
            run.line("api.blogpost")
                .contains("skipped (its user was not imported: 1)"),
            "{}",
            run.stdout
        );
        assert!(
            run.line("music.userlikessong")
                .contains("skipped (its user was not imported: 1)"),
            "{}",
            run.stdout
        );
    }
    let run = place
        .hearth(
            &target,
            &["import-django", "--from", &django.url, "--merge", "keep"],
        )
        .success();
    assert!(
        run.line("messaging.message")
            .contains("0 imported, 2 skipped (its user was not imported: 2)"),
        "{}",
        run.stdout
    );
    let after = user(&target, "alice").unwrap();
    assert_eq!(
        (after.id, &after.password, after.is_staff),
        (1, &before.password, true)
    );
    assert!(user(&target, "admin").is_none());
    assert_eq!(user(&target, "carol").unwrap().id, 4);
}
