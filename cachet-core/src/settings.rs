//! Typed settings, stored through the `Store` as key/value strings (never written to env or
//! config files).

use chrono_tz::Tz;

use crate::error::ValidationErrors;

/// The settings of one status page.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Shown in the page title.
    pub app_name: String,
    /// Absolute base URL used in permalinks and pagination links (empty: from the request).
    pub app_url: String,
    /// Display zone; local input times are read in it.
    pub app_timezone: Tz,
    /// Percentage of major-outage components at which the whole system is in major outage.
    pub major_outage_rate: u8,
    /// When on, every `/api/v1` data route requires a token.
    pub always_authenticate: bool,
    /// New subscribers created through the API are verified at once when on.
    pub skip_subscriber_verification: bool,
    /// No incident or component notifications while maintenance is in progress.
    pub suppress_notifications_in_maintenance: bool,
    /// Days of incident history shown on the status page.
    pub app_incident_days: u16,
    /// Origins (`https://host[:port]`) whose pages may read the public API from a browser
    /// (CORS). Empty: the origin of `app_url`, if set.
    pub allowed_domains: Vec<String>,
    /// Admins must sign in with two factors: an Admin without 2FA may only enroll.
    pub require_admin_2fa: bool,
    /// Origins (`https://host[:port]`) incident messages may show images from, besides this
    /// site. Empty: only this site's own images.
    pub image_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            app_name: "Status".into(),
            app_url: String::new(),
            app_timezone: Tz::UTC,
            major_outage_rate: 50,
            always_authenticate: false,
            skip_subscriber_verification: false,
            suppress_notifications_in_maintenance: true,
            app_incident_days: 7,
            allowed_domains: Vec::new(),
            require_admin_2fa: true,
            image_origins: Vec::new(),
        }
    }
}

/// The keys of every setting, as stored.
pub const KEYS: &[&str] = &[
    "app_name",
    "app_url",
    "app_timezone",
    "major_outage_rate",
    "always_authenticate",
    "skip_subscriber_verification",
    "suppress_notifications_in_maintenance",
    "app_incident_days",
    "allowed_domains",
    "require_admin_2fa",
    "image_origins",
];

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" | "" => Some(false),
        _ => None,
    }
}

