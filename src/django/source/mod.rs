//! Reading a Django project's database (SQLite or PostgreSQL) into [`Data`]: the
//! tables of `django.contrib.auth`, DRF's authtoken, simplejwt's blacklist,
//! `django.contrib.sessions` and the tutorials' apps, as the reference names them.

mod rows;

use std::collections::BTreeSet;

use anyhow::{bail, Context as _};
use diesel::connection::SimpleConnection as _;
use diesel::sql_types::Text;
use diesel::{Connection as _, PgConnection, QueryableByName, SqliteConnection};

pub use self::rows::{
    AlbumRow, Data, LikeRow, MessageRow, OutstandingRow, PostRow, SessionRow, SongRow, TaskRow,
    TokenRow, UserRow,
};
use crate::db::{redact, Conn, Target};

/// The apps read, each with the tables it must have once migrated.
const APPS: [(&str, &[&str]); 8] = [
    ("auth", &["auth_user"]),
    ("authtoken", &["authtoken_token"]),
    (
        "token_blacklist",
        &[
            "token_blacklist_outstandingtoken",
            "token_blacklist_blacklistedtoken",
        ],
    ),
    ("sessions", &["django_session"]),
    ("messaging", &["messaging_message"]),
    ("tasks", &["tasks_task"]),
    ("api", &["api_blogpost"]),
    (
        "music",
        &["music_album", "music_song", "music_userlikessong"],
    ),
];

