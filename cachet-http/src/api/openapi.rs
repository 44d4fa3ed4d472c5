//! The OpenAPI 3.1 document of `/api/v1`, generated with utoipa from the handlers'
//! `#[utoipa::path]` attributes and the wire DTOs, and served at `GET /api/v1/openapi.json`.
//!
//! What holds for every operation is added here once, by [`Conventions`], so it cannot be
//! forgotten on one route: the `X-Cachet-Token` scheme, the `Time-Zone` header, bodies
//! accepted as JSON or as a form (the decoder reads both, see `params`), and the error
//! envelope for each status an operation can answer with. Query parameters are built from
//! the same whitelists the store uses (`ComponentSort::ALL`, ...), so they never drift.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cachet_core::enums::{ComponentStatus, GroupCollapsed, IncidentStatus, Visibility};
use cachet_core::store::{
    AuditSort, ComponentSort, GroupSort, IncidentSort, MetricSort, PointSort, ScheduleSort,
    SubscriberSort, TemplateSort, UpdateSort, MAX_PER_PAGE,
};
use sha2::{Digest, Sha256};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, Required, ServerBuilder};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};

use super::error::Envelope as ErrorEnvelope;
use super::{actions, components, general, incidents, metrics, schedules, subscribers, PREFIX};

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
            a form (`application/x-www-form-urlencoded`, PHP-style nested keys such as \
            `meta[key]=v` and `components[]=1`), and the body wins. Integers and numbers may \
            be sent as strings, booleans as `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`; \
            JSON `null` means absent. Dates are written `Y-m-d H:i:s` in the `app_timezone` \
            setting or the zone of the `Time-Zone` header, and read as `Y-m-d H:i` or \
            `Y-m-d H:i:s`.\n\n\
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
    security((), ("token" = [])),
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
        .any(|t| t.trim().trim_start_matches("W/") == etag.to_str().unwrap_or(""));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, bytes).into_response()
    };
    let h = res.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
                 guest; writes, subscribers and actions answer 401 without a valid one and 403 \
                 when the token's role (or abilities) does not allow the operation.",
            ))),
        );
        for (name, status, description) in ERRORS {
            components
                .responses
                .insert((*name).to_string(), RefOr::T(error_response(*status, description)));
        }
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
                    shape_operation(op, has_ids, writes_body);
                }
            }
        }
    }
}

/// Reusable error responses: name, status, description.
const ERRORS: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "Bad input: a validation failure (every message in `meta.details`), a malformed \
         body, a parameter that is not UTF-8 or an unknown `Time-Zone`.",
    ),
    (
        "Unauthorized",
        401,
        "No valid `X-Cachet-Token` where one is required.",
    ),
    (
        "Forbidden",
        403,
        "The token's role or abilities do not allow this operation.",
    ),
    (
        "NotFound",
        404,
        "No such resource, or one the caller may not see, or a child of another parent.",
    ),
    (
        "MethodNotAllowed",
        405,
        "The path exists but does not serve this method.",
    ),
    (
        "NotAcceptable",
        406,
        "The `Accept` header does not allow `application/json`.",
    ),
    (
        "PayloadTooLarge",
        413,
        "The body is larger than the configured limit.",
    ),
    (
        "UnsupportedMediaType",
        415,
        "The body is neither JSON nor a form.",
    ),
    (
        "ServiceUnavailable",
        503,
        "The store is unavailable, or the request took longer than the configured timeout.",
    ),
];

fn error_response(status: u16, description: &str) -> DocResponse {
    let _ = status;
    ResponseBuilder::new()
        .description(description)
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorEnvelope",
                ))))
                .build(),
        )
        .build()
}

fn error_ref(name: &str) -> RefOr<DocResponse> {
    RefOr::Ref(utoipa::openapi::Ref::new(format!(
        "#/components/responses/{name}"
    )))
}