impl Settings {
    /// Builds settings from stored pairs; unknown keys are ignored, missing ones default.
    /// A stored value that no longer parses falls back to its default (stores hold only
    /// values that [`Settings::apply`] accepted, so this only happens after manual edits).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            let _ = s.apply(k, v);
        }
        s
    }

    /// Sets one setting from its string form.
    ///
    /// # Errors
    /// A validation error naming the key when the key is unknown or the value invalid.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<(), ValidationErrors> {
        let bad = |msg: &str| Err(ValidationErrors::single(key, format!("The {key} {msg}.")));
        match key {
            "app_name" => {
                let mut e = ValidationErrors::new();
                crate::validate::name(&mut e, key, value);
                if !e.is_empty() {
                    return Err(e);
                }
                self.app_name = value.trim().to_string();
            }
            "app_url" => {
                let mut e = ValidationErrors::new();
                crate::validate::link(&mut e, key, value.trim());
                if !e.is_empty() {
                    return Err(e);
                }
                self.app_url = value.trim().trim_end_matches('/').to_string();
            }
            "app_timezone" => match crate::time::parse_zone(value) {
                Some(tz) => self.app_timezone = tz,
                None => return bad("must be a valid time zone name"),
            },
            "major_outage_rate" => match value.trim().parse::<u8>() {
                Ok(n) if n <= 100 => self.major_outage_rate = n,
                _ => return bad("must be between 0 and 100"),
            },
            "app_incident_days" => match value.trim().parse::<u16>() {
                Ok(n) if (1..=366).contains(&n) => self.app_incident_days = n,
                _ => return bad("must be between 1 and 366"),
            },
            "allowed_domains" | "image_origins" => {
                let mut e = ValidationErrors::new();
                let mut origins = Vec::new();
                for entry in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    crate::validate::link(&mut e, key, entry);
                    if let Some(origin) = origin_of(entry) {
                        origins.push(origin);
                    }
                }
                if !e.is_empty() {
                    return Err(e);
                }
                if key == "allowed_domains" {
                    self.allowed_domains = origins;
                } else {
                    self.image_origins = origins;
                }
            }
            "always_authenticate"
            | "skip_subscriber_verification"
            | "suppress_notifications_in_maintenance"
            | "require_admin_2fa" => {
                let Some(b) = parse_bool(value) else {
                    return bad("must be true or false");
                };
                match key {
                    "always_authenticate" => self.always_authenticate = b,
                    "skip_subscriber_verification" => self.skip_subscriber_verification = b,
                    "require_admin_2fa" => self.require_admin_2fa = b,
                    _ => self.suppress_notifications_in_maintenance = b,
                }
            }
            _ => {
                return Err(ValidationErrors::single(
                    key,
                    format!("{key} is not a known setting."),
                ))
            }
        }
        Ok(())
    }

    /// Every setting as stored key/value strings.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("app_name", self.app_name.clone()),
            ("app_url", self.app_url.clone()),
            ("app_timezone", self.app_timezone.name().to_string()),
            ("major_outage_rate", self.major_outage_rate.to_string()),
            ("always_authenticate", self.always_authenticate.to_string()),
            (
                "skip_subscriber_verification",
                self.skip_subscriber_verification.to_string(),
            ),
            (
                "suppress_notifications_in_maintenance",
                self.suppress_notifications_in_maintenance.to_string(),
            ),
            ("app_incident_days", self.app_incident_days.to_string()),
            ("allowed_domains", self.allowed_domains.join(",")),
            ("require_admin_2fa", self.require_admin_2fa.to_string()),
            ("image_origins", self.image_origins.join(",")),
        ]
    }

    /// Whether a browser page from `origin` (an `Origin` header) may read the public API:
    /// it is one of [`Settings::allowed_domains`], or, when that is empty, the origin of
    /// [`Settings::app_url`].
    pub fn allows_origin(&self, origin: &str) -> bool {
        let same = |o: &str| o.eq_ignore_ascii_case(origin.trim_end_matches('/'));
        if self.allowed_domains.is_empty() {
            origin_of(&self.app_url).is_some_and(|o| same(&o))
        } else {
            self.allowed_domains.iter().any(|o| same(o))
        }
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL, as a browser writes it in `Origin`
/// (default ports left out).
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    match u.origin() {
        url::Origin::Tuple(..) => Some(u.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_come_from_the_list_or_the_app_url() {
        let mut s = Settings::default();
        assert!(!s.allows_origin("https://status.example.com"));
        s.apply("app_url", "https://status.example.com/page")
            .unwrap();
        assert!(s.allows_origin("https://status.example.com"));
        assert!(!s.allows_origin("https://evil.example"));
        s.apply(
            "allowed_domains",
            "https://a.example, http://b.example:8080/ignored/path",
        )
        .unwrap();
        assert_eq!(
            s.allowed_domains,
            ["https://a.example", "http://b.example:8080"]
        );
        assert!(s.allows_origin("https://a.example"));
        assert!(s.allows_origin("http://b.example:8080"));
        assert!(!s.allows_origin("https://status.example.com"));
        assert!(!s.allows_origin("https://a.example.evil"));
        assert!(!s.allows_origin("null"));
        assert!(s
            .apply("allowed_domains", "https://ok.example, javascript:x")
            .is_err());
        let back = Settings::from_pairs(s.to_pairs().iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, s);
    }

    #[test]
    fn round_trip_and_rejects() {
        let mut s = Settings::default();
        s.apply("app_timezone", "Europe/Paris").unwrap();
        s.apply("major_outage_rate", "25").unwrap();
        s.apply("always_authenticate", "true").unwrap();
        let pairs = s.to_pairs();
        let back = Settings::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, s);
        assert!(s
            .apply("major_outage_rate", "101")
            .unwrap_err()
            .has("major_outage_rate"));
        assert!(s.apply("app_timezone", "Mars/Base").is_err());
        assert!(s.apply("app_url", "javascript:x").is_err());
        assert!(s.apply("nope", "1").unwrap_err().has("nope"));
        assert_eq!(KEYS.len(), s.to_pairs().len());
    }
}