/// Opens the Django database read-only (SQLite) or in a read-only transaction
/// (PostgreSQL): an import never writes to it.
fn open(url: &str) -> anyhow::Result<Conn> {
    let target = Target::parse(url).with_context(|| {
        format!(
            "--from must be sqlite:///path/to/db.sqlite3 or postgres://... (got {})",
            redact(url)
        )
    })?;
    match target {
        Target::Sqlite(path) => {
            // Django's absolute form is sqlite:////path (dj-database-url)
            let path = if path.starts_with("//") {
                format!("/{}", path.trim_start_matches('/'))
            } else {
                path
            };
            anyhow::ensure!(
                std::path::Path::new(&path).is_file(),
                "no SQLite database at {path}"
            );
            // a URI, so SQLite opens it read-only and never creates it
            let escaped: String = path
                .chars()
                .map(|c| match c {
                    '%' => "%25".to_owned(),
                    '?' => "%3f".to_owned(),
                    '#' => "%23".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            let conn = SqliteConnection::establish(&format!("file:{escaped}?mode=ro"))
                .with_context(|| format!("cannot open the Django database {path}"))?;
            Ok(Conn::Sqlite(conn))
        }
        Target::Postgres(url) => {
            let mut conn = PgConnection::establish(&url)
                .with_context(|| format!("cannot open the Django database {}", redact(&url)))?;
            // timestamps read as UTC whatever the column's type; one snapshot for every table
            conn.batch_execute(
                "SET TIME ZONE 'UTC'; \
                 BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )?;
            Ok(Conn::Pg(conn))
        }
    }
}

#[derive(Debug, QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn names(conn: &mut Conn, sql: &str) -> anyhow::Result<BTreeSet<String>> {
    let rows: Vec<Name> = conn.load(diesel::sql_query(sql))?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// `TS(column)`: a timestamp as UTC without a zone. PostgreSQL casts (the session
/// is in UTC); SQLite keeps Django's text, since its CAST would make it a number.
fn dialect(sql: &str, pg: bool) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find("TS(") {
        out.push_str(&rest[..at]);
        let inner = &rest[at + 3..];
        let close = inner.find(')').unwrap_or(inner.len());
        let column = &inner[..close];
        if pg {
            out.push_str(&format!("CAST({column} AS TIMESTAMP)"));
        } else {
            out.push_str(column);
        }
        rest = inner.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

fn load<T>(conn: &mut Conn, table: &str, sql: &str) -> anyhow::Result<Vec<T>>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    let sql = dialect(sql, matches!(conn, Conn::Pg(_)));
    conn.load(diesel::sql_query(&sql))
        .with_context(|| format!("cannot read {table} (not the shape Django gives it?)"))
}

/// The apps in [`APPS`] the project never migrated; an error if it is no Django
/// database, or lacks a table of an app it migrated.
fn absent_apps(conn: &mut Conn, url: &str) -> anyhow::Result<Vec<&'static str>> {
    let list = match conn {
        Conn::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Conn::Pg(_) => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        }
    };
    let tables = names(conn, list).context("cannot list the tables of the Django database")?;
    if !tables.contains("django_migrations") {
        bail!(
            "{} is not a Django project's database (it has no django_migrations table)",
            redact(url)
        );
    }
    let migrated = names(conn, "SELECT DISTINCT app AS name FROM django_migrations")?;
    let mut absent = Vec::new();
    for (app, needed) in APPS {
        if app != "auth" && !migrated.contains(app) {
            absent.push(app);
            continue;
        }
        if let Some(missing) = needed.iter().find(|t| !tables.contains(**t)) {
            bail!(
                "the Django database has no {missing} table, though its app {app} is \
                 migrated: is it the project's database, and complete?"
            );
        }
    }
    Ok(absent)
}

/// Reads the project's database at `url`.
pub fn read(url: &str) -> anyhow::Result<Data> {
    let mut conn = open(url)?;
    let absent = absent_apps(&mut conn, url)?;
    let has = |app: &str| !absent.contains(&app);
    let mut data = Data::default();
    if has("auth") {
        data.users = load(
            &mut conn,
            "auth_user",
            "SELECT CAST(id AS BIGINT) AS id, password, TS(last_login) AS last_login, \
             is_superuser, username, first_name, last_name, email, is_staff, is_active, \
             TS(date_joined) AS date_joined FROM auth_user ORDER BY id",
        )?;
    }
    if has("authtoken") {
        data.tokens = load(
            &mut conn,
            "authtoken_token",
            r#"SELECT "key", CAST(user_id AS BIGINT) AS user_id, TS(created) AS created
               FROM authtoken_token ORDER BY created, "key""#,
        )?;
    }
    if has("token_blacklist") {
        data.outstanding = load(
            &mut conn,
            "token_blacklist_outstandingtoken",
            "SELECT CAST(o.id AS BIGINT) AS id, CAST(o.user_id AS BIGINT) AS user_id, o.jti, \
             TS(o.created_at) AS created_at, \
             TS(o.expires_at) AS expires_at, \
             TS(b.blacklisted_at) AS blacklisted_at \
             FROM token_blacklist_outstandingtoken o \
             LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id ORDER BY o.id",
        )?;
    }
    if has("sessions") {
        data.sessions = load(
            &mut conn,
            "django_session",
            "SELECT session_key, session_data, TS(expire_date) AS expire_date \
             FROM django_session ORDER BY session_key",
        )?;
    }
    if has("messaging") {
        data.messages = load(
            &mut conn,
            "messaging_message",
            r#"SELECT CAST(id AS BIGINT) AS id, CAST(sender_id AS BIGINT) AS sender_id, "text",
               TS("timestamp") AS "timestamp" FROM messaging_message ORDER BY id"#,
        )?;
    }
    if has("tasks") {
        data.tasks = load(
            &mut conn,
            "tasks_task",
            "SELECT CAST(id AS BIGINT) AS id, CAST(user_id AS BIGINT) AS user_id, title, completed, \
             TS(created_at) AS created_at, TS(updated_at) AS updated_at \
             FROM tasks_task ORDER BY id",
        )?;
    }
    if has("api") {
        data.posts = load(
            &mut conn,
            "api_blogpost",
            "SELECT CAST(id AS BIGINT) AS id, title, content, CAST(author_id AS BIGINT) AS author_id, \
             TS(created_at) AS created_at, TS(updated_at) AS updated_at \
             FROM api_blogpost ORDER BY id",
        )?;
    }
    if has("music") {
        data.albums = load(
            &mut conn,
            "music_album",
            "SELECT CAST(id AS BIGINT) AS id, name, artist, year_released FROM music_album ORDER BY id",
        )?;
        data.songs = load(
            &mut conn,
            "music_song",
            "SELECT CAST(id AS BIGINT) AS id, song_name, CAST(album_id AS BIGINT) AS album_id, \
             CAST(num_streams AS BIGINT) AS num_streams FROM music_song ORDER BY id",
        )?;
        data.likes = load(
            &mut conn,
            "music_userlikessong",
            "SELECT CAST(id AS BIGINT) AS id, CAST(user_id AS BIGINT) AS user_id, \
             CAST(song_id AS BIGINT) AS song_id FROM music_userlikessong ORDER BY id",
        )?;
    }
    data.absent_apps = absent;
    Ok(data)
}