fn shape_operation(op: &mut Operation, has_ids: bool, writes_body: bool) {
    let id = op.operation_id.clone().unwrap_or_default();
    let reads_parameters = !NO_PARAMETERS.contains(&id.as_str());
    // A requirement list without the empty requirement `{}` means a token is mandatory.
    let token_required = op
        .security
        .as_ref()
        .is_some_and(|s| !s.iter().any(|r| r == &Default::default()));
    if reads_parameters {
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(time_zone_header());
    }
    if let Some(body) = op.request_body.as_mut() {
        also_as_form(body);
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
    if token_required {
        add("401", "Unauthorized");
        add("403", "Forbidden");
    }
    if has_ids {
        add("404", "NotFound");
    }
    add("406", "NotAcceptable");
    if writes_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    add("503", "ServiceUnavailable");
}

/// The decoder reads a form exactly as it reads a JSON object, so every JSON body is also
/// offered as `application/x-www-form-urlencoded`.
fn also_as_form(body: &mut RequestBody) {
    if let Some(json) = body.content.get(JSON).cloned() {
        body.content.entry(FORM.to_string()).or_insert(json);
    }
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
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            TimeZone::name(),
        ))))
        .build()
}

// ---- Query parameters -------------------------------------------------------------------

fn query(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

fn id_filter() -> Parameter {
    query("id", "Only the row with this id.", integer().minimum(Some(1)))
}

fn boolean() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Boolean)
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A closed set given by its integer, from the core enum's members.
fn choice(values: impl IntoIterator<Item = i64>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(values.into_iter().collect::<Vec<_>>()))
}

/// `page`, `per_page`, `sort` (from the store's whitelist) and `order`.
fn list_params(sort_keys: impl IntoIterator<Item = &'static str>) -> Vec<Parameter> {
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
            integer().minimum(Some(1)).maximum(Some(MAX_PER_PAGE)),
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

/// A list's query: [`list_params`] from the sort whitelist `$sort`, then its filters.
macro_rules! query_params {
    ($(#[$doc:meta])* $name:ident, $sort:ty $(, [$($filter:expr),* $(,)?])?) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                let mut params = list_params(<$sort>::ALL.iter().map(|s| s.key()));
                params.extend([$($($filter),*)?]);
                params
            }
        }
    };
}

query_params!(
    /// Query of `GET /components`.
    ComponentQuery, ComponentSort, [
        id_filter(),
        query("name", "Exact name.", text()),
        query("status", "Status (an unknown value is 400).",
            choice(ComponentStatus::ALL.iter().map(|s| s.as_i64()))),
        query("group_id", "Group id; 0 for ungrouped components.", integer().minimum(Some(0))),
        query("enabled", "Enabled or not.", boolean()),
        query("tags", "Comma-separated tag names or slugs; a component must have them all.", text()),
    ]
);

query_params!(
    /// Query of `GET /components/groups`.
    GroupQuery, GroupSort, [
        id_filter(),
        query("name", "Exact name.", text()),
        query("collapsed", "Collapsed value (an unknown value is 400).",
            choice(GroupCollapsed::ALL.iter().map(|s| s.as_i64()))),
        query("visible", "Visibility (an unknown value is 400).",
            choice(Visibility::ALL.iter().map(|s| s.as_i64()))),
    ]
);

query_params!(
    /// Query of `GET /incidents`.
    IncidentQuery, IncidentSort, [
        id_filter(),
        query("user_id", "Author's user id.", integer()),
        query("component_id", "Linked component id; 0 for none.", integer().minimum(Some(0))),
        query("name", "Exact name.", text()),
        query("status", "Status (an unknown value is 400).",
            choice(IncidentStatus::ALL.iter().map(|s| s.as_i64()))),
        query("visible", "Visibility (an unknown value is 400).",
            choice(Visibility::ALL.iter().map(|s| s.as_i64()))),
        query("stickied", "Stickied or not.", boolean()),
    ]
);

query_params!(
    /// Query of `GET /incidents/{id}/updates`.
    UpdateQuery, UpdateSort
);
query_params!(
    /// Query of `GET /incidents/templates`.
    TemplateQuery, TemplateSort
);
query_params!(
    /// Query of `GET /metrics`.
    MetricQuery, MetricSort
);
query_params!(
    /// Query of `GET /metrics/{id}/points`.
    PointQuery, PointSort
);
query_params!(
    /// Query of `GET /schedules`.
    ScheduleQuery, ScheduleSort
);
query_params!(
    /// Query of `GET /subscribers`.
    SubscriberQuery, SubscriberSort
);
query_params!(
    /// Query of `GET /actions`.
    ActionQuery, AuditSort, [
        query("kind", "Exact kind (e.g. `token.failed`).", text()),
        query("since", "Entries at or after this time.", local_time()),
        query("until", "Entries before this time.", local_time()),
    ]
);

