//! Test harness: an in-memory service, the router, one token per role, and a tiny client.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use cachet_core::enums::Role;
use cachet_core::memory::MemoryStore;
use cachet_core::secret::{NewToken, PasswordHash};
use cachet_core::store::{NewApiToken, NewUser};
use cachet_core::validate::Email;
use cachet_core::{Actor, StatusPage, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) service: Arc<StatusPage>,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) admin: String,
    pub(crate) manager: String,
    pub(crate) reporter: String,
    pub(crate) viewer: String,
}

pub(crate) const SYSTEM: Actor = Actor::System;

/// [`cachet_http::HttpConfig::default`] with the API's and the subscription forms' rate
/// limits off.
pub(crate) fn unlimited_api() -> cachet_http::HttpConfig {
    cachet_http::HttpConfig {
        rate_limits: cachet_http::RateLimits {
            api_per_client: cachet_http::Rate::OFF,
            api_per_token: cachet_http::Rate::OFF,
            subscribe: cachet_http::Rate::OFF,
            ..cachet_http::RateLimits::default()
        },
        ..cachet_http::HttpConfig::default()
    }
}

async fn token_for(store: &MemoryStore, name: &str, role: Role) -> String {
    // Users are made through the store so no Argon2 hash runs per test.
    let user = store
        .create_user(NewUser {
            username: name.into(),
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            password_hash: PasswordHash::from_phc(
                "$argon2id$v=19$m=19456,t=2,p=1$unused$unused".into(),
            ),
            role,
        })
        .await
        .unwrap();
    let t = NewToken::generate();
    store
        .create_token(NewApiToken {
            user_id: user.id,
            name: "test".into(),
            prefix: t.prefix.clone(),
            hash: t.hash,
            abilities: None,
            expires_at: None,
        })
        .await
        .unwrap();
    t.secret
}

impl App {
    /// The default configuration without the API's rate limits: suites that probe every
    /// route make more requests than a client's burst (the limits have tests of their own).
    pub(crate) async fn new() -> App {
        App::with_config(unlimited_api()).await
    }

    pub(crate) async fn with_config(config: cachet_http::HttpConfig) -> App {
        let store = Arc::new(MemoryStore::new());
        let service = Arc::new(
            StatusPage::new(store.clone(), cachet_core::crypto::DataKey::generate().0)
                .await
                .unwrap(),
        );
        App::build(store, service, config).await
    }

    /// An app over a service the test made itself.
    pub(crate) async fn over(store: Arc<MemoryStore>, service: Arc<StatusPage>) -> App {
        App::build(store, service, unlimited_api()).await
    }

    async fn build(
        store: Arc<MemoryStore>,
        service: Arc<StatusPage>,
        config: cachet_http::HttpConfig,
    ) -> App {
        let admin = token_for(&store, "admin", Role::Admin).await;
        let manager = token_for(&store, "manager", Role::Manager).await;
        let reporter = token_for(&store, "reporter", Role::Reporter).await;
        let viewer = token_for(&store, "viewer", Role::Viewer).await;
        let router = cachet_http::router(service.clone(), config);
        App {
            router,
            service,
            store,
            admin,
            manager,
            reporter,
            viewer,
        }
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Res {
            status,
            headers,
            body,
        }
    }

    /// A request with an optional token and an optional JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "status.test");
        if let Some(t) = token {
            b = b.header("X-Cachet-Token", t);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// A request with a raw body and content type.
    pub(crate) async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Res {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "status.test");
        if let Some(t) = token {
            b = b.header("X-Cachet-Token", t);
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        self.send(b.body(body.into()).unwrap()).await
    }

    pub(crate) async fn form(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> Res {
        self.raw(
            method,
            uri,
            token,
            Some("application/x-www-form-urlencoded"),
            body.to_string(),
        )
        .await
    }

    pub(crate) async fn get(&self, uri: &str, token: Option<&str>) -> Res {
        self.call(Method::GET, uri, token, None).await
    }

    pub(crate) async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    pub(crate) async fn put(&self, uri: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::PUT, uri, token, Some(body)).await
    }

    pub(crate) async fn delete(&self, uri: &str, token: Option<&str>) -> Res {
        self.call(Method::DELETE, uri, token, None).await
    }
}

#[derive(Debug)]
pub(crate) struct Res {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Res {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn data(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.assert_json_type();
        self.json()["data"].clone()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn assert_json_type(&self) {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{:?}",
            self.status
        );
    }

