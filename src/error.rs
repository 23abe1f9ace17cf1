//! The one error type of the HTTP API and its single mapping to responses, in the
//! DRF shapes of the contract, with the field errors its 400 carries.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

/// Field errors in the order they were found, serialised as DRF's `{field: [msg]}`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(name, _)| name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, m)| m.as_slice())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(n, m)| (n.as_str(), m.as_slice()))
    }

    /// `Ok(())` when empty, else the 400 that carries them.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (field, messages) in &self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `{"field": ["message"]}`.
    #[error("invalid input")]
    Validation(FieldErrors),
    /// 400 with a body the route's contract fixes (`{"error": ...}` and the like).
    #[error("bad request")]
    BadRequestBody(Value),
    /// 400 `text/plain`, for the seed-000 sign-up view.
    #[error("bad request: {0}")]
    BadRequestText(String),
    /// 400 `{"detail": "JSON parse error - ..."}` and other detail-shaped 400s.
    #[error("{0}")]
    BadRequest(String),
    #[error("not authenticated")]
    NotAuthenticated,
    /// 401 with an authenticator's own body (`token_not_valid`, `Invalid token.`, ...).
    #[error("authentication failed")]
    AuthFailed(Value),
    #[error("permission denied")]
    PermissionDenied,
    /// 403 `{"detail": "CSRF Failed: <reason>"}`.
    #[error("CSRF failed: {0}")]
    Csrf(String),
    /// 404 `{"detail": "No <Model> matches the given query."}`.
    #[error("no {0} matches the given query")]
    NotFound(&'static str),
    #[error("not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed(Method),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429; the number of seconds until the client may try again.
    #[error("throttled")]
    Throttled(u64),
    /// The database cannot be reached: 503, logged.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: 500, logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::Validation(errors)
    }

    pub fn non_field(message: impl Into<String>) -> Self {
        Self::field("non_field_errors", message)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_)
            | Self::BadRequestBody(_)
            | Self::BadRequestText(_)
            | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotAuthenticated | Self::AuthFailed(_) => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied | Self::Csrf(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            // the server went away under a pooled connection: an outage, not a bug
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager => Self::Unavailable(err.into()),
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_storage_failure(info.message()) =>
            {
                Self::Unavailable(err.into())
            }
            _ => Self::Internal(err.into()),
        }
    }
}

/// SQLite's texts for a store that cannot take the write now (a full disk, an I/O
/// error, a file made read-only, a lock held past the busy timeout): Diesel gives
/// them no kind of their own. A 503 that the client may retry, not a bug.
fn is_storage_failure(message: &str) -> bool {
    const TEXTS: [&str; 5] = [
        "database or disk is full",
        "disk I/O error",
        "attempt to write a readonly database",
        "database is locked",
        "unable to open database file",
    ];
    TEXTS.iter().any(|t| message.starts_with(t))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match self {
            Self::Throttled(wait) => Some(wait),
            _ => None,
        };
        let body = match self {
            Self::Validation(errors) => serde_json::to_value(errors).unwrap_or_default(),
            Self::BadRequestBody(body) | Self::AuthFailed(body) => body,
            Self::BadRequestText(text) => {
                return (
                    status,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    text,
                )
                    .into_response()
            }
            Self::BadRequest(detail) => json!({ "detail": detail }),
            Self::NotAuthenticated => json!({ "detail": NOT_AUTHENTICATED }),
            Self::PermissionDenied => json!({ "detail": PERMISSION_DENIED }),
            Self::Csrf(reason) => json!({ "detail": format!("CSRF Failed: {reason}") }),
            Self::NotFound(model) => {
                json!({ "detail": format!("No {model} matches the given query.") })
            }
            Self::RouteNotFound => json!({ "detail": "Not found." }),
            Self::MethodNotAllowed(method) => {
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            }
            Self::UnsupportedMediaType(kind) => {
                json!({ "detail": format!("Unsupported media type \"{kind}\" in request.") })
            }
            Self::PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            Self::Throttled(wait) => json!({
                "detail": format!("Request was throttled. Expected available in {wait} second{}.", if wait == 1 { "" } else { "s" })
            }),
            Self::Unavailable(err) => {
                let id = crate::observe::request_id();
                tracing::error!(id, error = ?err, "database unavailable");
                json!({ "detail": "Service temporarily unavailable, try again later." })
            }
            Self::Internal(err) => {
                let id = crate::observe::request_id();
                tracing::error!(id, error = ?err, "internal error");
                json!({ "detail": "A server error occurred." })
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        if let Some(wait) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}
