//! Password hashing (argon2id; Django's `pbkdf2_sha256` accepted and upgraded) and
//! Django's four default password validators with their messages.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tokio::sync::Semaphore;

use crate::auth::crypto::constant_time_eq;
use crate::error::ApiError;

/// Hashes on the blocking pool, at most one per core at a time, so a burst of
/// logins neither stalls the async threads nor takes 19 MiB per waiting request.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<OnceLock<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Right, but stored in an older scheme or cost: store a new hash.
    YesRehash,
}

impl Verified {
    pub fn ok(self) -> bool {
        self != Self::No
    }
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32) -> Self {
        let params = Params::new(memory_kib, iterations, 1, None).unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// An argon2id PHC string.
    pub fn hash_now(&self, password: &str) -> Result<String, ApiError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing failed: {e}")))
    }

    pub fn verify_now(&self, password: &str, encoded: &str) -> Verified {
        if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
            return if verify_django_pbkdf2(password, rest) {
                Verified::YesRehash
            } else {
                Verified::No
            };
        }
        let Ok(parsed) = PasswordHash::new(encoded) else {
            return Verified::No;
        };
        if self
            .argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Verified::No;
        }
        let current = Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() >= self.params.m_cost() && p.t_cost() >= self.params.t_cost()
        });
        if parsed.algorithm.as_str() == "argon2id" && current {
            Verified::Yes
        } else {
            Verified::YesRehash
        }
    }

    /// Same work as a real check against a user that does not exist, so an unknown
    /// username cannot be told from a wrong password by timing.
    pub fn verify_dummy_now(&self, password: &str) {
        let dummy = self
            .dummy
            .get_or_init(|| self.hash_now("hearth-dummy-password").unwrap_or_default());
        let _ = self.verify_now(password, dummy);
    }

    async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(Self) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        let this = self.clone();
        let span = tracing::Span::current();
        // a thread of its own, not tokio's blocking pool: that pool is sized to the
        // database connections, and a thread per hash costs microseconds beside the
        // milliseconds of the hash
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("hearth-hash".into())
            .spawn(move || {
                let _entered = span.enter();
                let _ = done.send(work(this));
            })
            .map_err(|e| ApiError::Internal(e.into()))?;
        result
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing task failed: {e}")))
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.blocking(move |h| h.hash_now(&password)).await?
    }

    /// Checks `password` against `encoded`, or against the dummy hash when `None`.
    pub async fn verify(
        &self,
        password: String,
        encoded: Option<String>,
    ) -> Result<Verified, ApiError> {
        self.blocking(move |h| match encoded {
            Some(encoded) => h.verify_now(&password, &encoded),
            None => {
                h.verify_dummy_now(&password);
                Verified::No
            }
        })
        .await
    }
}

/// `iterations$salt$base64(hash)` from Django's PBKDF2PasswordHasher.
fn verify_django_pbkdf2(password: &str, rest: &str) -> bool {
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

/// The user attributes Django's similarity validator compares against.
#[derive(Debug, Default, Clone, Copy)]
pub struct Attributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

impl<'a> Attributes<'a> {
    pub fn username(username: &'a str) -> Self {
        Self {
            username,
            ..Self::default()
        }
    }
}

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Django's default validators, in Django's order, with Django's messages.
pub fn validate(password: &str, user: Attributes<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    for (value, name) in [
        (user.username, "username"),
        (user.first_name, "first name"),
        (user.last_name, "last name"),
        (user.email, "email address"),
    ] {
        if !value.is_empty() && too_similar(password, value) {
            errors.push(format!("The password is too similar to the {name}."));
            break;
        }
    }
    if password.chars().count() < 8 {
        errors
            .push("This password is too short. It must contain at least 8 characters.".to_owned());
    }
    if COMMON.contains(password.to_lowercase().trim()) {
        errors.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
        errors.push("This password is entirely numeric.".to_owned());
    }
    errors
}

/// UserAttributeSimilarityValidator with max_similarity 0.7: the value and each of
/// its `\W+`-separated parts, compared by difflib's `quick_ratio`.
fn too_similar(password: &str, value: &str) -> bool {
    let password = password.to_lowercase();
    let value = value.to_lowercase();
    let mut parts: Vec<&str> = value
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    parts.push(&value);
    let pwd_len = password.chars().count();
    parts.into_iter().any(|part| {
        let part_len = part.chars().count();
        #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
        let bound = 0.7 / 2.0 * pwd_len as f64;
        #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
        let exceeds = pwd_len >= 10 * part_len && (part_len as f64) < bound;
        !exceeds && quick_ratio(&password, part) >= 0.7
    })
}

fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in b.chars() {
        *counts.entry(c).or_insert(0i32) += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(n) = counts.get_mut(&c) {
            if *n > 0 {
                *n -= 1;
                matches += 1;
            }
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
    let ratio = 2.0 * matches as f64 / total as f64;
    ratio
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_messages_in_django_order() {
        assert_eq!(
            validate("123", Attributes::username("someone")),
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric."
            ]
        );
        assert_eq!(
            validate("alice_1234ab", Attributes::username("alice_1234ab")),
            ["The password is too similar to the username."]
        );
        assert!(validate("Tr0ub4dor&3-1a2b", Attributes::username("alice")).is_empty());
    }

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
    fn argon2id_round_trip() {
        let hasher = Hasher::new(1024, 1);
        let hash = hasher.hash_now("pw-one-two").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(hasher.verify_now("pw-one-two", &hash), Verified::Yes);
        assert_eq!(hasher.verify_now("pw-one-tw0", &hash), Verified::No);
        assert_eq!(
            Hasher::new(2048, 2).verify_now("pw-one-two", &hash),
            Verified::YesRehash
        );
    }
}
