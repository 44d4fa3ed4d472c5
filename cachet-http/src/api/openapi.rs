//! The OpenAPI 3.1 document of `/api/v1`, generated with utoipa from the handlers'
//! `#[utoipa::path]` attributes and the wire DTOs, and served at `GET /api/v1/openapi.json`.
//!
//! Where each part is written down:
//! - responses: the DTOs of `dto.rs` (and `ListBody`/`Data` in `mod.rs`, the error envelope
//!   in `error.rs`), whose field docs are the schema's descriptions;
//! - request bodies and list queries: beside the decoder that reads them, in each resource
//!   module (`components.rs`, ...), built with [`bodies!`] and [`query_params!`] from the
//!   field schemas below; a unit test checks that the documented names are the names each
//!   decoder reads;
//! - what holds for every operation is added here once, by [`Conventions`], so it cannot be
//!   forgotten on one route: the `X-Cachet-Token` scheme, the `Time-Zone` header, bodies
//!   accepted as JSON or as a form (the decoder reads both, see `params`), the error envelope
//!   for each status an operation can answer with, and links from each create to the
//!   operations on what it created.
//!
//! A request schema describes input the server accepts: where a rule cannot be written in
//! JSON Schema exactly (a serialised size, a nesting depth), the schema states a safe subset
//! and the description the rule.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa::openapi::encoding::{Encoding, EncodingBuilder};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, OpenApi as Document, PathItem, RefOr, Required, ServerBuilder,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::error::Envelope as ErrorEnvelope;
use super::{
    actions, components, deliveries, general, incidents, metrics, schedules, subscribers, PREFIX,
};

/// The name of the token scheme in `components.securitySchemes`.
pub(crate) const TOKEN_SCHEME: &str = "token";

/// Media types every request body may use.
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cachet API v1 (cachet-rs)",
        description = "The Cachet 2.4 JSON API as served by cachet-rs, with the deliberate \
            differences of the crate README (roles, visibility, no secrets, 400 for bad input).\n\n\
            Parameters are the query string merged with the body; a body is a JSON object or \
            a form (`application/x-www-form-urlencoded`), and the body wins. In a form, an \
            object is sent with PHP-style nested keys (`meta[key]=v`) and a list as \
            `components=1,3` (or `components[]=1&components[]=3`). Integers and numbers may \
            be sent as strings, booleans as `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`; \
            JSON `null` means absent; parameters the operation does not know are ignored. \
            Dates are written `Y-m-d H:i:s` in the `app_timezone` setting or the zone of the \
            `Time-Zone` header, and read as `Y-m-d H:i` or `Y-m-d H:i:s`.\n\n\
            Every path is also served with a trailing slash, and every `GET` answers `HEAD`. \
            Every failure answers the error envelope `{\"errors\":[...]}`; a method a path \
            does not serve is 405, an unknown path 404, and a client whose `Accept` header \
            excludes JSON 406.",
        version = "2.4.1",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        general::ping,
        general::version,
        general::status,
        document,
        components::list,
        components::create,
        components::get,
        components::update,
        components::delete,
        components::list_groups,
        components::create_group,
        components::get_group,
        components::update_group,
        components::delete_group,
        incidents::list,
        incidents::create,
        incidents::get,
        incidents::update,
        incidents::delete,
        incidents::list_updates,
        incidents::create_update,
        incidents::get_update,
        incidents::update_update,
        incidents::delete_update,
        incidents::list_templates,
        incidents::get_template,
        metrics::list,
        metrics::create,
        metrics::get,
        metrics::update,
        metrics::delete,
        metrics::list_points,
        metrics::create_point,
        metrics::update_point,
        metrics::delete_point,
        schedules::list,
        schedules::create,
        schedules::get,
        schedules::update,
        schedules::delete,
        subscribers::list,
        subscribers::create,
        subscribers::delete,
        subscribers::delete_subscription,
        actions::list,
        deliveries::list,
    ),
    components(schemas(ErrorEnvelope, TimeZone)),
    modifiers(&Conventions),
    tags(
        (name = "general", description = "Ping, version, overall status and this document."),
        (name = "components", description = "Components (spec 5.1)."),
        (name = "component groups", description = "Component groups (spec 5.2)."),
        (name = "incidents", description = "Incidents (spec 5.3)."),
        (name = "incident templates", description = "Incident templates, read only (spec 5.4)."),
        (name = "incident updates", description = "Incident updates (spec 5.5)."),
        (name = "metrics", description = "Metrics (spec 5.6)."),
        (name = "metric points", description = "Metric points (spec 5.7)."),
        (name = "schedules", description = "Maintenance windows (spec 5.8)."),
        (name = "subscribers", description = "Subscribers and subscriptions, admin only (spec 5.9)."),
        (name = "actions", description = "The audit log, admin only (this project's own)."),
        (name = "deliveries", description = "The notification outbox: mail and webhook deliveries, admin only (this project's own)."),
    )
)]
struct ApiDoc;

