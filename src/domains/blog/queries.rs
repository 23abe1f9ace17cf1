//! The `blog_posts` table and its queries. A post is always read with its author's
//! username, in one JOIN.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::users::users;
use crate::db::counts::{self, row_counts, total};
use crate::db::{Conn, Inserts, Shown, Statement};
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

/// A post to add, by an author whose username the caller already knows.
#[derive(Debug)]
pub struct PostRow {
    pub author_id: i64,
    pub author: String,
    pub title: String,
    pub content: String,
    pub at: NaiveDateTime,
}

/// A stored post without its author's name: the table's columns, as `RETURNING` gives them.
#[derive(Queryable)]
struct Stored {
    id: i64,
    title: String,
    content: String,
    author_id: i64,
    #[diesel(deserialize_as = crate::time::Stored)]
    created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::Stored)]
    updated_at: NaiveDateTime,
}

/// Adding posts: those added at the same moment go in together ([`Db::insert`]).
///
/// [`Db::insert`]: crate::db::Db::insert
pub struct Add;

impl Inserts for Add {
    type Row = PostRow;
    type Out = Post;

    fn insert(conn: &mut Conn, rows: &[PostRow]) -> Result<Vec<Post>, ApiError> {
        let values: Vec<NewPost<'_>> = rows
            .iter()
            .map(|row| NewPost {
                title: &row.title,
                content: &row.content,
                author_id: row.author_id,
                created_at: row.at,
                updated_at: row.at,
            })
            .collect();
        let stored: Vec<Stored> = conn.load(
            diesel::insert_into(blog_posts::table)
                .values(&values)
                .returning(blog_posts::all_columns),
        )?;
        let authors = crate::domains::Names::of(rows, |row| (row.author_id, &row.author));
        Ok(stored
            .into_iter()
            .map(|s| Post {
                author: authors.of_user(s.author_id),
                id: s.id,
                title: s.title,
                content: s.content,
                author_id: s.author_id,
                created_at: s.created_at,
                updated_at: s.updated_at,
            })
            .collect())
    }

    fn became(row: &PostRow, out: &Post) -> bool {
        row.author_id == out.author_id
            && row.at == out.created_at
            && row.title == out.title
            && row.content == out.content
    }

    fn undo(conn: &mut Conn, outs: &[Post]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        conn.execute(diesel::delete(
            blog_posts::table.filter(blog_posts::id.eq_any(ids)),
        ))?;
        Ok(())
    }
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
