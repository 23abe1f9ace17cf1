//! The schema that Hearth's SQLite migrations build is the one its PostgreSQL
//! migrations build: the same tables and columns (types by family), nullability,
//! defaults, primary keys, indexes, foreign keys, checks and triggers, on fresh
//! databases of both.
//! What one backend has and the other cannot, or need not, is listed below with
//! its reason; any other difference fails.

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection as _, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::helpers::*;

/// Lines of the PostgreSQL schema that the SQLite one lacks, and why.
const ONLY_POSTGRES: &[(&str, &str)] = &[
    (
        "messages: trigger messages_notify",
        "NOTIFY announces messages inserted from outside Hearth to the instances' \
         streams; a SQLite database has one Hearth process, whose writer announces \
         what it commits",
    ),
    (
        "tasks: index tasks_user_id_id (user_id, id)",
        "an owner's page of tasks is read in id order from the index; SQLite's \
         index on user_id holds the rowid, which is the id",
    ),
];

/// The tables with row counts: on PostgreSQL each also has a trigger
/// `<table>_count_reset`, since TRUNCATE fires no row trigger; SQLite has no
/// TRUNCATE.
const COUNTED: [&str; 6] = [
    "messages",
    "tasks",
    "blog_posts",
    "albums",
    "songs",
    "song_likes",
];

/// Lines of the SQLite schema that the PostgreSQL one lacks, and why.
const ONLY_SQLITE: &[(&str, &str)] = &[(
    "tasks: index tasks_user_id (user_id)",
    "PostgreSQL replaced it with tasks_user_id_id (user_id, id), which SQLite's \
     index on user_id already is (its rowid is the id)",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let sqlite = TestApp::spawn(Backend::Sqlite, |_| {}).await.unwrap();
    let Some(postgres) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let (sqlite_url, pg_url) = (
        sqlite.state.settings.database_url.clone(),
        postgres.state.settings.database_url.clone(),
    );
    let (lite, pg) = tokio::task::spawn_blocking(move || {
        let path = sqlite_url.strip_prefix("sqlite://").unwrap();
        let lite = sqlite_schema(&mut SqliteConnection::establish(path).unwrap());
        let pg = pg_schema(&mut PgConnection::establish(&pg_url).unwrap());
        (lite, pg)
    })
    .await
    .unwrap();
    // two schemas read as empty would compare equal
    for schema in [&lite, &pg] {
        assert!(schema.contains("users: primary key (id)"), "{schema:#?}");
    }

    let only_pg: BTreeSet<String> = pg.difference(&lite).cloned().collect();
    let only_lite: BTreeSet<String> = lite.difference(&pg).cloned().collect();
    let known = |list: &[(&str, &str)]| -> BTreeSet<String> {
        list.iter().map(|(line, _)| (*line).to_owned()).collect()
    };
    let mut known_pg = known(ONLY_POSTGRES);
    known_pg.extend(COUNTED.map(|t| format!("{t}: trigger {t}_count_reset")));
    let known_lite = known(ONLY_SQLITE);
    let unexplained: Vec<String> = only_pg
        .difference(&known_pg)
        .map(|l| format!("only PostgreSQL: {l}"))
        .chain(
            only_lite
                .difference(&known_lite)
                .map(|l| format!("only SQLite: {l}")),
        )
        .collect();
    assert!(
        unexplained.is_empty(),
        "the migrations differ:\n{}",
        unexplained.join("\n")
    );
    // a listed difference that is gone is no longer a reason to keep it listed
    assert_eq!(only_pg, known_pg, "ONLY_POSTGRES lists more than differs");
    assert_eq!(only_lite, known_lite, "ONLY_SQLITE lists more than differs");
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    /// The declared type, with its length where it has one.
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
    /// The default's SQL text.
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    /// 1-based place in the primary key, 0 outside it.
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    /// `c` made by CREATE INDEX, `u` by a UNIQUE constraint, `pk` by the primary key.
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = BigInt)]
    is_unique: i64,
    /// The columns in index order, comma-separated; `None` for an expression.
    #[diesel(sql_type = Nullable<Text>)]
    columns: Option<String>,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Text)]
    target_columns: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
    #[diesel(sql_type = Text)]
    on_update: String,
}

/// A trigger's name, or SQL that holds CHECK constraints (SQLite's CREATE TABLE,
/// PostgreSQL's constraint definition).
#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    text: String,
}

