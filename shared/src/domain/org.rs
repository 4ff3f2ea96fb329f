//! Workspaces, teams, memberships and roles.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::retention::{AccountState, RetentionPolicy, destruction_due};
use crate::ids::{TeamId, TenantId, UserId};

/// What a member may do in a team. The access rules live in [`crate::access`]. Workspace
/// administration is not a team role: see [`WorkspaceRoles::admin`].
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
    /// An admin asked to delete the workspace: it is locked at once and shredded when the grace
    /// period ends, unless an admin cancels first.
    #[serde(default)]
    pub deletion: Option<DeletionRequest>,
    /// When billing said the last state change it sent happened (its `at`): a redelivered or
    /// older billing event is not applied again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub billing_event_at: Option<OffsetDateTime>,
    /// Counts writes: a write based on an older read is refused (optimistic concurrency), so
    /// two writers never silently undo each other.
    #[serde(default)]
    pub version: u64,
    /// This workspace's own limits, set by an operator; `None`: the deployment's.
    #[serde(default)]
    pub quotas: Option<crate::usecases::quota::Quotas>,
    /// How many wrapped data keys the workspace's shredding destroyed (for its receipt).
    #[serde(default)]
    pub shredded_keys: Option<u64>,
}

/// A pending deletion of the whole workspace (the first of its two steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRequest {
    pub requested_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// When the grace period ends and the reaper shreds and purges the workspace.
    #[serde(with = "time::serde::rfc3339")]
    pub shred_at: OffsetDateTime,
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
            deletion: None,
            billing_event_at: None,
            version: 0,
            quotas: None,
            shredded_keys: None,
        }
    }

    /// Nothing of the workspace is served: it is shredded, destroyed, or its deletion is
    /// pending (only its admins may still look at or cancel that deletion).
    pub fn is_closed(&self) -> bool {
        self.state.is_gone() || self.deletion.is_some()
    }

    /// When the reaper destroys the workspace: its lifecycle cut-off or the end of a requested
    /// deletion's grace period, whichever comes first; `None` while neither applies.
    pub fn destruction_due(&self) -> Option<OffsetDateTime> {
        let by_state = destruction_due(self.state, self.state_since, &self.retention);
        let requested = self.deletion.as_ref().map(|d| d.shred_at);
        match (by_state, requested) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A team inside a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub team_id: TeamId,
    /// Sealed: a team's name often names a customer or a region's people.
    pub name: SealedName,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A name sealed under the tenant's `metadata` data key and bound to what it names
/// ([`crate::usecases::teams`] seals and opens it): at rest, and in every backup, only this
/// ciphertext exists, and shredding the tenant leaves it unreadable.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedName(#[serde(with = "sealed_bytes")] pub Vec<u8>);

impl std::fmt::Debug for SealedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedName({} bytes)", self.0.len())
    }
}

/// Ciphertext in JSON: standard base64.
pub(crate) mod sealed_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// A name stored in plain text before names were sealed reads as bytes that open to
    /// nothing, rather than making its whole record unreadable: the team still lists, is
    /// deleted and destroyed with its workspace.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap_or_else(|_| text.into_bytes()))
    }
}

/// A user's role in one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: Role,
}

/// Everything that decides what a user may do in a workspace, read together: whether they are
/// one of its admins (a record of its own, never implied by owning a team) and their team
/// memberships.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceRoles {
    pub admin: bool,
    pub memberships: Vec<Membership>,
}
