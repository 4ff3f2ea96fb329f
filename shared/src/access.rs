//! Who may see and do what: the one place the role rules live (privacy promise P2).
//!
//! - A **rep** sees and changes only their own calls, in teams they belong to.
//! - A **manager** sees and changes every call of the teams they manage.
//! - An **owner** administers the team (members, roles, playbook, retention) and sees
//!   everything in it.
//!
//! Roles come from the project's membership records, never from a token or a request body.
//! Callers turn every "no" about an object into the same 404 as "does not exist".

use crate::domain::call::Call;
use crate::domain::org::{Membership, Role};
use crate::ids::{TeamId, UserId};

/// The caller's verified identity and their memberships in their tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub memberships: Vec<Membership>,
}

impl Caller {
    pub fn role_in(&self, team: &TeamId) -> Option<Role> {
        self.memberships
            .iter()
            .filter(|m| &m.team_id == team)
            .map(|m| m.role)
            .max()
    }

    /// Teams whose calls the caller may list (all of them for managers and owners, only their
    /// own calls within the others).
    pub fn teams(&self) -> impl Iterator<Item = (&TeamId, Role)> {
        self.memberships.iter().map(|m| (&m.team_id, m.role))
    }

    pub fn can_view_call(&self, call: &Call) -> bool {
        match self.role_in(&call.team_id) {
            Some(Role::Owner | Role::Manager) => true,
            Some(Role::Rep) => call.rep_id == self.user,
            None => false,
        }
    }

    /// Changing a call (rep speaker, re-score, delete) follows the same rule as seeing it.
    pub fn can_change_call(&self, call: &Call) -> bool {
        self.can_view_call(call)
    }

    /// A rep creates calls for themselves; managers and owners for any member of the team.
    pub fn can_create_call(&self, team: &TeamId, rep: &UserId, rep_is_member: bool) -> bool {
        match self.role_in(team) {
            Some(Role::Owner | Role::Manager) => rep_is_member,
            Some(Role::Rep) => rep == &self.user,
            None => false,
        }
    }

    /// A rep's progress: the rep themselves, or a manager or owner of a team the rep is in.
    pub fn can_view_rep(&self, rep: &UserId, rep_memberships: &[Membership]) -> bool {
        rep == &self.user
            || rep_memberships
                .iter()
                .any(|m| matches!(self.role_in(&m.team_id), Some(Role::Owner | Role::Manager)))
    }

    pub fn can_view_members(&self, team: &TeamId) -> bool {
        matches!(self.role_in(team), Some(Role::Owner | Role::Manager))
    }

    pub fn can_administer(&self, team: &TeamId) -> bool {
        self.role_in(team) == Some(Role::Owner)
    }

    /// Workspace settings (retention, legal hold) belong to the owners of its teams.
    pub fn is_workspace_owner(&self) -> bool {
        self.teams().any(|(_, role)| role == Role::Owner)
    }

    /// A user is deleted by someone who owns every team they are in (a user in no team any
    /// more, by any workspace owner); never by themselves, which would leave no one to answer
    /// for the deletion.
    pub fn can_delete_user(&self, user: &UserId, their_memberships: &[Membership]) -> bool {
        if user == &self.user {
            return false;
        }
        if their_memberships.is_empty() {
            return self.is_workspace_owner();
        }
        their_memberships
            .iter()
            .all(|m| self.can_administer(&m.team_id))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::call::{CallStatus, CallType};
    use crate::ids::{CallId, MintedId, TenantId};

    fn member(user: &str, team: &TeamId, role: Role) -> Membership {
        Membership {
            tenant_id: TenantId::parse("t").unwrap(),
            team_id: team.clone(),
            user_id: UserId::parse(user).unwrap(),
            role,
        }
    }

    fn call(team: &TeamId, rep: &str) -> Call {
        Call {
            schema_version: 1,
            tenant_id: TenantId::parse("t").unwrap(),
            team_id: team.clone(),
            call_id: CallId::from_random([1; 16]),
            rep_id: UserId::parse(rep).unwrap(),
            title: "x".into(),
            call_type: CallType::Demo,
            company_domain: None,
            buyer_persona: None,
            status: CallStatus::Scored,
            failure_reason: None,
            rep_speaker: None,
            transcript_version: 1,
            upload_sequencer: None,
            upload_key: None,
            transcription: None,
            legal_hold: false,
            created_at: datetime!(2026-01-01 0:00 UTC),
            updated_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn role_matrix() {
        let (west, east) = (TeamId::from_random([1; 16]), TeamId::from_random([2; 16]));
        let caller = |user: &str, role: Role| Caller {
            user: UserId::parse(user).unwrap(),
            memberships: vec![member(user, &west, role)],
        };
        let rep = caller("rep", Role::Rep);
        let manager = caller("mgr", Role::Manager);
        let owner = caller("own", Role::Owner);
        let outsider = Caller {
            user: UserId::parse("x").unwrap(),
            memberships: vec![member("x", &east, Role::Owner)],
        };

        let own_call = call(&west, "rep");
        let colleague_call = call(&west, "other-rep");
        let other_team_call = call(&east, "rep");
        // (caller, call, may see)
        for (who, c, expected) in [
            (&rep, &own_call, true),
            (&rep, &colleague_call, false),
            (&rep, &other_team_call, false),
            (&manager, &colleague_call, true),
            (&manager, &other_team_call, false),
            (&owner, &colleague_call, true),
            (&outsider, &own_call, false),
        ] {
            assert_eq!(
                who.can_view_call(c),
                expected,
                "{} on {}",
                who.user,
                c.rep_id
            );
            assert_eq!(who.can_change_call(c), expected);
        }
        assert!(
            owner.can_administer(&west)
                && !manager.can_administer(&west)
                && !rep.can_administer(&west)
        );
        assert!(manager.can_view_members(&west) && !rep.can_view_members(&west));
        assert!(rep.can_create_call(&west, &rep.user, true));
        assert!(!rep.can_create_call(&west, &manager.user, true));
        assert!(manager.can_create_call(&west, &rep.user, true));
        assert!(!manager.can_create_call(&west, &outsider.user, false));
        assert!(!outsider.can_create_call(&west, &outsider.user, false));
    }
}
