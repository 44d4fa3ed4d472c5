//! An upper bound on how deep an HTML tree builder will nest a text, computed in one linear
//! pass without building the tree.
//!
//! Why: html5ever (under ammonia) checks element scopes by walking its stack of open
//! elements, so its cost grows with the product of input size and nesting depth. The cap
//! must therefore hold for the depth the *parser* reaches, not for a naive count of tags:
//! every shortcut a naive counter takes is a way around the cap. The scan follows the HTML
//! tokenizer exactly (tag names, quoted attribute values that may hold `>` or `</div>`,
//! comments ending at `-->` or `--!>`, bogus comments and `<![CDATA[` ending at the first
//! `>`, raw text of `style`, `textarea`, `title`, `xmp`, `iframe`, `noembed` and `noframes`
//! ending at its own end tag), and it models the tree builder only in ways that count
//! deeper than the parser:
//!
//! - every start tag of a non-void element opens a level, whether or not it ends in `/>`
//!   (HTML ignores the self-closing flag on its own elements), and whether or not the parser
//!   would ignore or implicitly close it;
//! - an end tag closes a level only when it names the innermost open element; any other end
//!   tag is ignored (a parser may ignore it too: unmatched, out of scope, `</body>`), so an
//!   element implicitly closed by the parser stays counted, which also covers formatting
//!   elements the parser reopens later (`<p><b>x</p><p>` reconstructs the `b`);
//! - a `table` counts three levels (`tbody` and `tr` are inserted for a bare `<td>`);
//! - a tag cut off by the end of the text is dropped by the parser, with everything after it.
//!
//! Some start tags put the tree builder in a state where the tokenizer no longer reads the
//! rest the way it reads HTML in a body: `svg` and `math` (foreign content, where
//! `<![CDATA[` is real, `style` is not raw text and no element is void), `select` and
//! `template` (which ignore raw-text tags), `script` (with its escaped states), `noscript`
//! (text or markup depending on the parser's scripting flag) and `plaintext`. None of them
//! survives the sanitizer, so none is needed in a message; after the first one the scan
//! stops modelling and counts every `<` followed by a letter as a level that never closes,
//! which bounds any reading of the rest.
//!
//! `html` and `body` are unmodelled too: each of their start tags merges its attributes into
//! the root element, comparing with every attribute already there.
//!
//! Depth is not the parser's only cost that grows faster than its input, so the scan also
//! refuses (as [`Stop::Unsupported`]) two things no message needs:
//!
//! - a tag with more attributes than the limit it is given (attributes are compared
//!   pairwise);
//! - content a table would move out of itself ("foster parenting", which searches the
//!   table's siblings once per moved piece): text or a tag directly inside `table`,
//!   `tbody`, `thead`, `tfoot`, `tr` or `colgroup`, a table part that does not fit where it
//!   stands, or an end tag the scan cannot match while a table is open. Tables written in
//!   markdown are always well formed and never trip this.
//!
//! The scan stops as soon as the depth passes the limit it is given.

use super::RenderError;

/// Elements with no content in HTML (WHATWG "void elements", plus the legacy ones the tree
/// builder inserts and pops at once, or ignores).
const VOID: &[&[u8]] = &[
    b"area",
    b"base",
    b"basefont",
    b"bgsound",
    b"br",
    b"col",
    b"embed",
    b"frame",
    b"hr",
    b"img",
    b"input",
    b"keygen",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
];

/// Elements whose content the HTML tokenizer reads as text up to `</name`, in a body.
const RAW_TEXT: &[&[u8]] = &[
    b"iframe",
    b"noembed",
    b"noframes",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
];

/// Start tags after which the tokenizer's reading of the rest depends on tree-builder state
/// this scan does not model (see the module documentation).
const UNMODELLED: &[&[u8]] = &[
    b"body",
    b"html",
    b"math",
    b"noscript",
    b"plaintext",
    b"script",
    b"select",
    b"svg",
    b"template",
];