// ---- Request bodies ---------------------------------------------------------------------

/// Two body schemas from one field list `$body` (every field written as required): `$change`
/// with no field required (a `PUT`, where an absent field is unchanged) and `$create` with
/// `$required` required (a `POST`). JSON `null` also means absent; the schemas leave it out,
/// as a form cannot send it.
macro_rules! bodies {
    ($change:ident, $create:ident = $body:ty, [$($required:literal),* $(,)?]) => {
        #[doc = concat!("`", stringify!($body), "` with every field optional (a `PUT`).")]
        pub(crate) struct $change;

        impl PartialSchema for $change {
            fn schema() -> RefOr<Schema> {
                with_required::<$body>(&[])
            }
        }

        impl ToSchema for $change {}

        bodies!($create = $body, [$($required),*]);
    };
    ($create:ident = $body:ty, [$($required:literal),* $(,)?]) => {
        #[doc = concat!("`", stringify!($body), "` as a create (`POST`) needs it.")]
        pub(crate) struct $create;

        impl PartialSchema for $create {
            fn schema() -> RefOr<Schema> {
                with_required::<$body>(&[$($required),*])
            }
        }

        impl ToSchema for $create {}
    };
}

/// A local time in a body: `Y-m-d H:i` (or `Y-m-d H:i:s`) in the request's zone. The
/// pattern keeps to days every month has, from 1970 to 2099, so that generated examples
/// are times the server accepts; any real date from 1970 on is read.
fn local_time_input() -> utoipa::openapi::schema::Object {
    local_time().build()
}

fn local_time() -> ObjectBuilder {
    text()
        .description(Some(
            "`Y-m-d H:i` or `Y-m-d H:i:s` in the request's zone (the `Time-Zone` header, \
             else the `app_timezone` setting), from 1970-01-01.",
        ))
        .pattern(Some(
            "^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]) \
             ([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        ))
        .examples(["2024-03-05 10:00"])
}

/// The schema of `T` with exactly `required` required.
fn with_required<T: PartialSchema>(required: &[&str]) -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(o)) = &mut schema {
        o.required = required.iter().map(|f| (*f).to_string()).collect();
    }
    schema
}

/// Component fields (`POST` requires `name`; on `PUT` an absent field is unchanged).
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `components.rs`; never built.
struct ComponentBody {
    /// Name.
    #[schema(max_length = 255)]
    name: String,
    /// Description (markdown).
    #[schema(max_length = 10000)]
    description: String,
    /// An absolute `http(s)` URL, or empty.
    link: String,
    /// Status 0-4 (default 0).
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// Group id; 0 for none.
    #[schema(minimum = 0)]
    group_id: i64,
    /// Enabled (default true).
    enabled: bool,
    /// A JSON object (or array) of custom data.
    #[schema(value_type = Object)]
    meta: (),
    /// Tag names (a list, or a comma-separated string); they replace the set.
    tags: Vec<String>,
}

bodies!(ComponentFields, NewComponent = ComponentBody, ["name"]);

/// Component group fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `components.rs`; never built.
struct GroupBody {
    /// Name.
    #[schema(max_length = 255)]
    name: String,
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// 0 expanded, 1 collapsed, 2 collapsed unless a member has issues.
    #[schema(minimum = 0, maximum = 2)]
    collapsed: i64,
    /// 0 signed-in users only (default), 1 public.
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
}

bodies!(GroupFields, NewGroup = GroupBody, ["name"]);

/// Incident fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `incidents.rs`; never built.
struct IncidentBody {
    /// Name.
    #[schema(max_length = 255)]
    name: String,
    /// 0 scheduled, 1 investigating, 2 identified, 3 watching, 4 fixed.
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// Markdown message (required on create unless `template` supplies it).
    message: String,
    /// 0 signed-in users only, 1 public (default).
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    /// Pinned to the top of the page.
    stickied: bool,
    /// Notify subscribers (default true).
    notify: bool,
    /// Linked component (with `component_status`).
    #[schema(minimum = 0)]
    component_id: i64,
    /// The linked component's status 0-4.
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
    /// When it began (default now); on create `created_at` is an alias.
    #[schema(schema_with = local_time_input)]
    occurred_at: (),
    /// Slug of a template to render as the message.
    template: String,
    /// Template variables.
    #[schema(value_type = Object)]
    vars: (),
    /// A JSON object of custom data; on change, empty values delete keys.
    #[schema(value_type = Object)]
    meta: (),
}

