//! Two-factor authentication: TOTP (RFC 6238) codes and single-use recovery codes.
//!
//! Codes are what every authenticator app makes: HMAC-SHA1, 6 digits, 30-second steps. A
//! code is accepted for the current step and one step either side (clock skew), and only for
//! a step later than the last one the user signed in with, so a code seen over someone's
//! shoulder or in a log cannot be used again. The store records that step atomically
//! ([`crate::Store::claim_totp_step`]), which also stops two sign-ins racing with one code.
//!
//! Recovery codes are 80-bit random strings: stored as SHA-256 digests (no slow hash is
//! needed at that entropy), each usable once.

use std::fmt;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::secret::TokenHash;

/// Characters of the issuer and the account kept in an `otpauth://` URI: 3 × 48 characters of
/// 12 bytes each leave the URI well inside a QR code's 2331 bytes at level M.
pub const LABEL_CHARS: usize = 48;

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Bytes of a secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrollment.
pub const RECOVERY_CODES: usize = 10;
/// Alphabet of recovery codes: lowercase letters and digits without the look-alikes
/// `0 o 1 l i` (31 symbols; 16 of them make 79 bits).
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const RECOVERY_LEN: usize = 16;

/// A TOTP shared secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not six digits.
    Malformed,
    /// No step in the window has this code.
    Wrong,
    /// The code belongs to a step already used.
    Replayed,
}

impl TotpSecret {
    /// A fresh secret from the OS random source.
    pub fn generate() -> TotpSecret {
        TotpSecret(rand::random::<[u8; SECRET_BYTES]>().to_vec())
    }

    /// A secret from raw bytes (at least 16).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<TotpSecret> {
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    /// A secret typed in base32 (as authenticator apps show it; case, spaces and padding
    /// ignored).
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = Secret::Encoded(clean).to_bytes().ok()?;
        TotpSecret::from_bytes(bytes)
    }

    /// The raw bytes (to seal for storage).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32 without padding, as authenticator apps take it when typed.
    pub fn base32(&self) -> String {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!("to_encoded always encodes"),
        }
    }

    fn totp(&self, digits: usize, algorithm: Algorithm) -> TOTP {
        // Secrets are at least 16 bytes and digits 6 or 8, so the checked constructor
        // would accept them; the unchecked one also lets tests use the RFC's 8 digits.
        TOTP::new_unchecked(algorithm, digits, 0, STEP_SECS, self.0.clone())
    }

    /// The code of `step`.
    pub fn code(&self, step: u64) -> String {
        self.totp(DIGITS, Algorithm::SHA1)
            .generate(step.saturating_mul(STEP_SECS))
    }

    /// The `otpauth://` URI an authenticator app reads from the QR code. The issuer and the
    /// account are labels: each is cut to [`LABEL_CHARS`] characters, so the URI always fits a
    /// QR code (a percent-encoded character takes up to 12 bytes).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let label = |text: &str| -> String {
            let cut: String = text.chars().take(LABEL_CHARS).collect();
            utf8_percent_encode(&cut, NON_ALPHANUMERIC).to_string()
        };
        let issuer_enc = label(issuer);
        let account_enc = label(account);
        format!(
            "otpauth://totp/{issuer_enc}:{account_enc}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.base32()
        )
    }

    /// The URI as a QR code in SVG (black on white, no script, no external reference).
    /// `None` only if it did not fit, which the label cut rules out; callers show the
    /// base32 key instead.
    pub fn qr_svg(&self, issuer: &str, account: &str) -> Option<String> {
        let uri = self.otpauth_uri(issuer, account);
        let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
        Some(
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build(),
        )
    }

    /// Checks `code` at `now_unix` against steps `now-1 ..= now+1`, refusing steps at or
    /// before `last_used`. Returns the matched step, which the caller must claim.
    ///
    /// # Errors
    /// [`Refusal`] saying why.
    pub fn verify(
        &self,
        code: &str,
        now_unix: u64,
        last_used: Option<u64>,
    ) -> Result<u64, Refusal> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Refusal::Malformed);
        }
        let now = now_unix / STEP_SECS;
        let mut matched = None;
        // Every step of the window is computed and compared, matched or not.
        for step in now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS) {
            let ok: bool = self.code(step).as_bytes().ct_eq(code.as_bytes()).into();
            if ok && matched.is_none() {
                matched = Some(step);
            }
        }
        let step = matched.ok_or(Refusal::Wrong)?;
        if last_used.is_some_and(|last| step <= last) {
            return Err(Refusal::Replayed);
        }
        Ok(step)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// Fresh recovery codes (shown once, as `xxxx-xxxx-xxxx-xxxx`) and their digests (stored).
