//! The `users` table: the contract's user fields, and the queries on them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::{Conn, DieselErrorExt as _};
use crate::error::ApiError;

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password -> Text,
        is_staff -> Bool,
        is_superuser -> Bool,
        is_active -> Bool,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        auth_version -> BigInt,
    }
}

pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
pub const BAD_USERNAME: &str =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";

/// A user as the API shows it: never the password.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip)]
    pub password: String,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub is_active: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::time::Stored)]
    pub date_joined: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[diesel(deserialize_as = crate::time::MaybeStored)]
    pub last_login: Option<NaiveDateTime>,
    #[serde(skip)]
    pub auth_version: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub date_joined: NaiveDateTime,
}

/// Django's UnicodeUsernameValidator and max_length: `None` when valid.
pub fn username_error(username: &str) -> Option<String> {
    if username.chars().count() > 150 {
        return Some("Ensure this field has no more than 150 characters.".to_owned());
    }
    let valid = !username.is_empty()
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '+' | '-'));
    (!valid).then(|| BAD_USERNAME.to_owned())
}

/// An email address worth storing: something before the `@`, a dotted domain
/// after it, no spaces (the shape Django's EmailValidator accepts, loosely).
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !email.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

pub fn find(conn: &mut Conn, id: i64) -> Result<Option<User>, ApiError> {
    Ok(conn.first(users::table.find(id).select(users::all_columns))?)
}

/// Django's `normalize_username`: NFKC, so that a fullwidth or other compatibility
/// form of a name is that name (and taken when it is).
pub fn normalize(username: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    username.nfkc().collect()
}

/// No user has a NUL in their name (PostgreSQL cannot even be asked).
pub fn find_by_username(conn: &mut Conn, username: &str) -> Result<Option<User>, ApiError> {
    if username.contains('\0') {
        return Ok(None);
    }
    Ok(conn.first(
        users::table
            .filter(users::username.eq(username))
            .select(users::all_columns),
    )?)
}

/// Whether the name, once normalized as sign-up stores it, is taken.
pub fn username_exists(conn: &mut Conn, username: &str) -> Result<bool, ApiError> {
    if username.contains('\0') {
        return Ok(false);
    }
    let username = normalize(username);
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::username.eq(username)),
    ))
    .get_result(conn)?)
}

/// Inserts the user; `Ok(None)` when the username is taken (checked by the unique
/// constraint, so two simultaneous sign-ups cannot both win).
pub fn create(conn: &mut Conn, new: &NewUser<'_>) -> Result<Option<User>, ApiError> {
    let username = normalize(new.username);
    let new = NewUser {
        username: &username,
        ..*new
    };
    match diesel::insert_into(users::table)
        .values(&new)
        .returning(users::all_columns)
        .get_result::<User>(conn)
    {
        Ok(user) => Ok(Some(user)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn set_password_hash(conn: &mut Conn, id: i64, hash: &str) -> Result<(), ApiError> {
    diesel::update(users::table.find(id))
        .set(users::password.eq(hash))
        .execute(conn)?;
    Ok(())
}

pub fn touch_last_login(conn: &mut Conn, id: i64, at: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(users::table.find(id))
        .set(users::last_login.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_django() {
        assert_eq!(username_error("alice.b+c@d-e_f"), None);
        assert_eq!(username_error("Ünïcode"), None);
        assert_eq!(username_error("no spaces").as_deref(), Some(BAD_USERNAME));
        assert!(username_error(&"u".repeat(151)).unwrap().contains("150"));
    }
}