/// The document, built once.
fn doc() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The document for a router mounted at `mount` (`""` at the root), as JSON.
pub(crate) fn json_for(mount: &str) -> Vec<u8> {
    let mut d = doc().clone();
    d.servers = Some(vec![ServerBuilder::new()
        .url(format!("{mount}{PREFIX}"))
        .build()]);
    // Serialising the document's own types (strings, numbers, maps) cannot fail.
    serde_json::to_vec(&d).unwrap_or_default()
}

/// The JSON of the root-mounted document and its ETag, computed on first use.
fn root_json() -> &'static (Bytes, HeaderValue) {
    static JSON_ROOT: OnceLock<(Bytes, HeaderValue)> = OnceLock::new();
    JSON_ROOT.get_or_init(|| {
        let bytes = json_for("");
        let etag = etag_of(&bytes);
        (Bytes::from(bytes), etag)
    })
}

fn etag_of(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    // Hex digits in quotes are a valid header value.
    HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// `GET /openapi.json`: this document. Public and the same for every caller, so it may be
/// cached anywhere; the ETag answers a revalidation with 304.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "general",
    security(()),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json",
            body = Object),
        (status = 304, description = "The document has not changed since the ETag sent in `If-None-Match`."),
    )
)]
pub(crate) async fn document(
    OriginalUri(full): OriginalUri,
    inner: Uri,
    headers: HeaderMap,
) -> Response {
    // The crate's router may be nested under a prefix: the full path minus `/api/v1/...`.
    let mount = full
        .path()
        .strip_suffix(inner.path())
        .and_then(|p| p.strip_suffix(PREFIX))
        .unwrap_or("")
        .trim_end_matches('/');
    let (bytes, etag) = if mount.is_empty() {
        root_json().clone()
    } else {
        let bytes = json_for(mount);
        let etag = etag_of(&bytes);
        (Bytes::from(bytes), etag)
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag.to_str().unwrap_or("")
        });
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, bytes).into_response()
    };
    let h = res.headers_mut();
    if !fresh {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    h.insert(header::ETAG, etag);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// Operations that read no parameters (no `Req`), so never answer 400.
const NO_PARAMETERS: &[&str] = &["ping", "version", "openapi"];

/// Operations no setting or token can refuse (`always_authenticate` spares them).
const ALWAYS_PUBLIC: &[&str] = &["ping", "version", "status", "openapi"];

/// Adds what every operation shares (see the module doc).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, d: &mut Document) {
        let components = d.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            TOKEN_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Cachet-Token",
                "An API token (`cct_...`). Public reads treat a missing or unknown token as a \
                 guest (unless the `always_authenticate` setting is on, when they answer 401); \
                 writes, subscribers and actions answer 401 without a valid one and 403 when \
                 the token's role (or abilities) does not allow the operation.",
            ))),
        );
        for (name, description) in ERRORS {
            components.responses.insert(
                (*name).to_string(),
                RefOr::T(error_response(name, description)),
            );
        }
        let encodings = form_encodings(components);
        for (path, item) in d.paths.paths.iter_mut() {
            let has_ids = path.contains('{');
            let ops = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, false),
            ];
            for (op, writes_body) in ops {
                if let Some(op) = op.as_mut() {
                    shape_operation(op, has_ids, writes_body, &encodings);
                }
            }
        }
        add_links(&mut d.paths.paths);
    }
}

