//! Input validation helpers and checked value types. Every limit lives here.

use std::fmt;

use crate::error::ValidationErrors;

/// Longest name (components, groups, incidents, metrics, schedules, templates, users).
pub const MAX_NAME: usize = 255;
/// Longest description or link.
pub const MAX_TEXT: usize = 10_000;
/// Longest markdown message (incidents, updates, schedules), in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest incident template source, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 32 * 1024;
/// Largest JSON `meta` (serialised), in bytes.
pub const MAX_META_BYTES: usize = 16 * 1024;
/// Longest incident meta value (JSON-encoded), as in Cachet.
pub const MAX_META_VALUE: usize = 255;
/// Most tags on one component.
pub const MAX_TAGS: usize = 50;
/// Most components listed in one subscription or schedule.
pub const MAX_COMPONENT_REFS: usize = 1000;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;
/// Largest absolute value of an ordering integer or id.
pub const MAX_INT: i64 = 2_147_483_647;
/// Largest absolute metric value (decimal(15,3) in Cachet).
pub const MAX_METRIC_VALUE: f64 = 1e12;
/// Shortest password.
pub const MIN_PASSWORD: usize = 12;
/// Longest password (Argon2 input is bounded to keep hashing cheap).
pub const MAX_PASSWORD: usize = 1024;

/// Least strength score (zxcvbn, 0 to 4) of a password: 3 means "safely unguessable" for an
/// attacker who can try 10^8 to 10^10 guesses offline.
pub const MIN_PASSWORD_SCORE: u8 = 3;
/// Characters of a password the strength estimator looks at: its matching grows faster than
/// linearly with length, and anything this long that passed its first 100 characters is not
/// weak because of the rest.
const PASSWORD_SCORED_CHARS: usize = 100;

/// Words of this product that make a password guessable on a status page.
const PRODUCT_WORDS: [&str; 6] = [
    "cachet",
    "status",
    "statuspage",
    "outage",
    "incident",
    "uptime",
];

/// The password policy: at least [`MIN_PASSWORD`] and at most [`MAX_PASSWORD`] characters,
/// not built from the user's own name or email address (`personal`), and strong enough for
/// the strength estimator (which knows the most common passwords, names, words, keyboard
/// walks, dates and l33t spellings, and is also given `personal`).
pub fn password(errors: &mut ValidationErrors, field: &str, password: &str, personal: &[&str]) {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        errors.add(
            field,
            format!(
                "The {} must be at least {MIN_PASSWORD} characters.",
                human(field)
            ),
        );
        return;
    }
    if chars > MAX_PASSWORD {
        errors.add(
            field,
            format!(
                "The {} may not be greater than {MAX_PASSWORD} characters.",
                human(field)
            ),
        );
        return;
    }
    // Compared in compatibility form: fullwidth or accented look-alikes of the name count.
    let fold = |s: &str| -> String {
        use unicode_normalization::UnicodeNormalization;
        s.trim().nfkc().collect::<String>().to_lowercase()
    };
    let lower = fold(password);
    let mut inputs: Vec<String> = Vec::new();
    for p in personal {
        let p = fold(p);
        if let Some((local, _)) = p.split_once('@') {
            inputs.push(local.to_string());
        }
        inputs.push(p);
    }
    inputs.retain(|p| p.chars().count() >= 3);
    if inputs.iter().any(|p| lower.contains(p.as_str())) {
        errors.add(
            field,
            format!(
                "The {} may not contain the username or email address.",
                human(field)
            ),
        );
        return;
    }
    let scored: String = password.chars().take(PASSWORD_SCORED_CHARS).collect();
    // The estimator also knows this product's own words, which people reach for here.
    let mut refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    refs.extend(PRODUCT_WORDS);
    let estimate = zxcvbn::zxcvbn(&scored, &refs);
    if u8::from(estimate.score()) < MIN_PASSWORD_SCORE {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        errors.add(
            field,
            format!(
                "The {} is too easy to guess{hint}; use a longer passphrase of uncommon words.",
                human(field)
            ),
        );
    }
}

