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

/// An event id derived from what the event records, for system actions that may be retried
/// (the reaper): a retry writes the same id, which the append-only log refuses as a duplicate.
pub fn derived_event_id(parts: &[&str]) -> AuditEventId {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part.as_bytes());
        context.update(&[0]);
    }
    let hex: String = context.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    AuditEventId::parse(format!("aud_{hex}")).expect("32 lowercase hex digits make a valid id")
}
