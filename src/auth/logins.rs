//! Logins: each session, and each family of rotated refresh tokens, is one row in
//! `logins`; refresh tokens are rows in `refresh_tokens`. Secrets are stored only as
//! keyed hashes. Ending a login ends its session or every token of its family.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::users::{users, User};
use crate::db::counts::row_counts;
use crate::db::{Conn, Db, DieselErrorExt as _, OptionalExt as _, Statement};
use crate::error::ApiError;

diesel::table! {
    logins (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        session_key_hash -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        client_addr -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        login_id -> BigInt,
        user_id -> BigInt,
        jti_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        blacklisted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(logins -> users (user_id));
diesel::joinable!(refresh_tokens -> logins (login_id));
diesel::allow_tables_to_appear_in_same_query!(logins, users, refresh_tokens);
// the counts that page queries carry beside the caller's standing
diesel::allow_tables_to_appear_in_same_query!(row_counts, users);
diesel::allow_tables_to_appear_in_same_query!(row_counts, logins);

pub const SESSION: &str = "session";
pub const JWT: &str = "jwt";

/// How long a session's `last_used_at` may lag, so a busy session is not
/// written on every request.
const TOUCH_EVERY_SECS: i64 = 60;

/// The columns of [`Login`], in its field order. Spelled out rather than
/// `Login::as_select()`, which has no static query id, so Diesel would prepare the
/// statement again on every request.
const LOGIN_COLUMNS: (
    logins::id,
    logins::user_id,
    logins::kind,
    logins::created_at,
    logins::last_used_at,
    logins::expires_at,
    logins::revoked_at,
    logins::client_addr,
    logins::user_agent,
) = (
    logins::id,
    logins::user_id,
    logins::kind,
    logins::created_at,
    logins::last_used_at,
    logins::expires_at,
    logins::revoked_at,
    logins::client_addr,
    logins::user_agent,
);

#[derive(Debug, Clone, Queryable)]
pub struct Login {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub last_used_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::Stored)]
    pub expires_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::time::MaybeStored)]
    pub revoked_at: Option<NaiveDateTime>,
    pub client_addr: String,
    pub user_agent: String,
}

/// Who is logging in from where, kept with the login.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub addr: String,
    pub user_agent: String,
}

pub fn open(
    conn: &mut Conn,
    user_id: i64,
    kind: &str,
    session_key_hash: Option<&str>,
    expires_at: NaiveDateTime,
    client: &Client,
) -> QueryResult<i64> {
    let now = crate::time::now();
    let agent: String = client.user_agent.chars().take(512).collect();
    let addr: String = client.addr.chars().take(64).collect();
    diesel::insert_into(logins::table)
        .values((
            logins::user_id.eq(user_id),
            logins::kind.eq(kind),
            logins::session_key_hash.eq(session_key_hash),
            logins::created_at.eq(now),
            logins::last_used_at.eq(now),
            logins::expires_at.eq(expires_at),
            logins::client_addr.eq(addr),
            logins::user_agent.eq(agent),
        ))
        .returning(logins::id)
        .get_result(conn)
}

/// The live session with this key hash, and its user.
pub fn session_user(conn: &mut Conn, key_hash: &str) -> Result<Option<(Login, User)>, ApiError> {
    let now = crate::time::now();
    Ok(conn.first(
        logins::table
            .inner_join(users::table)
            .filter(logins::session_key_hash.eq(key_hash))
            .filter(logins::revoked_at.is_null())
            .filter(logins::expires_at.gt(now))
            .select((LOGIN_COLUMNS, users::all_columns)),
    )?)
}

/// The live session with that key hash and its user, as [`session_user`] reads
/// it; its `last_used_at` is moved on at most every `TOUCH_EVERY_SECS`, apart,
/// so that a session read stays a read. A touch that cannot be stored (a full
/// disk) is logged and does not refuse the request.
pub async fn live_session(db: &Db, key_hash: String) -> Result<Option<(Login, User)>, ApiError> {
    let found = db.read(move |conn| session_user(conn, &key_hash)).await?;
    if let Some((login, _)) = &found {
        let now = crate::time::now();
        if (now - login.last_used_at).num_seconds() >= TOUCH_EVERY_SECS {
            let id = login.id;
            let touched = db
                .run(move |conn| {
                    diesel::update(logins::table.find(id))
                        .set(logins::last_used_at.eq(now))
                        .execute(conn)?;
                    Ok(())
                })
                .await;
            if let Err(err) = touched {
                tracing::warn!(error = ?err, "cannot record a session's last use");
            }
        }
    }
    Ok(found)
}

pub type UserAndLogin = (User, Option<i64>, crate::time::MaybeStored);

/// The user, that login of theirs if there is one (`None`: none asked), and when
/// it ended; [`live`] says what that means.
pub fn user_and_login(user_id: i64, login: Option<i64>) -> impl Statement<UserAndLogin> {
    let login_id = login.unwrap_or_default();
    users::table
        .left_join(logins::table.on(logins::id.eq(login_id).and(logins::user_id.eq(users::id))))
        .filter(users::id.eq(user_id))
        .select((
            users::all_columns,
            logins::id.nullable(),
            logins::revoked_at.nullable(),
        ))
}

/// The user, and whether the login is still live (`None` login id: always live).
pub fn user_with_login(
    conn: &mut Conn,
    user_id: i64,
    login: Option<i64>,
) -> Result<Option<(User, bool)>, ApiError> {
    let found: Vec<UserAndLogin> = conn.load(user_and_login(user_id, login))?;
    Ok(found.into_iter().next().map(|found| live(found, login)))
}