/// A metric number (a point's value, a metric's default): finite and within
/// ±[`MAX_METRIC_VALUE`]; `None` after naming the problem.
pub fn metric_value(errors: &mut ValidationErrors, field: &str, v: f64) -> Option<f64> {
    if !v.is_finite() {
        errors.add(
            field,
            format!("The {} must be a finite number.", human(field)),
        );
        None
    } else if v.abs() > MAX_METRIC_VALUE {
        errors.add(
            field,
            format!(
                "The {} must be between -{MAX_METRIC_VALUE} and {MAX_METRIC_VALUE}.",
                human(field)
            ),
        );
        None
    } else {
        Some(v)
    }
}

/// Checks a required or optional text: not blank when required, at most `max` characters,
/// no control characters other than newline and tab.
pub fn text(errors: &mut ValidationErrors, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        errors.add(field, format!("The {} field is required.", human(field)));
        return;
    }
    if value.chars().count() > max {
        errors.add(
            field,
            format!(
                "The {} may not be greater than {max} characters.",
                human(field)
            ),
        );
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.add(
            field,
            format!("The {} may not contain control characters.", human(field)),
        );
    }
}

/// Checks a single-line name.
pub fn name(errors: &mut ValidationErrors, field: &str, value: &str) {
    text(errors, field, value, MAX_NAME, true);
    if value.contains('\n') || value.contains('\r') {
        errors.add(
            field,
            format!("The {} must be a single line.", human(field)),
        );
    }
}

/// Checks an integer range.
pub fn int_range(errors: &mut ValidationErrors, field: &str, value: i64, min: i64, max: i64) {
    if value < min || value > max {
        errors.add(
            field,
            format!("The {} must be between {min} and {max}.", human(field)),
        );
    }
}

/// Checks a link: empty, or an absolute http(s) URL with a host, written as a URL is written
/// (no spaces, quotes, angle brackets or other characters a URL parser would have to escape)
/// and without credentials (`https://status.example.com@evil.example` is a classic disguise).
pub fn link(errors: &mut ValidationErrors, field: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    text(errors, field, value, MAX_TEXT, false);
    let written_as_url = value.chars().all(|c| {
        c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '`' | '{' | '}' | '|' | '\\' | '^')
    });
    // The parser drops an empty `user@`, so credentials are looked for in the text too.
    let authority = value.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    let parsed = url::Url::parse(value).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    if !written_as_url || authority.contains('@') || parsed.is_none() {
        errors.add(field, format!("The {} format is invalid.", human(field)));
    }
}

/// Checks a JSON meta value: an object (or array), at most [`MAX_META_BYTES`] serialised.
pub fn meta(errors: &mut ValidationErrors, field: &str, value: &serde_json::Value) {
    if !(value.is_object() || value.is_array()) {
        errors.add(field, format!("The {} must be an array.", human(field)));
    } else if value.to_string().len() > MAX_META_BYTES {
        errors.add(
            field,
            format!(
                "The {} may not be greater than {MAX_META_BYTES} bytes.",
                human(field)
            ),
        );
    }
}

/// "group_id" -> "group id", as Laravel words its messages.
pub fn human(field: &str) -> String {
    field.replace('_', " ")
}

/// A slug: lowercase ASCII letters and digits separated by single `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            // Anything else, non-ASCII letters included, separates words.
            dash = true;
        }
    }
    out
}

