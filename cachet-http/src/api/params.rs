//! Request parameters as Laravel sees them: the query string merged with the body (a JSON
//! object or a form), later sources overriding earlier ones, PHP-style nested keys
//! (`meta[key]=v`, `components[]=1`) in either encoding, and lenient scalar coercion
//! (`"3"` is an integer, `"True"` a boolean, JSON `null` is absent).
//!
//! Only the *shape* of values is checked here (a status must be an integer, a value a
//! finite number); every business rule (ranges, required fields, references) is the
//! service's. Shape problems are collected per field, Laravel-worded, and answered with 400.

use axum::http::{header, HeaderMap, StatusCode};
use cachet_core::store::{Order, MAX_PER_PAGE};
use cachet_core::ValidationErrors;
use serde_json::{Map, Number, Value};

use super::error::ApiError;

/// Deepest `a[b][c]...` nesting read from a form or query key; deeper brackets stay literal.
const MAX_KEY_DEPTH: usize = 8;
/// Page size when `per_page` is absent.
pub(crate) const DEFAULT_PER_PAGE: u32 = 20;
/// Page size when `per_page` is 0, empty or not a number (Laravel's default).
pub(crate) const FALLBACK_PER_PAGE: u32 = 15;

/// The merged parameters of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Params {
    map: Map<String, Value>,
}

/// The `name=value` pairs of a form body or query string (`+` is a space, `%XX` a byte).
///
/// Unlike a lossy decoder, bytes that are not UTF-8 are an error: a name silently changed
/// into U+FFFD is not what the client sent.
///
/// # Errors
/// 400 naming the parameter (or its position) that is not UTF-8.
fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |raw: &[u8]| -> Option<String> {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
        String::from_utf8(bytes).ok()
    };
    let mut pairs = Vec::new();
    for (n, pair) in body
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let Some(key) = decode(raw_key) else {
            return Err(ApiError::bad_request(format!(
                "Parameter number {} has a name that is not valid UTF-8.",
                n + 1
            )));
        };
        let Some(value) = decode(raw_value) else {
            let shown: String = key.chars().take(64).collect();
            return Err(ApiError::bad_request(format!(
                "The {shown} parameter is not valid UTF-8."
            )));
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

impl Params {
    /// Parameters of a query string.
    ///
    /// # Errors
    /// 400 when a name or value is not UTF-8 once percent-decoded.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Params, ApiError> {
        let mut p = Params::default();
        if let Some(q) = query {
            p.merge_form(q.as_bytes())?;
        }
        Ok(p)
    }

    /// Decoded `(key, value)` pairs of a query string, in order (for pagination links).
    pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
        query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Merges a request body over the parameters, by its content type.
    ///
    /// An empty body adds nothing, whatever its content type. A JSON body must be an
    /// object; a missing or `text/plain` content type is sniffed (JSON when it starts with
    /// `{`, `[` or `"`, else a form).
    ///
    /// # Errors
    /// 400 for malformed JSON or a JSON body that is not an object; 415 for a media type
    /// that is neither JSON nor a form.
    pub(crate) fn merge_body(&mut self, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() {
            return Ok(());
        }
        let essence = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let looks_json = matches!(trimmed.first(), Some(b'{' | b'[' | b'"'));
        match essence.as_deref() {
            Some(t)
                if t == "application/json"
                    || (t.starts_with("application/") && t.ends_with("+json")) =>
            {
                self.merge_json(trimmed)
            }
            Some("application/x-www-form-urlencoded") => self.merge_form(body),
            None | Some("" | "text/plain") => {
                if looks_json {
                    self.merge_json(trimmed)
                } else {
                    self.merge_form(trimmed)
                }
            }
            Some(_) => Err(ApiError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
        }
    }

    fn merge_json(&mut self, body: &[u8]) -> Result<(), ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("The request body is not valid JSON."))?;
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.map.insert(k, v);
                }
                Ok(())
            }
            Value::Null => Ok(()),
            _ => Err(ApiError::bad_request(
                "The request body must be a JSON object.",
            )),
        }
    }

    fn merge_form(&mut self, body: &[u8]) -> Result<(), ApiError> {
        // Keys set by this source; nested keys of one source accumulate, a later source
        // replaces the whole top-level key.
        let mut fresh: Map<String, Value> = Map::new();
        for (key, value) in form_pairs(body)? {
            let (name, segments) = split_key(&key);
            if name.is_empty() {
                continue;
            }
            let slot = fresh.entry(name).or_insert(Value::Null);
            insert(slot, &segments, Value::String(value));
        }
        for (k, mut v) in fresh {
            lists_from_indexes(&mut v);
            self.map.insert(k, v);
        }
        Ok(())
    }

    /// Removes `key` and returns its value (the dashboard takes its `csrf` field out before
    /// the form is decoded like an API request).
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// The value of `key`; JSON `null` is absent.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        #[cfg(test)]
        read::note(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// True when `key` is present and not null.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A reader that collects shape errors.
    pub(crate) fn fields(&self) -> Fields<'_> {
        Fields {
            params: self,
            errors: ValidationErrors::new(),
        }
    }

    /// Pagination of a list request (spec 3.1).
    pub(crate) fn paging(&self) -> (u32, u32) {
        let page = self
            .get("page")
            .and_then(as_int)
            .filter(|p| *p >= 1)
            .map_or(1, |p| u32::try_from(p).unwrap_or(u32::MAX));
        let per_page = match self.get("per_page") {
            None => DEFAULT_PER_PAGE,
            Some(v) => match as_int(v) {
                Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX).min(MAX_PER_PAGE),
                _ => FALLBACK_PER_PAGE,
            },
        };
        (page, per_page)
    }

    /// `sort` looked up in a whitelist, with `order` (`asc` default, `desc`).
    pub(crate) fn sort<S>(&self, from_key: impl Fn(&str) -> Option<S>) -> Option<(S, Order)> {
        let key = self.get("sort").and_then(Value::as_str)?;
        let column = from_key(key.trim())?;
        let order = match self.get("order").and_then(Value::as_str) {
            Some(o) if o.trim().eq_ignore_ascii_case("desc") => Order::Desc,
            _ => Order::Asc,
        };
        Some((column, order))
    }
}

