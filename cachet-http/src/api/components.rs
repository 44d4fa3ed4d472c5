//! Components and component groups (spec 5.1, 5.2).

use cachet_core::enums::{ComponentStatus, GroupCollapsed, StatusSource, Visibility};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{ComponentId, GroupId};
use cachet_core::input::{ComponentInput, GroupInput};
use cachet_core::store::{ComponentFilter, ComponentSort, GroupFilter, GroupSort, ListQuery};

use super::dto::{ComponentDto, GroupDto};
use super::error::ApiError;
use super::openapi::{
    bodies, boolean, choice, id_filter, integer, query, query_params, text, ComponentMeta, Link,
    Name, TagNames, Text,
};
use super::params::Params;
use super::{data, no_content, ApiResult, Data, ListBody, Req};

// What `component_input` reads.
/// Component fields (`POST` requires `name`; on `PUT` an absent field is unchanged).
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"name": "API", "status": 1, "description": "The public API.", "link": "https://example.com/api", "group_id": 0, "enabled": true, "meta": {"owner": "ops"}, "tags": ["Public", "Core"]})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct ComponentBody {
    /// Name.
    #[schema(value_type = Name)]
    name: (),
    /// Description.
    #[schema(value_type = Text)]
    description: (),
    /// Where the component's name links to.
    #[schema(value_type = Link)]
    link: (),
    /// 0 unknown, 1 operational, 2 performance issues, 3 partial outage, 4 major outage
    /// (default 0).
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// Group id; 0 for none.
    #[schema(minimum = 0, maximum = 2147483647)]
    group_id: i64,
    /// Shown on the status page (default true).
    enabled: bool,
    /// Custom data.
    #[schema(value_type = ComponentMeta)]
    meta: (),
    /// Tags.
    #[schema(value_type = TagNames)]
    tags: (),
    /// No notification to subscribers of a status change.
    silent: bool,
}

bodies!(ComponentFields, NewComponent = ComponentBody, ["name"]);

pub(crate) fn component_input(p: &Params) -> Result<ComponentInput, ValidationErrors> {
    let mut f = p.fields();
    let input = ComponentInput {
        name: f.string("name"),
        description: f.string("description"),
        link: f.string("link"),
        status: f.int("status"),
        order: f.int("order"),
        group_id: f.int("group_id"),
        enabled: f.bool("enabled"),
        meta: f.json("meta"),
        tags: f.string_list("tags"),
        silent: f.bool("silent"),
    };
    f.done()?;
    Ok(input)
}

query_params!(
    /// Query of `GET /components`, as [`component_filter`] reads it.
    ComponentQuery, ComponentSort, [
        id_filter(),
        query("name", "Exact name.", text()),
        query("status", "Status (an unknown value is 400).",
            choice(ComponentStatus::ALL.iter().map(|s| s.as_i64()))),
        query("group_id", "Group id; 0 for ungrouped components.", integer().minimum(Some(0))),
        query("enabled", "Enabled or not.", boolean()),
        query("tags", "Comma-separated tag names or slugs (or `tags[]=a&tags[]=b`); a \
            component with any of them matches.", text()),
    ]
);

/// Searchable columns (spec 3.3); `order` is the sort direction, never a filter.
pub(crate) fn component_filter(p: &Params) -> Result<ComponentFilter, ApiError> {
    let mut f = p.fields();
    let tags = f
        .string_list("tags")
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let slug = cachet_core::validate::slugify(&t);
            // A value without letters or digits can match no slug; keep it so it matches nothing.
            if slug.is_empty() {
                t
            } else {
                slug
            }
        })
        .filter(|t| !t.is_empty())
        .collect();
    let filter = ComponentFilter {
        id: f.int("id").map(ComponentId),
        name: f.text("name"),
        status: f.choice::<ComponentStatus>("status"),
        order: None,
        group_id: f.int("group_id").map(|g| (g > 0).then_some(GroupId(g))),
        enabled: f.bool("enabled"),
        tags,
        public_only: false,
    };
    f.finish()?;
    Ok(filter)
}

/// `GET /components`.
#[utoipa::path(
    get,
    path = "/components",
    operation_id = "list_components",
    tag = "components",
    security((), ("token" = [])),
    params(ComponentQuery),
    responses((status = 200, description = "A page of components (guests see enabled ones outside hidden groups).", body = ListBody<ComponentDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, component_filter(p)?);
    q.sort = p.sort(ComponentSort::from_key);
    let page = req.service().list_components(&actor, q).await?;
    Ok(req.list(page, paging, |c| ComponentDto::new(c, req.shape())))
}

/// `GET /components/{id}`.
#[utoipa::path(
    get,
    path = "/components/{id}",
    operation_id = "get_component",
    tag = "components",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Component id.")),
    responses((status = 200, description = "The component.", body = Data<ComponentDto>)),
)]
pub(crate) async fn get(req: Req) -> ApiResult {
    let id: ComponentId = req.id(0, Entity::Component)?;
    let actor = req.reader().await?;
    let c = req.service().get_component(&actor, id).await?;
    Ok(data(ComponentDto::new(&c, req.shape())))
}

/// `POST /components`.
#[utoipa::path(
    post,
    path = "/components",
    operation_id = "create_component",
    tag = "components",
    security(("token" = [])),
    request_body = NewComponent,
    responses((status = 200, description = "The new component (manager or admin).", body = Data<ComponentDto>)),
)]
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = component_input(&req.params()?)?;
    let c = req.service().create_component(&actor, input).await?;
    Ok(data(ComponentDto::new(&c, req.shape())))
}

