//! Authorization: one pure, table-driven function from (actor, action) to a decision.
//!
//! Roles form a ladder: Viewer (reads everything, writes nothing) < Reporter (incidents,
//! updates, metric points, component status: for monitoring bots) < Manager (all status
//! content) < Admin (everything: users, tokens, settings, subscribers, audit log).
//! Guests may only read public content.

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
        | ReadSettings | WriteSettings | ReadAudit => Some(Role::Admin),
    }
}

/// Decides whether `actor` may perform `action`.
pub fn decide(actor: &Actor, action: Action) -> Decision {
    let Some(required) = required_role(action) else {
        return Decision::Allow;
    };
    match actor.role() {
        None => Decision::Deny(Denial::NotSignedIn),
        Some(role) if rank(role) >= rank(required) => Decision::Allow,
        Some(_) => Decision::Deny(Denial::RoleTooLow { required }),
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
    ];

    fn user(role: Role) -> Actor {
        Actor::User(Principal {
            user_id: UserId(1),
            role,
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
            | ReadSettings | WriteSettings | ReadAudit => "A",
        }
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