/// In unit tests, the names of the parameters a decoder reads, so the OpenAPI document can
/// be checked against the decoders (`openapi::tests`).
#[cfg(test)]
pub(crate) mod read {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static NAMES: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
    }

    pub(super) fn note(key: &str) {
        NAMES.with(|n| {
            if let Some(names) = n.borrow_mut().as_mut() {
                names.insert(key.to_string());
            }
        });
    }

    /// The names `f` reads from any `Params` on this thread.
    pub(crate) fn names(f: impl FnOnce()) -> BTreeSet<String> {
        NAMES.with(|n| *n.borrow_mut() = Some(BTreeSet::new()));
        f();
        NAMES.with(|n| n.borrow_mut().take().unwrap_or_default())
    }
}

/// Splits `a[b][]` into `a` and `["b", ""]`, as PHP does; an unclosed bracket ends parsing.
fn split_key(key: &str) -> (String, Vec<String>) {
    let Some(open) = key.find('[') else {
        return (key.to_string(), Vec::new());
    };
    if open == 0 {
        return (key.to_string(), Vec::new());
    }
    let mut segments = Vec::new();
    let mut rest = &key[open..];
    while segments.len() < MAX_KEY_DEPTH {
        let Some(inner) = rest.strip_prefix('[') else {
            break;
        };
        let Some(close) = inner.find(']') else { break };
        segments.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    if segments.is_empty() {
        return (key.to_string(), Vec::new());
    }
    (key[..open].to_string(), segments)
}

fn insert(slot: &mut Value, segments: &[String], value: Value) {
    let Some((segment, rest)) = segments.split_first() else {
        *slot = value;
        return;
    };
    if segment.is_empty() {
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(items) = slot {
            items.push(Value::Null);
            if let Some(last) = items.last_mut() {
                insert(last, rest, value);
            }
        }
        return;
    }
    if !slot.is_object() {
        *slot = match std::mem::take(slot) {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Value::Object(Map::new()),
        };
    }
    if let Value::Object(map) = slot {
        let entry = map.entry(segment.clone()).or_insert(Value::Null);
        insert(entry, rest, value);
    }
}

/// Turns objects keyed exactly `0..n` into lists (PHP arrays encode that way).
fn lists_from_indexes(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(lists_from_indexes),
        Value::Object(map) => {
            map.values_mut().for_each(lists_from_indexes);
            let n = map.len();
            let sequential = n > 0 && (0..n).all(|i| map.contains_key(&i.to_string()));
            if sequential {
                let items: Vec<Value> = (0..n).filter_map(|i| map.remove(&i.to_string())).collect();
                *v = Value::Array(items);
            }
        }
        _ => {}
    }
}

