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