/// Reusable error responses: name and description.
const ERRORS: &[(&str, &str)] = &[
    (
        "BadRequest",
        "Bad input: a validation failure (every message in `meta.details`), a malformed \
         body, a parameter that is not UTF-8 or an unknown `Time-Zone`.",
    ),
    (
        "Unauthorized",
        "No valid `X-Cachet-Token` where one is required.",
    ),
    (
        "Forbidden",
        "The token's role or abilities do not allow this operation.",
    ),
    (
        "NotFound",
        "No such resource, or one the caller may not see, or a child of another parent.",
    ),
    (
        "NotAcceptable",
        "The `Accept` header does not allow `application/json`.",
    ),
    (
        "PayloadTooLarge",
        "The body is larger than the configured limit.",
    ),
    (
        "UnsupportedMediaType",
        "The body is neither JSON nor a form.",
    ),
    (
        "TooManyRequests",
        "Past the rate limit of the client address or of the token; `Retry-After` says in how \
         many seconds to try again.",
    ),
    (
        "ServiceUnavailable",
        "The store is unavailable, or the request took longer than the configured timeout.",
    ),
];

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// An error response; a 429 (`TooManyRequests`) also names its `Retry-After` header.
fn error_response(name: &str, description: &str) -> DocResponse {
    let mut builder = ResponseBuilder::new().description(description);
    if name == "TooManyRequests" {
        builder = builder.header(
            "Retry-After",
            utoipa::openapi::HeaderBuilder::new()
                .schema(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Whole seconds to wait."))
                .build(),
        );
    }
    builder
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref(&ErrorEnvelope::name())))
                .build(),
        )
        .build()
}

fn error_ref(name: &str) -> RefOr<DocResponse> {
    RefOr::Ref(utoipa::openapi::Ref::new(format!(
        "#/components/responses/{name}"
    )))
}

fn shape_operation(
    op: &mut Operation,
    has_ids: bool,
    writes_body: bool,
    encodings: &BTreeMap<String, BTreeMap<String, Encoding>>,
) {
    let id = op.operation_id.clone().unwrap_or_default();
    let reads_parameters = !NO_PARAMETERS.contains(&id.as_str());
    let uses_token = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| r != &Default::default()));
    if reads_parameters {
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(time_zone_header());
    }
    if let Some(body) = op.request_body.as_mut() {
        also_as_form(body, encodings);
    }
    let mut add = |status: &str, name: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_ref(name));
    };
    if reads_parameters {
        add("400", "BadRequest");
    }
    if uses_token && !ALWAYS_PUBLIC.contains(&id.as_str()) {
        add("401", "Unauthorized");
        add("403", "Forbidden");
    }
    if has_ids {
        add("404", "NotFound");
    }
    add("406", "NotAcceptable");
    add("429", "TooManyRequests");
    if writes_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    add("503", "ServiceUnavailable");
}

/// For each body schema in `components`, how a form sends its object and list properties:
/// an object as `meta[key]=v` (`deepObject`, as PHP reads it), a list as `a=1,3` (`form`,
/// not exploded: a repeated plain key keeps only its last value, as in PHP).
fn form_encodings(components: &Components) -> BTreeMap<String, BTreeMap<String, Encoding>> {
    let resolve = |s: &RefOr<Schema>| -> Option<Schema> {
        match s {
            RefOr::T(s) => Some(s.clone()),
            RefOr::Ref(r) => {
                let name = r.ref_location.rsplit('/').next()?;
                match components.schemas.get(name)? {
                    RefOr::T(s) => Some(s.clone()),
                    RefOr::Ref(_) => None,
                }
            }
        }
    };
    let mut out = BTreeMap::new();
    for (name, schema) in &components.schemas {
        let Some(Schema::Object(body)) = resolve(schema) else {
            continue;
        };
        let mut encodings = BTreeMap::new();
        for (field, schema) in &body.properties {
            let encoding = match resolve(schema) {
                Some(Schema::Array(_)) => EncodingBuilder::new()
                    .style(Some(ParameterStyle::Form))
                    .explode(Some(false)),
                Some(Schema::Object(o)) if has_type(&o.schema_type, Type::Array) => {
                    EncodingBuilder::new()
                        .style(Some(ParameterStyle::Form))
                        .explode(Some(false))
                }
                Some(Schema::Object(o)) if has_type(&o.schema_type, Type::Object) => {
                    EncodingBuilder::new()
                        .style(Some(ParameterStyle::DeepObject))
                        .explode(Some(true))
                }
                _ => continue,
            };
            encodings.insert(field.clone(), encoding.build());
        }
        if !encodings.is_empty() {
            out.insert(name.clone(), encodings);
        }
    }
    out
}

