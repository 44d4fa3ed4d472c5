//! Authorization: one pure, table-driven function from (actor, action) to a decision.
//!
//! Roles form a ladder: Viewer (reads everything, writes nothing) < Reporter (incidents,
//! updates, metric points, component status: for monitoring bots) < Manager (all status
//! content) < Admin (everything: users, tokens, settings, subscribers, audit log).
//! Guests may only read public content.
//!
//! An API token may also carry [`Abilities`], which narrow it below its user's role (a
//! monitoring bot's token that may only post metric points, say). They never widen it: an
//! action needs both the role and, when the token has abilities, the ability.

use crate::enums::Role;
use crate::ids::UserId;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Nobody signed in.
    Guest,
    /// A user, through a session or an API token.
    User(Principal),
    /// The embedding application or the server's own setup: trusted, acts as Admin.
    System,
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The user's role.
    pub role: Role,
    /// What the credential may do within the role; `None` is everything the role may.
    pub abilities: Option<Abilities>,
    /// How the user proved who they are.
    pub credential: Credential,
}

/// How a principal signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A person through sign-in (password, and 2FA when on): may also manage their own 2FA.
    Session,
    /// An API token: acts within its abilities, never manages 2FA.
    Token,
}

impl Principal {
    /// A signed-in person acting with the whole of `role`.
    pub fn new(user_id: UserId, role: Role) -> Principal {
        Principal {
            user_id,
            role,
            abilities: None,
            credential: Credential::Session,
        }
    }
}

impl Actor {
    /// The role the actor acts with (`None` for guests).
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Guest => None,
            Actor::User(p) => Some(p.role),
            Actor::System => Some(Role::Admin),
        }
    }

    /// The user id, if the actor is a user.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(p) => Some(p.user_id),
            _ => None,
        }
    }

    /// True when the actor may see non-public content.
    pub fn sees_private(&self) -> bool {
        decide(self, Action::ReadPrivate).is_allowed()
    }
}

/// Something an actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read public content.
    ReadPublic,
    /// Read non-public content (disabled components, hidden groups, incidents, metrics).
    ReadPrivate,
    /// Change only a component's status.
    SetComponentStatus,
    /// Create, edit or delete components.
    WriteComponent,
    /// Create, edit or delete component groups.
    WriteGroup,
    /// Create or edit incidents.
    WriteIncident,
    /// Delete incidents.
    DeleteIncident,
    /// Post or edit incident updates.
    WriteIncidentUpdate,
    /// Delete incident updates.
    DeleteIncidentUpdate,
    /// Create, edit or delete incident templates.
    WriteTemplate,
    /// Create, edit or delete maintenance schedules.
    WriteSchedule,
    /// Create, edit or delete metrics.
    WriteMetric,
    /// Record metric points.
    WriteMetricPoint,
    /// Edit or delete metric points.
    EditMetricPoint,
    /// Read subscribers (personal data).
    ReadSubscribers,
    /// Create or delete subscribers and subscriptions.
    WriteSubscribers,
    /// Read users.
    ReadUsers,
    /// Create, edit or disable users and their roles.
    WriteUsers,
    /// Create or revoke API tokens.
    WriteTokens,
    /// Read settings.
    ReadSettings,
    /// Change settings.
    WriteSettings,
    /// Read the audit log.
    ReadAudit,
    /// Register, read, change or remove outbound webhooks (their URLs and secrets are
    /// configuration: the ability is `settings.write`).
    ManageWebhooks,
}

/// Why an action was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// A guest asked for something that needs a user.
    NotSignedIn,
    /// The user's role is below the one required.
    RoleTooLow {
        /// The least role that may do it.
        required: Role,
    },
    /// The credential's abilities do not include the one needed.
    AbilityMissing {
        /// The ability that would allow it.
        ability: Ability,
    },
}

/// The outcome of [`decide`]: a value, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, with the reason.
    Deny(Denial),
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Position of a role on the ladder.
fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Reporter => 1,
        Role::Manager => 2,
        Role::Admin => 3,
    }
}

