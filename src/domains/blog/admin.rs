//! Blog posts in the admin, with their author chosen from a select. The title and
//! content are checked by `PostIn::parse`, as the API checks them.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::payload::{PostIn, TITLE_MAX};
use super::queries::{self, blog_posts, PostChanges, PostRow};
use crate::admin::helpers::{checked, nothing_related, user_choices, user_pk, values, when};
use crate::admin::model::{
    col, Column, Ctx, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Row,
};
use crate::auth::users::users;
use crate::db::Conn;
use crate::db::Inserts as _;
use crate::domains::New;
use crate::error::ApiError;
use crate::fields::{FieldErrors, Input};

const COLUMNS: &[Column] = &[
    col("title", "Title"),
    col("author", "Author"),
    col("created_at", "Created"),
    col("updated_at", "Updated"),
];

pub const ADMIN: ModelAdmin = ModelAdmin {
    app: "blog",
    app_label: "Blog",
    model: "blogpost",
    singular: "blog post",
    plural: "blog posts",
    superuser_only: false,
    editable: true,
    columns: COLUMNS,
    search: "title, content, author",
    form: |conn, _| {
        Ok(vec![
            Field::select("author", "Author", user_choices(conn)?),
            Field::text("title", "Title", TITLE_MAX),
            Field::new("content", "Content", Kind::Textarea),
        ])
    },
    list,
    load,
    save,
    passwords: &[],
    related: nothing_related,
    of_user: Some(of_user),
    delete: queries::delete,
};

fn list(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = blog_posts::table.inner_join(users::table).into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p;
                blog_posts::title, blog_posts::content, users::username));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(
        i64,
        String,
        String,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
    )> = crate::admin_order!(filtered(), list, blog_posts::id, {
        "title" => blog_posts::title, "author" => users::username,
        "created_at" => blog_posts::created_at, "updated_at" => blog_posts::updated_at,
    })
    .select((
        blog_posts::id,
        blog_posts::title,
        users::username,
        blog_posts::created_at,
        blog_posts::updated_at,
    ))
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, title, author, created, updated)| Row {
            id,
            cells: vec![title, author, when(&created), when(&updated)],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    Ok(conn.first(queries::by_id(id))?.map(|p| Record {
        id,
        values: values([
            ("author", json!(p.author_id.to_string())),
            ("title", json!(p.title)),
            ("content", json!(p.content)),
        ]),
        title: p.title,
    }))
}

fn save(conn: &mut Conn, _ctx: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let mut errors = FieldErrors::default();
    let author = user_pk(conn, &body, "author", &mut errors)?;
    let post = checked(
        Input::new(body, false).and_then(PostIn::<New>::parse),
        errors,
    )?;
    let author_id =
        author.ok_or_else(|| anyhow::anyhow!("a valid post form without its author"))?;
    let PostIn { title, content } = post;
    let now = crate::time::now();
    let id = match id {
        Some(id) => {
            let changes = PostChanges {
                title: Some(title),
                content: Some(content),
                updated_at: now,
            };
            queries::update(conn, id, &changes)?;
            diesel::update(blog_posts::table.find(id))
                .set(blog_posts::author_id.eq(author_id))
                .execute(conn)?;
            id
        }
        None => {
            let row = PostRow {
                author_id,
                author: users::table
                    .find(author_id)
                    .select(users::username)
                    .first(conn)?,
                title,
                content,
                at: now,
            };
            queries::Add::insert_one(conn, &row)?.id
        }
    };
    load(conn, id)?.ok_or(ApiError::NotFound("BlogPost"))
}

/// A deleted user's blog posts, which go with them.
fn of_user(conn: &mut Conn, user: i64) -> Result<crate::admin::model::Related, ApiError> {
    use crate::domains::blog::queries::blog_posts;
    let items = blog_posts::table
        .filter(blog_posts::author_id.eq(user))
        .order(blog_posts::id)
        .select(blog_posts::title)
        .load(conn)?;
    Ok(crate::admin::model::Related {
        model: "Blog post",
        items,
    })
}
