//! Markdown -> HTML -> sanitized HTML, the only way to make a [`SafeHtml`].
//!
//! The pipeline is pulldown-cmark (CommonMark plus tables, strikethrough and footnotes)
//! followed by one ammonia policy built once. Size and nesting depth are capped *before*
//! the sanitizer runs, because an HTML tree builder's cost grows with nesting depth.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{html, Options, Parser};

use crate::validate::MAX_MESSAGE_BYTES;

mod depth;

/// Deepest element nesting accepted in a message.
pub const MAX_NESTING: usize = 32;

/// HTML that came out of the sanitizer. Only this module constructs it from user input.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps HTML that a `Store` backend reads back: it was produced by [`render`] when it was
    /// written, and backends hand it back unchanged. Nothing else may call this.
    #[doc(hidden)]
    pub fn from_stored(html: String) -> SafeHtml {
        SafeHtml(html)
    }
}

impl fmt::Debug for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeHtml({:?})", self.0)
    }
}

/// Why a message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Longer than [`MAX_MESSAGE_BYTES`].
    #[error("may not be greater than {max} bytes")]
    TooLong {
        /// The cap.
        max: usize,
    },
    /// Nested deeper than [`MAX_NESTING`].
    #[error("is nested deeper than {max} levels")]
    TooDeep {
        /// The cap.
        max: usize,
    },
}

/// Elements our policy allows: ammonia's defaults minus those that carry no meaning in
/// an incident message.
const ALLOWED_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "wbr",
];

/// Relative URLs are kept only when they stay on this site: anything a browser would read
/// as protocol-relative (`//host`, `\\host`, `/\host`) is dropped. A browser's URL parser
/// first trims leading C0 controls and spaces and removes every tab and newline anywhere,
/// so `/<TAB>/host` is protocol-relative too: the check runs on the URL as the browser sees it.
fn same_site_relative(url: &str) -> Option<Cow<'_, str>> {
    let mut seen = url
        .trim_start_matches(|c: char| c == ' ' || c.is_ascii_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    let slash = |c: Option<char>| matches!(c, Some('/' | '\\'));
    if slash(seen.next()) && slash(seen.next()) {
        None
    } else {
        Some(Cow::Borrowed(url))
    }
}

/// Images come from this site only (relative URLs); a remote image would leak visitors'
/// addresses to a third party and could change after review.
fn image_filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if element == "img" && attribute == "src" {
        let lower = value.trim().to_ascii_lowercase();
        if lower.contains(':') && !lower.starts_with('/') {
            return None;
        }
    }
    Some(Cow::Borrowed(value))
}

static POLICY: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    b.tags(ALLOWED_TAGS.iter().copied().collect::<HashSet<_>>())
        .clean_content_tags(
            [
                "script",
                "style",
                "title",
                "textarea",
                "xmp",
                "noscript",
                "template",
                "plaintext",
            ]
            .into_iter()
            .collect(),
        )
        .generic_attributes(["title", "lang"].into_iter().collect())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(UrlRelative::Custom(Box::new(same_site_relative)))
        .attribute_filter(image_filter)
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true);
    b
});

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// Renders markdown to HTML without sanitizing it (used by tests and benches as the baseline).
pub fn markdown_to_html(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 3 / 2 + 16);
    html::push_html(&mut out, Parser::new_ext(source, options()));
    out
}

/// Renders and sanitizes a markdown message.
///
/// # Errors
/// [`RenderError::TooLong`] above [`MAX_MESSAGE_BYTES`]; [`RenderError::TooDeep`] when the
/// rendered HTML nests deeper than [`MAX_NESTING`]. Neither runs the sanitizer.
pub fn render(source: &str) -> Result<SafeHtml, RenderError> {
    if source.len() > MAX_MESSAGE_BYTES {
        return Err(RenderError::TooLong {
            max: MAX_MESSAGE_BYTES,
        });
    }
    let raw = markdown_to_html(source);
    if depth::nesting_depth(&raw, MAX_NESTING) > MAX_NESTING {
        return Err(RenderError::TooDeep { max: MAX_NESTING });
    }
    Ok(SafeHtml(POLICY.clean(&raw).to_string()))
}

/// Sanitizes HTML with the message policy (no markdown step). `sanitize(x)` of an output of
/// [`render`] returns it unchanged.
pub fn sanitize(html: &str) -> SafeHtml {
    SafeHtml(POLICY.clean(html).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        assert_eq!(
            render("The database is **down**.").unwrap().as_str(),
            "<p>The database is <strong>down</strong>.</p>\n"
        );
        let link = render("[x](https://example.com)").unwrap();
        assert_eq!(
            link.as_str(),
            "<p><a href=\"https://example.com\" rel=\"noopener noreferrer nofollow\">x</a></p>\n"
        );
    }

    #[test]
    fn strips_scripts_and_bad_urls() {
        let out = render("<script>alert(1)</script>hi\n\n[x](javascript:alert(1)) ![i](https://evil.example/a.png)").unwrap();
        assert!(!out.as_str().contains("<script"), "{}", out.as_str());
        assert!(
            !out.as_str().contains("href=\"javascript"),
            "{}",
            out.as_str()
        );
        assert!(!out.as_str().contains("evil.example"), "{}", out.as_str());
        assert!(out.as_str().contains("<img alt=\"i\">"), "{}", out.as_str());
        for sneaky in [
            "<img src=\"/&#9;/evil.example/x.png\">",
            "<img src=\"/&#10;/evil.example/x.png\">",
            "<img src=\"\\&#9;\\evil.example/w.png\">",
            "<a href=\"/&#9;/evil.example/\">x</a>",
            "<a href=\"&#1; &#13;/\\evil.example/\">x</a>",
        ] {
            let out = render(sneaky).unwrap();
            assert!(!out.as_str().contains("evil"), "{sneaky}: {}", out.as_str());
        }
        let rel = render("[x](//evil.example/p) [y](/incidents/1)").unwrap();
        assert!(!rel.as_str().contains("evil"), "{}", rel.as_str());
        assert!(rel.as_str().contains("href=\"/incidents/1\""));
    }

    #[test]
    fn caps_size_and_depth() {
        assert_eq!(
            render(&"a".repeat(MAX_MESSAGE_BYTES + 1)),
            Err(RenderError::TooLong {
                max: MAX_MESSAGE_BYTES
            })
        );
        assert!(render(&"a".repeat(MAX_MESSAGE_BYTES)).is_ok());
        assert_eq!(
            render(&"<div>".repeat(MAX_NESTING + 1)),
            Err(RenderError::TooDeep { max: MAX_NESTING })
        );
        assert_eq!(
            render(&">".repeat(MAX_NESTING + 1)),
            Err(RenderError::TooDeep { max: MAX_NESTING })
        );
        assert!(render(&"<div>".repeat(MAX_NESTING - 2)).is_ok());
        assert!(render(&"<br>".repeat(1000)).is_ok());
    }

    #[test]
    fn depth_cap_holds_for_what_the_parser_builds() {
        // Each of these nests thousands of levels deep in an HTML parser.
        for deep in [
            "<div/>".repeat(5_000),
            "<div></zz>".repeat(5_000),
            format!("<svg>{}", "<source>".repeat(5_000)),
            "<p><b>x</p>".repeat(5_000),
        ] {
            assert_eq!(
                render(&deep),
                Err(RenderError::TooDeep { max: MAX_NESTING }),
                "{}",
                &deep[..20]
            );
        }
    }
}
