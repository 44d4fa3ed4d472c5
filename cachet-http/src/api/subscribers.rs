//! Subscribers and subscriptions (spec 5.9); personal data, so every route needs a token.

use cachet_core::error::Entity;
use cachet_core::ids::{SubscriberId, SubscriptionId};
use cachet_core::input::SubscriberInput;
use cachet_core::store::{ListQuery, SubscriberSort};

use super::dto::SubscriberDto;
use super::error::ApiError;
use super::openapi::{bodies, query_params, ComponentIds, EmailAddress};
use super::params::Params;
use super::{data, no_content, ApiResult, Data, ListBody, Req};

// What `subscriber_input` reads.
/// Subscriber fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"email": "ops@example.com", "verify": true})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct SubscriberBody {
    /// Email address; an existing one returns the existing subscriber unchanged.
    #[schema(value_type = EmailAddress)]
    email: (),
    /// Mark verified at once (default: the `skip_subscriber_verification` setting).
    verify: bool,
    /// Components to subscribe to, each of which must exist; absent or empty subscribes
    /// to every component.
    #[schema(value_type = ComponentIds)]
    components: (),
}

bodies!(NewSubscriber = SubscriberBody, ["email"]);

query_params!(
    /// Query of `GET /subscribers`.
    SubscriberQuery, SubscriberSort
);

pub(crate) fn subscriber_input(p: &Params) -> Result<SubscriberInput, ApiError> {
    let mut f = p.fields();
    let input = SubscriberInput {
        email: f.string("email"),
        verify: f.bool("verify"),
        components: f.int_list("components"),
    };
    f.finish()?;
    Ok(input)
}

/// `GET /subscribers` (token required even to read).
#[utoipa::path(
    get,
    path = "/subscribers",
    operation_id = "list_subscribers",
    tag = "subscribers",
    security(("token" = [])),
    params(SubscriberQuery),
    responses((status = 200, description = "A page of subscribers (admin only).", body = ListBody<SubscriberDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, ());
    q.sort = p.sort(SubscriberSort::from_key);
    let page = req.service().list_subscribers(&actor, &q).await?;
    Ok(req.list(page, paging, |s| SubscriberDto::new(s, req.shape())))
}

/// `POST /subscribers`: an existing email returns the existing subscriber unchanged (200).
#[utoipa::path(
    post,
    path = "/subscribers",
    operation_id = "create_subscriber",
    tag = "subscribers",
    security(("token" = [])),
    request_body = NewSubscriber,
    responses((status = 200, description = "The new subscriber, or the existing one with that email, unchanged.", body = Data<SubscriberDto>)),
)]
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = subscriber_input(&req.params()?)?;
    let (s, _created) = req.service().create_subscriber(&actor, input).await?;
    Ok(data(SubscriberDto::new(&s, req.shape())))
}

/// `DELETE /subscribers/{id}`.
#[utoipa::path(
    delete,
    path = "/subscribers/{id}",
    operation_id = "delete_subscriber",
    tag = "subscribers",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Subscriber id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: SubscriberId = req.id(0, Entity::Subscriber)?;
    let actor = req.writer().await?;
    req.service().delete_subscriber(&actor, id).await?;
    Ok(no_content())
}

/// `DELETE /subscriptions/{id}`.
#[utoipa::path(
    delete,
    path = "/subscriptions/{id}",
    operation_id = "delete_subscription",
    tag = "subscribers",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Subscription id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete_subscription(req: Req) -> ApiResult {
    let id: SubscriptionId = req.id(0, Entity::Subscription)?;
    let actor = req.writer().await?;
    req.service().delete_subscription(&actor, id).await?;
    Ok(no_content())
}
