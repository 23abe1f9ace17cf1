//! A Bearer token confirmed inside a list's own statement: on PostgreSQL one round
//! trip fewer, a third more lists a second. The page's statement carries
//! [`standing!`] as a column; its rows come back [`Vouched`], which only
//! `Caller::confirm` opens.

use diesel::prelude::*;

/// What a Bearer token still needs the database to confirm, for a route that asks
/// in its own page query instead of a statement of its own: on PostgreSQL one
/// round trip fewer, a third more lists a second. [`standing!`] is the condition;
/// `BearerClaims::fetch` stays the check that says why it fails.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// Nothing to confirm: the caller was checked already (a session, a DRF token).
    pub settled: bool,
    pub user_id: i64,
    pub login: Option<i64>,
    pub version: i64,
}

/// A row of a page that also says whether the caller's Bearer token still holds
/// ([`standing!`] in the page's statement). Only `Caller::confirm` takes it apart,
/// so a handler cannot show the page and forget the check.
pub struct Vouched<T> {
    row: T,
    holds: bool,
}

impl<T> Vouched<T> {
    /// Whether the first of these rows says the token holds (`None`: no row).
    pub(super) fn verdict(rows: &[Self]) -> Option<bool> {
        rows.first().map(|v| v.holds)
    }

    pub(super) fn into_row(self) -> T {
        self.row
    }
}

impl<T, ST, DB> Queryable<(ST, diesel::sql_types::Bool), DB> for Vouched<T>
where
    DB: diesel::backend::Backend,
    (T, bool): diesel::deserialize::FromStaticSqlRow<(ST, diesel::sql_types::Bool), DB>,
{
    type Row = (T, bool);

    fn build((row, holds): (T, bool)) -> diesel::deserialize::Result<Self> {
        Ok(Self { row, holds })
    }
}

/// A [`Standing`] as one boolean column: the user is active, the token's version
/// is current and its login, if it names one, is live (as `BearerClaims::fetch` judges).
macro_rules! standing {
    ($standing:expr) => {{
        use diesel::dsl::exists;
        use diesel::sql_types::Bool;
        use diesel::IntoSql as _;
        use $crate::auth::logins::logins;
        use $crate::auth::users::users;
        let s: $crate::auth::standing::Standing = $standing;
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
