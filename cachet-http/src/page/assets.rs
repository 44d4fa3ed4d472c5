//! Static assets compiled into the binary and served under content-hashed names, so they can
//! be cached forever (`immutable`) and a new build never serves a stale stylesheet.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha384};

/// `Cache-Control` of a hashed asset: its name changes whenever its bytes do.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Served file name, e.g. `app.3f2a9c1e5b7d0a11.css`.
    pub(crate) name: String,
    /// `Content-Type` it is served with.
    pub(crate) content_type: &'static str,
    /// The bytes.
    pub(crate) bytes: &'static [u8],
    /// Subresource Integrity value: `sha384-` and the base64 of the SHA-384 digest.
    pub(crate) integrity: String,
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let digest = Sha384::digest(bytes);
        let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Asset {
            name: format!("{stem}.{short}.{ext}"),
            content_type,
            bytes,
            integrity: format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ),
        }
    }

    /// The URL path of the asset under the mount prefix `base` (`""` at the root).
    pub(crate) fn href(&self, base: &str) -> String {
        format!("{base}/assets/{}", self.name)
    }
}

/// The stylesheet of every page.
pub(crate) static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    )
});

/// The dashboard's own rules, on top of [`STYLESHEET`].
pub(crate) static DASHBOARD_STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "dashboard",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/dashboard.css"),
    )
});

/// The favicon.
pub(crate) static ICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "favicon",
        "svg",
        "image/svg+xml",
        include_bytes!("../../assets/favicon.svg"),
    )
});

fn find(name: &str) -> Option<&'static Asset> {
    [&*STYLESHEET, &*DASHBOARD_STYLESHEET, &*ICON]
        .into_iter()
        .find(|a| a.name == name)
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    match find(&name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
            asset.bytes,
        )
            .into_response(),
        // An old hashed name after a deploy: short-lived, so the next build's page wins.
        None => (
            StatusCode::NOT_FOUND,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            "Not found",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash_and_integrity_the_digest() {
        let css = &*STYLESHEET;
        assert!(css.name.starts_with("app.") && css.name.ends_with(".css"));
        assert_eq!(css.name.len(), "app.".len() + 16 + ".css".len());
        let digest = Sha384::digest(css.bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&css.name[4..20], &hex[..16]);
        assert!(css.integrity.starts_with("sha384-"));
        assert_eq!(css.integrity.len(), "sha384-".len() + 64);
        assert_eq!(
            find(&css.name).map(|a| a.bytes.len()),
            Some(css.bytes.len())
        );
        assert!(find("app.css").is_none());
        assert_eq!(css.href("/status"), format!("/status/assets/{}", css.name));
    }

    /// The text from `start` to its matching closing brace.
    fn block<'a>(css: &'a str, start: &str) -> &'a str {
        let from = css.find(start).unwrap_or_else(|| panic!("no {start}"));
        let mut depth = 0;
        for (n, ch) in css[from..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &css[from..=from + n];
                    }
                }
                _ => {}
            }
        }
        panic!("{start} is not closed")
    }

    fn custom_properties(block: &str) -> Vec<&str> {
        let mut names: Vec<&str> = block
            .split(';')
            .filter_map(|decl| decl.find("--").map(|at| &decl[at..]))
            .filter_map(|decl| decl.split_once(':'))
            .map(|(name, _)| name.trim())
            .collect();
        names.sort_unstable();
        names
    }

    /// Dark mode follows the system setting: the dark block gives every color of the light
    /// palette a value, and no rule outside the palettes (and print) names a color itself,
    /// so nothing stays light in the dark.
    #[test]
    fn the_dark_palette_covers_the_light_one() {
        let css = std::str::from_utf8(STYLESHEET.bytes).unwrap();
        let light = block(css, ":root {");
        let dark = block(css, "@media (prefers-color-scheme: dark)");
        let light_names = custom_properties(light);
        assert!(light_names.len() > 20, "{light_names:?}");
        assert_eq!(custom_properties(dark), light_names);
        assert!(light.contains("color-scheme: light dark"));
        let print = block(css, "@media print");
        let rest = css.replace(light, "").replace(dark, "").replace(print, "");
        for line in rest.lines() {
            let code = line.split("/*").next().unwrap_or_default();
            assert!(
                !code.contains('#') && !code.contains("rgb") && !code.contains("hsl"),
                "a color outside the palettes: {line}"
            );
        }
    }
}
