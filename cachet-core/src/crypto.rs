//! Encryption of personal data and secrets at rest, and keyed digests to look them up.
//!
//! One 32-byte [`DataKey`], from configuration, is the root. Two subkeys are derived from it
//! with HMAC-SHA256 under fixed labels: one for XChaCha20-Poly1305 (subscriber email
//! addresses, TOTP secrets), one for the HMAC digests that stand in for a sealed value
//! wherever the store must find or compare it (the unique subscriber email). A database dump
//! without the key shows neither the addresses nor the secrets, and the digests cannot be
//! reversed by guessing addresses without the key either.
//!
//! Every sealed value is bound to what it is (`aad`, e.g. `subscriber.email`), so a ciphertext
//! copied from one column to another does not open.

use std::fmt;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Version tag at the start of every sealed value, so the format can change later.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The key length in bytes.
pub const KEY_LEN: usize = 32;

/// The root key for data at rest. Its `Debug` never shows it.
#[derive(Clone)]
pub struct DataKey {
    seal: [u8; KEY_LEN],
    lookup: [u8; KEY_LEN],
    sign: [u8; KEY_LEN],
}

/// A data key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data key must be {KEY_LEN} bytes, written as 64 hex digits or in base64 ({0})")]
pub struct BadKey(&'static str);

/// A sealed value that does not open: the wrong key, or it was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value could not be opened (wrong data key, or the value was altered)")]
pub struct OpenError;

fn derive(root: &[u8; KEY_LEN], label: &str) -> [u8; KEY_LEN] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl DataKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(root: [u8; KEY_LEN]) -> DataKey {
        DataKey {
            seal: derive(&root, "cachet-rs data key v1: seal"),
            lookup: derive(&root, "cachet-rs data key v1: lookup"),
            sign: derive(&root, "cachet-rs data key v1: sign"),
        }
    }

    /// A fresh key from the OS random source, with its text form (64 hex digits) to keep.
    pub fn generate() -> (DataKey, String) {
        let root: [u8; KEY_LEN] = rand::random();
        (DataKey::from_bytes(root), hex::encode(root))
    }

    /// Parses a key written as 64 hex digits or as base64 of 32 bytes (surrounding
    /// whitespace ignored).
    ///
    /// # Errors
    /// [`BadKey`] naming what is wrong.
    pub fn parse(text: &str) -> Result<DataKey, BadKey> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BadKey("it is empty"));
        }
        let mut root = [0u8; KEY_LEN];
        if text.len() == 2 * KEY_LEN && hex::decode_to_slice(text, &mut root).is_ok() {
            return Ok(DataKey::from_bytes(root));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| B64.decode(text))
            .map_err(|_| BadKey("it is neither hex nor base64"))?;
        let root: [u8; KEY_LEN] = decoded
            .try_into()
            .map_err(|_| BadKey("it does not decode to 32 bytes"))?;
        Ok(DataKey::from_bytes(root))
    }

    /// Encrypts `plaintext`, bound to `aad` (what the value is). Each call uses a fresh
    /// random nonce, so sealing the same value twice gives different text.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new((&self.seal).into());
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer does not fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    /// Decrypts a value made by [`DataKey::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`OpenError`] for another key, another `aad`, or altered text.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let raw = B64.decode(body).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        XChaCha20Poly1305::new((&self.seal).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }

    /// A keyed digest of `value` (as lowercase hex) under `purpose`, for lookups and
    /// uniqueness: equal inputs give equal digests, and nobody without the key can compute one.
    pub fn lookup(&self, purpose: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl DataKey {
    fn signature(&self, purpose: &str, message: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.sign).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message.as_bytes());
        mac
    }

    /// A signature (HMAC-SHA256 under a subkey of its own, base64url) of `message` for
    /// `purpose`, e.g. for a link that must not be forged.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.signature(purpose, message).finalize().into_bytes())
    }

    /// Whether `signature` is [`DataKey::sign`] of `message` for `purpose` (compared in
    /// constant time).
    pub fn verify_signature(&self, purpose: &str, message: &str, signature: &str) -> bool {
        let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.signature(purpose, message).verify_slice(&raw).is_ok()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_purpose_and_key() {
        let (key, text) = DataKey::generate();
        let again = DataKey::parse(&text).unwrap();
        let sealed = key.seal("subscriber.email", b"ops@example.com");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("example"));
        assert_eq!(
            again.open("subscriber.email", &sealed).unwrap(),
            b"ops@example.com"
        );
        // Fresh nonce each time.
        assert_ne!(sealed, key.seal("subscriber.email", b"ops@example.com"));
        // Another purpose, another key, or a changed byte: refused.
        assert_eq!(key.open("user.totp_secret", &sealed), Err(OpenError));
        let (other, _) = DataKey::generate();
        assert_eq!(other.open("subscriber.email", &sealed), Err(OpenError));
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(key.open("subscriber.email", &tampered), Err(OpenError));
        assert_eq!(key.open("subscriber.email", "v1."), Err(OpenError));
        assert_eq!(key.open("subscriber.email", "plain"), Err(OpenError));
    }

    #[test]
    fn lookups_are_keyed_and_deterministic() {
        let a = DataKey::from_bytes([7; 32]);
        let b = DataKey::from_bytes([8; 32]);
        let x = a.lookup("subscriber.email", "ops@example.com");
        assert_eq!(x.len(), 64);
        assert_eq!(x, a.lookup("subscriber.email", "ops@example.com"));
        assert_ne!(x, a.lookup("subscriber.email", "ops@example.org"));
        assert_ne!(x, a.lookup("other", "ops@example.com"));
        assert_ne!(x, b.lookup("subscriber.email", "ops@example.com"));
    }

    #[test]
    fn key_text_forms() {
        let hex_key = "00".repeat(32);
        assert!(DataKey::parse(&hex_key).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let k1 = DataKey::parse(&format!(" {b64}\n")).unwrap();
        let k2 = DataKey::from_bytes([1; 32]);
        assert_eq!(k1.lookup("p", "v"), k2.lookup("p", "v"));
        assert_eq!(
            DataKey::parse("").unwrap_err().to_string(),
            "the data key must be 32 bytes, written as 64 hex digits or in base64 (it is empty)"
        );
        assert!(DataKey::parse("abcd").is_err());
        assert!(DataKey::parse(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{k1:?}"), "DataKey(..)");
    }
}
