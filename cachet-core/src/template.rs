//! Incident templates: a minimal sandboxed subset of Twig, never a general engine.
//!
//! Supported: `{{ path }}` with dotted lookups into the context (always HTML-escaped),
//! the `escape`/`e` filter, `{% if path %}`/`{% if not path %}`/`{% if path == "lit" %}`
//! (and `!=`), `{% else %}`, `{% endif %}`, and `{# comments #}`. There are no functions,
//! methods, other filters, includes, loops or file access: anything else is a parse error,
//! so a template is checked when it is saved, not when it is used.

use serde_json::Value;

/// Deepest `if` nesting accepted.
const MAX_DEPTH: usize = 16;

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template error at byte {at}: {message}")]
pub struct TemplateError {
    /// Byte offset in the source.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(at: usize, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        at,
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Truthy(Vec<String>),
    Not(Vec<String>),
    Eq(Vec<String>, String, bool),
}

/// An open `if` while parsing: condition, then-branch, else-branch, in the else branch,
/// byte offset of the tag.
type OpenIf = (Cond, Vec<Node>, Vec<Node>, bool, usize);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Var(Vec<String>),
    If(Cond, Vec<Node>, Vec<Node>),
}

/// A parsed template, ready to render any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

fn parse_path(expr: &str, at: usize) -> Result<Vec<String>, TemplateError> {
    let parts: Vec<String> = expr.split('.').map(str::to_string).collect();
    for p in &parts {
        let ok = !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !p.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            return err(
                at,
                format!(
                    "`{expr}` is not a variable name (only names and dotted lookups are allowed)"
                ),
            );
        }
    }
    Ok(parts)
}

fn parse_var(inner: &str, at: usize) -> Result<Vec<String>, TemplateError> {
    let mut pieces = inner.split('|');
    let path = parse_path(pieces.next().unwrap_or("").trim(), at)?;
    for filter in pieces {
        match filter.trim() {
            // Output is always escaped; the filters are accepted for Twig compatibility.
            "e" | "escape" | "e('html')" | "escape('html')" => {}
            other => {
                return err(
                    at,
                    format!("filter `{other}` is not allowed (only `escape`)"),
                )
            }
        }
    }
    Ok(path)
}

fn parse_literal(s: &str, at: usize) -> Result<String, TemplateError> {
    let s = s.trim();
    let quoted = s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')));
    if quoted {
        Ok(s[1..s.len() - 1].to_string())
    } else if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
    {
        Ok(s.to_string())
    } else {
        err(at, format!("`{s}` is not a string or number literal"))
    }
}

fn parse_cond(expr: &str, at: usize) -> Result<Cond, TemplateError> {
    let expr = expr.trim();
    if let Some((l, r)) = expr.split_once("!=") {
        return Ok(Cond::Eq(
            parse_path(l.trim(), at)?,
            parse_literal(r, at)?,
            false,
        ));
    }
    if let Some((l, r)) = expr.split_once("==") {
        return Ok(Cond::Eq(
            parse_path(l.trim(), at)?,
            parse_literal(r, at)?,
            true,
        ));
    }
    if let Some(rest) = expr.strip_prefix("not ") {
        return Ok(Cond::Not(parse_path(rest.trim(), at)?));
    }
    Ok(Cond::Truthy(parse_path(expr, at)?))
}

enum Tag {
    If(Cond),
    Else,
    EndIf,
}

impl Template {
    /// Parses a template source.
    ///
    /// # Errors
    /// A [`TemplateError`] naming the position of anything outside the supported subset.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        // Stack of (condition, then-branch, else-branch, in_else, position).
        let mut stack: Vec<OpenIf> = Vec::new();
        let mut top: Vec<Node> = Vec::new();
        let mut rest = source;
        let mut offset = 0usize;

        fn push(stack: &mut [OpenIf], top: &mut Vec<Node>, node: Node) {
            match stack.last_mut() {
                Some((_, then, els, in_else, _)) => {
                    if *in_else {
                        els.push(node)
                    } else {
                        then.push(node)
                    }
                }
                None => top.push(node),
            }
        }