/// The least role allowed to perform `action`; `None` means guests may too.
pub fn required_role(action: Action) -> Option<Role> {
    use Action::*;
    match action {
        ReadPublic => None,
        ReadPrivate => Some(Role::Viewer),
        SetComponentStatus | WriteIncident | WriteIncidentUpdate | WriteMetricPoint => {
            Some(Role::Reporter)
        }
        WriteComponent | WriteGroup | DeleteIncident | DeleteIncidentUpdate | WriteTemplate
        | WriteSchedule | WriteMetric | EditMetricPoint => Some(Role::Manager),
        ReadSubscribers | WriteSubscribers | ReadUsers | WriteUsers | WriteTokens
        | ReadSettings | WriteSettings | ReadAudit | ManageWebhooks => Some(Role::Admin),
    }
}

/// Decides whether `actor` may perform `action`.
pub fn decide(actor: &Actor, action: Action) -> Decision {
    let Some(required) = required_role(action) else {
        return Decision::Allow;
    };
    match actor.role() {
        None => return Decision::Deny(Denial::NotSignedIn),
        Some(role) if rank(role) < rank(required) => {
            return Decision::Deny(Denial::RoleTooLow { required })
        }
        Some(_) => {}
    }
    if let Actor::User(Principal {
        abilities: Some(abilities),
        ..
    }) = actor
    {
        // Every action but ReadPublic (handled above) has an ability.
        if let Some(ability) = Ability::for_action(action) {
            if !abilities.contains(ability) {
                return Decision::Deny(Denial::AbilityMissing { ability });
            }
        }
    }
    Decision::Allow
}

/// One thing a token may be allowed to do. Each action needs exactly one ability
/// ([`Ability::for_action`]); the names are what API clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ability {
    /// `status.read`: read non-public content.
    StatusRead,
    /// `components.status.write`: change only component statuses.
    ComponentStatusWrite,
    /// `components.write`: create, edit, delete components (status included).
    ComponentsWrite,
    /// `groups.write`: component groups.
    GroupsWrite,
    /// `incidents.write`: incidents and their updates.
    IncidentsWrite,
    /// `templates.write`: incident templates.
    TemplatesWrite,
    /// `schedules.write`: maintenance schedules.
    SchedulesWrite,
    /// `metrics.write`: metrics.
    MetricsWrite,
    /// `metrics.points.write`: record, edit and delete metric points.
    MetricPointsWrite,
    /// `subscribers.read`: read subscribers.
    SubscribersRead,
    /// `subscribers.write`: create and delete subscribers and subscriptions.
    SubscribersWrite,
    /// `users.read`: read users.
    UsersRead,
    /// `users.write`: create and change users.
    UsersWrite,
    /// `tokens.write`: create, list and revoke API tokens.
    TokensWrite,
    /// `settings.read`: read settings.
    SettingsRead,
    /// `settings.write`: change settings.
    SettingsWrite,
    /// `audit.read`: read the audit log.
    AuditRead,
}

impl Ability {
    /// Every ability, in canonical order.
    pub const ALL: [Ability; 17] = [
        Ability::StatusRead,
        Ability::ComponentStatusWrite,
        Ability::ComponentsWrite,
        Ability::GroupsWrite,
        Ability::IncidentsWrite,
        Ability::TemplatesWrite,
        Ability::SchedulesWrite,
        Ability::MetricsWrite,
        Ability::MetricPointsWrite,
        Ability::SubscribersRead,
        Ability::SubscribersWrite,
        Ability::UsersRead,
        Ability::UsersWrite,
        Ability::TokensWrite,
        Ability::SettingsRead,
        Ability::SettingsWrite,
        Ability::AuditRead,
    ];

