//! Usage events (privacy promise P9): which calls a user viewed and when, for the product only,
//! kept 13 months.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::{CallId, TenantId, UserId};

/// How long usage events are kept.
pub const USAGE_RETENTION: Duration = Duration::days(396);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub call_id: CallId,
    pub view: UsageView,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What of a call was viewed (wire names `call`, `transcript`, `analysis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageView {
    Call,
    Transcript,
    Analysis,
}

impl UsageView {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageView::Call => "call",
            UsageView::Transcript => "transcript",
            UsageView::Analysis => "analysis",
        }
    }
}

impl UsageEvent {
    pub fn expires_at(&self) -> OffsetDateTime {
        self.at + USAGE_RETENTION
    }
}
