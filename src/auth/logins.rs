//! Logins: each session, and each family of rotated refresh tokens, is one row in
//! `logins`; refresh tokens are rows in `refresh_tokens`. Secrets are stored only as
//! keyed hashes. Ending a login ends its session or every token of its family.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::users::{users, User};
use crate::db::{native, Conn, DieselErrorExt as _, OptionalExt as _, SharedConn};
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
) -> Result<i64, ApiError> {
    let now = crate::time::now();
    let agent: String = client.user_agent.chars().take(512).collect();
    let addr: String = client.addr.chars().take(64).collect();
    Ok(diesel::insert_into(logins::table)
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
        .get_result(conn)?)
}

/// The live session with this key hash, and its user.
pub fn session_user(conn: &mut Conn, key_hash: &str) -> Result<Option<(Login, User)>, ApiError> {
    let now = crate::time::now();
    let found: Option<(Login, User)> = native!(conn, |c| logins::table
        .inner_join(users::table)
        .filter(logins::session_key_hash.eq(key_hash))
        .filter(logins::revoked_at.is_null())
        .filter(logins::expires_at.gt(now))
        .select((LOGIN_COLUMNS, users::all_columns))
        .first(c)
        .found())?;
    if let Some((login, _)) = &found {
        if (now - login.last_used_at).num_seconds() >= TOUCH_EVERY_SECS {
            diesel::update(logins::table.find(login.id))
                .set(logins::last_used_at.eq(now))
                .execute(conn)?;
        }
    }
    Ok(found)
}

/// The user, that login of theirs if there is one (`0`: none), and when it ended.
/// A macro, so that the pooled and the shared connections run this one query.
macro_rules! user_and_login {
    ($user_id:expr, $login_id:expr) => {
        users::table
            .left_join(
                logins::table.on(logins::id.eq($login_id).and(logins::user_id.eq(users::id))),
            )
            .filter(users::id.eq($user_id))
            .select((
                users::all_columns,
                logins::id.nullable(),
                logins::revoked_at.nullable(),
            ))
    };
}

type UserAndLogin = (User, Option<i64>, crate::time::MaybeStored);

/// The user, and whether the login is still live (`None` login id: always live).
pub fn user_with_login(
    conn: &mut Conn,
    user_id: i64,
    login: Option<i64>,
) -> Result<Option<(User, bool)>, ApiError> {
    let login_id = login.unwrap_or_default();
    let found: Option<UserAndLogin> = native!(conn, |c| user_and_login!(user_id, login_id)
        .first(c)
        .found())?;
    Ok(found.map(|found| live(found, login)))
}

/// [`user_with_login`] on a shared PostgreSQL connection.
pub async fn user_with_login_shared(
    pg: SharedConn,
    user_id: i64,
    login: Option<i64>,
) -> diesel::QueryResult<Option<Option<(User, bool)>>> {
    let login_id = login.unwrap_or_default();
    let found: Option<UserAndLogin> =
        diesel_async::RunQueryDsl::first(user_and_login!(user_id, login_id), &mut &*pg)
            .await
            .optional()?;
    Ok(Some(found.map(|found| live(found, login))))
}

fn live((user, found, revoked): UserAndLogin, login: Option<i64>) -> (User, bool) {
    (
        user,
        login.is_none() || (found.is_some() && revoked.0.is_none()),
    )
}

/// What a Bearer token still needs the database to confirm, for a route that asks
/// in its own page query instead of a statement of its own: on PostgreSQL one
/// round trip fewer, a third more lists a second. [`standing!`] is the condition;
/// [`user_with_login`] stays the check that says why it fails.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// Nothing to confirm: the caller was checked already (a session, a DRF token).
    pub settled: bool,
    pub user_id: i64,
    pub login: Option<i64>,
    pub version: i64,
}

/// A [`Standing`] as one boolean column: the user is active, the token's version
/// is current and its login, if it names one, is live (as in `BearerClaims::check`).
macro_rules! standing {
    ($standing:expr) => {{
        use diesel::dsl::exists;
        use diesel::sql_types::Bool;
        use diesel::IntoSql as _;
        use $crate::auth::logins::logins;
        use $crate::auth::users::users;
        let s: $crate::auth::logins::Standing = $standing;
        // aliased: the page's own query may read `users` too
        let (u, l) = diesel::alias!(users as caller, logins as caller_login);
        let user = u
            .select(u.field(users::id))
            .filter(u.field(users::id).eq(s.user_id))
            .filter(u.field(users::is_active).eq(true))
            .filter(u.field(users::auth_version).eq(s.version));
        let login = l
            .select(l.field(logins::id))
            .filter(l.field(logins::id).eq(s.login.unwrap_or_default()))
            .filter(l.field(logins::user_id).eq(s.user_id))
            .filter(l.field(logins::revoked_at).is_null());
        s.settled
            .into_sql::<Bool>()
            .or(exists(user).and(s.login.is_none().into_sql::<Bool>().or(exists(login))))
    }};
}
pub(crate) use standing;

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
    conn.transaction(|conn| {
        let login_id = open(conn, user_id, JWT, None, expires_at, client)?;
        let now = crate::time::now();
        let inserted = diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::login_id.eq(login_id),
                refresh_tokens::user_id.eq(user_id),
                refresh_tokens::jti_hash.eq(jti_hash),
                refresh_tokens::created_at.eq(now),
                refresh_tokens::expires_at.eq(expires_at),
                refresh_tokens::rotated_at.eq(rotated.then_some(now)),
                refresh_tokens::blacklisted_at.eq((!rotated).then_some(now)),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok(Some(login_id)),
            Err(e) if e.is_unique_violation() => Err(ApiError::Conflict),
            Err(e) => Err(e.into()),
        }
    })
    .map_or_else(
        |e| {
            if matches!(e, ApiError::Conflict) {
                Ok(None)
            } else {
                Err(e)
            }
        },
        Ok,
    )
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
