//! Messages in the admin: any staff user lists, searches, adds (for a chosen
//! sender), edits and deletes them. The text is checked by `MessageIn::parse`,
//! as the API checks it.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::payload::{MessageIn, TEXT_MAX};
use super::queries::{self, messages, NewMessage};
use crate::admin::helpers::{checked, nothing_related, user_choices, user_pk, values, when};
use crate::admin::model::{
    col, Column, Ctx, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Row,
};
use crate::auth::users::users;
use crate::db::{Conn, Inserts as _};
use crate::domains::New;
use crate::error::ApiError;
use crate::fields::{FieldErrors, Input};

const COLUMNS: &[Column] = &[
    col("text", "Text"),
    col("sender", "Sender"),
    col("timestamp", "Timestamp"),
];

pub const ADMIN: ModelAdmin = ModelAdmin {
    app: "messages",
    app_label: "Messages",
    model: "message",
    singular: "message",
    plural: "messages",
    superuser_only: false,
    editable: true,
    columns: COLUMNS,
    search: "text, sender",
    form,
    list,
    load,
    save,
    passwords: &[],
    related: nothing_related,
    of_user: Some(of_user),
    delete: queries::delete,
};

fn form(conn: &mut Conn, _id: Option<i64>) -> Result<Vec<Field>, ApiError> {
    Ok(vec![
        Field::select("sender", "Sender", user_choices(conn)?),
        Field {
            max: Some(TEXT_MAX),
            ..Field::new("text", "Text", Kind::Textarea)
        },
    ])
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn list(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = messages::table.inner_join(users::table).into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; messages::text, users::username));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(i64, String, String, chrono::NaiveDateTime)> = crate::admin_order!(
    filtered(), list, messages::id, {
        "text" => messages::text, "sender" => users::username, "timestamp" => messages::timestamp,
    })
    .select((
        messages::id,
        messages::text,
        users::username,
        messages::timestamp,
    ))
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, text, sender, at)| Row {
            id,
            cells: vec![short(&text), sender, when(&at)],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    Ok(conn.first(queries::by_id(id))?.map(|m| Record {
        id,
        title: short(&m.text),
        values: values([
            ("sender", json!(m.sender_id.to_string())),
            ("text", json!(m.text)),
        ]),
    }))
}

fn save(conn: &mut Conn, ctx: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let mut errors = FieldErrors::default();
    let sender = user_pk(conn, &body, "sender", &mut errors)?;
    let new = checked(MessageIn::<New>::parse(Input::new(body, false)?), errors)?;
    let sender = sender.ok_or_else(|| anyhow::anyhow!("a valid form without its sender"))?;
    let id = match id {
        Some(id) => {
            diesel::update(messages::table.find(id))
                .set((messages::text.eq(&new.text), messages::sender_id.eq(sender)))
                .execute(conn)?;
            id
        }
        None => {
            let row = NewMessage {
                sender_id: sender,
                sender: users::table
                    .find(sender)
                    .select(users::username)
                    .first(conn)?,
                text: new.text,
                timestamp: crate::time::now(),
            };
            let message = queries::Post::insert_one(conn, &row)?;
            let id = message.id;
            ctx.news
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((id, super::feed::event(&message)));
            id
        }
    };
    load(conn, id)?.ok_or(ApiError::NotFound("Message"))
}

/// A deleted user's messages, which go with them.
fn of_user(conn: &mut Conn, user: i64) -> Result<crate::admin::model::Related, ApiError> {
    use crate::domains::messages::queries::messages;
    let items = messages::table
        .filter(messages::sender_id.eq(user))
        .order(messages::id)
        .select(messages::text)
        .load(conn)?;
    Ok(crate::admin::model::Related {
        model: "Message",
        items,
    })
}
