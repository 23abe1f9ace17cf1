//! The `tasks` table and its queries. Every query is scoped to the owner: another
//! user's task does not exist for the caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::logins::logins;
use crate::auth::standing::{standing, Standing, Vouched};
use crate::auth::users::users;
use crate::db::counts::{self, row_counts, total};
use crate::db::{Conn, Inserts, OptionalExt as _, Statement};
use crate::error::ApiError;
use crate::extract::Window;

diesel::table! {
    tasks (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        completed -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(tasks -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(tasks, users);
diesel::allow_tables_to_appear_in_same_query!(tasks, logins);
diesel::allow_tables_to_appear_in_same_query!(tasks, row_counts);

/// The tasks' counts in `row_counts`, per owner.
const SCOPE: &str = "tasks";

#[derive(Debug, Clone, Queryable)]
pub struct Task {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub completed: bool,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tasks)]
pub struct NewTask<'a> {
    pub user_id: i64,
    pub title: &'a str,
    pub completed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An update: `None` fields are left as they are; `updated_at` is always set.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = tasks)]
pub struct TaskUpdate<'a> {
    pub title: Option<&'a str>,
    pub completed: Option<bool>,
    pub updated_at: NaiveDateTime,
}

/// One page of the tasks of `standing`'s user, by id (`limit`, `offset`, the
/// cursor's key), each row with the verdict on `standing` and how many tasks the
/// user has.
pub fn page(
    standing: Standing,
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Vouched<Task>, Option<i64>)> {
    tasks::table
        .filter(tasks::user_id.eq(standing.user_id))
        .filter(tasks::id.gt(after))
        .order(tasks::id.asc())
        .limit(limit)
        .offset(offset)
        .select((
            (tasks::all_columns, standing!(standing)),
            total!(SCOPE, standing.user_id),
        ))
}

/// How many tasks the user has, for a page past the end.
pub fn count(user_id: i64) -> impl Statement<Option<i64>> {
    counts::total_of(SCOPE, user_id)
}

/// One of the user's tasks by id: `db.first(owned(id, user))` for a request,
/// `conn.first(owned(id, user))` inside a closure.
pub fn owned(id: i64, user_id: i64) -> impl Statement<Task> {
    tasks::table
        .find(id)
        .filter(tasks::user_id.eq(user_id))
        .select(tasks::all_columns)
}

/// A task to add, owned until it is inserted.
#[derive(Debug)]
pub struct TaskRow {
    pub user_id: i64,
    pub title: String,
    pub completed: bool,
    pub at: NaiveDateTime,
}

/// Adding tasks: those added at the same moment go in together ([`Db::insert`]).
///
/// [`Db::insert`]: crate::db::Db::insert
pub struct Add;

impl Inserts for Add {
    type Row = TaskRow;
    type Out = Task;

    fn insert(conn: &mut Conn, rows: &[TaskRow]) -> Result<Vec<Task>, ApiError> {
        let values: Vec<NewTask<'_>> = rows
            .iter()
            .map(|row| NewTask {
                user_id: row.user_id,
                title: &row.title,
                completed: row.completed,
                created_at: row.at,
                updated_at: row.at,
            })
            .collect();
        Ok(conn.load(
            diesel::insert_into(tasks::table)
                .values(&values)
                .returning(tasks::all_columns),
        )?)
    }

    fn became(row: &TaskRow, out: &Task) -> bool {
        row.user_id == out.user_id
            && row.at == out.created_at
            && row.completed == out.completed
            && row.title == out.title
    }

    fn undo(conn: &mut Conn, outs: &[Task]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        diesel::delete(tasks::table.filter(tasks::id.eq_any(ids))).execute(conn)?;
        Ok(())
    }
}

/// The updated task, or `None` when the owner has no such task.
pub fn update_owned(
    conn: &mut Conn,
    id: i64,
    user_id: i64,
    changes: &TaskUpdate<'_>,
) -> Result<Option<Task>, ApiError> {
    diesel::update(tasks::table.find(id).filter(tasks::user_id.eq(user_id)))
        .set(changes)
        .returning(tasks::all_columns)
        .get_result(conn)
        .found()
}

/// `false` when the owner has no such task.
pub fn delete_owned(conn: &mut Conn, id: i64, user_id: i64) -> Result<bool, ApiError> {
    Ok(diesel::delete(tasks::table.find(id).filter(tasks::user_id.eq(user_id))).execute(conn)? > 0)
}
