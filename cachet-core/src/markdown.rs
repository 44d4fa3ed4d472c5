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

/// Most HTML a message may render to before sanitizing. Markdown expands text several times
/// at most (`#` on a line of its own is `<h1></h1>`), but a table whose header declares many
/// columns makes every short row grow to that width, so a small message could otherwise
/// produce megabytes of cells.
pub const MAX_HTML_BYTES: usize = 8 * MAX_MESSAGE_BYTES;

/// Most table cells a message may declare (see [`table_cells_bound`]).
pub const MAX_TABLE_CELLS: usize = 1 << 16;

/// Most attributes on one tag (the tree builder compares each new attribute with the
/// ones already on the element).
pub const MAX_ATTRIBUTES: usize = 64;

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
    /// Renders to more than [`MAX_HTML_BYTES`] of HTML, or declares more than
    /// [`MAX_TABLE_CELLS`] table cells.
    #[error("renders to more than {max} bytes of HTML")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// HTML the sanitizer could only process slowly: a tag with more than
    /// [`MAX_ATTRIBUTES`] attributes, content that a table would move out of its cells, or
    /// table tags that close or open cells out of order.
    #[error("has HTML the status page does not accept ({reason})")]
    Unsupported {
        /// What was found.
        reason: &'static str,
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

/// Relative URLs are kept only when they stay on this site: anything a browser could read
/// as protocol-relative (`//host`, `\\host`, `/\host`) is dropped. A browser's URL parser
/// trims leading C0 controls and spaces and removes every tab and newline anywhere, so
/// `/<TAB>/host` is protocol-relative too; the check goes further and leaves out every C0
/// control and space anywhere (`\<U+0004>\host`, which a fuzzer found), so that no parser
/// that is laxer than the standard can see two slashes where this one saw a path.
fn same_site_relative(url: &str) -> Option<Cow<'_, str>> {
    let mut seen = url.chars().filter(|c| *c > ' ');
    let slash = |c: Option<char>| matches!(c, Some('/' | '\\'));
    if slash(seen.next()) && slash(seen.next()) {
        None
    } else {
        Some(Cow::Borrowed(url))
    }
}

thread_local! {
    /// Origins images may come from besides this site, for the render running on this
    /// thread (set by [`render_with`] around the sanitizer call, which is synchronous).
    static IMAGE_ORIGINS: std::cell::RefCell<Vec<String>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Images come from this site (relative URLs) or from an origin the settings allow
/// (`image_origins`); any other remote image would leak visitors' addresses to a third party
/// and could change after review.
fn image_filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if element == "img" && attribute == "src" {
        let lower = value.trim().to_ascii_lowercase();
        if lower.contains(':') && !lower.starts_with('/') {
            let allowed = url::Url::parse(value.trim()).ok().is_some_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.username().is_empty()
                    && u.password().is_none()
                    && IMAGE_ORIGINS.with(|o| {
                        let origin = u.origin().ascii_serialization();
                        o.borrow().iter().any(|a| a.eq_ignore_ascii_case(&origin))
                    })
            });
            if !allowed {
                return None;
            }
        }
    }
    Some(Cow::Borrowed(value))
}

/// Runs `f` with `origins` as this thread's image allowlist, restoring it afterwards.
fn with_image_origins<T>(origins: &[String], f: impl FnOnce() -> T) -> T {
    struct Restore(Vec<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = std::mem::take(&mut self.0);
            IMAGE_ORIGINS.with(|o| *o.borrow_mut() = previous);
        }
    }
    let previous =
        IMAGE_ORIGINS.with(|o| std::mem::replace(&mut *o.borrow_mut(), origins.to_vec()));
    let _restore = Restore(previous);
    f()
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

