//! The `blog_posts` table and its queries. A post is always read with its author's
//! username, in one JOIN.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::users::users;
use crate::db::counts::{self, row_counts, total};
use crate::db::{Conn, Shown, Statement};
use crate::error::ApiError;
use crate::extract::Window;

diesel::table! {
    blog_posts (id) {
        id -> BigInt,
        title -> Text,
        content -> Text,
        author_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(blog_posts -> users (author_id));
diesel::allow_tables_to_appear_in_same_query!(blog_posts, users);
diesel::allow_tables_to_appear_in_same_query!(blog_posts, row_counts);

/// The posts' count in `row_counts`.
const SCOPE: &str = "blog_posts";

/// A post with its author's username, as the API shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Post {
    pub id: i64,
    pub title: String,
    pub content: String,
    pub author_id: i64,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub updated_at: NaiveDateTime,
    pub author: String,
}

// a public list: its pages open without a caller to confirm
impl Shown for Post {}

type PostColumns = (
    blog_posts::id,
    blog_posts::title,
    blog_posts::content,
    blog_posts::author_id,
    blog_posts::created_at,
    blog_posts::updated_at,
    users::username,
);

const POST_COLUMNS: PostColumns = (
    blog_posts::id,
    blog_posts::title,
    blog_posts::content,
    blog_posts::author_id,
    blog_posts::created_at,
    blog_posts::updated_at,
    users::username,
);

#[derive(Debug, Insertable)]
#[diesel(table_name = blog_posts)]
pub struct NewPost<'a> {
    pub title: &'a str,
    pub content: &'a str,
    pub author_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a PUT or PATCH changes; `None` leaves a field as it is.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = blog_posts)]
pub struct PostChanges {
    pub title: Option<String>,
    pub content: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// One page of posts by id (`limit`, `offset`, the cursor's key), each row with
/// the number of all posts.
pub fn page(
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Post, Option<i64>)> {
    blog_posts::table
        .inner_join(users::table)
        .filter(blog_posts::id.gt(after))
        .select((POST_COLUMNS, total!(SCOPE, 0)))
        .order(blog_posts::id)
        .limit(limit)
        .offset(offset)
}

/// The number of all posts, for a page past the end.
pub fn count() -> impl Statement<Option<i64>> {
    counts::total_of(SCOPE, 0)
}

/// One post by id, with its author: `db.first(by_id(id))` for a request,
/// `conn.first(by_id(id))` inside a closure.
pub fn by_id(id: i64) -> impl Statement<Post> {
    blog_posts::table
        .inner_join(users::table)
        .filter(blog_posts::id.eq(id))
        .select(POST_COLUMNS)
}

pub fn create(conn: &mut Conn, new: &NewPost<'_>) -> Result<Post, ApiError> {
    let id: i64 = diesel::insert_into(blog_posts::table)
        .values(new)
        .returning(blog_posts::id)
        .get_result(conn)?;
    conn.first(by_id(id))?
        .ok_or_else(|| anyhow::anyhow!("blog post {id} vanished after insert").into())
}

pub fn update(conn: &mut Conn, id: i64, changes: &PostChanges) -> Result<Post, ApiError> {
    diesel::update(blog_posts::table.find(id))
        .set(changes)
        .execute(conn)?;
    crate::domains::found(conn.first(by_id(id))?, "BlogPost")
}

/// Deletes the post; false when there was none.
pub fn delete(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::delete(blog_posts::table.find(id)).execute(conn)? > 0)
}
