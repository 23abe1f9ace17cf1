//! Brute-force protection for every login and sign-up route: fixed-window counters
//! per client address and per username, kept in the database so that every
//! instance behind a load balancer counts together. A throttled attempt is refused
//! before any password is hashed; the window cools off, no account is locked.

use diesel::prelude::*;

use crate::auth::logins::Client;
use crate::db::{Conn, DieselErrorExt as _, OptionalExt as _};
use crate::error::ApiError;
use crate::state::AppState;

diesel::table! {
    login_throttle (scope, key_hash) {
        scope -> Text,
        key_hash -> Text,
        window_start -> BigInt,
        hits -> BigInt,
    }
}

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Failed logins from one client address.
    Address,
    /// Failed logins for one username, from anywhere.
    Username,
    /// Sign-ups from one client address that passed validation (counted before
    /// the password is hashed, so that past the limit none is hashed).
    Signup,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Address => "addr",
            Self::Username => "user",
            Self::Signup => "signup",
        }
    }

    fn limit(self, state: &AppState) -> i64 {
        let s = &state.settings;
        i64::from(match self {
            Self::Address => s.login_rate_limit_address,
            Self::Username => s.login_rate_limit,
            Self::Signup => s.signup_rate_limit,
        })
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn window(state: &AppState) -> i64 {
    i64::try_from(state.settings.login_rate_window.as_secs())
        .unwrap_or(60)
        .max(1)
}

/// Seconds until the key may try again, or `None` when it may now.
fn wait(
    conn: &mut Conn,
    scope: Scope,
    key_hash: &str,
    limit: i64,
    window: i64,
) -> Result<Option<u64>, ApiError> {
    let row: Option<(i64, i64)> = login_throttle::table
        .find((scope.as_str(), key_hash))
        .select((login_throttle::window_start, login_throttle::hits))
        .first(conn)
        .found()?;
    let now = unix_now();
    Ok(row.and_then(|(start, hits)| {
        (start + window > now && hits >= limit)
            .then(|| u64::try_from(start + window - now).unwrap_or(1).max(1))
    }))
}

/// Counts one hit: a new window when the last one is over.
fn hit(conn: &mut Conn, scope: Scope, key_hash: &str, window: i64) -> Result<(), ApiError> {
    use login_throttle::dsl as t;
    for _ in 0..3 {
        let now = unix_now();
        let row = t::login_throttle.find((scope.as_str(), key_hash));
        let start: Option<i64> = row.select(t::window_start).first(conn).found()?;
        match start {
            Some(start) if start + window > now => {
                diesel::update(row)
                    .set(t::hits.eq(t::hits + 1))
                    .execute(conn)?;
                return Ok(());
            }
            Some(start) => {
                // only one of two racing requests starts the new window
                let n = diesel::update(row.filter(t::window_start.eq(start)))
                    .set((t::window_start.eq(now), t::hits.eq(1)))
                    .execute(conn)?;
                if n == 1 {
                    return Ok(());
                }
            }
            None => {
                let inserted = diesel::insert_into(t::login_throttle)
                    .values((
                        t::scope.eq(scope.as_str()),
                        t::key_hash.eq(key_hash),
                        t::window_start.eq(now),
                        t::hits.eq(1),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => return Ok(()),
                    Err(e) if e.is_unique_violation() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

/// The keys an attempt is counted under.
fn keys(
    state: &AppState,
    client: &Client,
    username: Option<&str>,
    signup: bool,
) -> Vec<(Scope, String)> {
    let mut keys = Vec::with_capacity(2);
    let addr = state.keys.lookup_hash(&format!("addr:{}", client.addr));
    keys.push((
        if signup {
            Scope::Signup
        } else {
            Scope::Address
        },
        addr,
    ));
    if let Some(name) = username.filter(|_| !signup) {
        keys.push((
            Scope::Username,
            state.keys.lookup_hash(&format!("user:{name}")),
        ));
    }
    keys
}

/// Refuses the attempt with 429 when its address or username is over the limit.
async fn check(state: &AppState, keys: Vec<(Scope, String)>) -> Result<(), ApiError> {
    let st = state.clone();
    let window = window(state);
    let longest = state
        .db
        .run(move |conn| {
            let mut longest = None;
            for (scope, key) in &keys {
                if let Some(w) = wait(conn, *scope, key, scope.limit(&st), window)? {
                    longest = longest.max(Some(w));
                }
            }
            Ok(longest)
        })
        .await?;
    match longest {
        Some(wait) => {
            tracing::warn!(wait, "login attempt throttled");
            Err(ApiError::Throttled(wait))
        }
        None => Ok(()),
    }
}

async fn record(state: &AppState, keys: Vec<(Scope, String)>) -> Result<(), ApiError> {
    let window = window(state);
    state
        .db
        .run(move |conn| {
            for (scope, key) in &keys {
                hit(conn, *scope, key, window)?;
            }
            Ok(())
        })
        .await
}

/// Before a login: 429 when this address or username failed too often lately.
pub async fn check_login(
    state: &AppState,
    client: &Client,
    username: &str,
) -> Result<(), ApiError> {
    check(state, keys(state, client, Some(username), false)).await
}

/// After a failed login.
pub async fn record_failure(
    state: &AppState,
    client: &Client,
    username: &str,
) -> Result<(), ApiError> {
    record(state, keys(state, client, Some(username), false)).await
}

/// Before creating an account: counts the attempt and refuses it past the limit.
pub async fn signup_attempt(state: &AppState, client: &Client) -> Result<(), ApiError> {
    let keys = keys(state, client, None, true);
    check(state, keys.clone()).await?;
    record(state, keys).await
}
