//! Who may see and do what: the one place the role rules live (privacy promise P2).
//!
//! - A **rep** sees and changes only their own calls, in teams they belong to.
//! - A **manager** sees and changes every call of the teams they manage.
//! - An **owner** administers the team (members, roles, playbook, legal holds) and sees
//!   everything in it. Owning a team gives nothing beyond that team.
//! - An **admin** administers the workspace: its teams (creating and deleting them, their
//!   members), its admins, retention and legal hold, the whole audit trail, the workspace
//!   export, deleting users and the workspace. Admin is a record of its own, never implied by
//!   a team role, and it does not show calls: seeing a team's calls takes a role in the team
//!   (which an admin can give themselves, in the audit trail for everyone to see).
//!
//! Roles come from the project's membership records, never from a token or a request body.
//! Callers turn every "no" about an object into the same 404 as "does not exist".

use crate::domain::call::Call;
use crate::domain::org::{Membership, Role, WorkspaceRoles};
use crate::ids::{TeamId, UserId};

/// How much of a rep's progress a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressScope {
    Everything,
    /// The calls of these teams only.
    Teams(Vec<TeamId>),
}

/// Which of a team's calls a caller lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallListing {
    /// Every call of the team (or those of one rep the caller names).
    Team,
    /// Only the caller's own calls: a query by rep, so no page holds, or skips, anyone else's.
    OwnCalls,
}

/// The caller's verified identity and their roles in their tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    /// A workspace admin (its own record; see [`WorkspaceRoles`]).
    pub admin: bool,
    pub memberships: Vec<Membership>,
}

impl Caller {
    pub fn new(user: UserId, roles: WorkspaceRoles) -> Self {
        Self {
            user,
            admin: roles.admin,
            memberships: roles.memberships,
        }
    }

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

    /// Members of a team read what belongs to all of it: its playbook, prep cards from its
    /// calls (each card drawing only on the calls the caller may see).
    pub fn is_member(&self, team: &TeamId) -> bool {
        self.role_in(team).is_some()
    }