/// `PUT /components/{id}`.
#[utoipa::path(
    put,
    path = "/components/{id}",
    operation_id = "update_component",
    tag = "components",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Component id.")),
    request_body = ComponentFields,
    responses((status = 200, description = "The changed component (a reporter may change the status only).", body = Data<ComponentDto>)),
)]
pub(crate) async fn update(req: Req) -> ApiResult {
    let id: ComponentId = req.id(0, Entity::Component)?;
    let actor = req.writer().await?;
    let input = component_input(&req.params()?)?;
    // Whatever credential the request carried, a change through the API is the API's.
    let c = req
        .service()
        .update_component_from(&actor, id, input, StatusSource::Api)
        .await?;
    Ok(data(ComponentDto::new(&c, req.shape())))
}

/// `DELETE /components/{id}`.
#[utoipa::path(
    delete,
    path = "/components/{id}",
    operation_id = "delete_component",
    tag = "components",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Component id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: ComponentId = req.id(0, Entity::Component)?;
    let actor = req.writer().await?;
    req.service().delete_component(&actor, id).await?;
    Ok(no_content())
}

// What `group_input` reads.
/// Component group fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"name": "Services", "order": 1, "collapsed": 0, "visible": 1})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct GroupBody {
    /// Name.
    #[schema(value_type = Name)]
    name: (),
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// 0 expanded, 1 collapsed, 2 collapsed unless a member has issues (default 0).
    #[schema(minimum = 0, maximum = 2)]
    collapsed: i64,
    /// 0 signed-in users only (default), 1 public; `true`/`false` are read as 1/0.
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
}

bodies!(GroupFields, NewGroup = GroupBody, ["name"]);

pub(crate) fn group_input(p: &Params) -> Result<GroupInput, ValidationErrors> {
    let mut f = p.fields();
    let input = GroupInput {
        name: f.string("name"),
        order: f.int("order"),
        collapsed: f.int("collapsed"),
        visible: f.flag("visible"),
    };
    f.done()?;
    Ok(input)
}

query_params!(
    /// Query of `GET /components/groups`, as [`group_filter`] reads it.
    GroupQuery, GroupSort, [
        id_filter(),
        query("name", "Exact name.", text()),
        query("collapsed", "Collapsed value (an unknown value is 400).",
            choice(GroupCollapsed::ALL.iter().map(|s| s.as_i64()))),
        query("visible", "Visibility (an unknown value is 400).",
            choice(Visibility::ALL.iter().map(|s| s.as_i64()))),
    ]
);

pub(crate) fn group_filter(p: &Params) -> Result<GroupFilter, ApiError> {
    let mut f = p.fields();
    let filter = GroupFilter {
        id: f.int("id").map(GroupId),
        name: f.text("name"),
        order: None,
        collapsed: f.choice::<GroupCollapsed>("collapsed"),
        visible: f.choice::<Visibility>("visible"),
        public_only: false,
    };
    f.finish()?;
    Ok(filter)
}

/// `GET /components/groups`.
#[utoipa::path(
    get,
    path = "/components/groups",
    operation_id = "list_groups",
    tag = "component groups",
    security((), ("token" = [])),
    params(GroupQuery),
    responses((status = 200, description = "A page of groups with their enabled members.", body = ListBody<GroupDto>)),
)]
pub(crate) async fn list_groups(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, group_filter(p)?);
    q.sort = p.sort(GroupSort::from_key);
    let page = req.service().list_groups(&actor, q).await?;
    Ok(req.list(page, paging, |g| GroupDto::new(g, req.shape(), true)))
}

/// `GET /components/groups/{id}`.
#[utoipa::path(
    get,
    path = "/components/groups/{id}",
    operation_id = "get_group",
    tag = "component groups",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Group id.")),
    responses((status = 200, description = "The group with its enabled members.", body = Data<GroupDto>)),
)]
pub(crate) async fn get_group(req: Req) -> ApiResult {
    let id: GroupId = req.id(0, Entity::Group)?;
    let actor = req.reader().await?;
    let g = req.service().get_group(&actor, id).await?;
    Ok(data(GroupDto::new(&g, req.shape(), true)))
}

/// `POST /components/groups`.
#[utoipa::path(
    post,
    path = "/components/groups",
    operation_id = "create_group",
    tag = "component groups",
    security(("token" = [])),
    request_body = NewGroup,
    responses((status = 200, description = "The new group, without member lists.", body = Data<GroupDto>)),
)]
pub(crate) async fn create_group(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = group_input(&req.params()?)?;
    let g = req.service().create_group(&actor, input).await?;
    Ok(data(GroupDto::new(&g, req.shape(), false)))
}

/// `PUT /components/groups/{id}`.
#[utoipa::path(
    put,
    path = "/components/groups/{id}",
    operation_id = "update_group",
    tag = "component groups",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Group id.")),
    request_body = GroupFields,
    responses((status = 200, description = "The changed group, without member lists.", body = Data<GroupDto>)),
)]
pub(crate) async fn update_group(req: Req) -> ApiResult {
    let id: GroupId = req.id(0, Entity::Group)?;
    let actor = req.writer().await?;
    let input = group_input(&req.params()?)?;
    let g = req.service().update_group(&actor, id, input).await?;
    Ok(data(GroupDto::new(&g, req.shape(), false)))
}

/// `DELETE /components/groups/{id}`.
#[utoipa::path(
    delete,
    path = "/components/groups/{id}",
    operation_id = "delete_group",
    tag = "component groups",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Group id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete_group(req: Req) -> ApiResult {
    let id: GroupId = req.id(0, Entity::Group)?;
    let actor = req.writer().await?;
    req.service().delete_group(&actor, id).await?;
    Ok(no_content())
}