        while !rest.is_empty() {
            // One forward scan to the next opener, so parsing is linear in the source.
            let next = rest
                .as_bytes()
                .windows(2)
                .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'));
            let Some(start) = next else {
                push(&mut stack, &mut top, Node::Text(rest.to_string()));
                break;
            };
            if start > 0 {
                push(&mut stack, &mut top, Node::Text(rest[..start].to_string()));
            }
            let at = offset + start;
            let opener = &rest[start..start + 2];
            let closer = match opener {
                "{{" => "}}",
                "{%" => "%}",
                _ => "#}",
            };
            let body_start = start + 2;
            let Some(len) = rest[body_start..].find(closer) else {
                return err(at, format!("`{opener}` is never closed with `{closer}`"));
            };
            let inner = rest[body_start..body_start + len].trim();
            match opener {
                "{{" => push(&mut stack, &mut top, Node::Var(parse_var(inner, at)?)),
                "{%" => {
                    let tag = if let Some(cond) = inner.strip_prefix("if ") {
                        Tag::If(parse_cond(cond, at)?)
                    } else if inner == "else" {
                        Tag::Else
                    } else if inner == "endif" {
                        Tag::EndIf
                    } else {
                        let word = inner.split_whitespace().next().unwrap_or("");
                        return err(
                            at,
                            format!("tag `{word}` is not allowed (only if/else/endif)"),
                        );
                    };
                    match tag {
                        Tag::If(cond) => {
                            if stack.len() >= MAX_DEPTH {
                                return err(
                                    at,
                                    format!("`if` nested deeper than {MAX_DEPTH} levels"),
                                );
                            }
                            stack.push((cond, Vec::new(), Vec::new(), false, at));
                        }
                        Tag::Else => match stack.last_mut() {
                            Some((_, _, _, in_else, _)) if !*in_else => *in_else = true,
                            _ => return err(at, "`else` without a matching `if`"),
                        },
                        Tag::EndIf => match stack.pop() {
                            Some((cond, then, els, _, _)) => {
                                push(&mut stack, &mut top, Node::If(cond, then, els))
                            }
                            None => return err(at, "`endif` without a matching `if`"),
                        },
                    }
                }
                _ => {} // comment
            }
            let consumed = body_start + len + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if let Some((_, _, _, _, at)) = stack.last() {
            return err(*at, "`if` is never closed with `endif`");
        }
        Ok(Template { nodes: top })
    }

    /// Renders with `context` (a JSON object). Missing variables render as nothing.
    ///
    /// # Errors
    /// [`OutputTooLong`] as soon as the output passes `max_bytes`: a short template that
    /// repeats a large variable could otherwise build an output of any size before anyone
    /// gets to check it.
    pub fn render(&self, context: &Value, max_bytes: usize) -> Result<String, OutputTooLong> {
        let mut out = String::new();
        render_nodes(&self.nodes, context, &mut out, max_bytes)?;
        Ok(out)
    }
}

/// A rendered template would be longer than the cap it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rendered template is longer than {max} bytes")]
pub struct OutputTooLong {
    /// The cap.
    pub max: usize,
}

fn lookup<'v>(context: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(context, |v, key| v.as_object()?.get(key))
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "0",
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "1".into(),
        Value::Bool(false) => String::new(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        // Twig prints "Array" for arrays; objects cannot be printed. Neither leaks structure.
        Value::Array(_) => "Array".into(),
        Value::Object(_) => String::new(),
    }
}

/// HTML-escapes `<`, `>`, `&`, `"` and `'` as Twig's `escape` filter does.
pub fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
}