    /// The wire name, e.g. `incidents.write`.
    pub fn name(self) -> &'static str {
        match self {
            Ability::StatusRead => "status.read",
            Ability::ComponentStatusWrite => "components.status.write",
            Ability::ComponentsWrite => "components.write",
            Ability::GroupsWrite => "groups.write",
            Ability::IncidentsWrite => "incidents.write",
            Ability::TemplatesWrite => "templates.write",
            Ability::SchedulesWrite => "schedules.write",
            Ability::MetricsWrite => "metrics.write",
            Ability::MetricPointsWrite => "metrics.points.write",
            Ability::SubscribersRead => "subscribers.read",
            Ability::SubscribersWrite => "subscribers.write",
            Ability::UsersRead => "users.read",
            Ability::UsersWrite => "users.write",
            Ability::TokensWrite => "tokens.write",
            Ability::SettingsRead => "settings.read",
            Ability::SettingsWrite => "settings.write",
            Ability::AuditRead => "audit.read",
        }
    }

    /// The ability named `name`.
    pub fn from_name(name: &str) -> Option<Ability> {
        Ability::ALL.into_iter().find(|a| a.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The ability an action needs (`None` only for reading public content).
    pub fn for_action(action: Action) -> Option<Ability> {
        use Action::*;
        Some(match action {
            ReadPublic => return None,
            ReadPrivate => Ability::StatusRead,
            SetComponentStatus => Ability::ComponentStatusWrite,
            WriteComponent => Ability::ComponentsWrite,
            WriteGroup => Ability::GroupsWrite,
            WriteIncident | DeleteIncident | WriteIncidentUpdate | DeleteIncidentUpdate => {
                Ability::IncidentsWrite
            }
            WriteTemplate => Ability::TemplatesWrite,
            WriteSchedule => Ability::SchedulesWrite,
            WriteMetric => Ability::MetricsWrite,
            WriteMetricPoint | EditMetricPoint => Ability::MetricPointsWrite,
            ReadSubscribers => Ability::SubscribersRead,
            WriteSubscribers => Ability::SubscribersWrite,
            ReadUsers => Ability::UsersRead,
            WriteUsers => Ability::UsersWrite,
            WriteTokens => Ability::TokensWrite,
            ReadSettings => Ability::SettingsRead,
            WriteSettings | ManageWebhooks => Ability::SettingsWrite,
            ReadAudit => Ability::AuditRead,
        })
    }
}

/// A set of abilities. `components.write` includes `components.status.write`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Abilities(u32);

impl Abilities {
    /// The empty set (a token that may only read public content).
    pub fn none() -> Abilities {
        Abilities(0)
    }

    /// The set of `abilities`.
    pub fn of(abilities: &[Ability]) -> Abilities {
        Abilities(abilities.iter().fold(0, |acc, a| acc | a.bit()))
    }

    /// True when `ability` is in the set (or implied by one that is).
    pub fn contains(self, ability: Ability) -> bool {
        let implied = if ability == Ability::ComponentStatusWrite {
            Ability::ComponentsWrite.bit()
        } else {
            0
        };
        self.0 & (ability.bit() | implied) != 0
    }

    /// True when every ability of `self` is in `other` (a token made by a narrowed token
    /// may not have more than its maker).
    pub fn is_subset_of(self, other: Abilities) -> bool {
        self.0 & !other.0 == 0
    }

    /// The abilities in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Ability> {
        Ability::ALL
            .into_iter()
            .filter(move |a| self.0 & a.bit() != 0)
    }

    /// Parses names separated by spaces or commas (the stored form and what clients send).
    ///
    /// # Errors
    /// The first unknown name.
    pub fn parse(text: &str) -> Result<Abilities, String> {
        let mut set = 0;
        for name in text.split([' ', ',']).filter(|n| !n.is_empty()) {
            let a = Ability::from_name(name).ok_or_else(|| name.to_string())?;
            set |= a.bit();
        }
        Ok(Abilities(set))
    }
}

impl std::fmt::Display for Abilities {
    /// Names in canonical order, separated by single spaces (the stored form).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Ability::name).collect();
        f.write_str(&names.join(" "))
    }
}