fn has_type(t: &SchemaType, wanted: Type) -> bool {
    match t {
        SchemaType::Type(t) => *t == wanted,
        SchemaType::Array(ts) => ts.contains(&wanted),
        SchemaType::AnyValue => false,
    }
}

/// The decoder reads a form exactly as it reads a JSON object, so every JSON body is also
/// offered as `application/x-www-form-urlencoded`, with the encodings of [`form_encodings`].
fn also_as_form(body: &mut RequestBody, encodings: &BTreeMap<String, BTreeMap<String, Encoding>>) {
    let Some(mut form) = body.content.get(JSON).cloned() else {
        return;
    };
    if let Some(RefOr::Ref(r)) = &form.schema {
        let name = r.ref_location.rsplit('/').next().unwrap_or_default();
        if let Some(e) = encodings.get(name) {
            form.encoding.clone_from(e);
        }
    }
    body.content.entry(FORM.to_string()).or_insert(form);
}

/// Links from each create (`POST /things`) to the operations on what it made
/// (`/things/{id}` and below), so a client (or a fuzzer) can follow the id it was given.
fn add_links(paths: &mut utoipa::openapi::path::PathsMap<String, PathItem>) {
    // Path, operation id and path parameters of every operation.
    let mut targets: Vec<(String, String, Vec<String>)> = Vec::new();
    for (path, item) in paths.iter() {
        for op in [&item.get, &item.put, &item.post, &item.delete]
            .into_iter()
            .flatten()
        {
            if let Some(id) = &op.operation_id {
                targets.push((path.clone(), id.clone(), path_params(path)));
            }
        }
    }
    for (path, item) in paths.iter_mut() {
        let Some(create) = item.post.as_mut() else {
            continue;
        };
        let known = path_params(path);
        let Some(RefOr::T(ok)) = create.responses.responses.get_mut("200") else {
            continue;
        };
        let below = format!("{path}/{{");
        for (target, op_id, params) in &targets {
            let Some(rest) = target.strip_prefix(&below) else {
                continue;
            };
            let Some((made, _)) = rest.split_once('}') else {
                continue;
            };
            if !params.iter().all(|p| p == made || known.contains(p)) {
                continue;
            }
            // utoipa 5 writes `Link::operation_id` as `operation_id`, not `operationId`.
            let mut name = utoipa::openapi::extensions::Extensions::default();
            name.insert("operationId".into(), op_id.clone().into());
            let mut link = LinkBuilder::new()
                .extensions(Some(name))
                .description(format!("`{made}` is the id of what was created."));
            for p in params {
                let value = if p == made {
                    "$response.body#/data/id".to_string()
                } else {
                    format!("$request.path.{p}")
                };
                link = link.parameter(p, value);
            }
            ok.links.insert(op_id.clone(), RefOr::T(link.build()));
        }
    }
}

/// `{a}` and `{b}` of `/x/{a}/y/{b}`.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// An IANA zone name, from the zone database the server uses.
pub(crate) struct TimeZone;

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name."))
            .enum_values(Some(zones))
            .into()
    }
}

impl ToSchema for TimeZone {}

fn time_zone_header() -> Parameter {
    ParameterBuilder::new()
        .name("Time-Zone")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Zone in which dates are written and local input times read (IANA name, e.g. \
             `Europe/Berlin`); default: the `app_timezone` setting. An unknown name is 400.",
        ))
        .schema(Some(schema_ref(&TimeZone::name())))
        .build()
}

// ---- Query parameters -------------------------------------------------------------------

/// An optional query parameter.
pub(crate) fn query(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// An `int64`.
pub(crate) fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// The `id` filter.
pub(crate) fn id_filter() -> Parameter {
    query(
        "id",
        "Only the row with this id.",
        integer().minimum(Some(1)),
    )
}

/// A boolean.
pub(crate) fn boolean() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Boolean)
}

/// A string.
pub(crate) fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A closed set given by its integer, from the core enum's members.
pub(crate) fn choice(values: impl IntoIterator<Item = i64>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(values.into_iter().collect::<Vec<_>>()))
}