    /// Asserts the Cachet error envelope with `status`; returns the error item.
    pub(crate) fn error(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        self.assert_json_type();
        let v = self.json();
        let errors = v["errors"].as_array().expect("errors array");
        assert_eq!(errors.len(), 1);
        let e = errors[0].clone();
        assert_eq!(e["status"], status);
        assert_eq!(
            e["title"],
            StatusCode::from_u16(status)
                .unwrap()
                .canonical_reason()
                .unwrap()
        );
        assert!(e["detail"].as_str().is_some_and(|d| d.len() > 4));
        let id = uuid_v4(e["id"].as_str().expect("id"));
        assert!(id, "id {:?} is not a uuid v4", e["id"]);
        e
    }

    /// Asserts a 400 validation error and returns its messages.
    pub(crate) fn invalid(&self) -> Vec<String> {
        let e = self.error(400);
        assert_eq!(
            e["detail"],
            "The request cannot be fulfilled due to bad syntax."
        );
        e["meta"]["details"]
            .as_array()
            .expect("meta.details")
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) fn ids(&self) -> Vec<i64> {
        self.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.json()["meta"]["pagination"]["total"].as_u64().unwrap()
    }
}

fn uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts[2].starts_with('4')
}

/// The ids of one seeded resource of each kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    pub(crate) c: i64,
    pub(crate) g: i64,
    pub(crate) i: i64,
    pub(crate) u: i64,
    pub(crate) m: i64,
    pub(crate) p: i64,
    pub(crate) s: i64,
    pub(crate) sub: i64,
    pub(crate) subscription: i64,
}

impl Ids {
    /// Replaces `{c}`, `{g}`, `{i}`, `{u}`, `{m}`, `{p}`, `{s}`, `{sub}`, `{x}` in a route.
    pub(crate) fn fill(&self, route: &str) -> String {
        route
            .replace("{c}", &self.c.to_string())
            .replace("{g}", &self.g.to_string())
            .replace("{i}", &self.i.to_string())
            .replace("{u}", &self.u.to_string())
            .replace("{m}", &self.m.to_string())
            .replace("{p}", &self.p.to_string())
            .replace("{s}", &self.s.to_string())
            .replace("{sub}", &self.sub.to_string())
            .replace("{x}", &self.subscription.to_string())
    }
}

/// An app with one resource of each kind, made through the API.
pub(crate) async fn seeded() -> (App, Ids) {
    let app = App::new().await;
    let a = Some(app.admin.as_str());
    let id = |v: Value| v["data"]["id"].as_i64().unwrap();
    let c = id(app
        .post(
            "/api/v1/components",
            a,
            serde_json::json!({"name": "c", "status": 1}),
        )
        .await
        .json());
    let g = id(app
        .post(
            "/api/v1/components/groups",
            a,
            serde_json::json!({"name": "g"}),
        )
        .await
        .json());
    let i = id(app
        .post(
            "/api/v1/incidents",
            a,
            serde_json::json!({"name": "i", "status": 1, "message": "m"}),
        )
        .await
        .json());
    let u = id(app
        .post(
            &format!("/api/v1/incidents/{i}/updates"),
            a,
            serde_json::json!({"status": 2, "message": "m"}),
        )
        .await
        .json());
    let m = id(app
        .post(
            "/api/v1/metrics",
            a,
            serde_json::json!({"name": "m", "suffix": "s", "default_value": 0}),
        )
        .await
        .json());
    let p = id(app
        .post(
            &format!("/api/v1/metrics/{m}/points"),
            a,
            serde_json::json!({"value": 1}),
        )
        .await
        .json());
    let s = id(app
        .post(
            "/api/v1/schedules",
            a,
            serde_json::json!({"name": "s", "status": 0, "scheduled_at": "2030-01-01 00:00"}),
        )
        .await
        .json());
    let sub = app
        .post(
            "/api/v1/subscribers",
            a,
            serde_json::json!({"email": "s@example.com", "components": [c]}),
        )
        .await
        .json();
    let subscription = sub["data"]["subscriptions"][0]["id"].as_i64().unwrap();
    let sub = sub["data"]["id"].as_i64().unwrap();
    (
        app,
        Ids {
            c,
            g,
            i,
            u,
            m,
            p,
            s,
            sub,
            subscription,
        },
    )
}
