//! A call and the state machine it moves through.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{CallId, TeamId, TenantId, UserId};

/// Where a call is in the pipeline.
///
/// ```text
/// awaiting_upload -> uploaded -> transcribing -> transcribed -> scoring -> scored
///                                                   ^                        |
///                                                   +---- (re-score) --------+
/// any live state -> failed (with a reason);  any state but deleted -> deleted
/// ```
/// A transcript upload skips transcription (uploaded -> transcribed). A newer upload of the
/// call's file (a higher S3 `sequencer`) replaces the old one: failed, transcribed and scored
/// calls may move back to uploaded. A scored call may be re-scored (scored -> scoring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    AwaitingUpload,
    Uploaded,
    Transcribing,
    Transcribed,
    Scoring,
    Scored,
    Failed,
    Deleted,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "awaiting_upload",
            Self::Uploaded => "uploaded",
            Self::Transcribing => "transcribing",
            Self::Transcribed => "transcribed",
            Self::Scoring => "scoring",
            Self::Scored => "scored",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether `self -> next` is a legal move.
    pub fn can_move_to(self, next: CallStatus) -> bool {
        use CallStatus::*;
        match (self, next) {
            (Deleted, _) => false,
            (_, Deleted) => true,
            (Failed, Failed) => false,
            (_, Failed) => true,
            (AwaitingUpload, Uploaded)
            | (Failed, Uploaded)
            | (Transcribed, Uploaded)
            | (Scored, Uploaded)
            | (Uploaded, Transcribing)
            | (Uploaded, Transcribed)
            | (Transcribing, Transcribed)
            | (Transcribed, Scoring)
            | (Scoring, Scored)
            | (Scored, Scoring) => true,
            _ => false,
        }
    }
}

pub const ALL_STATUSES: [CallStatus; 8] = [
    CallStatus::AwaitingUpload,
    CallStatus::Uploaded,
    CallStatus::Transcribing,
    CallStatus::Transcribed,
    CallStatus::Scoring,
    CallStatus::Scored,
    CallStatus::Failed,
    CallStatus::Deleted,
];

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a call cannot move from {from} to {to}", from = .from.as_str(), to = .to.as_str())]
pub struct IllegalTransition {
    pub from: CallStatus,
    pub to: CallStatus,
}

/// The kind of conversation, which sets the coaching targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    Discovery,
    Demo,
    FollowUp,
    Other,
}

/// A recorded sales conversation and its place in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub team_id: TeamId,
    pub call_id: CallId,
    /// The rep whose call this is (owner of the call for access rules).
    pub rep_id: UserId,
    pub title: String,
    pub call_type: CallType,
    pub company_domain: Option<String>,
    pub buyer_persona: Option<String>,
    pub status: CallStatus,
    pub failure_reason: Option<String>,
    /// Which transcript speaker is the rep, when the user has said so.
    pub rep_speaker: Option<String>,
    /// Bumped on every stored transcript, so re-transcription invalidates old analyses.
    pub transcript_version: u32,
    /// S3 `sequencer` of the upload the call reflects; older events for the key are ignored.
    #[serde(default)]
    pub upload_sequencer: Option<String>,
    /// Object key of the current upload.
    #[serde(default)]
    pub upload_key: Option<String>,
    /// A legal hold on this call stops the reaper from deleting any of it.
    #[serde(default)]
    pub legal_hold: bool,
    /// The transcription job of the current recording, while and after it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<crate::domain::transcription::TranscriptionJob>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The stored version this copy was read at: a save succeeds only while the stored call
    /// is still at it, so a copy read before someone else's change cannot undo that change.
    /// Not part of the API's view.
    #[serde(default)]
    pub version: u32,
}

impl Call {
    /// Moves the call, or says why it cannot move. Callers persist with a conditional write on
    /// the previous status so a stale move fails instead of overwriting.
    pub fn transition(
        &mut self,
        next: CallStatus,
        at: OffsetDateTime,
    ) -> Result<CallStatus, IllegalTransition> {
        let from = self.status;
        if !from.can_move_to(next) {
            return Err(IllegalTransition { from, to: next });
        }
        self.status = next;
        self.updated_at = at;
        if next != CallStatus::Failed {
            self.failure_reason = None;
        }
        Ok(from)
    }

    /// Marks the call failed with a reason a person can read (never personal data).
    pub fn fail(
        &mut self,
        reason: impl Into<String>,
        at: OffsetDateTime,
    ) -> Result<CallStatus, IllegalTransition> {
        let from = self.transition(CallStatus::Failed, at)?;
        self.failure_reason = Some(reason.into());
        Ok(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallStatus::*;

    #[test]
    fn happy_path_is_legal() {
        let path = [
            AwaitingUpload,
            Uploaded,
            Transcribing,
            Transcribed,
            Scoring,
            Scored,
        ];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn skipping_and_reversing_are_illegal() {
        for (from, to) in [
            (AwaitingUpload, Scored),
            (AwaitingUpload, Transcribed),
            (Scoring, Uploaded),
            (Transcribed, Transcribing),
            (Deleted, AwaitingUpload),
            (Deleted, Failed),
            (Failed, Failed),
            (Deleted, Deleted),
        ] {
            assert!(!from.can_move_to(to), "{from:?} -> {to:?} allowed");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in ALL_STATUSES {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
