//! What the `Authorization` header offers, read as DRF and simplejwt read it.

use axum::http::header;
use axum::http::request::Parts;
use serde_json::json;

use crate::error::ApiError;

/// What the `Authorization` header offers, in DRF's order; anything else falls
/// through to the session cookie.
pub(super) enum Credentials<'a> {
    Bearer(&'a str),
    Token(&'a str),
    Other,
}

pub(super) fn credentials(parts: &Parts) -> Result<Credentials<'_>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(Credentials::Other);
    };
    let [first, second, third] = words(value.to_str().unwrap_or_default());
    let mut words = [second, third].into_iter().flatten();
    match first {
        // simplejwt's AUTH_HEADER_TYPES match as written; DRF's keyword in any case
        Some("Bearer") => match (words.next(), words.next()) {
            (Some(token), None) => Ok(Credentials::Bearer(token)),
            _ => Err(ApiError::AuthFailed(json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }))),
        },
        Some(keyword) if keyword.eq_ignore_ascii_case("token") => {
            match (words.next(), words.next()) {
                (None, _) => Err(detail("Invalid token header. No credentials provided.")),
                (Some(_), Some(_)) => Err(detail(
                    "Invalid token header. Token string should not contain spaces.",
                )),
                (Some(key), None) => Ok(Credentials::Token(key)),
            }
        }
        _ => Ok(Credentials::Other),
    }
}

/// The header's first three words as Python's `bytes.split()` makes them, which
/// both DRF and simplejwt split it with: on blanks and tabs (a header value holds
/// no other whitespace). Found with `str::find` of each, which uses memchr:
/// `split([' ', '\t'])` walked a JWT a character at a time, 4 k instructions a
/// request (callgrind, a 100-message list: 657 k).
fn words(text: &str) -> [Option<&str>; 3] {
    let mut found = [None; 3];
    let mut rest = text;
    for word in &mut found {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let end = match (rest.find(' '), rest.find('\t')) {
            (Some(blank), Some(tab)) => blank.min(tab),
            (blank, tab) => blank.or(tab).unwrap_or(rest.len()),
        };
        *word = Some(&rest[..end]);
        rest = &rest[end..];
    }
    found
}

/// A 401 with DRF's `{"detail": ...}`.
pub(super) fn detail(text: &str) -> ApiError {
    ApiError::AuthFailed(json!({ "detail": text }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_header_splits_as_python_splits_it() {
        assert_eq!(
            super::words("Bearer abc"),
            [Some("Bearer"), Some("abc"), None]
        );
        assert_eq!(
            super::words(" \tToken\t a  b c"),
            [Some("Token"), Some("a"), Some("b")]
        );
        assert_eq!(super::words("Token "), [Some("Token"), None, None]);
        assert_eq!(super::words(""), [None, None, None]);
    }
}
