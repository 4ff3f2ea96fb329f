//! Retention windows and account lifecycle (privacy promise P7).

use serde::{Deserialize, Serialize};

/// Where an account is in its commercial life; billing lives elsewhere and tells us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    Active,
    /// Locked at cancellation; destroyed after the grace period unless re-activated.
    Cancelled,
    /// Non-payment; destroyed 120 days after the first failed payment.
    Suspended,
    /// An owner deleted the workspace: its data keys are shredded at once (nothing of it can
    /// be decrypted from then on) and the reaper's next run purges it physically.
    Deleted,
    /// Shredded and purged by the reaper; the record stays as a tombstone (ids only).
    Destroyed,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Cancelled => "cancelled",
            AccountState::Suspended => "suspended",
            AccountState::Deleted => "deleted",
            AccountState::Destroyed => "destroyed",
        }
    }

    /// Whether the workspace's data is gone or going (shredded): nothing of it is served.
    pub fn is_gone(self) -> bool {
        matches!(self, AccountState::Deleted | AccountState::Destroyed)
    }
}

/// Accounts suspended for non-payment are destroyed this long after the first failed payment.
pub const SUSPENSION_DESTROY_DAYS: i64 = 120;
/// The longest grace period after cancellation.
pub const MAX_CANCELLATION_GRACE_DAYS: u32 = 90;

/// When an account in `state` since `since` is destroyed; `None` while active.
pub fn destruction_due(
    state: AccountState,
    since: Option<time::OffsetDateTime>,
    policy: &RetentionPolicy,
) -> Option<time::OffsetDateTime> {
    let since = since?;
    match state {
        AccountState::Cancelled => Some(
            since
                + time::Duration::days(i64::from(
                    policy
                        .cancellation_grace_days
                        .min(MAX_CANCELLATION_GRACE_DAYS),
                )),
        ),
        AccountState::Suspended => Some(since + time::Duration::days(SUSPENSION_DESTROY_DAYS)),
        AccountState::Deleted => Some(since),
        AccountState::Active | AccountState::Destroyed => None,
    }
}

/// Per-workspace retention choices. `None` means "for the account's life".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub transcripts_days: Option<u32>,
    pub analyses_days: Option<u32>,
    pub recordings_days_after_transcription: u32,
    pub cancellation_grace_days: u32,
    pub usage_events_days: u32,
    pub audit_events_days: u32,
    pub export_bundle_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            transcripts_days: None,
            analyses_days: None,
            recordings_days_after_transcription: 30,
            cancellation_grace_days: 30,
            usage_events_days: 396,
            audit_events_days: 730,
            export_bundle_days: 3,
        }
    }
}

/// Windows a workspace may choose for transcripts and coaching, in days.
pub const CALL_WINDOW_CHOICES: [u32; 5] = [30, 90, 180, 365, 730];
/// Windows a workspace may choose for raw uploads after transcription, in days.
pub const RECORDING_WINDOW_CHOICES: [u32; 5] = [1, 7, 30, 90, 365];