bodies!(IncidentFields, NewIncident = IncidentBody, ["name", "status"]);

/// Incident update fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `incidents.rs`; never built.
struct UpdateBody {
    /// 1 investigating, 2 identified, 3 watching, 4 fixed.
    #[schema(minimum = 1, maximum = 4)]
    status: i64,
    /// Markdown message.
    message: String,
    /// Component whose status changes with the update.
    #[schema(minimum = 0)]
    component_id: i64,
    /// That component's status 0-4.
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
}

bodies!(UpdateFields, NewUpdate = UpdateBody, ["status", "message"]);

/// Metric fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `metrics.rs`; never built.
struct MetricBody {
    /// Name.
    #[schema(max_length = 255)]
    name: String,
    /// Unit shown after values.
    #[schema(max_length = 255)]
    suffix: String,
    /// Description.
    #[schema(max_length = 10000)]
    description: String,
    /// Value of a bucket without points.
    #[schema(minimum = -1e12, maximum = 1e12)]
    default_value: f64,
    /// 0 sum, 1 average.
    #[schema(minimum = 0, maximum = 1)]
    calc_type: i64,
    /// Show the chart.
    display_chart: bool,
    /// Decimal places 0-4.
    #[schema(minimum = 0, maximum = 4)]
    places: i64,
    /// 0 last hour, 1 last 12 hours, 2 week, 3 month (`view` is an alias).
    #[schema(minimum = 0, maximum = 3)]
    default_view: i64,
    /// Bucket size in minutes; must divide 60.
    #[schema(minimum = 1, maximum = 60)]
    threshold: i64,
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// 0 signed-in users only, 1 public, 2 hidden.
    #[schema(minimum = 0, maximum = 2)]
    visible: i64,
}

bodies!(MetricFields, NewMetric = MetricBody, ["name", "suffix", "default_value"]);

/// Metric point fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `metrics.rs`; never built.
struct PointBody {
    /// The observed value.
    #[schema(minimum = -1e12, maximum = 1e12)]
    value: f64,
    /// Unix seconds (default now).
    #[schema(minimum = 0)]
    timestamp: i64,
}

bodies!(PointFields, NewPoint = PointBody, ["value"]);

/// Maintenance window fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `schedules.rs`; never built.
struct ScheduleBody {
    /// Name.
    #[schema(max_length = 255)]
    name: String,
    /// Markdown message; an empty string removes it.
    message: String,
    /// 0 upcoming, 1 in progress, 2 complete.
    #[schema(minimum = 0, maximum = 2)]
    status: i64,
    /// Start, `Y-m-d H:i` in the request's zone.
    #[schema(schema_with = local_time_input)]
    scheduled_at: (),
    /// End, `Y-m-d H:i` in the request's zone; an empty string removes it.
    #[schema(schema_with = local_time_input)]
    completed_at: (),
    /// Affected components: a list of ids, of `{"id", "status"}` objects, or an object
    /// `{id: status}`.
    #[schema(value_type = Vec<i64>)]
    components: (),
    /// Notify subscribers.
    notify: bool,
}

bodies!(ScheduleFields, NewSchedule = ScheduleBody, ["name", "status", "scheduled_at"]);

/// Subscriber fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the decoder in `subscribers.rs`; never built.
struct SubscriberBody {
    /// Email address; an existing one returns the existing subscriber.
    #[schema(max_length = 254, format = Email)]
    email: String,
    /// Mark verified at once.
    verify: bool,
    /// Component ids to subscribe to; absent or empty subscribes to everything.
    components: Vec<i64>,
}

bodies!(NewSubscriber = SubscriberBody, ["email"]);

#[cfg(test)]
mod tests {
    use cachet_core::enums::{CalcType, MetricView, MetricVisibility, ScheduleStatus};
    use cachet_core::validate::{MAX_EMAIL, MAX_INT, MAX_METRIC_VALUE, MAX_NAME, MAX_TEXT};

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
    }
}