/// `page`, `per_page`, `sort` (from the store's whitelist) and `order`.
pub(crate) fn list_params(sort_keys: impl IntoIterator<Item = &'static str>) -> Vec<Parameter> {
    let keys: Vec<&str> = sort_keys.into_iter().collect();
    vec![
        query(
            "page",
            "Page number, from 1 (default 1; anything else reads as 1).",
            integer().minimum(Some(1)),
        ),
        query(
            "per_page",
            "Rows per page (default 20, at most the store's cap; 0 or a non-number reads as 15).",
            integer()
                .minimum(Some(1))
                .maximum(Some(cachet_core::store::MAX_PER_PAGE)),
        ),
        query(
            "sort",
            "Column to sort by; any other value is ignored.",
            text().enum_values(Some(keys)),
        ),
        query(
            "order",
            "Sort direction (default `asc`).",
            text().enum_values(Some(["asc", "desc"])),
        ),
    ]
}

/// A list's query type `$name` (for `params(...)`): [`list_params`] from the sort whitelist
/// `$sort`, then its filters.
macro_rules! query_params {
    ($(#[$doc:meta])* $name:ident, $sort:ty $(, [$($filter:expr),* $(,)?])?) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                #[allow(unused_mut)]
                let mut params = $crate::api::openapi::list_params(
                    <$sort>::ALL.iter().map(|s| s.key()),
                );
                params.extend([$($($filter),*)?]);
                params
            }
        }
    };
}
pub(crate) use query_params;

// ---- Request bodies ---------------------------------------------------------------------

/// Two body schemas from one field list `$body` (a `#[derive(ToSchema)]` struct, every
/// field written as required): `$change` with no field required (a `PUT`, where an absent
/// field is unchanged) and `$create` with `$required` required (a `POST`); `dependent`
/// adds JSON Schema's `dependentRequired` (`"a" => ["b"]`: with `a`, `b` is required too).
/// JSON `null` also means absent; the schemas leave it out, as a form cannot send it.
macro_rules! bodies {
    (
        $change:ident, $create:ident = $body:ty, [$($required:literal),* $(,)?]
        $(, dependent [$($if:literal => [$($then:literal),*]),* $(,)?])?
    ) => {
        #[doc = concat!("`", stringify!($body), "` with every field optional (a `PUT`).")]
        pub(crate) struct $change;

        impl utoipa::PartialSchema for $change {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::api::openapi::body_schema::<$body>(
                    &[],
                    &[$($(($if, &[$($then),*])),*)?],
                )
            }
        }

        impl utoipa::ToSchema for $change {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$body as utoipa::ToSchema>::schemas(schemas);
            }
        }

        $crate::api::openapi::bodies!(
            $create = $body, [$($required),*] $(, dependent [$($if => [$($then),*]),*])?
        );
    };
    (
        $create:ident = $body:ty, [$($required:literal),* $(,)?]
        $(, dependent [$($if:literal => [$($then:literal),*]),* $(,)?])?
    ) => {
        #[doc = concat!("`", stringify!($body), "` as a create (`POST`) needs it.")]
        pub(crate) struct $create;

        impl utoipa::PartialSchema for $create {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::api::openapi::body_schema::<$body>(
                    &[$($required),*],
                    &[$($(($if, &[$($then),*])),*)?],
                )
            }
        }

        impl utoipa::ToSchema for $create {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$body as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}
pub(crate) use bodies;

/// The schema of `T` with exactly `required` required and the `dependent` requirements.
pub(crate) fn body_schema<T: PartialSchema>(
    required: &[&str],
    dependent: &[(&str, &[&str])],
) -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(o)) = &mut schema {
        o.required = required.iter().map(|f| (*f).to_string()).collect();
        if !dependent.is_empty() {
            let rules: serde_json::Map<String, serde_json::Value> = dependent
                .iter()
                .map(|(field, needs)| ((*field).to_string(), serde_json::json!(needs)))
                .collect();
            o.extensions
                .get_or_insert_with(Default::default)
                .insert("dependentRequired".into(), rules.into());
        }
    }
    schema
}

/// Defines `$name`, a named schema for a request field (`#[schema(value_type = $name)]`).
macro_rules! field_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {}
    };
}

/// Characters `validate::text` refuses: controls (Unicode `Cc`) other than tab, CR and LF.
const CONTROLS: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";
/// Characters `validate::name` refuses: every control but tab.
const LINE_CONTROLS: &str = r"\x00-\x08\x0a-\x1f\x7f-\x9f";

