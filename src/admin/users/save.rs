//! Saving a user from the admin's form: Django's username, email and password
//! rules, the password hashed, and every login ended when it changes or the user is
//! deactivated.

use diesel::prelude::*;
use serde_json::Value;

use super::{load, BAD_EMAIL, OWN_SUPERUSER};
use crate::admin::model::{Ctx, Record};
use crate::auth::logins;
use crate::auth::users::{self as account, users, NewUser, USERNAME_TAKEN};
use crate::db::{Conn, DieselErrorExt as _};
use crate::error::ApiError;
use crate::fields::Input;
use crate::password::{self, Attributes};

pub(super) fn save(
    conn: &mut Conn,
    ctx: &Ctx,
    id: Option<i64>,
    body: Value,
) -> Result<Record, ApiError> {
    let new_password = id.is_none() || body.get("password").and_then(Value::as_str) != Some("");
    let mut input = Input::new(body, false)?;
    let username = input.string("username", Some(150), false, true);
    let password = if new_password {
        input.password("password", 128)
    } else {
        None
    };
    let email = input
        .string("email", Some(254), true, false)
        .unwrap_or_default();
    let first_name = input
        .string("first_name", Some(150), true, false)
        .unwrap_or_default();
    let last_name = input
        .string("last_name", Some(150), true, false)
        .unwrap_or_default();
    let is_active = input.boolean("is_active").unwrap_or(true);
    let is_staff = input.boolean("is_staff").unwrap_or(false);
    let is_superuser = input.boolean("is_superuser").unwrap_or(false);
    if let Some(name) = &username {
        if let Some(error) = account::username_error(name) {
            input.error("username", error);
        } else if account::find_by_username(conn, name)?.is_some_and(|u| Some(u.id) != id) {
            input.error("username", USERNAME_TAKEN);
        }
    }
    if !email.is_empty() && !account::plausible_email(&email) {
        input.error("email", BAD_EMAIL);
    }
    if id == Some(ctx.actor.id) && !is_superuser {
        input.error("is_superuser", OWN_SUPERUSER);
    }
    if let (Some(password), Some(name)) = (&password, &username) {
        let attributes = Attributes {
            username: name,
            first_name: &first_name,
            last_name: &last_name,
            email: &email,
        };
        for error in password::validate(password, attributes) {
            input.error("password", error);
        }
    }
    input.finish()?;
    let username =
        username.ok_or_else(|| anyhow::anyhow!("a valid user form without a username"))?;
    let hash = match password {
        Some(_) => Some(ctx.hashed.get("password").cloned().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a user's new password was not hashed"))
        })?),
        None => None,
    };
    let id = conn.transaction(|conn| -> Result<i64, ApiError> {
        let (id, was_active) = match id {
            Some(id) => {
                let was = account::find(conn, id)?.ok_or(ApiError::NotFound("User"))?;
                (id, was.is_active)
            }
            None => {
                let new = NewUser {
                    username: &username,
                    email: &email,
                    password: hash.as_deref().unwrap_or_default(),
                    is_staff,
                    is_superuser,
                    date_joined: crate::time::now(),
                };
                let user = account::create(conn, &new)?
                    .ok_or_else(|| ApiError::field("username", USERNAME_TAKEN))?;
                (user.id, true)
            }
        };
        let updated = diesel::update(users::table.find(id))
            .set((
                users::username.eq(&username),
                users::email.eq(&email),
                users::first_name.eq(&first_name),
                users::last_name.eq(&last_name),
                users::is_active.eq(is_active),
                users::is_staff.eq(is_staff),
                users::is_superuser.eq(is_superuser),
            ))
            .execute(conn);
        match updated {
            Err(e) if e.is_unique_violation() => {
                return Err(ApiError::field("username", USERNAME_TAKEN))
            }
            other => other?,
        };
        if let Some(hash) = &hash {
            account::set_password_hash(conn, id, hash)?;
        }
        if hash.is_some() || (was_active && !is_active) {
            logins::revoke_all(conn, id)?;
        }
        Ok(id)
    })?;
    load(conn, id)?.ok_or(ApiError::NotFound("User"))
}
