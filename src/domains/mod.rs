//! The resource domains of the four tutorials, one module each, and the few rules
//! they share.
//!
//! Every domain has one shape:
//! - `router()` declares each route with its `OpenAPI` description at once
//!   (`utoipa_axum::routes!`), then the path's fallback for other methods;
//! - handlers take DRF's names: `list`, `create`, `retrieve`, `update` (PUT and
//!   PATCH, told apart by [`Partial`]), `destroy`; other routes say what they do;
//! - `payload.rs` has one incoming type per resource, generic over [`Writes`], whose
//!   `parse` is the only validation, and the outgoing `...Out` types.
//!
//! There is no common CRUD trait on purpose: the tutorials disagree on the order
//! of their checks (404, 401, 403, 400), and each handler keeps its own order.

pub mod blog;
pub mod messages;
pub mod music;
pub mod tasks;

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::Method;
use utoipa_axum::router::UtoipaMethodRouter;

use crate::auth::{CurrentUser, Staff, User};
use crate::error::ApiError;
use crate::extract::Id;
use crate::fields::REQUIRED;
use crate::state::AppState;

/// The row, or DRF's `No <Model> matches the given query.` 404.
pub fn found<T>(row: Option<T>, model: &'static str) -> Result<T, ApiError> {
    row.ok_or(ApiError::NotFound(model))
}

/// Writes to an object visible to others: by its owner or by staff, else 403.
pub fn owner_or_staff(user: &User, owner_id: i64) -> Result<(), ApiError> {
    if user.is_staff || user.id == owner_id {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// DRF's `partial`: true for PATCH, false for PUT, so that one `update` handler
/// serves both methods.
#[derive(Debug, Clone, Copy)]
pub struct Partial(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Partial {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(parts.method == Method::PATCH))
    }
}

/// What a request body writes: a new row ([`New`]: POST and the admin's forms) or
/// changes to one ([`Changes`]: PUT and PATCH). A payload type is generic over it,
/// so one parser serves both, and a create gets its required fields as values,
/// never as options to unwrap.
pub trait Writes {
    /// A required field: `T` in a new row, `Option<T>` in changes (absent from a
    /// PATCH: left as it is).
    type Required<T>;

    /// A required field once `Input::finish` has passed. A field missing from a
    /// non-partial input was reported there, so this is an error only when a new
    /// row is parsed from a partial input.
    fn required<T>(value: Option<T>, field: &str) -> Result<Self::Required<T>, ApiError>;

    /// The field as a change: every field of a new row is one.
    fn changed<T>(value: Self::Required<T>) -> Option<T>;
}

/// Every required field present, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum New {}

/// The fields sent, as options. Parsed from a non-partial input (PUT), every
/// required field is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {}

impl Writes for New {
    type Required<T> = T;

    fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
        value.ok_or_else(|| ApiError::field(field, REQUIRED))
    }

    fn changed<T>(value: T) -> Option<T> {
        Some(value)
    }
}

impl Writes for Changes {
    type Required<T> = Option<T>;

    fn required<T>(value: Option<T>, _: &str) -> Result<Option<T>, ApiError> {
        Ok(value)
    }

    fn changed<T>(value: Option<T>) -> Option<T> {
        value
    }
}

/// The routes of one path (`routes!(...)`), with `fallback` for the methods the
/// path does not serve; axum still adds the `Allow` header to its 405.
pub fn with_fallback<H, T>(
    routes: UtoipaMethodRouter<AppState>,
    fallback: H,
) -> UtoipaMethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let (schemas, paths, methods) = routes;
    (schemas, paths, methods.fallback(fallback))
}

// The fallbacks for other methods. DRF checks the view's permission before the
// method, so only a caller who may write there learns of the 405.

/// For a path whose writes need a login: 401 anonymous, else 405.
pub async fn not_allowed_unless_authenticated(_user: CurrentUser, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// For a path whose writes are for staff: 401 anonymous, 403 non-staff, else 405.
pub async fn not_allowed_unless_staff(_user: Staff, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// For one object whose writes need a login, where a non-numeric id matches no
/// route (Django's `<int:id>`): 404, then 401, then 405.
pub async fn not_allowed_on_id_unless_authenticated(
    _id: Id,
    _user: CurrentUser,
    method: Method,
) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// The usernames a batch's rows carry, by user id: an insert returns the ids it
/// stored, and each row is answered with the name its request already knew.
pub(crate) struct Names<'a>(std::collections::HashMap<i64, &'a str>);

impl<'a> Names<'a> {
    pub(crate) fn of<R>(rows: &'a [R], name: impl Fn(&'a R) -> (i64, &'a str)) -> Self {
        Self(rows.iter().map(name).collect())
    }

    pub(crate) fn of_user(&self, id: i64) -> String {
        self.0.get(&id).copied().unwrap_or_default().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_row_needs_its_required_fields_and_changes_do_not() {
        assert_eq!(New::required(Some(1), "a").ok(), Some(1));
        assert!(matches!(
            New::required::<i64>(None, "a"),
            Err(ApiError::Validation(_))
        ));
        assert_eq!(Changes::required::<i64>(None, "a").ok(), Some(None));
        assert_eq!(New::changed(1), Some(1));
    }
}
