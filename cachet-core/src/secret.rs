//! Passwords (Argon2id), API tokens and other random secrets.
//!
//! High-entropy tokens are stored as a SHA-256 digest and looked up by it: a 190-bit
//! random token needs no slow hash, so no Argon2 runs per API request. Passwords use
//! Argon2id with at least the OWASP parameters, and hashing runs on a blocking thread.

use std::fmt;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The visible prefix of every API token, so a leaked one can be recognised by scanners.
pub const TOKEN_PREFIX: &str = "cct_";
/// Random alphanumeric characters after the prefix (32 x log2(62) = 190 bits).
const TOKEN_RANDOM_CHARS: usize = 32;
/// Characters of a token kept in clear to help people tell their tokens apart.
const TOKEN_DISPLAY_CHARS: usize = 8;

/// Argon2id memory cost in KiB (OWASP: at least 19 MiB).
pub const ARGON2_M_COST: u32 = 19 * 1024;
/// Argon2id iterations (OWASP: at least 2).
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id parallelism.
pub const ARGON2_P_COST: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The constants are within Argon2's documented bounds, so this cannot fail.
    let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An Argon2id PHC string. Its `Debug` never shows the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read back from storage.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Hashes `password` with fresh salt (slow: call from a blocking thread).
    pub fn hash(password: &str) -> Self {
        let salt_bytes: [u8; 16] = rand::random();
        // 16 bytes always encode to a valid salt.
        let salt = SaltString::encode_b64(&salt_bytes).expect("16-byte salt is valid");
        // Hashing only fails for out-of-range parameters or salt, which are constants here.
        let phc = argon2()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 with valid parameters does not fail")
            .to_string();
        Self(phc)
    }

    /// Checks `password` against this hash (slow: call from a blocking thread).
    pub fn verify(&self, password: &str) -> bool {
        match argon2::PasswordHash::new(&self.0) {
            Ok(parsed) => argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// True when the hash was made with other parameters than the current ones
    /// (so it should be re-hashed on the next successful sign-in).
    pub fn needs_rehash(&self) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(&self.0) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm.as_str() != "argon2id"
            || params.m_cost() != ARGON2_M_COST
            || params.t_cost() != ARGON2_T_COST
            || params.p_cost() != ARGON2_P_COST
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A SHA-256 digest of a secret (API token, verification code). Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Digests a secret.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// The digest as lowercase hex, for storage and lookups.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the hex form; `None` unless it is 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A newly made API token: the secret (shown once) and what is stored of it.
#[derive(Clone)]
pub struct NewToken {
    /// The whole token, to show to its owner exactly once.
    pub secret: String,
    /// Recognisable leading characters, stored in clear.
    pub prefix: String,
    /// Digest, stored and looked up.
    pub hash: TokenHash,
}

impl NewToken {
    /// Makes a token from the OS random source.
    pub fn generate() -> Self {
        let random = Alphanumeric.sample_string(&mut rand::rng(), TOKEN_RANDOM_CHARS);
        let secret = format!("{TOKEN_PREFIX}{random}");
        let prefix = secret[..TOKEN_PREFIX.len() + TOKEN_DISPLAY_CHARS].to_string();
        let hash = TokenHash::of(&secret);
        Self {
            secret,
            prefix,
            hash,
        }
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A random alphanumeric string of `len` characters from the OS random source.
pub fn random_code(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_parameters() {
        let h = PasswordHash::hash("correct horse battery staple");
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify("correct horse battery staple"));
        assert!(!h.verify("correct horse battery stapl"));
        assert!(!h.needs_rehash());
        assert!(PasswordHash::from_phc("garbage".into()).needs_rehash());
        assert!(!PasswordHash::from_phc("garbage".into()).verify("x"));
        assert_eq!(format!("{h:?}"), "PasswordHash(..)");
    }

    #[test]
    fn weaker_hash_needs_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = weak.hash_password(b"pw", &salt).unwrap().to_string();
        let h = PasswordHash::from_phc(phc);
        assert!(h.verify("pw"));
        assert!(h.needs_rehash());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = NewToken::generate();
        let b = NewToken::generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), TOKEN_PREFIX.len() + 32);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert!(a.secret.starts_with(&a.prefix));
        assert_eq!(a.hash, TokenHash::of(&a.secret));
        assert_ne!(a.hash, b.hash);
        assert_eq!(TokenHash::from_hex(&a.hash.to_hex()), Some(a.hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert!(!format!("{a:?}").contains(&a.secret));
    }
}
