//! What the models' admin descriptions share: case-insensitive search and ordering
//! for boxed queries on both backends, owner selects, and merging the API's field
//! errors with the admin's own.

use serde_json::{Map, Value};

use super::model::Related;
use crate::auth::users::users;
use crate::db::Conn;
use crate::error::ApiError;
use crate::fields::{does_not_exist, FieldErrors, Input};

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive search on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `lower(col) LIKE pattern ESCAPE '\'` for each column, joined by OR.
#[macro_export]
macro_rules! admin_search {
    ($pattern:expr; $first:expr $(, $rest:expr)* $(,)?) => {{
        use diesel::prelude::*;
        let pattern: &String = $pattern;
        $crate::admin::helpers::lower($first).like(pattern.clone()).escape('\\')
            $( .or($crate::admin::helpers::lower($rest).like(pattern.clone()).escape('\\')) )*
    }};
}

/// Orders a boxed query by the checked `?o=` key, then by `$id`.
#[macro_export]
macro_rules! admin_order {
    ($query:expr, $list:expr, $id:expr, { $($key:literal => $col:expr),* $(,)? }) => {{
        use diesel::prelude::*;
        let query = $query;
        let query = match ($list.sort, $list.desc) {
            $( (Some($key), false) => query.order($col.asc()),
               (Some($key), true) => query.order($col.desc()), )*
            _ => query.order($id.asc()),
        };
        query.then_order_by($id.asc())
    }};
}

/// The parse's value, unless it or the admin's own fields (`extra`) have errors:
/// then every error of both.
pub fn checked<T>(parsed: Result<T, ApiError>, extra: FieldErrors) -> Result<T, ApiError> {
    match parsed {
        Err(ApiError::Validation(mut errors)) => {
            for (field, messages) in extra.iter() {
                for m in messages {
                    errors.add(field, m.clone());
                }
            }
            Err(ApiError::Validation(errors))
        }
        Err(other) => Err(other),
        Ok(value) => extra.into_result().map(|()| value),
    }
}

/// For models whose deletion takes nothing else with it.
pub fn nothing_related(
    _conn: &mut Conn,
    _models: &[&super::model::ModelAdmin],
    _id: i64,
) -> Result<Vec<Related>, ApiError> {
    Ok(Vec::new())
}

/// A user chosen from a select (an object's owner): a pk of an existing user.
pub fn user_pk(
    conn: &mut Conn,
    body: &Value,
    name: &str,
    errors: &mut FieldErrors,
) -> Result<Option<i64>, ApiError> {
    use diesel::prelude::*;
    let mut map = Map::new();
    if let Some(v) = body.get(name) {
        map.insert(name.to_owned(), v.clone());
    }
    let mut input = Input::new(Value::Object(map), false)?;
    let pk = input.pk(name);
    if let Err(ApiError::Validation(e)) = input.finish() {
        for (field, messages) in e.iter() {
            for m in messages {
                errors.add(field, m.clone());
            }
        }
    }
    let Some(pk) = pk else { return Ok(None) };
    let exists: bool =
        diesel::select(diesel::dsl::exists(users::table.find(pk))).get_result(conn)?;
    if exists {
        Ok(Some(pk))
    } else {
        errors.add(name, does_not_exist(pk));
        Ok(None)
    }
}

/// Every user as (id, username), for an owner select.
pub fn user_choices(conn: &mut Conn) -> Result<Vec<(i64, String)>, ApiError> {
    use diesel::prelude::*;
    Ok(users::table
        .order(users::username.asc())
        .select((users::id, users::username))
        .load(conn)?)
}

/// Form values from pairs of (field, value).
pub fn values<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_owned()
}

pub fn when(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}