/// Tables of Hearth's and of Diesel's migrations, not SQLite's own (`sqlite_sequence`).
fn sqlite_schema(conn: &mut SqliteConnection) -> BTreeSet<String> {
    const TABLES: &str = "SELECT name FROM sqlite_schema \
                          WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
    let columns = diesel::sql_query(format!(
        "SELECT t.name AS table_name, c.name, c.type AS declared, c.\"notnull\" AS not_null, \
         c.dflt_value AS default_value, c.pk \
         FROM ({TABLES}) t, pragma_table_info(t.name) c ORDER BY t.name, c.cid"
    ))
    .load::<Column>(conn)
    .unwrap();
    let indexes = diesel::sql_query(format!(
        "SELECT t.name AS table_name, i.name, i.origin, i.\"unique\" AS is_unique, \
         (SELECT group_concat(name, ',' ORDER BY seqno) FROM pragma_index_info(i.name)) \
           AS columns \
         FROM ({TABLES}) t, pragma_index_list(t.name) i"
    ))
    .load::<Index>(conn)
    .unwrap();
    let foreign_keys = diesel::sql_query(format!(
        "SELECT t.name AS table_name, group_concat(f.\"from\", ',' ORDER BY f.seq) AS columns, \
         f.\"table\" AS target, group_concat(f.\"to\", ',' ORDER BY f.seq) AS target_columns, \
         f.on_delete, f.on_update \
         FROM ({TABLES}) t, pragma_foreign_key_list(t.name) f GROUP BY t.name, f.id"
    ))
    .load::<ForeignKey>(conn)
    .unwrap();
    let triggers = diesel::sql_query(
        "SELECT tbl_name AS table_name, name AS text FROM sqlite_schema WHERE type = 'trigger'",
    )
    .load::<Named>(conn)
    .unwrap();
    let checks = diesel::sql_query(format!(
        "SELECT name AS table_name, sql AS text FROM sqlite_schema WHERE name IN ({TABLES})"
    ))
    .load::<Named>(conn)
    .unwrap();
    lines(columns, indexes, foreign_keys, triggers, checks)
}

/// The `public` schema's tables; sequences and functions are PostgreSQL's own
/// means (BIGSERIAL, trigger bodies) and not compared.
fn pg_schema(conn: &mut PgConnection) -> BTreeSet<String> {
    let columns = diesel::sql_query(
        "SELECT c.table_name::text, c.column_name::text AS name, \
         (c.data_type || COALESCE('(' || c.character_maximum_length || ')', ''))::text \
           AS declared, \
         (CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END)::int8 AS not_null, \
         c.column_default::text AS default_value, COALESCE(k.ordinal_position, 0)::int8 AS pk \
         FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         LEFT JOIN (information_schema.key_column_usage k \
            JOIN information_schema.table_constraints tc \
              ON tc.constraint_name = k.constraint_name AND tc.table_schema = k.table_schema \
              AND tc.constraint_type = 'PRIMARY KEY') \
           ON k.table_schema = c.table_schema AND k.table_name = c.table_name \
           AND k.column_name = c.column_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load::<Column>(conn)
    .unwrap();
    let indexes = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS name, \
         CASE WHEN x.indisprimary THEN 'pk' \
              WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid \
                           AND k.contype = 'u') THEN 'u' ELSE 'c' END AS origin, \
         x.indisunique::int4::int8 AS is_unique, \
         CASE WHEN x.indexprs IS NULL AND x.indpred IS NULL THEN \
           (SELECT string_agg(a.attname, ',' ORDER BY k.n) \
            FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n) \
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) END AS columns \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = 'public'::regnamespace",
    )
    .load::<Index>(conn)
    .unwrap();
    let foreign_keys = diesel::sql_query(
        "SELECT t.relname::text AS table_name, \
         (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) \
            WITH ORDINALITY k(attnum, n) \
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns, \
         r.relname::text AS target, \
         (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.confkey) \
            WITH ORDINALITY k(attnum, n) \
            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) \
            AS target_columns, \
         CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' \
           WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END AS on_delete, \
         CASE c.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' \
           WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END AS on_update \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace",
    )
    .load::<ForeignKey>(conn)
    .unwrap();
    let triggers = diesel::sql_query(
        "SELECT c.relname::text AS table_name, g.tgname::text AS text \
         FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
         WHERE NOT g.tgisinternal AND c.relnamespace = 'public'::regnamespace",
    )
    .load::<Named>(conn)
    .unwrap();
    let checks = diesel::sql_query(
        "SELECT t.relname::text AS table_name, pg_get_constraintdef(c.oid) AS text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         WHERE c.contype = 'c' AND t.relnamespace = 'public'::regnamespace",
    )
    .load::<Named>(conn)
    .unwrap();
    lines(columns, indexes, foreign_keys, triggers, checks)
}

/// A table's columns in order, and its primary key's as (place in the key, name).
#[derive(Default)]
struct Table {
    columns: Vec<String>,
    key: Vec<(i64, String)>,
}

