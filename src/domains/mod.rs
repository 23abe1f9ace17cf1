//! The resource domains of the four tutorials, one module each, and the few rules
//! they share.

pub mod blog;
pub mod messages;
pub mod music;
pub mod tasks;

use crate::auth::User;
use crate::error::ApiError;

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

/// A method the path does not serve, for a path whose writes need a login. DRF
/// checks the view's permission before the method, so an anonymous caller gets 401
/// and only a caller who may write there learns of the 405. Use as the path's
/// `MethodRouter::fallback`; axum still adds the `Allow` header.
pub async fn not_allowed_unless_authenticated(
    _user: crate::auth::CurrentUser,
    method: axum::http::Method,
) -> ApiError {
    ApiError::MethodNotAllowed(method)
}

/// The same for a path whose writes are for staff (401 anonymous, 403 non-staff).
pub async fn not_allowed_unless_staff(
    _user: crate::auth::Staff,
    method: axum::http::Method,
) -> ApiError {
    ApiError::MethodNotAllowed(method)
}
