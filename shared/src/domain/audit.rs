//! Append-only audit events (privacy promise P8). Never carries content.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{AuditEventId, TenantId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failed,
}

/// Audit events are kept two years, also after the workspace they describe is destroyed
/// (they hold ids and action names only, and they are the proof of the deletion).
pub const AUDIT_RETENTION: time::Duration = time::Duration::days(730);

/// Who did what to which object, and how it ended. Ids and action names only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub schema_version: u32,
    pub event_id: AuditEventId,
    pub tenant_id: TenantId,
    /// `None` for system actors (reaper, workers).
    pub actor: Option<UserId>,
    pub actor_kind: String,
    pub action: String,
    pub object: String,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl AuditEvent {
    pub fn expires_at(&self) -> OffsetDateTime {
        self.at + AUDIT_RETENTION
    }

    /// A successful action of a system actor (`reaper`, `pipeline`, `worker`, `billing`),
    /// with its id derived from `action`, the tenant, `object` and `identity` (whatever makes
    /// this occurrence unique), so a retried action records itself once.
    pub fn by_system(
        actor_kind: &str,
        tenant_id: &TenantId,
        action: &str,
        object: &str,
        identity: &[&str],
        at: OffsetDateTime,
    ) -> Self {
        let mut parts = vec![action, tenant_id.as_str(), object];
        parts.extend_from_slice(identity);
        AuditEvent {
            schema_version: crate::domain::SCHEMA_VERSION,
            event_id: derived_event_id(&parts),
            tenant_id: tenant_id.clone(),
            actor: None,
            actor_kind: actor_kind.into(),
            action: action.into(),
            object: object.into(),
            outcome: Outcome::Success,
            request_id: None,
            at,
        }
    }
}

/// An event id derived from what the event records, for system actions that may be retried
/// (the reaper): a retry writes the same id, which the append-only log refuses as a duplicate.
pub fn derived_event_id(parts: &[&str]) -> AuditEventId {
    derived_id(parts)
}

/// An id of kind `T` derived from `parts`: the same parts always give the same id.
pub fn derived_id<T: crate::ids::MintedId>(parts: &[&str]) -> T {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part.as_bytes());
        context.update(&[0]);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&context.finish().as_ref()[..16]);
    T::from_random(bytes)
}
