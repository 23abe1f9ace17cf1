//! Users in the admin, for superusers only: the password set here passes Django's
//! validators and is hashed (argon2id); a new password or a deactivation ends every
//! session and token of the user; nobody removes their own superuser flag.

mod save;

use diesel::prelude::*;
use serde_json::json;

use super::helpers::{values, when, yes_no};
use super::model::{
    col, Column, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Related, Row,
};
use crate::auth::logins::logins as logins_table;
use crate::auth::tokens::api_tokens;
use crate::auth::users::{self as account, users, User};
use crate::db::Conn;
use crate::error::ApiError;

pub const OWN_SUPERUSER: &str = "You cannot remove your own superuser status.";
const BAD_EMAIL: &str = "Enter a valid email address.";

const COLUMNS: &[Column] = &[
    col("username", "Username"),
    col("email", "Email address"),
    col("is_staff", "Staff status"),
    col("is_superuser", "Superuser status"),
    col("is_active", "Active"),
    col("date_joined", "Date joined"),
];

pub const USERS: ModelAdmin = ModelAdmin {
    app: "accounts",
    app_label: "Accounts",
    model: "user",
    singular: "user",
    plural: "users",
    superuser_only: true,
    editable: true,
    columns: COLUMNS,
    search: "username, email, first and last name",
    form,
    list,
    load,
    save: save::save,
    passwords: &["password"],
    related,
    of_user: None,
    delete: |conn, id| Ok(diesel::delete(users::table.find(id)).execute(conn)? > 0),
};

fn form(_conn: &mut Conn, id: Option<i64>) -> Result<Vec<Field>, ApiError> {
    let password = Field::new("password", "Password", Kind::Password);
    let password = match id {
        Some(_) => password
            .optional()
            .help("Leave blank to keep the current password."),
        None => password,
    };
    Ok(vec![
        Field::text("username", "Username", 150)
            .help("150 characters or fewer. Letters, digits and @/./+/-/_ only."),
        password,
        Field::text("email", "Email address", 254).optional(),
        Field::text("first_name", "First name", 150).optional(),
        Field::text("last_name", "Last name", 150).optional(),
        Field::new("is_active", "Active", Kind::Checkbox).initial("true"),
        Field::new("is_staff", "Staff status", Kind::Checkbox)
            .help("Can log into this admin site."),
        Field::new("is_superuser", "Superuser status", Kind::Checkbox)
            .help("Can manage users and tokens."),
    ])
}

fn list(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = users::table.into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p;
                users::username, users::email, users::first_name, users::last_name));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<User> = crate::admin_order!(filtered(), list, users::id, {
        "username" => users::username, "email" => users::email, "is_staff" => users::is_staff,
        "is_superuser" => users::is_superuser, "is_active" => users::is_active,
        "date_joined" => users::date_joined,
    })
    .select(User::as_select())
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|u| Row {
            id: u.id,
            cells: vec![
                u.username,
                u.email,
                yes_no(u.is_staff),
                yes_no(u.is_superuser),
                yes_no(u.is_active),
                when(&u.date_joined),
            ],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    Ok(account::find(conn, id)?.map(|u| Record {
        id,
        values: values([
            ("username", json!(u.username)),
            ("email", json!(u.email)),
            ("first_name", json!(u.first_name)),
            ("last_name", json!(u.last_name)),
            ("is_active", json!(u.is_active)),
            ("is_staff", json!(u.is_staff)),
            ("is_superuser", json!(u.is_superuser)),
        ]),
        title: u.username,
    }))
}

/// Everything of the user's that goes with them: what each model of the site says
/// it holds of the user, then the user's tokens and logins.
fn related(conn: &mut Conn, models: &[&ModelAdmin], id: i64) -> Result<Vec<Related>, ApiError> {
    let mut related = Vec::new();
    for of_user in models.iter().filter_map(|m| m.of_user) {
        related.push(of_user(conn, id)?);
    }
    let tokens: i64 = api_tokens::table
        .filter(api_tokens::user_id.eq(id))
        .count()
        .get_result(conn)?;
    let sessions: i64 = logins_table::table
        .filter(logins_table::user_id.eq(id))
        .filter(logins_table::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    related.extend([
        Related {
            model: "Token",
            items: (0..tokens).map(|_| "API token".to_owned()).collect(),
        },
        Related {
            model: "Login",
            items: (0..sessions)
                .map(|_| "active session or JWT login".to_owned())
                .collect(),
        },
    ]);
    related.retain(|r| !r.items.is_empty());
    Ok(related)
}
