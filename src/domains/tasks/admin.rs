//! Tasks in the admin: every user's, with their owner chosen from a select. The
//! title and `completed` are checked by `TaskIn::parse`, as the API checks them.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::payload::{TaskIn, TITLE_MAX};
use super::queries::{self, tasks, TaskRow};
use crate::admin::helpers::{
    checked, nothing_related, user_choices, user_pk, values, when, yes_no,
};
use crate::admin::model::{
    col, Column, Ctx, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Row,
};
use crate::auth::users::users;
use crate::db::{Conn, Inserts as _};
use crate::domains::New;
use crate::error::ApiError;
use crate::fields::{FieldErrors, Input};

const COLUMNS: &[Column] = &[
    col("title", "Title"),
    col("user", "User"),
    col("completed", "Completed"),
    col("created_at", "Created"),
    col("updated_at", "Updated"),
];

pub const ADMIN: ModelAdmin = ModelAdmin {
    app: "tasks",
    app_label: "Tasks",
    model: "task",
    singular: "task",
    plural: "tasks",
    superuser_only: false,
    editable: true,
    columns: COLUMNS,
    search: "title, user",
    form: |conn, _| {
        Ok(vec![
            Field::select("user", "User", user_choices(conn)?),
            Field::text("title", "Title", TITLE_MAX),
            Field::new("completed", "Completed", Kind::Checkbox),
        ])
    },
    list,
    load,
    save,
    passwords: &[],
    related: nothing_related,
    of_user: Some(of_user),
    delete: |conn, id| Ok(diesel::delete(tasks::table.find(id)).execute(conn)? > 0),
};

fn list(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = tasks::table.inner_join(users::table).into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; tasks::title, users::username));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(queries::Task, String)> = crate::admin_order!(filtered(), list, tasks::id, {
        "title" => tasks::title, "user" => users::username, "completed" => tasks::completed,
        "created_at" => tasks::created_at, "updated_at" => tasks::updated_at,
    })
    .select((tasks::all_columns, users::username))
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(t, user)| Row {
            id: t.id,
            cells: vec![
                t.title,
                user,
                yes_no(t.completed),
                when(&t.created_at),
                when(&t.updated_at),
            ],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    let task: Option<queries::Task> = tasks::table
        .find(id)
        .select(tasks::all_columns)
        .first(conn)
        .optional()?;
    Ok(task.map(|t| Record {
        id,
        values: values([
            ("user", json!(t.user_id.to_string())),
            ("title", json!(t.title)),
            ("completed", json!(t.completed)),
        ]),
        title: t.title,
    }))
}

fn save(conn: &mut Conn, _ctx: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let mut errors = FieldErrors::default();
    let user = user_pk(conn, &body, "user", &mut errors)?;
    let input = checked(TaskIn::<New>::parse(Input::new(body, false)?), errors)?;
    let user_id = user.ok_or_else(|| anyhow::anyhow!("a valid task form without its user"))?;
    let (title, completed) = (input.title, input.completed.unwrap_or(false));
    let now = crate::time::now();
    let id = match id {
        Some(id) => {
            diesel::update(tasks::table.find(id))
                .set((
                    tasks::user_id.eq(user_id),
                    tasks::title.eq(&title),
                    tasks::completed.eq(completed),
                    tasks::updated_at.eq(now),
                ))
                .execute(conn)?;
            id
        }
        None => {
            let row = TaskRow {
                user_id,
                title,
                completed,
                at: now,
            };
            queries::Add::insert_one(conn, &row)?.id
        }
    };
    load(conn, id)?.ok_or(ApiError::NotFound("Task"))
}

/// A deleted user's tasks, which go with them.
fn of_user(conn: &mut Conn, user: i64) -> Result<crate::admin::model::Related, ApiError> {
    use crate::domains::tasks::queries::tasks;
    let items = tasks::table
        .filter(tasks::user_id.eq(user))
        .order(tasks::id)
        .select(tasks::title)
        .load(conn)?;
    Ok(crate::admin::model::Related {
        model: "Task",
        items,
    })
}