pub fn recovery_codes() -> (Vec<String>, Vec<TokenHash>) {
    use rand::Rng;
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            raw.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    let hashes = codes.iter().filter_map(|c| recovery_code_hash(c)).collect();
    (codes, hashes)
}

/// The digest of a recovery code as typed (case, dashes and spaces ignored), or `None` when
/// it cannot be one.
pub fn recovery_code_hash(typed: &str) -> Option<TokenHash> {
    let normal: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (normal.len() == RECOVERY_LEN && normal.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then(|| TokenHash::of(&format!("recovery:{normal}")))
}

/// The current Unix time in seconds.
pub fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the seeds are the ASCII digits "1234567890" repeated to the
    /// hash's length; 8-digit codes.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed =
            |len: usize| TotpSecret(b"1234567890".iter().copied().cycle().take(len).collect());
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(t, sha1, sha256, sha512) in vectors {
            assert_eq!(
                seed(20).totp(8, Algorithm::SHA1).generate(t),
                sha1,
                "SHA1 t={t}"
            );
            assert_eq!(
                seed(32).totp(8, Algorithm::SHA256).generate(t),
                sha256,
                "SHA256 t={t}"
            );
            assert_eq!(
                seed(64).totp(8, Algorithm::SHA512).generate(t),
                sha512,
                "SHA512 t={t}"
            );
        }
        // Our 6-digit codes are the last six digits of the same truncation.
        assert_eq!(seed(20).code(1111111109 / STEP_SECS), "081804");
    }

    #[test]
    fn window_of_one_step_each_side_and_replay() {
        let s = TotpSecret::generate();
        let now = 1_700_000_015;
        let step = now / STEP_SECS;
        assert_eq!(s.verify(&s.code(step), now, None), Ok(step));
        assert_eq!(s.verify(&s.code(step - 1), now, None), Ok(step - 1));
        assert_eq!(s.verify(&s.code(step + 1), now, None), Ok(step + 1));
        let outside = s.code(step + 2);
        if outside != s.code(step) && outside != s.code(step - 1) && outside != s.code(step + 1) {
            assert_eq!(s.verify(&outside, now, None), Err(Refusal::Wrong));
        }
        assert_eq!(
            s.verify(&s.code(step), now, Some(step)),
            Err(Refusal::Replayed)
        );
        assert_eq!(
            s.verify(&s.code(step - 1), now, Some(step)),
            Err(Refusal::Replayed)
        );
        assert_eq!(s.verify(&s.code(step + 1), now, Some(step)), Ok(step + 1));
        let spaced = format!("{} {}", &s.code(step)[..3], &s.code(step)[3..]);
        assert_eq!(s.verify(&spaced, now, None), Ok(step));
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(s.verify(bad, now, None), Err(Refusal::Malformed), "{bad}");
        }
    }

    #[test]
    fn enrollment_uri_and_qr() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"),
            Some(s.clone())
        );
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert_eq!(
            s.otpauth_uri("Status Page", "ops@example.com"),
            "otpauth://totp/Status%20Page:ops%40example%2Ecom?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Status%20Page&algorithm=SHA1&digits=6&period=30"
        );
        let svg = s.qr_svg("Status Page", "ops@example.com").unwrap();
        assert!(svg.starts_with("<?xml"), "{}", &svg[..40]);
        assert!(svg.contains("<svg"));
        assert!(!svg.to_lowercase().contains("script"));
        assert!(
            !svg.contains("GEZDG"),
            "the SVG draws the secret, never spells it"
        );
        // The longest names there may be, in the widest characters, still draw a code; the
        // labels are cut on character boundaries.
        let wide = "😀".repeat(255);
        let uri = s.otpauth_uri(&wide, &wide);
        assert_eq!(uri.matches("%F0%9F%98%80").count(), 3 * LABEL_CHARS);
        assert!(s
            .qr_svg(&wide, &wide)
            .is_some_and(|svg| svg.contains("<svg")));
        assert_eq!(format!("{s:?}"), "TotpSecret(..)");
        assert!(TotpSecret::from_bytes(vec![0; 15]).is_none());
        assert_ne!(TotpSecret::generate(), TotpSecret::generate());
        assert_eq!(TotpSecret::generate().as_bytes().len(), SECRET_BYTES);
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let (codes, hashes) = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 19);
            assert_eq!(code.matches('-').count(), 3);
            assert_eq!(recovery_code_hash(code), Some(*hash));
            let loose = code.replace('-', " ").to_uppercase();
            assert_eq!(recovery_code_hash(&loose), Some(*hash));
        }
        assert_eq!(recovery_code_hash("short"), None);
        assert_eq!(recovery_code_hash("0000-0000-0000-0000"), None);
    }
}
