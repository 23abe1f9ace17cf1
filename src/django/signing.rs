//! Django's `django.core.signing` as its database sessions use it, so a session
//! that Django wrote can be read and its signature checked with `SECRET_KEY`.

use std::io::Read as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::crypto::constant_time_eq;

/// `SessionBase.key_salt` of `django.contrib.sessions.backends.db.SessionStore`.
const SESSION_SALT: &str = "django.contrib.sessions.SessionStore";
/// The salt of `AbstractBaseUser.get_session_auth_hash`.
const AUTH_HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// `django.utils.crypto.salted_hmac` with SHA-256.
fn salted_hmac(key_salt: &str, value: &[u8], secret: &str) -> [u8; 32] {
    let key = Sha256::new()
        .chain_update(key_salt.as_bytes())
        .chain_update(secret.as_bytes())
        .finalize();
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("hmac key");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

/// Why a session's data could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsigned {
    /// Not in the signed format at all (a very old Django, or garbage).
    Malformed,
    /// The signature is not `SECRET_KEY`'s.
    BadSignature,
}

/// `signing.loads(data, salt=SessionStore.key_salt)`: the session dictionary.
pub fn session_data(data: &str, secret: &str) -> Result<Map<String, Value>, Unsigned> {
    let (value, signature) = data.rsplit_once(':').ok_or(Unsigned::Malformed)?;
    let expected = salted_hmac(&format!("{SESSION_SALT}signer"), value.as_bytes(), secret);
    let expected = URL_SAFE_NO_PAD.encode(expected);
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(Unsigned::BadSignature);
    }
    // TimestampSigner: `payload:timestamp`; sessions are loaded without a max age
    let (payload, _timestamp) = value.rsplit_once(':').ok_or(Unsigned::Malformed)?;
    let (compressed, payload) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let mut bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| Unsigned::Malformed)?;
    if compressed {
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .take(1 << 20)
            .read_to_end(&mut plain)
            .map_err(|_| Unsigned::Malformed)?;
        bytes = plain;
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Unsigned::Malformed),
    }
}

/// `get_session_auth_hash()` of a user with this password hash: a session whose
/// `_auth_user_hash` differs was made before the password changed, and Django ends it.
pub fn session_auth_hash(password_hash: &str, secret: &str) -> String {
    hex::encode(salted_hmac(
        AUTH_HASH_SALT,
        password_hash.as_bytes(),
        secret,
    ))
}

/// `signing.dumps(data, salt=SessionStore.key_salt, compress=True)`: what Django
/// writes, for tests that build a Django database by hand.
pub fn sign_session(data: &Value, secret: &str, timestamp: i64) -> String {
    let json = serde_json::to_vec(data).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let value = format!("{payload}:{}", base62(timestamp));
    let signature = salted_hmac(&format!("{SESSION_SALT}signer"), value.as_bytes(), secret);
    format!("{value}:{}", URL_SAFE_NO_PAD.encode(signature))
}

fn base62(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if n <= 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[usize::try_from(n % 62).unwrap_or(0)]);
        n /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_django_wrote() {
        // Django 5.2, SECRET_KEY "django-test-key": SessionStore().encode({...}),
        // long enough to be compressed
        let written = ".eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOo2oBAADU2tKClKBBpVMUyAUi0AIfWTHw:1xY8uL:cY3lg4oERS1l_USAcT8uoa_d7qUXYAo4CL_WdxYz-h8";
        let map = session_data(written, "django-test-key").unwrap();
        assert_eq!(map["_auth_user_id"], "1");
        assert_eq!(map["extra"].as_str().unwrap().len(), 200);
        assert_eq!(
            session_data(written, "another-key"),
            Err(Unsigned::BadSignature)
        );
        // salted_hmac(...get_session_auth_hash, "pbkdf2_sha256$1000$salt$abc", secret=...)
        assert_eq!(
            session_auth_hash("pbkdf2_sha256$1000$salt$abc", "django-test-key"),
            "4a3d24580f2f5e5c9cd939384e15aa5c6201b4eefa66d22ba7d0b18e5361da9d"
        );
    }

    #[test]
    fn signs_and_reads_back() {
        let data = serde_json::json!({"_auth_user_id": "7", "_auth_user_hash": "ab"});
        let signed = sign_session(&data, "k1", 1_764_500_000);
        let map = session_data(&signed, "k1").unwrap();
        assert_eq!(map["_auth_user_id"], "7");
        assert_eq!(session_data(&signed, "k2"), Err(Unsigned::BadSignature));
        assert_eq!(session_data("nothing", "k1"), Err(Unsigned::Malformed));
    }

    #[test]
    fn a_tampered_payload_fails() {
        let data = serde_json::json!({"_auth_user_id": "7"});
        let signed = sign_session(&data, "k1", 1);
        let forged = signed.replacen('e', "f", 1);
        assert!(session_data(&forged, "k1").is_err());
    }
}