/// Levels a start tag opens.
fn weight(name: &[u8]) -> usize {
    if name.eq_ignore_ascii_case(b"table") {
        3
    } else {
        1
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn contains(set: &[&[u8]], name: &[u8]) -> bool {
    set.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Position of the first `needle` in `hay` at or after `from` (ASCII case-insensitive).
fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let off = hay
            .get(i..)?
            .iter()
            .position(|b| b.eq_ignore_ascii_case(first))?;
        i += off;
        if hay
            .get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Where a tag that starts at `i` (just after its name) ends: the index after its `>` and
/// the number of attributes, or `None` when the text ends first. Follows the tokenizer's
/// attribute states, so a `>` inside a quoted value does not end the tag.
fn tag_end(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let mut attributes = 0;
    loop {
        // Before an attribute name (also after `/` that is not followed by `>`).
        while b.get(i).is_some_and(|&c| is_space(c) || c == b'/') {
            i += 1;
        }
        match b.get(i)? {
            b'>' => return Some((i + 1, attributes)),
            _ => {
                // Attribute name: up to space, `/`, `>` or `=` (the first character may be `=`).
                attributes += 1;
                i += 1;
                while b
                    .get(i)
                    .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>' | b'='))
                {
                    i += 1;
                }
                while b.get(i).is_some_and(|&c| is_space(c)) {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    continue;
                }
                i += 1;
                while b.get(i).is_some_and(|&c| is_space(c)) {
                    i += 1;
                }
                match b.get(i)? {
                    &q @ (b'"' | b'\'') => {
                        let close = b.get(i + 1..)?.iter().position(|&c| c == q)?;
                        i += 1 + close + 1;
                    }
                    b'>' => return Some((i + 1, attributes)),
                    _ => {
                        while b.get(i).is_some_and(|&c| !is_space(c) && c != b'>') {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
}

/// A tag name starting at `i`: up to space, `/` or `>`.
fn name_end(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>'))
    {
        i += 1;
    }
    i
}

/// The open elements as the scan sees them.
struct Open<'a> {
    /// Names (`None` for a level opened inside a text region, which no end tag closes) and
    /// the levels each one counts.
    stack: Vec<(Option<&'a [u8]>, usize)>,
    depth: usize,
    max: usize,
}

impl<'a> Open<'a> {
    fn push(&mut self, name: Option<&'a [u8]>) {
        let w = name.map_or(1, weight);
        self.stack.push((name, w));
        self.depth += w;
        self.max = self.max.max(self.depth);
    }

    /// Closes the innermost element when it is `name`; says whether it did.
    fn close(&mut self, name: &[u8]) -> bool {
        if let Some(&(Some(top), w)) = self.stack.last() {
            if top.eq_ignore_ascii_case(name) {
                self.stack.pop();
                self.depth -= w;
                return true;
            }
        }
        false
    }

    /// The innermost open element, by name.
    fn top(&self) -> Option<&'a [u8]> {
        self.stack.last().and_then(|(name, _)| *name)
    }

    /// Whether the innermost element is one whose other content a table moves out.
    fn top_is_section(&self) -> bool {
        self.top().is_some_and(|t| contains(TABLE_SECTIONS, t))
    }

    /// Whether a table is open (outside one, the parser ignores stray table parts).
    fn in_table(&self) -> bool {
        self.stack
            .iter()
            .any(|(name, _)| name.is_some_and(|n| n.eq_ignore_ascii_case(b"table")))
    }

    /// A start tag inside a table must fit where it stands: a section holds only its own
    /// parts, and a part may only open in its section (elsewhere it would close a cell).
    fn check_table_start(&self, name: &[u8]) -> Result<(), Stop> {
        match self.top() {
            Some(top) if contains(TABLE_SECTIONS, top) => {
                if fits_in_section(top, name) {
                    Ok(())
                } else {
                    Err(Stop::Unsupported(OUT_OF_CELLS))
                }
            }
            _ if self.in_table()
                && contains(TABLE_PARTS, name)
                && !name.eq_ignore_ascii_case(b"table") =>
            {
                Err(Stop::Unsupported(TABLE_ORDER))
            }
            _ => Ok(()),
        }
    }
}

/// Why a scan stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The bound passed the limit.
    TooDeep,
    /// Markup the sanitizer's parser handles in time worse than linear.
    Unsupported(&'static str),
}

/// Elements between which the tree builder moves ("foster-parents") any other content out
/// of the table, each move searching the table's siblings: text or stray tags there cost
/// time quadratic in their number.
const TABLE_SECTIONS: &[&[u8]] = &[b"table", b"tbody", b"thead", b"tfoot", b"tr", b"colgroup"];

/// Tags that open or close parts of a table; out of place, they close cells the scan would
/// still count as open.
const TABLE_PARTS: &[&[u8]] = &[
    b"table",
    b"caption",
    b"colgroup",
    b"col",
    b"tbody",
    b"thead",
    b"tfoot",
    b"tr",
    b"td",
    b"th",
];

/// The start tags each table section may hold directly.
fn fits_in_section(section: &[u8], child: &[u8]) -> bool {
    let allowed: &[&[u8]] = if section.eq_ignore_ascii_case(b"table") {
        &[
            b"caption",
            b"colgroup",
            b"col",
            b"tbody",
            b"thead",
            b"tfoot",
            b"tr",
            b"td",
            b"th",
        ]
    } else if section.eq_ignore_ascii_case(b"tr") {
        &[b"td", b"th"]
    } else if section.eq_ignore_ascii_case(b"colgroup") {
        &[b"col"]
    } else {
        &[b"tr", b"td", b"th"]
    };
    contains(allowed, child)
}

const OUT_OF_CELLS: &str = "text or tags inside a table but outside its cells";
const TABLE_ORDER: &str = "table tags that open or close cells out of order";

/// Counts a level that never closes for every `<` followed by a letter in `b[from..]`
/// (three for a `table`), wherever it stands: in text, attribute values or comments.
/// A table may be moving content out of itself here, so after a `table` tag any text
/// between tags is refused (there are at most as many tags as the limit allows).
fn count_rest<'a>(b: &'a [u8], from: usize, open: &mut Open<'a>, limit: usize) -> Result<(), Stop> {
    if open.in_table() {
        return Err(Stop::Unsupported(OUT_OF_CELLS));
    }
    let mut table_seen = false;
    let mut text_from = from;
    let mut i = from;
    loop {
        let next = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<'));
        let lt = next.map_or(b.len(), |off| i + off);
        if table_seen && has_text(b, text_from, lt) {
            return Err(Stop::Unsupported(OUT_OF_CELLS));
        }
        if next.is_none() {
            return Ok(());
        }
        i = lt + 1;
        text_from = i;
        if b.get(i).is_some_and(u8::is_ascii_alphabetic) {
            let end = name_end(b, i);
            let name = &b[i..end];
            table_seen |= name.eq_ignore_ascii_case(b"table");
            open.stack.push((None, weight(name)));
            open.depth += weight(name);
            open.max = open.max.max(open.depth);
            if open.max > limit {
                return Err(Stop::TooDeep);
            }
            // Text is what follows the tag (quoted values may hold anything).
            text_from = tag_end(b, end).map_or(b.len(), |(after, _)| after);
        } else if b.get(i) == Some(&b'/') {
            text_from = tag_end(b, name_end(b, i + 1)).map_or(b.len(), |(after, _)| after);
        }
    }
}

/// Whether `b[from..to]` holds anything but HTML whitespace.
fn has_text(b: &[u8], from: usize, to: usize) -> bool {
    b.get(from..to)
        .is_some_and(|t| t.iter().any(|&c| !is_space(c)))
}

/// Checks `html` against the depth and attribute limits and the table rules; the bound it
/// computes is returned for tests.
pub(super) fn scan(html: &str, limit: usize, max_attributes: usize) -> Result<usize, Stop> {
    let b = html.as_bytes();
    let mut open = Open {
        stack: Vec::new(),
        depth: 0,
        max: 0,
    };
    let mut i = 0;
    loop {
        let next = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<'));
        let lt = next.map_or(b.len(), |off| i + off);
        if open.top_is_section() && has_text(b, i, lt) {
            return Err(Stop::Unsupported(OUT_OF_CELLS));
        }
        if next.is_none() {
            break;
        }
        match b.get(lt + 1).copied() {
            Some(b'!') if b.get(lt + 2..lt + 4) == Some(b"--") => {
                // Comment: `<!-->` and `<!--->` end at once, otherwise `-->` or `--!>`.
                let body = lt + 4;
                i = if b.get(body) == Some(&b'>') {
                    body + 1
                } else if b.get(body..body + 2) == Some(b"->") {
                    body + 2
                } else {
                    comment_end(b, body)
                };
            }
            Some(b'!' | b'?') => {
                // Bogus comment, doctype, or `<![CDATA[` outside foreign content: up to `>`.
                i = find(b, lt + 2, b">").map_or(b.len(), |p| p + 1);
            }
            Some(b'/') => match b.get(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let start = lt + 2;
                    let end = name_end(b, start);
                    let Some((after, _)) = tag_end(b, end) else {
                        break;
                    };
                    if !open.close(&b[start..end]) && open.in_table() {
                        return Err(Stop::Unsupported(TABLE_ORDER));
                    }
                    i = after;
                }
                Some(b'>') => i = lt + 3,
                Some(_) => i = find(b, lt + 2, b">").map_or(b.len(), |p| p + 1),
                None => break,
            },
            Some(c) if c.is_ascii_alphabetic() => {
                let start = lt + 1;
                let end = name_end(b, start);
                let name = &b[start..end];
                let Some((after, attributes)) = tag_end(b, end) else {
                    // The parser drops a tag the text ends in, and the rest with it.
                    break;
                };
                if attributes > max_attributes {
                    return Err(Stop::Unsupported("a tag with too many attributes"));
                }
                open.check_table_start(name)?;
                if !contains(VOID, name) {
                    open.push(Some(name));
                    if open.max > limit {
                        return Err(Stop::TooDeep);
                    }
                }
                if contains(UNMODELLED, name) {
                    count_rest(b, after, &mut open, limit)?;
                    break;
                }
                i = if contains(RAW_TEXT, name) {
                    raw_text_end(b, after, name)
                } else {
                    after
                };
            }
            _ => i = lt + 1,
        }
    }
    Ok(open.max)
}

/// The bound alone, for tests (`usize::MAX` when the scan refuses the input).
#[cfg(test)]
pub(super) fn nesting_depth(html: &str, limit: usize) -> usize {
    scan(html, limit, usize::MAX).unwrap_or(usize::MAX)
}

/// [`scan`] as a render check.
pub(super) fn check(html: &str, limit: usize, max_attributes: usize) -> Result<(), RenderError> {
    match scan(html, limit, max_attributes) {
        Ok(_) => Ok(()),
        Err(Stop::TooDeep) => Err(RenderError::TooDeep { max: limit }),
        Err(Stop::Unsupported(reason)) => Err(RenderError::Unsupported { reason }),
    }
}

/// Where a comment whose text starts at `from` ends: after the first `-->` or `--!>`, or at
/// the end of the text. One forward pass.
fn comment_end(b: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(p) = find(b, at, b"--") {
        match b.get(p + 2) {
            Some(b'>') => return p + 3,
            Some(b'!') if b.get(p + 3) == Some(&b'>') => return p + 4,
            _ => at = p + 1,
        }
    }
    b.len()
}

/// Where the raw text of element `name` that starts at `from` ends: at the `</name` that
/// closes it (followed by space, `/` or `>`), or the end of the text.
fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut at = from;
    while let Some(p) = find(b, at, b"</") {
        let name_at = p + 2;
        let closes = b
            .get(name_at..name_at + name.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(name))
            && b.get(name_at + name.len())
                .is_none_or(|&c| is_space(c) || matches!(c, b'/' | b'>'));
        if closes {
            return p;
        }
        at = p + 2;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(html: &str) -> usize {
        nesting_depth(html, usize::MAX)
    }

    #[test]
    fn counts_open_elements() {
        assert_eq!(depth("<p><b>x</b></p><p>y</p>"), 2);
        assert_eq!(depth("<img src=x><br/><hr>"), 0);
        assert_eq!(depth("a < b and </ c"), 0);
        assert_eq!(depth("<div><div></div><div><p>x</p></div></div>"), 3);
        assert_eq!(depth("<table><tr><td>x</td></tr></table>"), 5);
    }

    #[test]
    fn self_closing_non_void_elements_stay_open() {
        assert_eq!(depth(&"<div/>".repeat(40)), 40);
        assert_eq!(depth(&"<br/>".repeat(40)), 0);
    }

    #[test]
    fn only_the_innermost_element_is_closed() {
        // `</zz>` closes nothing in a parser, so it may not lower the count either.
        assert_eq!(depth(&"<div></zz>".repeat(40)), 40);
        assert_eq!(depth("<div><span></div></span>"), 2);
        assert_eq!(depth(&"<body><div></body>".repeat(10)), 20);
        // A formatting element closed implicitly by `</p>` is reopened by the parser.
        assert_eq!(depth(&"<p><b>x</p>".repeat(10)), 20);
    }

    #[test]
    fn quoted_attributes_hide_markup() {
        assert_eq!(depth(r#"<div title="</div>"><a href='>'>x</a>"#), 2);
        assert_eq!(
            depth(r#"<div a=">"#),
            0,
            "a tag cut off by the end is dropped"
        );
        assert_eq!(depth("<div\n<x/<x/<x/>"), 1);
    }

    #[test]
    fn comments_end_where_the_tokenizer_ends_them() {
        assert_eq!(depth("<!-- </div> --><div>"), 1);
        assert_eq!(depth("<!-- a --!><div><div>"), 2);
        assert_eq!(depth("<!--><div>"), 1);
        assert_eq!(depth("<!---><div>"), 1);
        assert_eq!(depth("<?x <div> ?><div>"), 1);
    }

    #[test]
    fn raw_text_ends_at_its_own_end_tag() {
        assert_eq!(depth("<style></style><div>"), 1);
        assert_eq!(
            depth(&format!("<textarea>{}</textarea>", "</div>".repeat(5))),
            1
        );
        assert_eq!(
            depth(&format!(
                "{}<textarea>{}",
                "<div>".repeat(3),
                "</div>".repeat(3)
            )),
            4
        );
        assert_eq!(depth("<xmp><div><div></xmp ><b>"), 1);
        assert_eq!(depth("<title></titlex><div></title><div>"), 1);
    }

    #[test]
    fn cdata_outside_foreign_content_is_a_bogus_comment() {
        // Found by the oracle below: `<![CDATA[` ends at the first `>` in HTML, so the
        // `<xmp>` is real and hides the `<!--` that follows.
        let html =
            "<![CDATA[<div><xmp>]]><!--</xmp><div><div><div title=\"\"<div><div><div><div><div>";
        assert!(depth(html) >= oracle::parsed_depth(html));
        let html = "<![CDATA[</textarea><div title=\"]]><div title=\"<div><mi><mi><p>";
        assert!(depth(html) + 2 >= oracle::parsed_depth(html));
    }

    #[test]
    fn after_unmodelled_states_every_tag_counts() {
        // In foreign content `style` is an element, CDATA is real and nothing is void.
        assert_eq!(depth("<svg><style><div></div><div></style>"), 4);
        assert_eq!(depth("<svg><![CDATA[ > <div> ]]><div>"), 3);
        assert_eq!(depth(&format!("<svg>{}", "<source>".repeat(10))), 11);
        assert_eq!(depth(&format!("<math>{}", "<img>".repeat(10))), 11);
        // `select` ignores `xmp`, so what follows it is markup.
        assert_eq!(depth("<select><xmp><input><div><div></xmp>"), 5);
        assert_eq!(depth("<script><!--<script></script><div></script>"), 3);
        assert_eq!(depth("<plaintext></plaintext><b><i>"), 3);
        assert_eq!(depth("<noscript><div title=\"</noscript>\"><p>"), 3);
        assert_eq!(depth("<template><div>"), 2);
        // A table there is fine as long as nothing can be moved out of it.
        assert_eq!(
            depth("<math><mtext><table><mglyph></mglyph></table></mtext></math>"),
            6
        );
        assert_eq!(
            scan("<template><table>x", 32, 64),
            Err(Stop::Unsupported(OUT_OF_CELLS))
        );
        // Before them, void elements stay void.
        assert_eq!(depth(&"<source>".repeat(10)), 0);
    }

    #[test]
    fn tables_hold_content_only_in_their_cells() {
        let ok = "<table><thead><tr><th>a</th></tr></thead><tbody>\n<tr><td>b <b>c</b></td></tr>\n</tbody></table>";
        // table (3 with its implied parts) + tbody + tr + td + b.
        assert_eq!(scan(ok, 32, 64), Ok(7));
        assert_eq!(
            scan("<table><caption>x</caption><colgroup><col></colgroup><tr><td><table><td>y</td></table></td></tr></table>", 32, 64),
            Ok(9)
        );
        // The tree builder moves these out of the table one by one, searching the table's
        // siblings each time.
        for moved in [
            "<table>x",
            "<table><tr>&amp;</tr>",
            "<table><div>",
            "<table><tr><td></td>x</tr>",
            "<table><colgroup><p>",
            "<table><tbody><table>",
            "<table><td><svg></td>x",
            "<div>x<br><math></math><table>x&amp;&amp;",
        ] {
            assert_eq!(
                scan(moved, 32, 64),
                Err(Stop::Unsupported(OUT_OF_CELLS)),
                "{moved}"
            );
        }
        // Parts out of order close cells the scan would still count as open.
        for out_of_order in [
            "<table><tr><td><tr>",
            "<table><td><p>x</td>",
            "<table><tr><td>x</tr>",
            "<table><caption><td>",
        ] {
            assert_eq!(
                scan(out_of_order, 32, 64),
                Err(Stop::Unsupported(TABLE_ORDER)),
                "{out_of_order}"
            );
        }
        // Outside any table, stray table tags are ignored by the parser.
        assert_eq!(scan("<td>x</tr>", 32, 64), Ok(1));
    }

    #[test]
    fn attributes_and_root_elements_are_limited() {
        let many: String = (0..65).map(|i| format!(" a{i}")).collect();
        assert_eq!(
            scan(&format!("<div{many}>"), 32, 64),
            Err(Stop::Unsupported("a tag with too many attributes"))
        );
        assert_eq!(
            scan(&format!("<div{}>", &many[..many.len() - 4]), 32, 64),
            Ok(1)
        );
        // Each `<html>` merges its attributes into the root: every later tag counts.
        assert_eq!(
            scan(&format!("<html a>{}", "<html></html>".repeat(40)), 32, 64),
            Err(Stop::TooDeep)
        );
    }

    #[test]
    fn stops_past_the_limit() {
        let deep = "<div>".repeat(10_000);
        assert_eq!(scan(&deep, 32, 64), Err(Stop::TooDeep));
        assert_eq!(scan(&"<div>".repeat(32), 32, 64), Ok(32));
    }
}

#[cfg(test)]
mod oracle {
    //! The bound checked against a real HTML parser (html5ever, through scraper) on generated
    //! tag soup.
    use proptest::prelude::*;

    use super::scan;

    /// Deepest element of `html` parsed as a body fragment, as the sanitizer parses it.
    pub(super) fn parsed_depth(html: &str) -> usize {
        let doc = scraper::Html::parse_fragment(html);
        // The fragment's content sits in an `html` element: a top-level element has one
        // element ancestor and is at depth 1.
        doc.root_element()
            .descendants()
            .filter(|n| n.value().is_element())
            .map(|n| n.ancestors().filter(|a| a.value().is_element()).count())
            .max()
            .unwrap_or(0)
    }

    const PIECES: &[&str] = &[
        "<div>",
        "</div>",
        "<p>",
        "</p>",
        "<b>",
        "</b>",
        "<i>",
        "</i>",
        "<a href=x>",
        "</a>",
        "<span>",
        "</span>",
        "<table>",
        "</table>",
        "<tr>",
        "</tr>",
        "<td>",
        "</td>",
        "<th>",
        "<tbody>",
        "<caption>",
        "<col>",
        "<colgroup>",
        "<svg>",
        "</svg>",
        "<math>",
        "</math>",
        "<mi>",
        "<mtext>",
        "<annotation-xml encoding=\"text/html\">",
        "<foreignObject>",
        "<desc>",
        "<source>",
        "<input>",
        "<area>",
        "<img>",
        "<br>",
        "<br/>",
        "<div/>",
        "<b/>",
        "<style>",
        "</style>",
        "<title>",
        "</title>",
        "<textarea>",
        "</textarea>",
        "<script>",
        "</script>",
        "<noscript>",
        "</noscript>",
        "<xmp>",
        "</xmp>",
        "<plaintext>",
        "<select>",
        "<option>",
        "</select>",
        "<ul>",
        "<li>",
        "</li>",
        "</ul>",
        "<body>",
        "</body>",
        "<html>",
        "</html>",
        "<template>",
        "</template>",
        "<font color=red>",
        "</font>",
        "<nobr>",
        "<u>",
        "</u>",
        "<h1>",
        "</h1>",
        "<h2>",
        "<button>",
        "</button>",
        "<form>",
        "</form>",
        "<object>",
        "</object>",
        "<zz>",
        "</zz>",
        "<!--",
        "-->",
        "--!>",
        "<!-->",
        "<![CDATA[",
        "]]>",
        "<?x",
        "<!x",
        ">",
        "<",
        "</",
        "\"",
        "'",
        "=",
        " ",
        "x",
        "\n\n",
        "<div title=\"",
        "<div a='",
        "<div a=b",
        "/>",
        "<image>",
        "<frameset>",
        "<marquee>",
        "</marquee>",
        "<dd>",
        "<dt>",
    ];

    fn soup() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..200).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        #[test]
        fn bound_is_above_the_parsed_depth(html in soup()) {
            // Refused input never reaches the parser.
            let Ok(ours) = scan(&html, usize::MAX, usize::MAX) else {
                return Ok(());
            };
            let real = parsed_depth(&html);
            prop_assert!(real <= ours + 2, "parsed {real} > bound {ours} + 2 for {html:?}");
        }
    }
}