/// A syntactically checked, normalised (trimmed, domain lowercased) email address.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// The form two spellings of one mailbox share: the whole address in lower case.
    /// Local parts are case-insensitive at nearly every provider, so `Ada@x.org` and
    /// `ada@x.org` are one subscriber and one recipient for the send limits.
    pub fn mailbox_key(&self) -> String {
        mailbox_key(self.as_str())
    }

    /// Parses an address: one `@`, a non-empty local part without spaces, and a domain of
    /// dot-separated labels of letters, digits and hyphens with at least one dot.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required");
        }
        if s.len() > MAX_EMAIL {
            return Err("is too long");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("must be a valid email address");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"@<>()[]\\,;:\"".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err("must be a valid email address");
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// Wraps an address read back from storage (already checked when it was written).
    pub fn from_stored(s: String) -> Email {
        Email(s)
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`Email::mailbox_key`] of an address as text (e.g. a mail's recipient).
pub fn mailbox_key(address: &str) -> String {
    address.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn password_errors(pw: &str, personal: &[&str]) -> Vec<String> {
        let mut e = ValidationErrors::new();
        password(&mut e, "password", pw, personal);
        e.errors().iter().map(|f| f.message.clone()).collect()
    }

    #[test]
    fn password_policy() {
        let me = ["margaret", "maggie.h@example.com"];
        // Strong passphrases pass.
        for ok in [
            "correct horse battery staple",
            "plinth-oxbow-quietus-8",
            "Tr0mb0ne!Vortex#Gravel",
        ] {
            assert_eq!(password_errors(ok, &me), Vec::<String>::new(), "{ok}");
        }
        assert_eq!(
            password_errors("short", &me),
            ["The password must be at least 12 characters."]
        );
        assert_eq!(
            password_errors(&"x".repeat(MAX_PASSWORD + 1), &me),
            ["The password may not be greater than 1024 characters."]
        );
        // Common passwords and patterns, long enough to pass the length rule.
        for weak in [
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "iloveyou1234",
            "aaaaaaaaaaaa",
            "P@ssw0rd2024!",
            "statuspage2024",
        ] {
            let got = password_errors(weak, &me);
            assert_eq!(got.len(), 1, "{weak}: {got:?}");
            assert!(
                got[0].starts_with("The password is too easy to guess"),
                "{weak}: {got:?}"
            );
        }
        // Built from the user's own name or email (any case).
        for own in [
            "Margaret-Rules-99!",
            "maggie.h@example.com!",
            "xMAGGIE.Hx-2024-zz",
        ] {
            assert_eq!(
                password_errors(own, &me),
                ["The password may not contain the username or email address."],
                "{own}"
            );
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            "", "a", "a@b", "@b.c", "a@.c", "a@b..c", "a b@c.d", "a@-b.c", "<a>@b.c", "a@b.c\nx",
            "a@b.c d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Foo"), "foo");
        assert_eq!(slugify("  Hello,  World!! "), "hello-world");
        assert_eq!(slugify("API v2.0"), "api-v2-0");
        assert_eq!(slugify("Ünïcode"), "n-code");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn collects_every_problem() {
        let mut e = ValidationErrors::new();
        name(&mut e, "name", "");
        int_range(&mut e, "status", 9, 0, 4);
        link(&mut e, "link", "javascript:alert(1)");
        assert_eq!(e.errors().len(), 3);
        assert!(e.has("name") && e.has("status") && e.has("link"));
        assert_eq!(e.errors()[1].message, "The status must be between 0 and 4.");
    }

    #[test]
    fn links_are_plain_http_urls() {
        for good in [
            "https://status.example.com",
            "http://example.com:8080/a/b?c=d&e=%20f#g",
            "https://[::1]/x",
        ] {
            let mut e = ValidationErrors::new();
            link(&mut e, "link", good);
            assert!(e.is_empty(), "{good}: {:?}", e.errors());
        }
        for bad in [
            "javascript:alert(1)",
            "https://a\"onmouseover=\"alert(1)",
            "http://a<b>",
            "https://@evil.example",
            "https://status.example.com@evil.example/",
            "https://user:pw@example.com",
            "https://exa mple.com",
            "https://example.com/\u{7f}",
            "https://ex\u{e4}mple.com",
            "ftp://example.com",
            "https://",
            "//example.com",
            "mailto:a@example.com",
        ] {
            let mut e = ValidationErrors::new();
            link(&mut e, "link", bad);
            assert!(e.has("link"), "{bad} accepted");
        }
    }

    proptest! {
        #[test]
        fn slugs_are_always_clean(s in ".{0,64}") {
            let slug = slugify(&s);
            prop_assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert_eq!(slugify(&slug), slug.clone());
        }

        #[test]
        fn parsed_emails_reparse_to_themselves(s in "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,10}\\.[a-z]{2,6}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e.clone());
                prop_assert!(e.as_str().len() <= MAX_EMAIL);
            }
        }

        #[test]
        fn text_never_panics_and_counts_chars(s in "\\PC{0,300}") {
            let mut e = ValidationErrors::new();
            text(&mut e, "x", &s, 255, true);
            if s.chars().count() <= 255 && !s.trim().is_empty() {
                prop_assert!(e.is_empty());
            }
        }
    }
}
