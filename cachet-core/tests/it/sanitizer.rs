//! The message pipeline against the shared attack corpus and generated input, checked with
//! an HTML parser (never a regex).

use cachet_core::markdown::{render, sanitize, RenderError, MAX_NESTING};
use proptest::prelude::*;
use scraper::{Html, Node};

const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "svg",
    "math",
    "iframe",
    "frame",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "base",
    "meta",
    "link",
    "style",
    "noscript",
    "template",
    "textarea",
    "xmp",
    "plaintext",
    "title",
    "set",
    "animate",
];
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "xlink:href",
    "cite",
    "poster",
    "background",
];

fn corpus() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/security/attack-corpus.txt"
    );
    let text =
        std::fs::read_to_string(path).expect("the shared attack corpus is beside the repository");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (tag, input) = l.split_once(" :: ").expect("TAG :: input");
            (
                tag.to_string(),
                input.replace("\\n", "\n").replace("\\f", "\u{c}"),
            )
        })
        .collect()
}

/// Every violation of properties S, E, U, R (and P: no protocol-relative or remote image).
fn violations(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut out = Vec::new();
    for node in doc.tree.nodes() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        let name = el.name().to_ascii_lowercase();
        if FORBIDDEN_ELEMENTS.contains(&name.as_str()) {
            out.push(format!("S: <{name}>"));
        }
        for (attr, value) in el.attrs() {
            let a = attr.to_ascii_lowercase();
            if a.starts_with("on")
                || ["style", "srcdoc", "target", "formaction", "id", "name"].contains(&a.as_str())
            {
                out.push(format!("E: {a} on <{name}>"));
            }
            if URL_ATTRS.contains(&a.as_str()) {
                let cleaned: String = value
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if ["javascript:", "vbscript:", "data:"]
                    .iter()
                    .any(|p| cleaned.starts_with(p))
                {
                    out.push(format!("U: {a}={value:?}"));
                }
                if cleaned.starts_with("//")
                    || cleaned.starts_with("\\\\")
                    || cleaned.starts_with("/\\")
                {
                    out.push(format!("P: protocol-relative {a}={value:?}"));
                }
                if name == "img" && a == "src" && cleaned.contains(':') {
                    out.push(format!("P: remote image {value:?}"));
                }
            }
        }
        if name == "a" {
            let rel = el.attr("rel").unwrap_or("");
            if !(rel.split_whitespace().any(|r| r == "noopener")
                && rel.split_whitespace().any(|r| r == "noreferrer"))
            {
                out.push(format!("R: <a> with rel={rel:?}"));
            }
        }
    }
    out
}

#[test]
fn every_corpus_line_satisfies_the_properties() {
    let lines = corpus();
    assert!(lines.len() >= 50, "corpus has {} lines", lines.len());
    let mut failures = Vec::new();
    for (tag, input) in &lines {
        let out = render(input).expect("corpus inputs are within the caps");
        let v = violations(out.as_str());
        if !v.is_empty() {
            failures.push(format!("{tag} :: {input:?} -> {:?}: {v:?}", out.as_str()));
        }
        assert_eq!(
            sanitize(out.as_str()).as_str(),
            out.as_str(),
            "not idempotent for {input:?}"
        );
        if tag == "K" {
            let doc = Html::parse_fragment(out.as_str());
            let sel = scraper::Selector::parse("a[href=\"https://example.com\"]")
                .expect("valid selector");
            let kept: Vec<String> = doc.select(&sel).map(|a| a.text().collect()).collect();
            assert_eq!(
                kept,
                vec!["ok".to_string()],
                "K line not preserved: {}",
                out.as_str()
            );
        }
        if tag == "T" && input.contains('`') {
            // In code the payload survives, as text. (Inside textarea/title/plaintext the
            // sanitizer drops it, which is also safe.)
            let doc = Html::parse_fragment(out.as_str());
            let text: String = doc.root_element().text().collect();
            assert!(
                text.contains("alert(1)"),
                "T payload vanished: {}",
                out.as_str()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checker_itself_catches_each_property() {
    assert!(violations("<script>x</script>")[0].starts_with("S:"));
    assert!(violations("<p onclick=x>a</p>")[0].starts_with("E:"));
    assert!(
        violations("<a rel=\"noopener noreferrer\" href=\" jav&#x09;ascript:x\">a</a>")[0]
            .starts_with("U:")
    );
    assert!(violations("<a href=\"https://x\">a</a>")[0].starts_with("R:"));
    assert!(violations("<img src=\"https://evil/x.png\">")[0].starts_with("P:"));
    assert!(violations("<p>fine</p>").is_empty());
}

#[test]
fn caps_are_enforced_before_the_sanitizer() {
    assert_eq!(
        render(&"<div>".repeat(5000)),
        Err(RenderError::TooDeep { max: MAX_NESTING })
    );
    assert_eq!(
        render(&"> ".repeat(5000)),
        Err(RenderError::TooDeep { max: MAX_NESTING })
    );
    assert_eq!(
        render(&("1. ".repeat(5000) + "x")),
        Err(RenderError::TooDeep { max: MAX_NESTING })
    );
    assert!(matches!(
        render(&"x".repeat(70_000)),
        Err(RenderError::TooLong { .. })
    ));
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,8}",
        Just("<script>alert(1)</script>".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("[x](javascript:alert(1))".to_string()),
        Just("<a href=\"//evil\">y</a>".to_string()),
        Just("<svg onload=alert(1)>".to_string()),
        Just("**b**".to_string()),
        Just("> ".to_string()),
        Just("\n\n".to_string()),
        Just("<div style=\"x\">".to_string()),
        Just("</div>".to_string()),
        Just("`code`".to_string()),
        Just("&#106;avascript:".to_string()),
        Just("<a href=\"https://example.com\">k</a>".to_string()),
        Just("| a |\n|---|\n| b |\n".to_string()),
        "\\PC{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_are_safe_and_idempotent(parts in proptest::collection::vec(fragment(), 0..24)) {
        let input = parts.concat();
        if let Ok(out) = render(&input) {
            let v = violations(out.as_str());
            prop_assert!(v.is_empty(), "{:?} -> {:?}: {:?}", input, out.as_str(), v);
            let again = sanitize(out.as_str());
            prop_assert_eq!(again.as_str(), out.as_str());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        let _ = render(&s);
        let _ = sanitize(&s);
    }
}