/// Whether the user's login is live (`None` login id: always).
pub fn live((user, found, revoked): UserAndLogin, login: Option<i64>) -> (User, bool) {
    (
        user,
        login.is_none() || (found.is_some() && revoked.0.is_none()),
    )
}

pub fn revoke(conn: &mut Conn, login_id: i64) -> Result<(), ApiError> {
    let now = crate::time::now();
    diesel::update(
        logins::table
            .find(login_id)
            .filter(logins::revoked_at.is_null()),
    )
    .set(logins::revoked_at.eq(Some(now)))
    .execute(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::login_id.eq(login_id)))
        .filter(refresh_tokens::blacklisted_at.is_null())
        .set(refresh_tokens::blacklisted_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// Ends every login of the user, invalidates every access token already issued
/// (their `ver` claim no longer matches) and deletes the DRF token: what a
/// logout-all, a password change and a deactivation all mean.
pub fn revoke_all(conn: &mut Conn, user_id: i64) -> Result<(), ApiError> {
    conn.transaction(|conn| {
        let now = crate::time::now();
        diesel::update(
            logins::table
                .filter(logins::user_id.eq(user_id))
                .filter(logins::revoked_at.is_null()),
        )
        .set(logins::revoked_at.eq(Some(now)))
        .execute(conn)?;
        diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)))
            .filter(refresh_tokens::blacklisted_at.is_null())
            .set(refresh_tokens::blacklisted_at.eq(Some(now)))
            .execute(conn)?;
        diesel::update(users::table.find(user_id))
            .set(users::auth_version.eq(users::auth_version + 1))
            .execute(conn)?;
        crate::auth::tokens::revoke(conn, user_id)?;
        Ok(())
    })
}

/// The active logins of a user, newest first.
pub fn active(conn: &mut Conn, user_id: i64) -> Result<Vec<Login>, ApiError> {
    let now = crate::time::now();
    Ok(logins::table
        .filter(logins::user_id.eq(user_id))
        .filter(logins::revoked_at.is_null())
        .filter(logins::expires_at.gt(now))
        .order(logins::id.desc())
        .select(LOGIN_COLUMNS)
        .load(conn)?)
}

pub fn find_for_user(
    conn: &mut Conn,
    login_id: i64,
    user_id: i64,
) -> Result<Option<Login>, ApiError> {
    logins::table
        .find(login_id)
        .filter(logins::user_id.eq(user_id))
        .filter(logins::revoked_at.is_null())
        .select(LOGIN_COLUMNS)
        .first(conn)
        .found()
}

/// Records an issued refresh token.
pub fn record_refresh(
    conn: &mut Conn,
    login_id: i64,
    user_id: i64,
    jti_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::login_id.eq(login_id),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::jti_hash.eq(jti_hash),
            refresh_tokens::created_at.eq(crate::time::now()),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct RefreshRecord {
    pub id: i64,
    pub login_id: i64,
    #[diesel(deserialize_as = crate::time::MaybeStored)]
    pub rotated_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::time::MaybeStored)]
    pub blacklisted_at: Option<NaiveDateTime>,
}

pub fn find_refresh(conn: &mut Conn, jti_hash: &str) -> Result<Option<RefreshRecord>, ApiError> {
    refresh_tokens::table
        .filter(refresh_tokens::jti_hash.eq(jti_hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::login_id,
            refresh_tokens::rotated_at,
            refresh_tokens::blacklisted_at,
        ))
        .first(conn)
        .found()
}

/// Marks the token used, if nobody has: true for exactly one caller.
pub fn claim_refresh(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    let now = crate::time::now();
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::blacklisted_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Blacklists one token (logout); false when it already was.
pub fn blacklist_refresh(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::blacklisted_at.is_null()),
    )
    .set(refresh_tokens::blacklisted_at.eq(Some(crate::time::now())))
    .execute(conn)?;
    Ok(n == 1)
}

/// A refresh token Hearth never issued (minted elsewhere with the same key): adopt it
/// in a new login, already in the given state. `None` when another request adopted it first.
pub fn adopt_refresh(
    conn: &mut Conn,
    user_id: i64,
    jti_hash: &str,
    expires_at: NaiveDateTime,
    client: &Client,
    rotated: bool,
) -> Result<Option<i64>, ApiError> {
    let adopted: QueryResult<i64> = conn.transaction(|conn| {
        let login_id = open(conn, user_id, JWT, None, expires_at, client)?;
        let now = crate::time::now();
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::login_id.eq(login_id),
                refresh_tokens::user_id.eq(user_id),
                refresh_tokens::jti_hash.eq(jti_hash),
                refresh_tokens::created_at.eq(now),
                refresh_tokens::expires_at.eq(expires_at),
                refresh_tokens::rotated_at.eq(rotated.then_some(now)),
                refresh_tokens::blacklisted_at.eq((!rotated).then_some(now)),
            ))
            .execute(conn)?;
        Ok(login_id)
    });
    match adopted {
        Ok(login_id) => Ok(Some(login_id)),
        // another request adopted the token first (its jti_hash is the one unique
        // value written here); the new login went with the rollback
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Moves the login's expiry later (never earlier).
pub fn extend(conn: &mut Conn, login_id: i64, expires_at: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(
        logins::table
            .find(login_id)
            .filter(logins::expires_at.lt(expires_at)),
    )
    .set(logins::expires_at.eq(expires_at))
    .execute(conn)?;
    Ok(())
}

pub fn touch(conn: &mut Conn, login_id: i64) -> Result<(), ApiError> {
    diesel::update(logins::table.find(login_id))
        .set(logins::last_used_at.eq(crate::time::now()))
        .execute(conn)?;
    Ok(())
}