impl std::fmt::Debug for Abilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Abilities({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const ALL_ACTIONS: &[Action] = &[
        ReadPublic,
        ReadPrivate,
        SetComponentStatus,
        WriteComponent,
        WriteGroup,
        WriteIncident,
        DeleteIncident,
        WriteIncidentUpdate,
        DeleteIncidentUpdate,
        WriteTemplate,
        WriteSchedule,
        WriteMetric,
        WriteMetricPoint,
        EditMetricPoint,
        ReadSubscribers,
        WriteSubscribers,
        ReadUsers,
        WriteUsers,
        WriteTokens,
        ReadSettings,
        WriteSettings,
        ReadAudit,
        ManageWebhooks,
    ];

    fn user(role: Role) -> Actor {
        Actor::User(Principal::new(UserId(1), role))
    }

    fn token(role: Role, abilities: &[Ability]) -> Actor {
        Actor::User(Principal {
            user_id: UserId(1),
            role,
            abilities: Some(Abilities::of(abilities)),
            credential: Credential::Token,
        })
    }

    /// The whole matrix, written out by hand: G(uest) V(iewer) R(eporter) M(anager) A(dmin).
    fn expected(action: Action) -> &'static str {
        match action {
            ReadPublic => "GVRMA",
            ReadPrivate => "VRMA",
            SetComponentStatus | WriteIncident | WriteIncidentUpdate | WriteMetricPoint => "RMA",
            WriteComponent | WriteGroup | DeleteIncident | DeleteIncidentUpdate | WriteTemplate
            | WriteSchedule | WriteMetric | EditMetricPoint => "MA",
            ReadSubscribers | WriteSubscribers | ReadUsers | WriteUsers | WriteTokens
            | ReadSettings | WriteSettings | ReadAudit | ManageWebhooks => "A",
        }
    }

    #[test]
    fn abilities_narrow_a_role_and_never_widen_it() {
        let bot = token(Role::Reporter, &[Ability::MetricPointsWrite]);
        assert!(decide(&bot, WriteMetricPoint).is_allowed());
        assert_eq!(
            decide(&bot, WriteIncident),
            Decision::Deny(Denial::AbilityMissing {
                ability: Ability::IncidentsWrite
            })
        );
        // An ability above the role does not help: the role is checked first.
        let reporter_with_admin_abilities = token(Role::Reporter, &Ability::ALL);
        assert_eq!(
            decide(&reporter_with_admin_abilities, WriteSettings),
            Decision::Deny(Denial::RoleTooLow {
                required: Role::Admin
            })
        );
        assert!(decide(&reporter_with_admin_abilities, WriteIncident).is_allowed());
    }

    #[test]
    fn ability_names_round_trip() {
        for a in Ability::ALL {
            assert_eq!(Ability::from_name(a.name()), Some(a));
        }
        let set = Abilities::parse("metrics.points.write, incidents.write").unwrap();
        assert_eq!(set.to_string(), "incidents.write metrics.points.write");
        assert_eq!(Abilities::parse(&set.to_string()), Ok(set));
        assert_eq!(Abilities::parse("incidents.write nope"), Err("nope".into()));
        assert_eq!(Abilities::parse(""), Ok(Abilities::none()));
        let small = Abilities::of(&[Ability::IncidentsWrite]);
        assert!(small.is_subset_of(set));
        assert!(!set.is_subset_of(small));
        assert!(Abilities::none().is_subset_of(small));
        assert_eq!(
            Abilities::of(&Ability::ALL).iter().count(),
            Ability::ALL.len()
        );
    }

    #[test]
    fn every_pair_of_the_matrix() {
        let actors = [
            ('G', Actor::Guest),
            ('V', user(Role::Viewer)),
            ('R', user(Role::Reporter)),
            ('M', user(Role::Manager)),
            ('A', user(Role::Admin)),
        ];
        for &action in ALL_ACTIONS {
            for (letter, actor) in &actors {
                let allowed = decide(actor, action).is_allowed();
                assert_eq!(
                    allowed,
                    expected(action).contains(*letter),
                    "{actor:?} {action:?}"
                );
            }
            assert!(decide(&Actor::System, action).is_allowed());
        }
        // Each action needs one ability, and it's the only one that allows it to an Admin
        // token (components.write also allows a status change, and nothing else does).
        for &action in ALL_ACTIONS {
            let needed = Ability::for_action(action);
            assert_eq!(needed.is_none(), action == ReadPublic, "{action:?}");
            for ability in Ability::ALL {
                let allowed = decide(&token(Role::Admin, &[ability]), action).is_allowed();
                let expected = action == ReadPublic
                    || needed == Some(ability)
                    || (action == SetComponentStatus && ability == Ability::ComponentsWrite);
                assert_eq!(allowed, expected, "{action:?} with {ability:?}");
            }
            assert_eq!(
                decide(&token(Role::Admin, &[]), action).is_allowed(),
                action == ReadPublic
            );
        }
        assert_eq!(
            decide(&Actor::Guest, ReadPrivate),
            Decision::Deny(Denial::NotSignedIn)
        );
        assert_eq!(
            decide(&user(Role::Reporter), WriteComponent),
            Decision::Deny(Denial::RoleTooLow {
                required: Role::Manager
            })
        );
    }
}
