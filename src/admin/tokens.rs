//! DRF tokens in the admin, for superusers only: listed by user and date (never the
//! key, which is stored hashed and sealed), made for a chosen user with
//! `tokens::get_or_create`, and deleted.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::helpers::{nothing_related, user_choices, user_pk, values, when};
use super::model::{col, Column, Ctx, Field, ListQuery, Listing, ModelAdmin, Record, Row};
use crate::auth::tokens::{self, api_tokens};
use crate::auth::users::users;
use crate::db::Conn;
use crate::error::ApiError;
use crate::fields::FieldErrors;

pub const HAS_TOKEN: &str = "This user already has a token.";

const COLUMNS: &[Column] = &[col("user", "User"), col("created", "Created")];

pub const TOKENS: ModelAdmin = ModelAdmin {
    app: "accounts",
    app_label: "Accounts",
    model: "token",
    singular: "token",
    plural: "tokens",
    superuser_only: true,
    editable: false,
    columns: COLUMNS,
    search: "username",
    form: |conn, _| {
        Ok(vec![Field::select("user", "User", user_choices(conn)?)
            .help(
                "The key is made now; the user reads it with /api-token-auth/.",
            )])
    },
    list,
    load,
    save,
    passwords: &[],
    related: nothing_related,
    of_user: None,
    delete: |conn, id| Ok(diesel::delete(api_tokens::table.find(id)).execute(conn)? > 0),
};

fn list(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = api_tokens::table.inner_join(users::table).into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; users::username));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(i64, String, chrono::NaiveDateTime)> =
        crate::admin_order!(filtered(), list, api_tokens::id, {
            "user" => users::username, "created" => api_tokens::created_at,
        })
        .select((api_tokens::id, users::username, api_tokens::created_at))
        .limit(list.limit)
        .offset(list.offset)
        .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, user, at)| Row {
            id,
            cells: vec![user, when(&at)],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    let found: Option<(i64, String)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::id.eq(id))
        .select((users::id, users::username))
        .first(conn)
        .optional()?;
    Ok(found.map(|(user_id, username)| Record {
        id,
        title: format!("token of {username}"),
        values: values([("user", json!(user_id.to_string()))]),
    }))
}

fn save(conn: &mut Conn, ctx: &Ctx, _id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let mut errors = FieldErrors::default();
    if let Some(user) = user_pk(conn, &body, "user", &mut errors)? {
        let exists: bool = diesel::select(diesel::dsl::exists(
            api_tokens::table.filter(api_tokens::user_id.eq(user)),
        ))
        .get_result(conn)?;
        if exists {
            errors.add("user", HAS_TOKEN);
        } else {
            errors.into_result()?;
            tokens::get_or_create(conn, &ctx.keys, user)?;
            let id: i64 = api_tokens::table
                .filter(api_tokens::user_id.eq(user))
                .select(api_tokens::id)
                .first(conn)?;
            return load(conn, id)?.ok_or(ApiError::NotFound("Token"));
        }
    }
    Err(ApiError::Validation(errors))
}
