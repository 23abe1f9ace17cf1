//! Diesel's errors, told apart the same way on either backend.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::ApiError;

/// Tells a unique-constraint or foreign-key violation apart, on either backend.
pub trait DieselErrorExt {
    fn is_unique_violation(&self) -> bool;
    fn is_foreign_key_violation(&self) -> bool;
}

impl DieselErrorExt for DieselError {
    fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
        )
    }

    fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
        )
    }
}

/// `DieselError::NotFound` as `None`, any other error kept.
pub trait OptionalExt<T> {
    fn found(self) -> Result<Option<T>, ApiError>;
}

impl<T> OptionalExt<T> for Result<T, DieselError> {
    fn found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DieselError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
