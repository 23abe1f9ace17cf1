//! Password hashing (argon2id; the hashes of Django's hashers that a crate can check
//! accepted and upgraded) and Django's four default password validators with their
//! messages.

mod django;
mod validate;

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

pub use self::django::{algorithm, scheme, Scheme};
pub use self::validate::{validate, Attributes};
use crate::error::ApiError;

/// Hashes on threads of their own, at most one per core at a time, so a burst of
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
        debug_assert!(!crate::db::inside_run(), "a password hashed inside Db::run");
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing failed: {e}")))
    }

    pub fn verify_now(&self, password: &str, encoded: &str) -> Verified {
        debug_assert!(
            !crate::db::inside_run(),
            "a password checked inside Db::run"
        );
        if let Some(ok) = django::verify(password, encoded) {
            return if ok {
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

#[cfg(test)]
mod tests {
    use super::*;

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
