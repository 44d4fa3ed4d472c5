//! The Cachet error envelope: `{"errors":[{"id","status","title","detail"(,"meta")}]}`.
//!
//! Every failure of the API, from a malformed body to a backend outage, leaves through
//! [`ApiError`], so the shape (and the `application/json` content type) never varies. The
//! status of each core error is decided here, once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cachet_core::error::Entity;
use cachet_core::{Error, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

/// An API failure: a status, a detail sentence and, for validation, the messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) detail: String,
    pub(crate) details: Option<Vec<String>>,
}

/// The stock sentence Cachet uses for a status when the exception carries no message.
pub(crate) fn stock_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request cannot be fulfilled due to bad syntax.",
        401 => "Authentication is required and has failed or has not yet been provided.",
        403 => "The request was a valid request, but the server is refusing to respond to it.",
        404 => "The requested resource could not be found but may be available again in the future.",
        405 => "A request was made of a resource using a request method not supported by that resource.",
        406 => "The requested resource is only capable of generating content not acceptable.",
        408 => "The server timed out waiting for the request.",
        409 => "The request could not be completed due to a conflict with the current state of the resource.",
        413 => "The request is larger than the server is willing or able to process.",
        415 => "The request entity has a media type which the server or resource does not support.",
        503 => "The server is currently unavailable (because it is overloaded or down for maintenance).",
        _ => "An error has occurred and this resource cannot be displayed.",
    }
}

impl ApiError {
    /// An error with the stock detail of `status`.
    pub(crate) fn status(status: StatusCode) -> Self {
        ApiError {
            status,
            detail: stock_detail(status).to_string(),
            details: None,
        }
    }

    /// A 400 with a specific detail (Cachet uses the message when longer than 4 chars).
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if detail.chars().count() > 4 {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
                details: None,
            }
        } else {
            ApiError::status(StatusCode::BAD_REQUEST)
        }
    }

    /// A validation failure: 400, stock detail, every message in `meta.details`.
    pub(crate) fn invalid(errors: &ValidationErrors) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            detail: stock_detail(StatusCode::BAD_REQUEST).to_string(),
            details: Some(errors.errors().iter().map(|e| e.message.clone()).collect()),
        }
    }

    /// 404 naming the model, as Laravel's route binding does.
    pub(crate) fn not_found(entity: Entity) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            detail: format!(
                "No query results for model [CachetHQ\\Cachet\\Models\\{}].",
                entity.model_name()
            ),
            details: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(entity) => ApiError::not_found(entity),
            Error::Invalid(v) => ApiError::invalid(&v),
            // A uniqueness conflict is a failed write, which Cachet answers with 400 and the
            // stock sentence (a backend's conflict text is never shown).
            Error::Conflict(_) => ApiError::status(StatusCode::BAD_REQUEST),
            Error::Rejected(m) => ApiError::bad_request(m),
            Error::Forbidden => ApiError::status(StatusCode::FORBIDDEN),
            Error::Unauthenticated => ApiError::status(StatusCode::UNAUTHORIZED),
            Error::SignInFailed => ApiError {
                status: StatusCode::UNAUTHORIZED,
                detail: "The username or password is incorrect.".into(),
                details: None,
            },
            Error::Throttled { retry_after } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                detail: format!(
                    "Too many failed sign-ins. Try again in {} seconds.",
                    retry_after.as_secs().max(1)
                ),
                details: None,
            },
            Error::Unavailable(source) => {
                tracing::error!(error = %source, "store unavailable");
                ApiError::status(StatusCode::SERVICE_UNAVAILABLE)
            }
            Error::Backend(source) => {
                tracing::error!(error = %source, "backend error");
                ApiError::status(StatusCode::INTERNAL_SERVER_ERROR)
            }
            other => {
                tracing::error!(error = %other, "unexpected service error");
                ApiError::status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::invalid(&e)
    }
}

/// The error envelope: always exactly one error.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorEnvelope)]
pub(crate) struct Envelope<'a> {
    #[schema(value_type = Vec<Item>, min_items = 1, max_items = 1)]
    errors: [Item<'a>; 1],
}

/// One error.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
struct Item<'a> {
    /// A fresh UUID v4 for this answer.
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    id: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// The status's reason phrase (`Bad Request`).
    title: &'a str,
    /// A sentence on what went wrong.
    detail: &'a str,
    /// Only on validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    meta: Option<Meta<'a>>,
}

/// The messages of a validation failure.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorMeta)]
struct Meta<'a> {
    /// One message per problem, each naming its field.
    details: &'a [String],
}

/// The JSON body of an error with `status` (used by the middleware for bare framework errors too).
pub(crate) fn error_body(status: StatusCode, detail: &str, details: Option<&[String]>) -> Vec<u8> {
    let envelope = Envelope {
        errors: [Item {
            id: uuid::Uuid::new_v4().to_string(),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            detail,
            meta: details.map(|details| Meta { details }),
        }],
    };
    // Serialising plain strings and integers cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// A complete error response: status, `Content-Type: application/json`, envelope.
pub(crate) fn error_response(
    status: StatusCode,
    detail: &str,
    details: Option<&[String]>,
) -> Response {
    let mut res = (status, error_body(status, detail, details)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.detail, self.details.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let body = error_body(
            StatusCode::BAD_REQUEST,
            "x y z w",
            Some(&["The name field is required.".into()]),
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let e = &v["errors"][0];
        assert_eq!(e["status"], 400);
        assert_eq!(e["title"], "Bad Request");
        assert_eq!(e["meta"]["details"][0], "The name field is required.");
        let id = e["id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    }

    #[test]
    fn short_messages_fall_back_to_stock() {
        assert_eq!(
            ApiError::bad_request("no").detail,
            stock_detail(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            ApiError::from(Error::NotFound(Entity::Component)).detail,
            "No query results for model [CachetHQ\\Cachet\\Models\\Component]."
        );
    }
}