/// One line a fact, worded alike for both backends. Indexes that a constraint
/// made are named by the backend (`sqlite_autoindex_users_1`, `users_username_key`),
/// so they are told apart by their columns only; the primary key is a line of its
/// own (SQLite keeps an INTEGER PRIMARY KEY as the rowid, with no index).
fn lines(
    columns: Vec<Column>,
    indexes: Vec<Index>,
    foreign_keys: Vec<ForeignKey>,
    triggers: Vec<Named>,
    checks: Vec<Named>,
) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for c in columns {
        let null = if c.not_null == 1 { "not null" } else { "null" };
        let family = family(&c.declared);
        let default = default(&family, c.default_value.as_deref());
        let (table, name) = (c.table_name, c.name);
        lines.insert(format!("{table}.{name}: {family} {null}{default}"));
        let known = tables.entry(table).or_default();
        if c.pk > 0 {
            known.key.push((c.pk, name.clone()));
        }
        known.columns.push(name);
    }
    for (table, mut known) in tables {
        lines.insert(format!("{table}: columns ({})", known.columns.join(", ")));
        known.key.sort();
        let key: Vec<String> = known.key.into_iter().map(|(_, name)| name).collect();
        lines.insert(format!("{table}: primary key ({})", key.join(", ")));
    }
    for i in indexes {
        let table = &i.table_name;
        let columns = i
            .columns
            .unwrap_or_else(|| panic!("{}: an expression or partial index", i.name))
            .replace(',', ", ");
        let unique = if i.is_unique == 1 { "unique " } else { "" };
        match i.origin.as_str() {
            "pk" => {}
            "u" => {
                lines.insert(format!("{table}: unique ({columns})"));
            }
            _ => {
                lines.insert(format!("{table}: {unique}index {} ({columns})", i.name));
            }
        }
    }
    for f in foreign_keys {
        lines.insert(format!(
            "{}: foreign key ({}) references {} ({}) on delete {} on update {}",
            f.table_name,
            f.columns.replace(',', ", "),
            f.target,
            f.target_columns.replace(',', ", "),
            f.on_delete.to_lowercase(),
            f.on_update.to_lowercase(),
        ));
    }
    for t in triggers {
        lines.insert(format!("{}: trigger {}", t.table_name, t.text));
    }
    for c in checks {
        for condition in check_conditions(&c.text) {
            lines.insert(format!("{}: check {condition}", c.table_name));
        }
    }
    lines
}

/// Each `CHECK (...)` condition in `sql`, without its spaces and parentheses,
/// which the backends place differently (`CHECK ((n >= 0))` on PostgreSQL).
fn check_conditions(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let mut conditions = Vec::new();
    let mut rest = 0;
    while let Some(at) = upper[rest..].find("CHECK") {
        let start = rest + at + "CHECK".len();
        rest = start;
        // a name that holds the word, not the keyword
        if !sql[start..].trim_start().starts_with('(') {
            continue;
        }
        let mut depth = 0;
        let mut end = start;
        for (i, ch) in sql[start..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 && ch == ')' {
                end = start + i;
                break;
            }
        }
        let condition: String = sql[start..end]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
            .collect();
        conditions.push(condition);
        rest = end;
    }
    conditions
}

/// A declared type's family: what Diesel reads it as on either backend. A text
/// column keeps its length, which PostgreSQL enforces.
fn family(declared: &str) -> String {
    let upper = declared.to_ascii_uppercase();
    let (base, length) = match upper.split_once('(') {
        Some((base, rest)) => (base.trim(), format!("({rest}")),
        None => (upper.trim(), String::new()),
    };
    match base {
        "INTEGER" | "BIGINT" | "SMALLINT" | "INT" | "INT8" | "INT4" => "integer".into(),
        "VARCHAR" | "CHARACTER VARYING" | "TEXT" | "CHAR" | "CHARACTER" => {
            format!("text{length}")
        }
        "BOOLEAN" | "BOOL" => "bool".into(),
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP WITHOUT TIME ZONE" => "timestamp".into(),
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => "timestamptz".into(),
        "DATE" => "date".into(),
        _ => panic!("no family for the type {declared:?}"),
    }
}

/// A default, worded alike: PostgreSQL casts its literals (`''::character
/// varying`) and SQLite writes booleans as 0 and 1. A sequence's `nextval` is
/// PostgreSQL's BIGSERIAL, where SQLite numbers rows by their rowid.
fn default(family: &str, raw: Option<&str>) -> String {
    let Some(raw) = raw.filter(|raw| !raw.starts_with("nextval(")) else {
        return String::new();
    };
    let value = raw.split("::").next().unwrap_or(raw);
    let value = match (family, value) {
        ("bool", "0") => "false",
        ("bool", "1") => "true",
        _ => value,
    };
    format!(" default {value}")
}
