//! Writing [`Data`] into Hearth's own tables, in one transaction: ids, owners and
//! timestamps kept; secrets stored Hearth's way (keyed hashes, the DRF key sealed);
//! each row that cannot come along skipped and counted with its reason.

mod accounts;
mod content;
mod logins;
mod summary;

use std::collections::{HashMap, HashSet};

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

pub use self::summary::{report, Count, Summary};
use crate::auth::users::users;
use crate::crypto::Keys;
use crate::db::Conn;
use crate::django::source::Data;
use crate::domains::blog::queries::blog_posts;
use crate::domains::messages::queries::messages;
use crate::domains::music::queries::{albums, song_likes, songs};
use crate::domains::tasks::queries::tasks;

/// What to do with a row whose id (or unique key) Hearth already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Merge {
    /// Hearth's row stays; Django's is skipped.
    Keep,
    /// Django's row overwrites Hearth's (as `manage.py loaddata` does).
    Replace,
}

pub struct Options<'a> {
    /// `None`: Hearth's database must be empty.
    pub merge: Option<Merge>,
    pub dry_run: bool,
    /// The Django project's `SECRET_KEY`, which signed its sessions.
    pub django_secret: &'a str,
    pub keys: &'a Keys,
}

pub const USER: &str = "auth.user";
pub const TOKEN: &str = "authtoken.token";
pub const OUTSTANDING: &str = "token_blacklist.outstandingtoken";
pub const SESSION: &str = "sessions.session";
pub const MESSAGE: &str = "messaging.message";
pub const TASK: &str = "tasks.task";
pub const POST: &str = "api.blogpost";
pub const ALBUM: &str = "music.album";
pub const SONG: &str = "music.song";
pub const LIKE: &str = "music.userlikessong";

const KEPT: &str = "id already in Hearth (Hearth's row kept)";
const OWNER: &str = "its user was not imported";

/// Why the transaction ended without a commit.
#[derive(Debug)]
pub enum Abort {
    Db(diesel::result::Error),
    Refused(anyhow::Error),
    DryRun(Box<Summary>),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Hearth's tables that hold data, for the emptiness check.
fn occupied(conn: &mut Conn) -> Result<Vec<String>, diesel::result::Error> {
    let counts = [
        ("users", users::table.count().get_result::<i64>(conn)?),
        ("messages", messages::table.count().get_result(conn)?),
        ("tasks", tasks::table.count().get_result(conn)?),
        ("blog posts", blog_posts::table.count().get_result(conn)?),
        ("albums", albums::table.count().get_result(conn)?),
        ("songs", songs::table.count().get_result(conn)?),
        ("likes", song_likes::table.count().get_result(conn)?),
    ];
    Ok(counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect())
}

/// Writes `data` in one transaction; a dry run rolls it back and still reports.
pub fn write(
    conn: &mut Conn,
    data: &Data,
    options: &Options<'_>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Summary> {
    let outcome = write_transaction(conn, |conn| {
        if options.merge.is_none() {
            let taken = occupied(conn)?;
            if !taken.is_empty() {
                return Err(Abort::Refused(anyhow::anyhow!(
                    "Hearth's database is not empty ({}): import into an empty one, or say \
                     what to do on a clash with --merge keep (Hearth's rows stay) or --merge \
                     replace (Django's rows win)",
                    taken.join(", ")
                )));
            }
        }
        let mut writer = Writer {
            conn,
            options,
            progress,
            summary: Summary {
                absent_apps: data.absent_apps.clone(),
                ignored: data.ignored.clone(),
                dry_run: options.dry_run,
                ..Summary::default()
            },
            users_present: HashSet::new(),
            passwords: HashMap::new(),
        };
        writer.run(data)?;
        let summary = writer.summary;
        if options.dry_run {
            Err(Abort::DryRun(Box::new(summary)))
        } else {
            Ok(summary)
        }
    });
    progress.finish_and_clear();
    match outcome {
        Ok(summary) => Ok(summary),
        Err(Abort::DryRun(summary)) => Ok(*summary),
        Err(Abort::Refused(e)) => Err(e),
        Err(Abort::Db(e)) => Err(anyhow::Error::new(e).context(format!(
            "writing {} failed, so the import was rolled back and nothing was written",
            progress.message()
        ))),
    }
}

/// `work` in one transaction, committed when it returns `Ok`. On SQLite a `BEGIN
/// IMMEDIATE` one: it takes the write lock first (waiting for a running server's
/// writes), so its reads and writes cannot fail on a snapshot another writer moved on.
fn write_transaction<R>(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<R, Abort>,
) -> Result<R, Abort> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Txn = <Conn as Connection>::TransactionManager;
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        Conn::Pg(_) => Txn::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Txn::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            Txn::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

struct Writer<'a, 'c> {
    conn: &'c mut Conn,
    options: &'a Options<'a>,
    progress: &'a indicatif::ProgressBar,
    summary: Summary,
    /// Users whose rows may be attached: imported, or the same user kept.
    users_present: HashSet<i64>,
    /// The password hash each user had in Django (for the session auth hash).
    passwords: HashMap<i64, String>,
}

type Step = Result<(), Abort>;

impl Writer<'_, '_> {
    fn merge(&self) -> Merge {
        self.options.merge.unwrap_or(Merge::Keep)
    }

    /// Into an empty database (checked first) Django's ids cannot clash: no need to look.
    fn may_clash(&self) -> bool {
        self.options.merge.is_some()
    }

    fn tick(&self, model: &str) {
        self.progress.set_message(model.to_owned());
        self.progress.inc(1);
    }

    fn run(&mut self, data: &Data) -> Step {
        self.users(data)?;
        self.tokens(data)?;
        self.outstanding(data)?;
        self.sessions(data)?;
        self.messages(data)?;
        self.tasks(data)?;
        self.posts(data)?;
        self.music(data)?;
        if matches!(self.conn, Conn::Pg(_)) {
            // explicit ids leave the sequences behind: the next row would clash
            let tables = [
                "users",
                "messages",
                "tasks",
                "blog_posts",
                "albums",
                "songs",
                "song_likes",
            ];
            let sql: String = tables
                .iter()
                .map(|t| {
                    format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                         COALESCE(MAX(id), 0) + 1, false) FROM {t};"
                    )
                })
                .collect();
            self.conn.batch_execute(&sql)?;
        }
        Ok(())
    }

    /// Whether `user_id`'s rows may come along; counted as skipped when not.
    fn owned(&self, user_id: i64, count: &mut Count) -> bool {
        let present = self.users_present.contains(&user_id);
        if !present {
            count.skip(OWNER);
        }
        present
    }

    /// `Some(true)`: the id is Hearth's already and Django's row must be skipped
    /// (counted); `Some(false)`: update it; `None`: insert.
    fn clash(&self, exists: bool, count: &mut Count) -> Option<bool> {
        match (exists, self.merge()) {
            (false, _) => None,
            (true, Merge::Keep) => {
                count.skip(KEPT);
                Some(true)
            }
            (true, Merge::Replace) => Some(false),
        }
    }
}

/// Inserts new rows a few hundred to a statement: on PostgreSQL the count
/// triggers run once per statement, and a counter row updated once per row of one
/// long transaction costs more with every update.
fn insert_batches<T>(
    conn: &mut Conn,
    mut rows: Vec<T>,
    insert: impl Fn(&mut Conn, Vec<T>) -> diesel::QueryResult<usize>,
) -> diesel::QueryResult<()> {
    const BATCH: usize = 500;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(BATCH));
        insert(conn, rows)?;
        rows = rest;
    }
    Ok(())
}
