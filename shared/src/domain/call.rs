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
/// call's file (a higher S3 `sequencer`) replaces the old one in every state but deleted: the
/// call moves back to uploaded, and a transcription or scoring of the old upload still running
/// finds itself superseded and stores nothing. A scored call may be re-scored (scored ->
/// scoring).
///
/// `uploaded`, `transcribing`, `transcribed` and `scoring` wait for the pipeline: each has a
/// deadline, after which the sweep retries or fails the call (`usecases::waiting`).
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
            | (Transcribing, Uploaded)
            | (Transcribed, Uploaded)
            | (Scoring, Uploaded)
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

    /// Whether a call in this state has a transcript that can be scored again.
    pub fn can_rescore(self) -> bool {
        matches!(self, Self::Transcribed | Self::Scoring | Self::Scored)
    }

    /// Whether a call in this state waits for the pipeline (and so has a deadline).
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            Self::Uploaded | Self::Transcribing | Self::Transcribed | Self::Scoring
        )
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

/// What a call says about the people and the customer in it (its title, the customer's domain,
/// the buyer persona), sealed under the tenant's `metadata` data key and bound to the call: at
/// rest and in every backup only this ciphertext exists, and shredding leaves it unreadable.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedDetails(#[serde(with = "crate::domain::org::sealed_bytes")] pub Vec<u8>);

impl std::fmt::Debug for SealedDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedDetails({} bytes)", self.0.len())
    }
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
    pub call_type: CallType,
    /// Its title, the customer's domain and the buyer persona, sealed
    /// ([`crate::usecases::call_details`]). Empty for a call stored before they were sealed.
    #[serde(default)]
    pub details: SealedDetails,
    pub status: CallStatus,
    pub failure_reason: Option<String>,
    /// Which transcript speaker is the rep, when the user has said so: often a person's name,
    /// so sealed ([`crate::usecases::call_details::seal_rep_speaker`]).
    pub rep_speaker: Option<crate::domain::org::SealedName>,
    /// Bumped on every stored transcript, so re-transcription invalidates old analyses.
    pub transcript_version: u32,
    /// Versions up to this one may still be written by transcriptions of uploads a newer one
    /// superseded: the next transcript is stored above it, so a late write lands where
    /// nothing reads it. `transcript_version` stays the last stored, readable one.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub transcript_floor: u32,
    /// Bumped each time the call takes in a new upload: a pipeline step holding a copy from
    /// before it is not the call's any more.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub upload_generation: u32,
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
    /// When the call entered its status (a hold or a speaker change does not move it): the
    /// deadline of a waiting state runs from here. Calls stored before it was kept use
    /// `updated_at`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_since: Option<OffsetDateTime>,
    /// Re-score requests made so far: each request is a scoring job of its own (its key holds
    /// the count), so asking again after a change back (speaker X, Y, then X again; a playbook
    /// changed and changed back) scores again instead of finding the first job done.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub rescore_requests: u32,
    /// Retries the sweep has made of the current waiting state (reset by every move).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waiting_retries: u8,
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
        self.status_since = Some(at);
        self.waiting_retries = 0;
        if next != CallStatus::Failed {
            self.failure_reason = None;
        }
        Ok(from)
    }

    /// Since when the call waits for the pipeline, when its state is one that waits.
    pub fn waiting_since(&self) -> Option<OffsetDateTime> {
        self.status
            .is_waiting()
            .then(|| self.status_since.unwrap_or(self.updated_at))
    }

    /// Marks the call failed with a reason a person can read (never personal data).
    pub fn fail(
        &mut self,
        reason: &FailureReason,
        at: OffsetDateTime,
    ) -> Result<CallStatus, IllegalTransition> {
        let from = self.transition(CallStatus::Failed, at)?;
        self.failure_reason = Some(reason.0.clone());
        Ok(from)
    }
}

/// Why a call failed, in our own words only: fixed sentences and numbers (limits, hours,
/// HTTP statuses), never an input's text or a provider's message. That is what lets the reason
/// stay in plaintext beside ids and states in the call item (and its backups), and be shown to
/// anyone who may see the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason(String);

impl FailureReason {
    /// A sentence put together from our own fixed text and numbers; never pass it anything
    /// read from a file, a provider or a person.
    pub(crate) fn composed(sentence: String) -> Self {
        Self(sentence)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for FailureReason {
    fn from(sentence: &'static str) -> Self {
        Self(sentence.to_owned())
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
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
    fn a_newer_upload_supersedes_every_state_but_deleted() {
        for from in ALL_STATUSES {
            let expected = !matches!(from, Uploaded | Deleted);
            assert_eq!(from.can_move_to(Uploaded), expected, "{from:?}");
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