/// Largest integer an `f64` holds exactly.
const EXACT_F64_INT: f64 = 9_007_199_254_740_992.0;

/// An integral finite float as an integer.
fn integral(f: f64) -> Option<i64> {
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT_F64_INT {
        // In range and integral (checked above), so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Some(f as i64)
    } else {
        None
    }
}

/// A JSON number with no fractional part is written as an integer (`999`, not `999.0`),
/// as PHP's `json_encode` does; non-finite values (never stored) become 0.
pub(crate) fn number(f: f64) -> Number {
    match integral(f) {
        Some(i) => Number::from(i),
        None => Number::from_f64(f).unwrap_or_else(|| Number::from(0)),
    }
}

/// An integer: a JSON integer, an integral float, or a string of digits, optionally with a
/// fraction of zeros (`"3.0"`: the same value as the JSON `3.0`, as a form sends it).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(integral)),
        Value::String(s) => {
            let t = s.trim();
            let t = match t.split_once('.') {
                Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => {
                    whole
                }
                Some(_) => return None,
                None => t,
            };
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse::<i64>().ok()
        }
        _ => None,
    }
}

/// A boolean: `true/false`, `1/0`, and the strings `1 0 true false on off yes no` in any case.
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(_) => match as_int(v) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => Some(true),
            "0" | "false" | "off" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A finite number: a JSON number or a decimal string (`"3.25"`, `"-1e3"`); `NaN`,
/// `Infinity` and overflowing strings are not numbers.
pub(crate) fn as_float(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let t = s.trim();
            let decimal = !t.is_empty()
                && t.bytes().any(|b| b.is_ascii_digit())
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            if !decimal {
                return None;
            }
            t.parse::<f64>().ok()?
        }
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// An empty (or blank) string: Laravel turns it into null, so typed fields treat it as absent.
fn blank(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim().is_empty())
}

fn human(field: &str) -> String {
    cachet_core::validate::human(field)
}

