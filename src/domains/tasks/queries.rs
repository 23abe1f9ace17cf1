//! The `tasks` table and its queries. Every query is scoped to the owner: another
//! user's task does not exist for the caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::logins::{logins, standing, Standing};
use crate::auth::users::users;
use crate::db::{native, Conn, OptionalExt as _, SharedConn};
use crate::error::ApiError;

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

/// The page query: one page of the tasks of `standing`'s user, by id, each row
/// with the verdict on `standing` and how many tasks the user has. A macro, so
/// that the pooled and the shared connections run this one query.
macro_rules! page {
    ($standing:expr, $limit:expr, $offset:expr) => {{
        let standing: Standing = $standing;
        let all = diesel::alias!(tasks as all_tasks);
        let total = all
            .filter(all.field(tasks::user_id).eq(standing.user_id))
            .count()
            .single_value();
        tasks::table
            .filter(tasks::user_id.eq(standing.user_id))
            .order(tasks::id.asc())
            .limit($limit)
            .offset($offset)
            .select(((tasks::all_columns, standing!(standing)), total))
    }};
}

/// One page of the tasks of `standing`'s user, by id, how many they have, and the
/// verdict on `standing` (see [`crate::db::with_verdict`]).
pub fn list_owned(
    conn: &mut Conn,
    standing: Standing,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Task>, i64, Option<bool>), ApiError> {
    let rows = native!(conn, |c| page!(standing, limit, offset).load(c))?;
    crate::db::with_verdict(rows, offset, || count_owned(conn, standing.user_id))
}

/// [`list_owned`] on a shared PostgreSQL connection (see [`crate::db::confirmed`]).
pub async fn list_owned_shared(
    pg: SharedConn,
    standing: Standing,
    limit: i64,
    offset: i64,
) -> QueryResult<Option<(Vec<Task>, i64)>> {
    let rows = diesel_async::RunQueryDsl::load(page!(standing, limit, offset), &mut &*pg).await?;
    Ok(crate::db::confirmed(rows, offset, standing.settled))
}

pub fn count_owned(conn: &mut Conn, user_id: i64) -> Result<i64, ApiError> {
    Ok(native!(conn, |c| tasks::table
        .filter(tasks::user_id.eq(user_id))
        .count()
        .get_result(c))?)
}

pub fn find_owned(conn: &mut Conn, id: i64, user_id: i64) -> Result<Option<Task>, ApiError> {
    native!(conn, |c| tasks::table
        .find(id)
        .filter(tasks::user_id.eq(user_id))
        .select(tasks::all_columns)
        .first(c)
        .found())
}

pub fn create(conn: &mut Conn, new: &NewTask<'_>) -> Result<Task, ApiError> {
    Ok(native!(conn, |c| diesel::insert_into(tasks::table)
        .values(new)
        .returning(tasks::all_columns)
        .get_result(c))?)
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
