//! The hashes of Django's hashers: which of them Hearth can check, and checking them.

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use argon2::Argon2;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::crypto::constant_time_eq;

/// How a stored password hash can be checked, for an import to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Checked on login (Hearth's argon2id, or a Django hasher re-hashed then).
    Verifiable,
    /// Django's `set_unusable_password()`: no password logs in.
    Unusable,
    /// A hasher Hearth cannot check (md5, sha1, crypt, ...): the user must reset it.
    Unknown,
}

/// The Django hashers Hearth checks, by the algorithm name before the first `$`.
const DJANGO_SCHEMES: [&str; 5] = [
    "pbkdf2_sha256",
    "argon2",
    "bcrypt_sha256",
    "bcrypt",
    "scrypt",
];

pub fn scheme(encoded: &str) -> Scheme {
    if encoded.is_empty() || encoded.starts_with('!') {
        return Scheme::Unusable;
    }
    if encoded.starts_with("$argon2") && PasswordHash::new(encoded).is_ok() {
        return Scheme::Verifiable;
    }
    match encoded.split_once('$') {
        Some((algorithm, _)) if DJANGO_SCHEMES.contains(&algorithm) => Scheme::Verifiable,
        _ => Scheme::Unknown,
    }
}

/// The algorithm name of a hash, as Django's `identify_hasher` reads it.
pub fn algorithm(encoded: &str) -> &str {
    encoded.split('$').next().unwrap_or_default()
}

/// A hash in the format of one of Django's hashers: `Some(matches)`; `None` for
/// anything else.
pub(super) fn verify(password: &str, encoded: &str) -> Option<bool> {
    let (algorithm, rest) = encoded.split_once('$')?;
    Some(match algorithm {
        "pbkdf2_sha256" => verify_pbkdf2(password, rest),
        // Argon2PasswordHasher: `argon2` + the PHC string (`$argon2id$v=19$m=...`)
        "argon2" => PasswordHash::new(&encoded["argon2".len()..]).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }),
        // BCryptSHA256PasswordHasher: bcrypt of the SHA-256 hex digest
        "bcrypt_sha256" => {
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(password));
            bcrypt::verify(digest, rest).unwrap_or(false)
        }
        "bcrypt" => bcrypt::verify(password, rest).unwrap_or(false),
        "scrypt" => verify_scrypt(password, rest),
        _ => return None,
    })
}

/// `n$salt$r$p$base64(hash)` from Django's ScryptPasswordHasher (64-byte key).
fn verify_scrypt(password: &str, rest: &str) -> bool {
    let parts: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, expected] = parts[..] else {
        return false;
    };
    let (Ok(n), Ok(r), Ok(p)) = (n.parse::<u64>(), r.parse::<u32>(), p.parse::<u32>()) else {
        return false;
    };
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    if !n.is_power_of_two() || n < 2 || expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
    let Ok(params) = scrypt::Params::new(log_n, r, p, expected.len()) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out).is_ok()
        && constant_time_eq(&out, &expected)
}

/// `iterations$salt$base64(hash)` from Django's PBKDF2PasswordHasher.
fn verify_pbkdf2(password: &str, rest: &str) -> bool {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    if expected.len() != 32 || iterations == 0 {
        return false;
    }
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    constant_time_eq(&out, &expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Hasher, Verified};

    #[test]
    fn verifies_django_pbkdf2_hashes() {
        // Django 5.2: make_password("secret-pass", salt="abcdefghijklmnop", hasher="pbkdf2_sha256") at 1000 iterations
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"secret-pass", b"salt1234", 1000, &mut out);
        let encoded = format!("pbkdf2_sha256$1000$salt1234${}", STANDARD.encode(out));
        let hasher = Hasher::new(1024, 1);
        assert_eq!(
            hasher.verify_now("secret-pass", &encoded),
            Verified::YesRehash
        );
        assert_eq!(hasher.verify_now("wrong", &encoded), Verified::No);
    }

    #[test]
    fn verifies_the_other_django_hashers() {
        // made by Django 5.2's hashers (cheap settings) from "secret-pass"
        let hashes = [
            "argon2$argon2id$v=19$m=1024,t=1,p=1$RVJrbnVxZ3VnZnltNVMxdWhGdlpGTQ$qS/o32ku8NohjOPpyT2MPYHVyZAiLggluLYHA7YARjk",
            "bcrypt_sha256$$2b$04$8arYJOF4dC7NeVtw/Y4eW.w5FiviWhg/vjZjMGgH.Yo7vW.Co1/QW",
            "bcrypt$$2b$04$4NKgOwV0hWIrtOGObOhkOumOlMwihAw1Tujcg6QP/yWgEZ2.za4IS",
            "scrypt$1024$Z2bORdnjIVAllo1sSHXwz8$8$5$X65hEHrUHJXys3wA6mz0P65FNMuySz33E57kdqkhyG9GpQYBxnJLsKBxB17LPKR4mJLKFos+J53OJ5444IBuCA==",
        ];
        let hasher = Hasher::new(1024, 1);
        for hash in hashes {
            assert_eq!(scheme(hash), Scheme::Verifiable, "{hash}");
            assert_eq!(
                hasher.verify_now("secret-pass", hash),
                Verified::YesRehash,
                "{hash}"
            );
            assert_eq!(
                hasher.verify_now("secret-pasS", hash),
                Verified::No,
                "{hash}"
            );
        }
        let md5 = "md5$Vavn8mc4ftD9VRwP3mfHLa$8bbd01ad6790cf6b6aa2b2824f1c959f";
        assert_eq!(scheme(md5), Scheme::Unknown);
        assert_eq!(hasher.verify_now("secret-pass", md5), Verified::No);
        assert_eq!(scheme("!unusableXYZ"), Scheme::Unusable);
        assert_eq!(
            scheme(&hasher.hash_now("x-y-z-w").unwrap()),
            Scheme::Verifiable
        );
    }
}
