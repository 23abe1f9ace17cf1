//! Keys derived from `SECRET_KEY`, random secrets, and keyed hashes, so that no
//! secret is stored in a usable form.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub struct Keys {
    pub jwt_encoding: EncodingKey,
    pub jwt_decoding: DecodingKey,
    lookup: [u8; 32],
    seal: Aes256Gcm,
    cursor: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("hmac key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl Keys {
    /// JWTs are signed with the raw key, as simplejwt does, so tokens cross between
    /// Hearth and Django; the other keys are derived per purpose.
    pub fn derive(secret: &SecretString) -> Self {
        let raw = secret.expose_secret().as_bytes();
        let lookup = hmac(raw, b"hearth.lookup-hash.v1");
        let seal_key = hmac(raw, b"hearth.api-token-seal.v1");
        Self {
            jwt_encoding: EncodingKey::from_secret(raw),
            jwt_decoding: DecodingKey::from_secret(raw),
            lookup,
            seal: Aes256Gcm::new(&seal_key.into()),
            cursor: hmac(raw, b"hearth.cursor.v1"),
        }
    }

    /// A keyed hash for finding a row by a secret without storing the secret.
    pub fn lookup_hash(&self, secret: &str) -> String {
        hex::encode(hmac(&self.lookup, secret.as_bytes()))
    }

    /// Encrypts a secret that must be shown again (the DRF token key).
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        #[expect(
            clippy::expect_used,
            reason = "AES-GCM encryption of a short text cannot fail"
        )]
        let sealed = self
            .seal
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("seal");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// A list cursor: the last id a page showed, and a tag over it and the list's
    /// path, so that a cursor cannot be forged or carried to another list.
    pub fn cursor(&self, list: &str, after: i64) -> String {
        let mut raw = after.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.cursor_tag(list, after));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The id a cursor of this list carries; `None` for anything else.
    pub fn open_cursor(&self, list: &str, cursor: &str) -> Option<i64> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let (id, tag) = raw.split_at_checked(8)?;
        let after = i64::from_be_bytes(id.try_into().ok()?);
        (after >= 0 && constant_time_eq(tag, &self.cursor_tag(list, after))).then_some(after)
    }

    fn cursor_tag(&self, list: &str, after: i64) -> [u8; 12] {
        let mut data = list.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(&after.to_be_bytes());
        let mut tag = [0u8; 12];
        tag.copy_from_slice(&hmac(&self.cursor, &data)[..12]);
        tag
    }

    /// `None` when the text was not sealed with this key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, data) = raw.split_at(12);
        let plain = self.seal.decrypt(Nonce::from_slice(nonce), data).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Letters and digits from the OS generator.
pub fn random_string(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let keys = Keys::derive(&SecretString::from("one"));
        let other = Keys::derive(&SecretString::from("two"));
        let sealed = keys.seal("abc");
        assert_eq!(keys.open(&sealed).as_deref(), Some("abc"));
        assert_eq!(other.open(&sealed), None);
        assert_ne!(keys.lookup_hash("abc"), other.lookup_hash("abc"));
    }

    #[test]
    fn cursors_open_only_for_their_list_and_key() {
        let keys = Keys::derive(&SecretString::from("one"));
        let other = Keys::derive(&SecretString::from("two"));
        let cursor = keys.cursor("/api/messages", 42);
        assert_eq!(keys.open_cursor("/api/messages", &cursor), Some(42));
        assert_eq!(keys.open_cursor("/api/tasks/", &cursor), None);
        assert_eq!(other.open_cursor("/api/messages", &cursor), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        raw[7] ^= 1;
        assert_eq!(
            keys.open_cursor("/api/messages", &URL_SAFE_NO_PAD.encode(raw)),
            None
        );
        for junk in ["", "x", "%%%", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            assert_eq!(keys.open_cursor("/api/messages", junk), None, "{junk}");
        }
    }
}
