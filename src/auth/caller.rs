//! `Caller`: the authenticated caller of a list that confirms a Bearer token inside
//! its own statement (see `auth::standing`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::extract::{Auth, BearerClaims, CurrentUser, MaybeUser};
use super::header::{credentials, Credentials};
use super::standing::{Standing, Vouched};
use crate::db::{Db, Paged};
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller, for routes that confirm a Bearer token in their own
/// statement: one statement instead of two. Other credentials are checked here,
/// as for [`CurrentUser`]; anonymous is 401.
#[derive(Debug, Clone)]
pub struct Caller(Pending);

#[derive(Debug, Clone)]
enum Pending {
    Known(Auth),
    Bearer(BearerClaims),
}

impl Caller {
    /// What a page query is to confirm with `standing::standing!`.
    pub fn standing(&self) -> Standing {
        match &self.0 {
            Pending::Known(auth) => Standing {
                settled: true,
                user_id: auth.user.id,
                login: None,
                version: auth.user.auth_version,
            },
            Pending::Bearer(claims) => Standing {
                settled: false,
                user_id: claims.user_id,
                login: claims.login,
                version: claims.version,
            },
        }
    }

    /// Ends the check with the verdict that the page's rows carry, and hands
    /// them over. Anything but a confirmation (a refusal, or no row to carry it)
    /// is checked again on its own, which also says why it fails; the page is then
    /// not shown.
    pub async fn confirm<T>(
        self,
        db: &Db,
        page: Paged<Vouched<T>>,
    ) -> Result<(Vec<T>, i64), ApiError> {
        let (rows, total) = page.unconfirmed();
        match (self.0, Vouched::verdict(&rows)) {
            (Pending::Known(_), _) | (Pending::Bearer(_), Some(true)) => {}
            (Pending::Bearer(claims), _) => {
                claims.fetch(db).await?;
            }
        }
        Ok((rows.into_iter().map(Vouched::into_row).collect(), total))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.extensions.get::<MaybeUser>().is_none() {
            if let Credentials::Bearer(token) = credentials(parts)? {
                return Ok(Self(Pending::Bearer(BearerClaims::decode(state, token)?)));
            }
        }
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, state).await?;
        Ok(Self(Pending::Known(auth)))
    }
}