fn single_line(max: usize) -> ObjectBuilder {
    text()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!(
            r"^[^{LINE_CONTROLS}]*[^\s{LINE_CONTROLS}][^{LINE_CONTROLS}]*$"
        )))
}

fn multi_line(max: usize) -> ObjectBuilder {
    text()
        .max_length(Some(max))
        .pattern(Some(format!(r"^[^{CONTROLS}]*$")))
}

/// A local time in a body or query: `Y-m-d H:i` (or `Y-m-d H:i:s`) in the request's zone.
/// The pattern keeps to days every month has, from 1971 to 2099, so that every time it
/// allows is one the server reads in every zone (a wall time skipped by a daylight saving
/// change is still refused); any real time from 1970 on is read.
pub(crate) fn local_time() -> ObjectBuilder {
    text()
        .description(Some(
            "`Y-m-d H:i` or `Y-m-d H:i:s` in the request's zone (the `Time-Zone` header, \
             else the `app_timezone` setting), from 1970-01-01 UTC.",
        ))
        .pattern(Some(
            r"^(19[7-9][1-9]|19[89]0|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]) ([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        ))
        .examples(["2024-03-05 10:00"])
}

field_schema!(
    /// A name: one line, not blank, at most 255 characters, no control characters but tab.
    Name => single_line(cachet_core::validate::MAX_NAME)
);

field_schema!(
    /// A plain text of at most 10 000 characters; no control characters but tab and line
    /// breaks.
    Text => multi_line(cachet_core::validate::MAX_TEXT)
);

field_schema!(
    /// A short text (a metric's suffix): at most 255 characters, no control characters but
    /// tab and line breaks.
    ShortText => multi_line(cachet_core::validate::MAX_NAME)
);

field_schema!(
    /// Markdown, rendered and sanitized on write: not blank, no NUL. The limit is 64 KiB
    /// of UTF-8 (and a nesting depth); the schema allows 4096 characters, which always fit.
    Message => text()
        .min_length(Some(1))
        .max_length(Some(4096))
        .pattern(Some(r"^[^\x00]*[^\s\x00][^\x00]*$"))
);

field_schema!(
    /// Markdown, rendered and sanitized on write, or an empty string for none; no NUL, at
    /// most 64 KiB (the schema allows 4096 characters).
    OptionalMessage => text()
        .max_length(Some(4096))
        .pattern(Some(r"^[^\x00]*$"))
);

field_schema!(
    /// A local time (see the document's description).
    LocalTimeInput => local_time()
);

field_schema!(
    /// A local time, or an empty string for none.
    OptionalLocalTimeInput => {
        let mut o: Object = local_time().build();
        if let Some(p) = o.pattern.as_mut() {
            *p = format!("^$|{p}");
        }
        o
    }
);

field_schema!(
    /// An absolute `http`/`https` URL with a host, without credentials, written as a URL is
    /// written (no spaces, quotes, angle brackets), or empty. The pattern is a subset that is
    /// always accepted: lowercase host names, an optional port and a plain path.
    Link => text()
        .max_length(Some(2000))
        .pattern(Some(
            r"^(https?://[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?)?$",
        ))
);

field_schema!(
    /// An email address: one `@`, a local part of printable ASCII without specials, a domain
    /// of two or more labels of letters, digits and inner hyphens.
    EmailAddress => text()
        .max_length(Some(cachet_core::validate::MAX_EMAIL))
        .pattern(Some(
            r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?)+$",
        ))
);

/// A small JSON object of scalars: at most 10 keys of 1 to 64 characters, each value a
/// number, a boolean or a string of at most 120 characters without control characters.
fn small_object() -> ObjectBuilder {
    let value = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Boolean,
        ]))
        .max_length(Some(120))
        .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$"));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(10))
        .property_names(Some(text().min_length(Some(1)).max_length(Some(64))))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(
            value.build(),
        )))))
}

field_schema!(
    /// Custom data: any JSON object (or array) of at most 16 KiB serialised; it replaces
    /// the component's whole `meta`. The schema allows a small object of scalars.
    ComponentMeta => small_object()
);

field_schema!(
    /// Custom data, one row per key: keys of 1 to 255 characters, values of at most 255
    /// characters as JSON; an empty string or `null` deletes the key on change. The schema
    /// allows a small object of scalars.
    IncidentMeta => small_object()
);

