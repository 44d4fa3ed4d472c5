//! Shared pieces of the dashboard's list-and-form pages: a form described by its fields,
//! the values it shows (as stored, or as typed after an error), and a table of rows.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::error::ValidationErrors;
use maud::{html, Markup};

use super::view::{checkbox, csrf_field, layout, other_errors, select, text_input, textarea};
use super::{form_text, page, Signed};
use crate::api::params::Params;

/// How a field is shown.
pub(crate) enum Kind {
    Text,
    Area,
    Select(Vec<(String, String)>),
    /// A checkbox that sends `0` or `1`.
    Check,
    /// A checkbox per option, sent as a list (`name[]=a&name[]=b`; none ticked sends an
    /// empty value, which clears the list). Its value is the ticked options, comma-separated.
    Checks(Vec<(String, String)>),
}

/// One field of a form: its name (the API's), its label and how it is shown.
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
}

impl Field {
    pub(crate) fn text(name: &'static str, label: &'static str) -> Field {
        Field {
            name,
            label,
            kind: Kind::Text,
            required: false,
        }
    }

    pub(crate) fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub(crate) fn area(name: &'static str, label: &'static str) -> Field {
        Field {
            kind: Kind::Area,
            ..Field::text(name, label)
        }
    }

    pub(crate) fn select(
        name: &'static str,
        label: &'static str,
        options: Vec<(String, String)>,
    ) -> Field {
        Field {
            kind: Kind::Select(options),
            ..Field::text(name, label)
        }
    }

    pub(crate) fn checks(
        name: &'static str,
        label: &'static str,
        options: Vec<(String, String)>,
    ) -> Field {
        Field {
            kind: Kind::Checks(options),
            ..Field::text(name, label)
        }
    }

    pub(crate) fn check(name: &'static str, label: &'static str) -> Field {
        Field {
            kind: Kind::Check,
            ..Field::text(name, label)
        }
    }
}

/// The options of a select over a closed set (`ALL`, `as_i64`, `label` of core's enums).
pub(crate) fn options<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> i64,
    label: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|&v| (value(v).to_string(), label(v).to_string()))
        .collect()
}

/// What a form shows, by field name.
pub(crate) type Values = BTreeMap<&'static str, String>;

/// The values as typed in a posted form.
pub(crate) fn typed(form: &Params, fields: &[Field]) -> Values {
    fields
        .iter()
        .map(|f| {
            let value = match (&f.kind, form.get(f.name)) {
                (Kind::Checks(_), Some(serde_json::Value::Array(items))) => items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => form_text(form, f.name),
            };
            (f.name, value)
        })
        .collect()
}

/// A form of `fields` posting to `action` (a dashboard path).
pub(crate) fn form(
    s: &Signed,
    action: &str,
    fields: &[Field],
    values: &Values,
    errors: &ValidationErrors,
    submit: &str,
) -> Markup {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let value = |name: &str| values.get(name).map_or("", String::as_str);
    html! {
        form.card method="post" action=(s.ctx.href(action)) {
            (csrf_field(&s.ctx))
            (other_errors(errors, &names))
            @for f in fields {
                @match &f.kind {
                    Kind::Text => (text_input(f.label, f.name, value(f.name), errors, f.required)),
                    Kind::Area => (textarea(f.label, f.name, value(f.name), errors)),
                    Kind::Select(opts) => (select(f.label, f.name, opts, value(f.name), errors)),
                    Kind::Check => (checkbox(f.label, f.name, value(f.name) == "1")),
                    Kind::Checks(opts) => {
                        @let ticked: Vec<&str> = value(f.name).split(',').collect();
                        fieldset.field {
                            legend { (f.label) }
                            input type="hidden" name=(f.name) value="";
                            @for (v, text) in opts {
                                @let id = format!("{}-{v}", f.name);
                                div.check {
                                    input type="checkbox" id=(id) name={ (f.name) "[]" } value=(v) checked[ticked.contains(&v.as_str())];
                                    label for=(id) { (text) }
                                }
                            }
                            (super::view::field_errors(errors, f.name))
                        }
                    }
                }
            }
            div.actions { button.primary type="submit" { (submit) } }
        }
    }
}

/// The values of `fields` as a read-only list (for those who may not change them).
pub(crate) fn read_only(fields: &[Field], values: &Values) -> Markup {
    let shown = |f: &Field| -> String {
        let v = values.get(f.name).map_or("", String::as_str);
        match &f.kind {
            Kind::Select(opts) => opts
                .iter()
                .find(|(value, _)| value == v)
                .map_or_else(|| v.to_string(), |(_, label)| label.clone()),
            Kind::Checks(opts) => {
                let ticked: Vec<&str> = v.split(',').collect();
                opts.iter()
                    .filter(|(value, _)| ticked.contains(&value.as_str()))
                    .map(|(_, label)| label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            Kind::Check => if v == "1" { "yes" } else { "no" }.to_string(),
            Kind::Text | Kind::Area => v.to_string(),
        }
    };
    html! {
        table.list {
            tbody {
                @for f in fields {
                    tr { th scope="row" { (f.label) } td { (shown(f)) } }
                }
            }
        }
    }
}

/// A table: column headings, then rows of (link of the first cell, cells).
pub(crate) fn table(
    s: &Signed,
    headings: &[&str],
    rows: &[(Option<String>, Vec<String>)],
) -> Markup {
    html! {
        @if rows.is_empty() {
            p { "Nothing here yet." }
        } @else {
            table.list {
                thead { tr { @for h in headings { th { (h) } } } }
                tbody {
                    @for (href, cells) in rows {
                        tr {
                            @for (i, cell) in cells.iter().enumerate() {
                                td {
                                    @match (i, href) {
                                        (0, Some(h)) => a href=(s.ctx.href(h)) { (cell) },
                                        _ => (cell),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A full dashboard page.
pub(crate) fn respond(s: &Signed, status: StatusCode, title: &str, body: Markup) -> Response {
    page(
        status,
        layout(&s.ctx, Some(&s.active), title, body).into_string(),
    )
}

/// "1" or "0".
pub(crate) fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}