/// An upper bound on the table cells the markdown parser would build for `source`.
///
/// A table has as many cells per row as its delimiter row (`|---|---|`) has columns, and
/// the parser fills short rows with empty cells while it reads the blocks, before a single
/// byte of HTML is written; so a delimiter row of 300 columns over 700 one-letter rows is
/// 200 000 cells from 4 KB of text. The bound takes every line made of `|`, `-`, `:` and
/// spaces (after any indentation and `>` quote markers) as a delimiter row, its `|` count
/// plus one as its columns, and every line up to the next blank one as its rows. One pass.
pub fn table_cells_bound(source: &str) -> usize {
    let lines: Vec<&str> = source.lines().collect();
    // For each line, how many lines from it up to the next blank one.
    let mut run = vec![0usize; lines.len() + 1];
    for (i, line) in lines.iter().enumerate().rev() {
        run[i] = if line.trim().is_empty() {
            0
        } else {
            run[i + 1] + 1
        };
    }
    let mut cells = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start_matches([' ', '\t', '>']);
        let delimiter = body.contains('|')
            && body.contains('-')
            && body
                .chars()
                .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'));
        if delimiter {
            let columns = body.matches('|').count() + 1;
            // The header row above, this row, and the rows below.
            let rows = run[i] + 1;
            cells = cells.saturating_add(columns.saturating_mul(rows));
        }
    }
    cells
}

/// A `String` that refuses to grow past its cap, so rendering stops as soon as it would.
struct Capped {
    out: String,
    max: usize,
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.out.len() + s.len() > self.max {
            return Err(fmt::Error);
        }
        self.out.push_str(s);
        Ok(())
    }
}

/// Markdown to HTML, stopping at [`MAX_HTML_BYTES`].
fn markdown_to_capped_html(source: &str) -> Result<String, RenderError> {
    let mut w = Capped {
        out: String::with_capacity(source.len() * 3 / 2 + 16),
        max: MAX_HTML_BYTES,
    };
    html::write_html_fmt(&mut w, Parser::new_ext(source, options())).map_err(|_| {
        RenderError::TooLarge {
            max: MAX_HTML_BYTES,
        }
    })?;
    Ok(w.out)
}

/// Renders and sanitizes a markdown message.
///
/// # Errors
/// [`RenderError::TooLong`] above [`MAX_MESSAGE_BYTES`], [`RenderError::TooLarge`] when the
/// HTML would pass [`MAX_HTML_BYTES`], [`RenderError::TooDeep`] when it nests deeper than
/// [`MAX_NESTING`] and [`RenderError::Unsupported`] for HTML the sanitizer handles only
/// slowly (see [`depth`]). None of them runs the sanitizer.
///
/// Every accepted input costs time linear in its length.
pub fn render(source: &str) -> Result<SafeHtml, RenderError> {
    render_with(source, &[])
}

/// [`render`], also keeping images from `image_origins` (`https://host[:port]`, as
/// [`crate::settings::Settings::image_origins`] holds them).
///
/// # Errors
/// As [`render`].
pub fn render_with(source: &str, image_origins: &[String]) -> Result<SafeHtml, RenderError> {
    if source.len() > MAX_MESSAGE_BYTES {
        return Err(RenderError::TooLong {
            max: MAX_MESSAGE_BYTES,
        });
    }
    if table_cells_bound(source) > MAX_TABLE_CELLS {
        return Err(RenderError::TooLarge {
            max: MAX_HTML_BYTES,
        });
    }
    let raw = markdown_to_capped_html(source)?;
    depth::check(&raw, MAX_NESTING, MAX_ATTRIBUTES)?;
    Ok(with_image_origins(image_origins, || clean(&raw)))
}

/// Sanitizes HTML with the message policy (no markdown step). `sanitize(x)` of an output of
/// [`render`] returns it unchanged.
pub fn sanitize(html: &str) -> SafeHtml {
    clean(html)
}

/// The policy applied until the result is a fixed point: sanitizing the output again gives
/// the output back.
///
/// Two things can make one pass fall short of that:
/// - A character reference `&#13;` puts a carriage return into the tree, and the serializer
///   writes it raw, but a parser turns every raw CR of its input into a line feed. It is
///   written back as `&#13;` (text and attribute values decode references alike; no
///   raw-text element survives).
/// - The tree-building rules for misnested tags (the adoption agency, the reconstruction of
///   formatting elements) can build trees that no parse of their serialization builds, such
///   as an `<a>` inside an `<a>`; a fuzzer found one. Each further pass parses the previous
///   output, so it only ever meets such trees as they are serialized; passes go on, at most
///   [`MAX_PASSES`], until one changes nothing. The second pass is the price of every
///   message (sanitizing already-clean HTML); a third runs only for misnested input.
fn clean(html: &str) -> SafeHtml {
    let once = |input: &str| {
        let out = POLICY.clean(input).to_string();
        if out.contains('\r') {
            out.replace('\r', "&#13;")
        } else {
            out
        }
    };
    let mut out = once(html);
    for _ in 1..MAX_PASSES {
        let next = once(&out);
        if next == out {
            break;
        }
        out = next;
    }
    SafeHtml(out)
}