fn render_nodes(
    nodes: &[Node],
    ctx: &Value,
    out: &mut String,
    max: usize,
) -> Result<(), OutputTooLong> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Var(path) => {
                if let Some(v) = lookup(ctx, path) {
                    escape_html(&scalar_text(v), out);
                }
            }
            Node::If(cond, then, els) => {
                let yes = match cond {
                    Cond::Truthy(p) => truthy(lookup(ctx, p)),
                    Cond::Not(p) => !truthy(lookup(ctx, p)),
                    Cond::Eq(p, lit, want) => {
                        (lookup(ctx, p).map(scalar_text).as_deref() == Some(lit.as_str())) == *want
                    }
                };
                render_nodes(if yes { then } else { els }, ctx, out, max)?;
            }
        }
        if out.len() > max {
            return Err(OutputTooLong { max });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn spec_examples() {
        let t = Template::parse("Name: {{ name }},\nMessage: {{ message }}").unwrap();
        let out = t
            .render(
                &json!({"name": "Foo", "message": "Hello there this is a foo!"}),
                usize::MAX,
            )
            .unwrap();
        assert_eq!(out, "Name: Foo,\nMessage: Hello there this is a foo!");
        let t = Template::parse("...in my {{ incident.name }}!").unwrap();
        assert_eq!(
            t.render(&json!({"incident": {"name": "Foo"}}), usize::MAX)
                .unwrap(),
            "...in my Foo!"
        );
    }

    #[test]
    fn escapes_and_branches() {
        let t = Template::parse("{% if down %}<b>{{ who|e }}</b>{% else %}ok{% endif %}{# c #}")
            .unwrap();
        assert_eq!(
            t.render(&json!({"down": 1, "who": "<x y='1'>&"}), usize::MAX)
                .unwrap(),
            "<b>&lt;x y=&#039;1&#039;&gt;&amp;</b>"
        );
        assert_eq!(t.render(&json!({"down": 0}), usize::MAX).unwrap(), "ok");
        let t = Template::parse("{% if s == \"a\" %}A{% endif %}{% if not s %}none{% endif %}")
            .unwrap();
        assert_eq!(t.render(&json!({"s": "a"}), usize::MAX).unwrap(), "A");
        assert_eq!(t.render(&json!({}), usize::MAX).unwrap(), "none");
    }

    #[test]
    fn output_is_capped_while_it_is_built() {
        let t = Template::parse(&"{{ x }}".repeat(4000)).unwrap();
        let ctx = json!({"x": "A".repeat(50_000)});
        assert_eq!(t.render(&ctx, 65_536), Err(OutputTooLong { max: 65_536 }));
        let t = Template::parse("{% if x %}{{ x }}{{ x }}{% endif %}").unwrap();
        assert_eq!(t.render(&json!({"x": "ab"}), 4).unwrap(), "abab");
        assert_eq!(
            t.render(&json!({"x": "abc"}), 5),
            Err(OutputTooLong { max: 5 })
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "{{ _self.env.registerUndefinedFilterCallback('exec') }}",
            "{{ name|upper }}",
            "{{ range(1,5) }}",
            "{% for x in y %}{% endfor %}",
            "{% include 'x' %}",
            "{{ incident.component.name() }}",
            "{% if a %}",
            "{% endif %}",
            "{% else %}",
            "{{ a ",
            "{% if a %}{% else %}{% else %}{% endif %}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad:?} accepted");
        }
        let deep = "{% if a %}".repeat(MAX_DEPTH + 1) + &"{% endif %}".repeat(MAX_DEPTH + 1);
        assert!(Template::parse(&deep).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            if let Ok(t) = Template::parse(&s) {
                let _ = t.render(&json!({"a": "<b>", "n": 1}), usize::MAX).unwrap();
            }
        }

        #[test]
        fn output_of_a_variable_has_no_markup(v in "\\PC{0,100}") {
            let out = Template::parse("{{ v }}").unwrap().render(&json!({"v": v}), usize::MAX).unwrap();
            prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"') && !out.contains('\''));
        }

        #[test]
        fn plain_text_is_kept(s in "[^{}]{0,100}") {
            prop_assert_eq!(Template::parse(&s).unwrap().render(&json!({}), usize::MAX).unwrap(), s);
        }
    }
}