    /// Which of the team's calls the caller lists: all of them for its managers and owners,
    /// their own for its reps; `None` for anyone else.
    pub fn call_listing(&self, team: &TeamId) -> Option<CallListing> {
        match self.role_in(team)? {
            Role::Owner | Role::Manager => Some(CallListing::Team),
            Role::Rep => Some(CallListing::OwnCalls),
        }
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

    /// Which transcript speaker is the rep decides whose talk is scored, so a rep choosing it
    /// could pick the better speaker and inflate their own score: managers and owners of the
    /// call's team set it (a rep asks them when diarization named the wrong speaker).
    pub fn can_set_rep_speaker(&self, call: &Call) -> bool {
        matches!(
            self.role_in(&call.team_id),
            Some(Role::Owner | Role::Manager)
        )
    }

    /// Re-scoring follows who may choose the rep speaker (a re-score is what both change).
    pub fn can_rescore(&self, call: &Call) -> bool {
        self.can_set_rep_speaker(call)
    }

    /// Practice answers are the call's rep's own work: only they write them (while they may
    /// still see the call).
    pub fn can_practice(&self, call: &Call) -> bool {
        call.rep_id == self.user && self.can_view_call(call)
    }

    /// A rep creates calls for themselves; managers and owners for any member of the team.
    pub fn can_create_call(&self, team: &TeamId, rep: &UserId, rep_is_member: bool) -> bool {
        match self.role_in(team) {
            Some(Role::Owner | Role::Manager) => rep_is_member,
            Some(Role::Rep) => rep == &self.user,
            None => false,
        }
    }

    /// A rep's micro-goals are theirs alone to mark complete.
    pub fn can_complete_goals_of(&self, rep: &UserId) -> bool {
        rep == &self.user
    }

    /// What of a rep's progress the caller sees: all of it for the rep themselves; for a
    /// manager or owner, the calls of the teams of the rep's that they manage (a manager of
    /// one team sees nothing of the rep's calls in another); `None`: nothing (the one 404).
    pub fn rep_progress_scope(
        &self,
        rep: &UserId,
        rep_memberships: &[Membership],
    ) -> Option<ProgressScope> {
        if rep == &self.user {
            return Some(ProgressScope::Everything);
        }
        let teams: Vec<TeamId> = rep_memberships
            .iter()
            .filter(|m| matches!(self.role_in(&m.team_id), Some(Role::Owner | Role::Manager)))
            .map(|m| m.team_id.clone())
            .collect();
        (!teams.is_empty()).then_some(ProgressScope::Teams(teams))
    }

    /// A team's members and their roles: its managers and owners, and workspace admins (who
    /// manage every team's members).
    pub fn can_view_members(&self, team: &TeamId) -> bool {
        self.admin || matches!(self.role_in(team), Some(Role::Owner | Role::Manager))
    }

    /// Team settings (playbook, legal holds on its calls): the team's owners.
    pub fn can_administer(&self, team: &TeamId) -> bool {
        self.role_in(team) == Some(Role::Owner)
    }

    /// A team's members and roles, and deleting the team: its owners, and workspace admins.
    pub fn can_manage_team(&self, team: &TeamId) -> bool {
        self.admin || self.can_administer(team)
    }

    /// The workspace itself (teams, admins, retention and legal hold, the whole audit trail,
    /// the workspace export, deleting it): its admins only.
    pub fn can_manage_workspace(&self) -> bool {
        self.admin
    }

    /// Deleting a user reaches everything of theirs in the workspace (their calls in every
    /// team, their records), so it is a workspace power: admins only, never on themselves,
    /// which would leave no one to answer for the deletion. Team owners remove members from
    /// their own team instead. (Letting an owner delete a user who is only in their teams
    /// would let them add anyone to their team and then delete their calls elsewhere.)
    pub fn can_delete_user(&self, user: &UserId) -> bool {
        self.admin && user != &self.user
    }

    /// Deletion receipts: the workspace's admins, and the person who asked to delete the
    /// workspace, who keeps them once it is destroyed (and its admins with it).
    pub fn can_read_receipts(&self, workspace: Option<&crate::domain::org::Tenant>) -> bool {
        let asked_for_its_deletion = workspace
            .and_then(|w| w.deletion.as_ref())
            .is_some_and(|d| d.requested_by == self.user);
        self.admin || asked_for_its_deletion
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ids::{MintedId, TenantId};
    use crate::usecases::calls::scored_call;

    fn member(user: &str, team: &TeamId, role: Role) -> Membership {
        Membership {
            tenant_id: TenantId::parse("t").unwrap(),
            team_id: team.clone(),
            user_id: UserId::parse(user).unwrap(),
            role,
        }
    }

    fn call(team: &TeamId, rep: &str) -> Call {
        scored_call(team.clone(), rep, datetime!(2026-01-01 0:00 UTC))
    }

    #[test]
    fn role_matrix() {
        let (west, east) = (TeamId::from_random([1; 16]), TeamId::from_random([2; 16]));
        let caller = |user: &str, role: Role| Caller {
            user: UserId::parse(user).unwrap(),
            admin: false,
            memberships: vec![member(user, &west, role)],
        };
        let rep = caller("rep", Role::Rep);
        let manager = caller("mgr", Role::Manager);
        let owner = caller("own", Role::Owner);
        let outsider = Caller {
            user: UserId::parse("x").unwrap(),
            admin: false,
            memberships: vec![member("x", &east, Role::Owner)],
        };
        let admin = Caller {
            user: UserId::parse("adm").unwrap(),
            admin: true,
            memberships: vec![],
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
        assert!(admin.can_view_members(&east) && !outsider.can_view_members(&west));
        assert!(rep.is_member(&west) && !outsider.is_member(&west) && !admin.is_member(&west));
        assert_eq!(rep.call_listing(&west), Some(CallListing::OwnCalls));
        assert_eq!(manager.call_listing(&west), Some(CallListing::Team));
        assert_eq!(owner.call_listing(&west), Some(CallListing::Team));
        assert_eq!(outsider.call_listing(&west), None);
        assert_eq!(
            admin.call_listing(&west),
            None,
            "admins list no calls without a role"
        );
        assert!(rep.can_complete_goals_of(&rep.user) && !manager.can_complete_goals_of(&rep.user));
        assert!(manager.can_set_rep_speaker(&own_call) && owner.can_set_rep_speaker(&own_call));
        assert!(
            !rep.can_set_rep_speaker(&own_call) && !rep.can_rescore(&own_call),
            "not even on their own call"
        );
        assert!(manager.can_rescore(&own_call));
        assert!(rep.can_practice(&own_call) && !manager.can_practice(&own_call));
        assert!(rep.can_create_call(&west, &rep.user, true));
        assert!(!rep.can_create_call(&west, &manager.user, true));
        assert!(manager.can_create_call(&west, &rep.user, true));
        assert!(!manager.can_create_call(&west, &outsider.user, false));
        assert!(!outsider.can_create_call(&west, &outsider.user, false));

        // Workspace administration is the admin's alone; owning a team is not enough.
        assert!(admin.can_manage_workspace());
        for who in [&owner, &manager, &rep, &outsider] {
            assert!(!who.can_manage_workspace(), "{}", who.user);
        }
        // Admins manage every team's members but see no call without a team role.
        assert!(admin.can_manage_team(&west) && admin.can_manage_team(&east));
        assert!(owner.can_manage_team(&west) && !owner.can_manage_team(&east));
        assert!(!manager.can_manage_team(&west));
        assert!(!admin.can_view_call(&own_call) && !admin.can_administer(&west));
    }

    #[test]
    fn users_are_deleted_by_admins_only_never_by_themselves() {
        let west = TeamId::from_random([1; 16]);
        let owner_west = Caller {
            user: UserId::parse("o").unwrap(),
            admin: false,
            memberships: vec![member("o", &west, Role::Owner)],
        };
        let admin = Caller::new(
            UserId::parse("a").unwrap(),
            WorkspaceRoles {
                admin: true,
                memberships: vec![],
            },
        );
        let u = UserId::parse("u").unwrap();
        assert!(admin.can_delete_user(&u));
        assert!(!admin.can_delete_user(&admin.user));
        // Even for a user in the owner's team only: the user's calls may be elsewhere.
        assert!(!owner_west.can_delete_user(&u));
    }
}