/// Reads typed fields, collecting a Laravel-worded error per malformed field.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    params: &'a Params,
    errors: ValidationErrors,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: String) {
        self.errors.add(field, message);
    }

    /// True when the field is present (not null).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.params.has(field)
    }

    /// A string; numbers are taken as their text.
    pub(crate) fn string(&mut self, field: &str) -> Option<String> {
        match self.params.get(field)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.fail(field, format!("The {} must be a string.", human(field)));
                None
            }
        }
    }

    /// An integer (`"3"` too; an empty string is absent).
    pub(crate) fn int(&mut self, field: &str) -> Option<i64> {
        let v = self.params.get(field)?;
        if blank(v) {
            return None;
        }
        let n = as_int(v);
        if n.is_none() {
            self.fail(field, format!("The {} must be an integer.", human(field)));
        }
        n
    }

    /// An integer flag that also accepts booleans (`visible`: `true` is 1).
    pub(crate) fn flag(&mut self, field: &str) -> Option<i64> {
        let v = self.params.get(field)?;
        if blank(v) {
            return None;
        }
        let n = as_int(v).or_else(|| as_bool(v).map(i64::from));
        if n.is_none() {
            self.fail(field, format!("The {} must be an integer.", human(field)));
        }
        n
    }

    /// A member of a closed set given by its integer (filters: `status=9` is an error, not
    /// an empty list). `visible`-style flags accept booleans.
    pub(crate) fn choice<T: TryFrom<i64>>(&mut self, field: &str) -> Option<T> {
        let n = self.flag(field)?;
        let v = T::try_from(n).ok();
        if v.is_none() {
            self.fail(field, format!("The selected {} is invalid.", human(field)));
        }
        v
    }

    /// A non-empty string (filters: an empty value filters nothing).
    pub(crate) fn text(&mut self, field: &str) -> Option<String> {
        self.string(field).filter(|s| !s.is_empty())
    }

    /// A finite number (`"3.25"` too).
    pub(crate) fn float(&mut self, field: &str) -> Option<f64> {
        let v = self.params.get(field)?;
        if blank(v) {
            return None;
        }
        let f = as_float(v);
        if f.is_none() {
            self.fail(field, format!("The {} must be a number.", human(field)));
        }
        f
    }

    /// A boolean (see [`as_bool`]).
    pub(crate) fn bool(&mut self, field: &str) -> Option<bool> {
        let v = self.params.get(field)?;
        if blank(v) {
            return None;
        }
        let b = as_bool(v);
        if b.is_none() {
            self.fail(
                field,
                format!("The {} field must be true or false.", human(field)),
            );
        }
        b
    }

    /// Any JSON value (objects, arrays, scalars); the service checks its shape.
    pub(crate) fn json(&mut self, field: &str) -> Option<Value> {
        self.params.get(field).cloned()
    }

    /// A list of strings: a comma-separated string or an array of strings.
    pub(crate) fn string_list(&mut self, field: &str) -> Option<Vec<String>> {
        match self.params.get(field)? {
            Value::String(s) => Some(
                s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            ),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.trim().to_string()),
                        Value::Number(n) => out.push(n.to_string()),
                        Value::Null => {}
                        _ => {
                            self.fail(field, format!("The {} must be a string.", human(field)));
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.fail(field, format!("The {} must be a string.", human(field)));
                None
            }
        }
    }

    /// A list of integers: an array, a single integer, or a comma-separated string.
    pub(crate) fn int_list(&mut self, field: &str) -> Option<Vec<i64>> {
        let items: Vec<Value> = match self.params.get(field)? {
            Value::Array(items) => items.clone(),
            Value::Object(map) => map.values().cloned().collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_string()))
                .collect(),
            other => vec![other.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if item.is_null() || blank(item) {
                continue;
            }
            match as_int(item) {
                Some(n) => out.push(n),
                None => {
                    self.fail(
                        field,
                        format!("The {}.{i} must be an integer.", human(field)),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Affected components of a schedule: a list of ids, a list of
    /// `{id|component_id, status|component_status}` objects, or an object `{id: status}`.
    pub(crate) fn component_statuses(&mut self, field: &str) -> Option<Vec<(i64, Option<i64>)>> {
        let value = self.params.get(field)?.clone();
        let bad = |s: &mut Self| {
            s.fail(
                field,
                format!(
                    "The {} must be an array of component ids and statuses.",
                    human(field)
                ),
            );
            None
        };
        let status_of = |v: Option<&Value>| -> Result<Option<i64>, ()> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) if blank(v) => Ok(None),
                Some(v) => as_int(v).map(Some).ok_or(()),
            }
        };
        let mut out = Vec::new();
        match value {
            Value::Array(items) => {
                for item in &items {
                    match item {
                        Value::Object(o) => {
                            let id = o
                                .get("component_id")
                                .or_else(|| o.get("id"))
                                .and_then(as_int);
                            let st =
                                status_of(o.get("component_status").or_else(|| o.get("status")));
                            match (id, st) {
                                (Some(id), Ok(st)) => out.push((id, st)),
                                _ => return bad(self),
                            }
                        }
                        Value::Null => {}
                        other => match as_int(other) {
                            Some(id) => out.push((id, None)),
                            None => return bad(self),
                        },
                    }
                }
            }
            Value::Object(map) => {
                for (k, v) in &map {
                    let Some(id) = as_int(&Value::String(k.clone())) else {
                        return bad(self);
                    };
                    match status_of(Some(v)) {
                        Ok(st) => out.push((id, st)),
                        Err(()) => return bad(self),
                    }
                }
            }
            other if blank(&other) => {}
            // A form sends a list as `1,3` (OpenAPI's `style: form, explode: false`).
            Value::String(s) => {
                for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    match as_int(&Value::String(t.to_string())) {
                        Some(id) => out.push((id, None)),
                        None => return bad(self),
                    }
                }
            }
            other => match as_int(&other) {
                Some(id) => out.push((id, None)),
                None => return bad(self),
            },
        }
        Some(out)
    }

    /// `Ok(())` when every field read had the right shape, else a 400 naming each.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        Ok(self.done()?)
    }

    /// `Ok(())` when every field read had the right shape, else the errors naming each
    /// (for the dashboard, which shows them beside its form fields).
    pub(crate) fn done(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;
    use serde_json::json;

    fn try_form(body: &[u8]) -> Result<Params, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let mut p = Params::default();
        p.merge_body(&headers, body)?;
        Ok(p)
    }

    fn form(body: &str) -> Params {
        try_form(body.as_bytes()).unwrap()
    }

    #[test]
    fn form_bytes_must_decode_to_utf8() {
        assert_eq!(form("a=%C3%BC+b").get("a"), Some(&json!("ü b")));
        assert_eq!(form("a=%EF%BF%BD").get("a"), Some(&json!("\u{fffd}")));
        for bad in [&b"a=%FF"[..], b"%C3=1", b"a=\xff", b"ok=1&b=%E2%82"] {
            let e = try_form(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn nested_form_keys() {
        let p = form("meta[uuid]=abc&meta[n]=1&components[]=1&components[]=3&tags[0]=a&tags[1]=b&x[=1&plain=v");
        assert_eq!(p.get("meta"), Some(&json!({"uuid": "abc", "n": "1"})));
        assert_eq!(p.get("components"), Some(&json!(["1", "3"])));
        assert_eq!(p.get("tags"), Some(&json!(["a", "b"])));
        assert_eq!(p.get("x["), Some(&json!("1")));
        assert_eq!(p.get("plain"), Some(&json!("v")));
        let p = form("c[1]=2&c[3]=4");
        assert_eq!(p.get("c"), Some(&json!({"1": "2", "3": "4"})));
    }

    #[test]
    fn body_overrides_query_and_null_is_absent() {
        let mut p = Params::from_query(Some("name=q&status=1&page=2")).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        p.merge_body(&headers, br#"{"name":"b","page":null}"#)
            .unwrap();
        assert_eq!(p.get("name"), Some(&json!("b")));
        assert_eq!(p.get("status"), Some(&json!("1")));
        assert!(!p.has("page"));
    }

    #[test]
    fn bodies_that_are_not_objects_are_rejected() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for body in [&b"[1]"[..], b"\"x\"", b"{bad", b"1", b"{\"a\":NaN}"] {
            let e = Params::default().merge_body(&headers, body).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{body:?}");
        }
        for body in [&b""[..], b"  ", b"{}", b"null"] {
            Params::default().merge_body(&headers, body).unwrap();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=x"),
        );
        assert_eq!(
            Params::default()
                .merge_body(&headers, b"--x")
                .unwrap_err()
                .status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        // No content type: sniffed.
        let mut p = Params::default();
        p.merge_body(&HeaderMap::new(), b"a=1&b=2").unwrap();
        assert_eq!(p.get("b"), Some(&json!("2")));
        let mut p = Params::default();
        p.merge_body(&HeaderMap::new(), br#"{"a":1}"#).unwrap();
        assert_eq!(p.get("a"), Some(&json!(1)));
    }

    #[test]
    fn scalar_coercions() {
        assert_eq!(as_int(&json!("3")), Some(3));
        assert_eq!(as_int(&json!(" -3 ")), Some(-3));
        assert_eq!(as_int(&json!(3.0)), Some(3));
        assert_eq!(as_int(&json!(1.5)), None);
        assert_eq!(as_int(&json!("1.5")), None);
        assert_eq!(as_int(&json!("4000465.0")), Some(4_000_465));
        assert_eq!(as_int(&json!("-2.00")), Some(-2));
        for bad in ["3.", ".0", "3.01", "3.0.0", "1e3", "-", "+.0"] {
            assert_eq!(as_int(&json!(bad)), None, "{bad}");
        }
        assert_eq!(as_int(&json!("abc")), None);
        assert_eq!(as_int(&json!([1])), None);
        assert_eq!(as_int(&json!("99999999999999999999")), None);
        assert_eq!(as_int(&json!(true)), None);
        for (v, b) in [
            (json!("True"), true),
            (json!("False"), false),
            (json!("1"), true),
            (json!(0), false),
            (json!("on"), true),
        ] {
            assert_eq!(as_bool(&v), Some(b), "{v}");
        }
        assert_eq!(as_bool(&json!(2)), None);
        assert_eq!(as_bool(&json!("maybe")), None);
        assert_eq!(as_float(&json!("3.25")), Some(3.25));
        assert_eq!(as_float(&json!("-1e3")), Some(-1000.0));
        for bad in [
            "NaN", "nan", "Infinity", "inf", "-inf", "1e999", "", "e", "0x10",
        ] {
            assert_eq!(as_float(&json!(bad)), None, "{bad}");
        }
    }

    #[test]
    fn whole_numbers_have_no_fraction() {
        assert_eq!(serde_json::to_string(&number(999.0)).unwrap(), "999");
        assert_eq!(serde_json::to_string(&number(-0.0)).unwrap(), "0");
        assert_eq!(serde_json::to_string(&number(12.5)).unwrap(), "12.5");
        assert_eq!(serde_json::to_string(&number(1e300)).unwrap(), "1e+300");
        assert_eq!(serde_json::to_string(&number(f64::NAN)).unwrap(), "0");
    }

    #[test]
    fn paging_rules() {
        assert_eq!(Params::from_query(None).unwrap().paging(), (1, 20));
        assert_eq!(
            Params::from_query(Some("per_page=0")).unwrap().paging(),
            (1, 15)
        );
        assert_eq!(
            Params::from_query(Some("per_page=")).unwrap().paging(),
            (1, 15)
        );
        assert_eq!(
            Params::from_query(Some("per_page=abc&page=abc"))
                .unwrap()
                .paging(),
            (1, 15)
        );
        assert_eq!(
            Params::from_query(Some("per_page=2&page=-4"))
                .unwrap()
                .paging(),
            (1, 2)
        );
        assert_eq!(
            Params::from_query(Some("per_page=999999&page=3"))
                .unwrap()
                .paging(),
            (3, MAX_PER_PAGE)
        );
        assert_eq!(
            Params::from_query(Some("page=99999999999999"))
                .unwrap()
                .paging()
                .0,
            u32::MAX
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        let p = form("status=abc&enabled=maybe&value=NaN&name[]=x");
        let mut f = p.fields();
        assert_eq!(f.int("status"), None);
        assert_eq!(f.bool("enabled"), None);
        assert_eq!(f.float("value"), None);
        assert_eq!(f.string("name"), None);
        let e = f.finish().unwrap_err();
        let details = e.details.unwrap();
        assert_eq!(
            details,
            vec![
                "The status must be an integer.",
                "The enabled field must be true or false.",
                "The value must be a number.",
                "The name must be a string."
            ]
        );
    }

    #[test]
    fn lists_in_a_form_may_be_comma_separated() {
        // OpenAPI's `style: form, explode: false` sends an array as `a=1,3`.
        let p = form("components=1,3&tags=a,b&ids=4&bad=1,x");
        let mut f = p.fields();
        assert_eq!(
            f.component_statuses("components"),
            Some(vec![(1, None), (3, None)])
        );
        assert_eq!(f.int_list("components"), Some(vec![1, 3]));
        assert_eq!(f.string_list("tags"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(f.component_statuses("ids"), Some(vec![(4, None)]));
        assert_eq!(f.component_statuses("bad"), None);
        let details = f.finish().unwrap_err().details.unwrap();
        assert_eq!(
            details,
            vec!["The bad must be an array of component ids and statuses."]
        );
    }

    proptest! {
        #[test]
        fn form_parsing_never_panics(s in "\\PC{0,80}") {
            let Ok(p) = try_form(s.as_bytes()) else {
                // Only percent escapes that are not UTF-8 are refused.
                prop_assert!(s.contains('%'));
                return Ok(());
            };
            let mut f = p.fields();
            for k in ["a", "b", "meta", "components"] {
                let _ = (f.int(k), f.float(k), f.bool(k), f.string_list(k), f.int_list(k), f.component_statuses(k));
            }
            let _ = p.paging();
        }

        #[test]
        fn bracket_keys_never_panic(k in "[a-z\\[\\]0-9]{0,30}", v in "[a-z0-9]{0,5}") {
            let _ = form(&format!("{k}={v}&{k}={v}"));
        }
    }
}