field_schema!(
    /// Template variables: a JSON object, each key a top-level variable of the template.
    TemplateVars => ObjectBuilder::new().schema_type(Type::Object)
);

field_schema!(
    /// Tag names (a list, or a comma-separated string), at most 50, each a name with a
    /// letter or digit; they replace the set.
    TagNames => ArrayBuilder::new()
        .items(
            single_line(64).pattern(Some(format!(
                r"^[^,{LINE_CONTROLS}]*[A-Za-z0-9][^,{LINE_CONTROLS}]*$"
            ))),
        )
        .max_items(Some(cachet_core::validate::MAX_TAGS))
);

field_schema!(
    /// Component ids (a list, or a comma-separated string), at most 1000.
    ComponentIds => ArrayBuilder::new()
        .items(integer().minimum(Some(1)).maximum(Some(cachet_core::validate::MAX_INT)))
        .max_items(Some(cachet_core::validate::MAX_COMPONENT_REFS))
);

field_schema!(
    /// Bucket size in minutes: a divisor of 60.
    Threshold => integer().enum_values(Some([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]))
);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cachet_core::enums::{CalcType, MetricView, MetricVisibility, ScheduleStatus};
    use cachet_core::validate::{MAX_EMAIL, MAX_INT, MAX_METRIC_VALUE, MAX_NAME, MAX_TEXT};
    use utoipa::IntoParams;

    use super::super::params::{read, Params};
    use super::*;

    #[test]
    fn limits_in_the_schemas_are_the_cores() {
        // The derive needs literals; these tie them to the core's constants.
        assert_eq!(MAX_NAME, 255);
        assert_eq!(MAX_TEXT, 10_000);
        assert_eq!(MAX_EMAIL, 254);
        assert_eq!(MAX_INT, 2_147_483_647);
        assert!((MAX_METRIC_VALUE - 1e12).abs() < f64::EPSILON);
        assert_eq!(CalcType::ALL.len(), 2);
        assert_eq!(MetricView::ALL.len(), 4);
        assert_eq!(MetricVisibility::ALL.len(), 3);
        assert_eq!(ScheduleStatus::ALL.len(), 3);
        let divisors: Vec<i64> = (1..=60).filter(|t| 60 % t == 0).collect();
        let RefOr::T(Schema::Object(t)) = Threshold::schema() else {
            panic!("threshold is an object schema");
        };
        assert_eq!(
            t.enum_values,
            Some(divisors.into_iter().map(Into::into).collect())
        );
    }

    fn properties<T: PartialSchema>() -> BTreeSet<String> {
        let RefOr::T(Schema::Object(o)) = T::schema() else {
            panic!("not an object schema");
        };
        o.properties.keys().cloned().collect()
    }

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    fn params<T: IntoParams>() -> BTreeSet<String> {
        T::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    /// What a list handler reads besides its filter.
    const PAGING: &[&str] = &["page", "per_page", "sort", "order"];

    fn paging_names() -> BTreeSet<String> {
        // `order` is read only with a known `sort`.
        let p = Params::from_query(Some("sort=id")).unwrap();
        read::names(|| {
            let _ = p.paging();
            let _ = p.sort(|_| Some(()));
        })
    }

    #[test]
    fn every_body_field_the_decoders_read_is_documented() {
        let empty = Params::default();
        let cases: [(&str, BTreeSet<String>, BTreeSet<String>); 8] = [
            (
                "component",
                read::names(|| drop(components::component_input(&empty))),
                properties::<components::ComponentBody>(),
            ),
            (
                "group",
                read::names(|| drop(components::group_input(&empty))),
                properties::<components::GroupBody>(),
            ),
            (
                "incident",
                read::names(|| drop(incidents::incident_input(&empty, None, true))),
                properties::<incidents::IncidentBody>(),
            ),
            (
                "update",
                read::names(|| drop(incidents::update_input(&empty))),
                properties::<incidents::UpdateBody>(),
            ),
            (
                "metric",
                read::names(|| drop(metrics::metric_input(&empty))),
                properties::<metrics::MetricBody>(),
            ),
            (
                "point",
                read::names(|| drop(metrics::point_input(&empty))),
                properties::<metrics::PointBody>(),
            ),
            (
                "schedule",
                read::names(|| drop(schedules::schedule_input(&empty, None))),
                properties::<schedules::ScheduleBody>(),
            ),
            (
                "subscriber",
                read::names(|| drop(subscribers::subscriber_input(&empty))),
                properties::<subscribers::SubscriberBody>(),
            ),
        ];
        for (what, read, documented) in cases {
            assert_eq!(read, documented, "{what}: decoder reads vs document");
        }
        // On change, an incident reads the same fields but the create-only alias.
        let change = read::names(|| drop(incidents::incident_input(&empty, None, false)));
        let mut expected = properties::<incidents::IncidentBody>();
        expected.remove("created_at");
        assert_eq!(change, expected);
    }

    #[test]
    fn every_query_parameter_the_lists_read_is_documented() {
        assert_eq!(paging_names(), names(PAGING));
        let empty = Params::default();
        let with_paging = |filter: BTreeSet<String>| -> BTreeSet<String> {
            filter.into_iter().chain(names(PAGING)).collect()
        };
        let cases: [(&str, BTreeSet<String>, BTreeSet<String>); 11] = [
            (
                "components",
                with_paging(read::names(|| drop(components::component_filter(&empty)))),
                params::<components::ComponentQuery>(),
            ),
            (
                "groups",
                with_paging(read::names(|| drop(components::group_filter(&empty)))),
                params::<components::GroupQuery>(),
            ),
            (
                "incidents",
                with_paging(read::names(|| drop(incidents::incident_filter(&empty)))),
                params::<incidents::IncidentQuery>(),
            ),
            (
                "actions",
                with_paging(read::names(|| {
                    drop(actions::audit_filter(&empty, cachet_core::Tz::UTC));
                })),
                params::<actions::ActionQuery>(),
            ),
            (
                "deliveries",
                with_paging(read::names(|| drop(deliveries::delivery_filter(&empty)))),
                params::<deliveries::DeliveryQuery>(),
            ),
            ("updates", names(PAGING), params::<incidents::UpdateQuery>()),
            (
                "templates",
                names(PAGING),
                params::<incidents::TemplateQuery>(),
            ),
            ("metrics", names(PAGING), params::<metrics::MetricQuery>()),
            ("points", names(PAGING), params::<metrics::PointQuery>()),
            (
                "schedules",
                names(PAGING),
                params::<schedules::ScheduleQuery>(),
            ),
            (
                "subscribers",
                names(PAGING),
                params::<subscribers::SubscriberQuery>(),
            ),
        ];
        for (what, read, documented) in cases {
            assert_eq!(read, documented, "{what}: list reads vs document");
        }
    }

    #[test]
    fn forms_send_objects_as_nested_keys_and_lists_comma_separated() {
        let d = doc();
        let body = d.paths.paths["/components"].post.as_ref().unwrap();
        let body = body.request_body.as_ref().unwrap();
        let form = &body.content[FORM];
        assert_eq!(json(&form.schema), json(&body.content[JSON].schema));
        assert_eq!(
            json(&form.encoding),
            serde_json::json!({
                "meta": {"style": "deepObject", "explode": true},
                "tags": {"style": "form", "explode": false},
            }),
            "only objects and lists are encoded"
        );
    }

    #[test]
    fn creates_link_to_what_they_made() {
        let d = doc();
        let links = |path: &str| -> BTreeMap<String, serde_json::Value> {
            let op = d.paths.paths[path].post.as_ref().unwrap();
            let Some(RefOr::T(ok)) = op.responses.responses.get("200") else {
                panic!("{path}: no 200");
            };
            ok.links
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap()))
                .collect()
        };
        let incident = links("/incidents");
        assert_eq!(
            incident.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "create_incident_update",
                "delete_incident",
                "get_incident",
                "list_incident_updates",
                "update_incident"
            ]
        );
        assert_eq!(
            incident["get_incident"]["parameters"],
            serde_json::json!({"id": "$response.body#/data/id"})
        );
        let update = links("/incidents/{id}/updates");
        assert_eq!(
            update["get_incident_update"]["parameters"],
            serde_json::json!({"id": "$request.path.id", "uid": "$response.body#/data/id"})
        );
        // `/components/groups/{id}` is not below a component.
        assert!(!links("/components").contains_key("get_group"));
        assert!(links("/components/groups").contains_key("get_group"));
    }
}
