//! Fixtures: fresh file databases and valid inputs.

use std::collections::BTreeMap;

use cachet_core::enums::*;
use cachet_core::ids::*;
use cachet_core::markdown::render;
use cachet_core::model::Tag;
use cachet_core::secret::{PasswordHash, TokenHash};
use cachet_core::store::*;
use cachet_core::validate::Email;
use cachet_store_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use tempfile::TempDir;

/// A migrated store on a new file in its own temporary folder (kept alive by the `TempDir`).
pub(crate) async fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_and_migrate(dir.path().join("cachet.db"))
        .await
        .expect("open and migrate");
    (dir, store)
}

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("valid timestamp")
}

pub(crate) fn message(source: &str) -> Message {
    Message {
        source: source.to_owned(),
        html: render(source).expect("renders"),
    }
}

pub(crate) fn component(name: &str) -> NewComponent {
    NewComponent {
        name: name.to_owned(),
        description: String::new(),
        link: String::new(),
        status: ComponentStatus::Operational,
        order: 0,
        group_id: None,
        enabled: true,
        meta: None,
        tags: Vec::new(),
    }
}

pub(crate) fn tag(name: &str, slug: &str) -> Tag {
    Tag {
        name: name.to_owned(),
        slug: slug.to_owned(),
    }
}

pub(crate) fn group(name: &str, visible: Visibility) -> NewGroup {
    NewGroup {
        name: name.to_owned(),
        order: 0,
        collapsed: GroupCollapsed::Expanded,
        visible,
    }
}

pub(crate) fn incident(
    name: &str,
    component: Option<ComponentId>,
    impact: Option<ComponentStatus>,
) -> NewIncident {
    NewIncident {
        notice: None,
        user_id: None,
        component_id: component,
        impact,
        name: name.to_owned(),
        status: IncidentStatus::Investigating,
        visible: Visibility::Public,
        stickied: false,
        message: message("Looking into it."),
        occurred_at: at(1_700_000_000),
        meta: BTreeMap::new(),
    }
}

pub(crate) fn update(status: IncidentStatus) -> NewIncidentUpdate {
    NewIncidentUpdate {
        notice: None,
        status,
        message: message("An update."),
        user_id: None,
    }
}

pub(crate) fn metric(name: &str) -> NewMetric {
    NewMetric {
        name: name.to_owned(),
        suffix: "ms".to_owned(),
        description: String::new(),
        default_value: 0.0,
        calc_type: CalcType::Sum,
        display_chart: true,
        places: 2,
        default_view: MetricView::Today,
        threshold: 5,
        order: 0,
        visible: MetricVisibility::Public,
    }
}

pub(crate) fn point(value: f64, secs: i64) -> NewPoint {
    NewPoint {
        value,
        created_at: at(secs),
        dedup_since: at(secs),
    }
}

pub(crate) fn subscriber(email: &str, to: SubscribeTo) -> NewSubscriber {
    NewSubscriber {
        notice: None,
        email: cachet_core::model::SealedEmail {
            lookup: TokenHash::of(email).to_hex(),
            sealed: format!("v1.test:{email}"),
        },
        verify_code_hash: TokenHash::of(email),
        verified_at: None,
        global: false,
        subscribe_to: to,
    }
}

pub(crate) fn user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        email: Email::parse(&format!("{name}@example.com")).expect("valid email"),
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        ),
        role: Role::Admin,
    }
}

pub(crate) fn token(user: UserId, secret: &str) -> NewApiToken {
    NewApiToken {
        user_id: user,
        name: "ci".to_owned(),
        prefix: "cct_abcd".to_owned(),
        hash: TokenHash::of(secret),
        abilities: None,
        expires_at: None,
    }
}

pub(crate) fn query<S, F: Default>(
    page: u32,
    per_page: u32,
    sort: Option<(S, Order)>,
) -> ListQuery<S, F> {
    let mut q = ListQuery::new(page, per_page, F::default());
    q.sort = sort;
    q
}
