//! JSON Web Tokens exactly as simplejwt makes them (HS256 with `SECRET_KEY`,
//! `token_type`, `exp`, `iat`, `jti`, `user_id` as a string), so tokens cross
//! between Hearth and the Django reference. Hearth adds `ver` (the user's token
//! version) and `login` (the login a token belongs to); simplejwt ignores both.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::Keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Access,
    Refresh,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// simplejwt's `TokenError` texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Token is invalid")]
    Invalid,
    #[error("Token is expired")]
    Expired,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token is blacklisted")]
    Blacklisted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// simplejwt writes a string; older versions wrote a number.
    pub user_id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<i64>,
}

impl Claims {
    pub fn user_id(&self) -> Option<i64> {
        match &self.user_id {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    // simplejwt's default leeway is 0
    v.leeway = 0;
    v.set_required_spec_claims(&["exp"]);
    v.validate_aud = false;
    v
}

/// A new token of `kind` for `user_id`, with a fresh `jti`.
pub fn mint(
    keys: &Keys,
    kind: Kind,
    user_id: i64,
    lifetime: Duration,
    ver: i64,
    login: Option<i64>,
) -> (String, Claims) {
    let iat = chrono::Utc::now().timestamp();
    let claims = Claims {
        token_type: kind.as_str().to_owned(),
        exp: iat + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        iat,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        user_id: Value::String(user_id.to_string()),
        ver: (ver != 0).then_some(ver),
        login,
    };
    #[expect(
        clippy::expect_used,
        reason = "HS256 signing of plain claims cannot fail"
    )]
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.jwt_encoding)
        .expect("sign jwt");
    (token, claims)
}

/// Signature and expiry only (simplejwt's `UntypedToken`).
pub fn decode_any(keys: &Keys, token: &str) -> Result<Claims, TokenError> {
    let claims = jsonwebtoken::decode::<Claims>(token, &keys.jwt_decoding, &validation())
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
    if claims.jti.is_empty() || claims.user_id().is_none() {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

/// A token of the given kind.
pub fn decode(keys: &Keys, token: &str, kind: Kind) -> Result<Claims, TokenError> {
    let claims = decode_any(keys, token)?;
    if claims.token_type != kind.as_str() {
        return Err(TokenError::WrongType);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn round_trip_and_wrong_type() {
        let keys = Keys::derive(&SecretString::from("k"));
        let (token, claims) = mint(&keys, Kind::Access, 7, Duration::from_secs(60), 0, Some(3));
        assert_eq!(claims.user_id, Value::String("7".into()));
        let back = decode(&keys, &token, Kind::Access).unwrap();
        assert_eq!(back.user_id(), Some(7));
        assert_eq!(back.login, Some(3));
        assert_eq!(
            decode(&keys, &token, Kind::Refresh).unwrap_err(),
            TokenError::WrongType
        );
        let other = Keys::derive(&SecretString::from("other"));
        assert_eq!(
            decode(&other, &token, Kind::Access).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            decode(&keys, "garbage", Kind::Access).unwrap_err(),
            TokenError::Invalid
        );
    }
}
