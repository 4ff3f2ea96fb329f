//! Workspaces, teams, memberships and roles.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::retention::{AccountState, RetentionPolicy};
use crate::ids::{TeamId, TenantId, UserId};

/// What a member may do in a team. The access rules live in [`crate::access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rep,
    Manager,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Role::Rep, Role::Manager, Role::Owner]
            .into_iter()
            .find(|r| r.as_str() == value)
    }
}

/// A customer account (workspace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub name: String,
    pub state: AccountState,
    /// When the account entered its state (cancellation, first failed payment, ...).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub state_since: Option<OffsetDateTime>,
    pub retention: RetentionPolicy,
    /// A workspace-wide legal hold stops every deletion by the reaper.
    pub legal_hold: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Tenant {
    /// A new, active workspace with the default retention policy and no legal hold.
    pub fn active(
        tenant_id: TenantId,
        name: impl Into<String>,
        created_at: OffsetDateTime,
    ) -> Self {
        Tenant {
            schema_version: crate::domain::SCHEMA_VERSION,
            tenant_id,
            name: name.into(),
            state: AccountState::Active,
            state_since: None,
            retention: RetentionPolicy::default(),
            legal_hold: false,
            created_at,
        }
    }
}

/// A team inside a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub team_id: TeamId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's role in one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: Role,
}