/// Most sanitizer passes of one message (see [`clean`]); the fuzzer's worst case needed two.
const MAX_PASSES: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carriage_return_from_a_reference_survives_a_second_pass() {
        let once = render("<div>a&#13;b</div>").unwrap();
        assert_eq!(once.as_str(), "<div>a&#13;b</div>");
        assert_eq!(sanitize(once.as_str()), once);
        let attr = render("<a href=\"/x\" title=\"a&#13;b\">x</a>").unwrap();
        assert_eq!(sanitize(attr.as_str()), attr);
    }

    #[test]
    fn relative_urls_with_controls_between_the_slashes_are_dropped() {
        for url in [
            "\\\u{4}\\evil.example/x",
            "/\u{1f}/evil.example",
            "\\ \\evil.example",
            "/\t/evil",
        ] {
            assert!(same_site_relative(url).is_none(), "{url:?}");
        }
        for url in ["/status", "status/page", "./x", "/a/\u{4}/b"] {
            assert!(same_site_relative(url).is_some(), "{url:?}");
        }
    }

    #[test]
    fn remote_images_only_from_allowed_origins() {
        let md = "![a](https://cdn.example.com/x.png) ![b](https://evil.example/y.png) ![c](/local.png) ![d](https://u:p@cdn.example.com/z.png)";
        let none = render(md).unwrap();
        assert_eq!(none.as_str().matches("<img").count(), 4);
        assert!(!none.as_str().contains("cdn.example.com"));
        assert!(!none.as_str().contains("evil.example"));
        assert!(none.as_str().contains("src=\"/local.png\""));
        let allowed = vec!["https://cdn.example.com".to_string()];
        let some = render_with(md, &allowed).unwrap();
        assert!(some
            .as_str()
            .contains("src=\"https://cdn.example.com/x.png\""));
        assert!(!some.as_str().contains("evil.example"));
        assert!(!some.as_str().contains("u:p@"));
        assert!(some.as_str().contains("src=\"/local.png\""));
        // The allowlist ends with the call.
        assert!(!render(md).unwrap().as_str().contains("cdn.example.com"));
        // http is a different origin from https.
        let http = render_with("![a](http://cdn.example.com/x.png)", &allowed).unwrap();
        assert!(!http.as_str().contains("cdn.example.com"));
    }

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
    fn table_cells_are_bounded_before_parsing() {
        let head = vec!["a"; 362].join("|");
        let sep = vec!["-"; 362].join("|");
        let wide = format!("{head}\n{sep}\n{}", "a\n".repeat(725));
        assert!(table_cells_bound(&wide) > MAX_TABLE_CELLS);
        assert_eq!(
            render(&wide),
            Err(RenderError::TooLarge {
                max: MAX_HTML_BYTES
            })
        );
        // A real table of the same size in bytes is fine.
        let rows = "| a | b | c | d |\n".repeat(200);
        let normal = format!("| h | i | j | k |\n|---|:-:|---|--:|\n{rows}");
        // Five pipes: counted as six columns (a bound, not a count).
        assert_eq!(table_cells_bound(&normal), 6 * 202);
        assert!(render(&normal).is_ok());
        // Quoted and indented tables count too; consecutive delimiter rows stay linear.
        assert_eq!(table_cells_bound("> a|b\n> -|-\n> c|d\n"), 6);
        assert!(table_cells_bound(&"|-\n".repeat(30_000)) > MAX_TABLE_CELLS);
        // The markdown step itself stops at the HTML cap.
        let headings = "#\n".repeat(32_768);
        assert!(render(&headings).is_ok());
        assert!(headings.len() * 5 <= MAX_HTML_BYTES);
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
