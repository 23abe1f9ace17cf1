//! DRF authtoken keys: 40 hex characters, one per user, stored as a keyed hash for
//! lookup and sealed (encrypted) so `/api-token-auth/` can show the same key again.

use diesel::prelude::*;

use crate::auth::users::{users, User};
use crate::crypto::{random_hex, Keys};
use crate::db::{Conn, DieselErrorExt as _, OptionalExt as _};
use crate::error::ApiError;

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_hash -> Text,
        key_sealed -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(api_tokens, users);

pub fn user_by_key_hash(conn: &mut Conn, key_hash: &str) -> Result<Option<User>, ApiError> {
    Ok(conn.first(
        api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::key_hash.eq(key_hash))
            .select(users::all_columns),
    )?)
}

/// The user's key, made on first use (DRF's `Token.objects.get_or_create`).
pub fn get_or_create(conn: &mut Conn, keys: &Keys, user_id: i64) -> Result<String, ApiError> {
    for _ in 0..3 {
        let sealed: Option<String> = api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .select(api_tokens::key_sealed)
            .first(conn)
            .found()?;
        if let Some(sealed) = sealed {
            return keys.open(&sealed).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "token of user {user_id} sealed under another key"
                ))
            });
        }
        let key = random_hex(20);
        let inserted = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::key_hash.eq(keys.lookup_hash(&key)),
                api_tokens::key_sealed.eq(keys.seal(&key)),
                api_tokens::created_at.eq(crate::time::now()),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(key),
            // another request made it first: read theirs
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "could not create a token for user {user_id}"
    )))
}

/// Deletes the user's key; true when there was one.
pub fn revoke(conn: &mut Conn, user_id: i64) -> Result<bool, ApiError> {
    Ok(
        diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(user_id))).execute(conn)?
            > 0,
    )
}
