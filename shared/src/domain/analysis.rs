//! What scoring produces: metrics, scores with evidence, highlights, suggestions, goals.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{CallId, GoalId, HighlightId, TenantId};

/// A metric value, or the reason it cannot be computed from this input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MetricValue {
    Available {
        value: f64,
    },
    /// For example word-level metrics on a transcript that has only cue times.
    Unavailable {
        reason: String,
    },
}

impl MetricValue {
    pub fn value(&self) -> Option<f64> {
        match self {
            MetricValue::Available { value } => Some(*value),
            MetricValue::Unavailable { .. } => None,
        }
    }
}

/// Per-speaker conversation measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerMetrics {
    pub speaker: String,
    pub talk_time_ms: MetricValue,
    pub talk_share: MetricValue,
    pub words: u64,
    pub words_per_minute: MetricValue,
    pub longest_monologue_ms: MetricValue,
    pub questions: u32,
    pub interruptions: MetricValue,
    pub filler_words: u32,
}

/// One tracker's hits (a playbook keyword or phrase list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerHit {
    pub tracker: String,
    pub count: u32,
    /// Start of each hit; empty when the transcript has no times.
    pub at_ms: Vec<u64>,
}

/// Conversation measures for one call. Definitions: [`crate::scoring::metrics`] and the README.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub duration_ms: MetricValue,
    /// Index of the rep in the transcript's speakers, and how it was chosen.
    pub rep_speaker: Option<usize>,
    pub rep_rule: String,
    pub speakers: Vec<SpeakerMetrics>,
    pub rep_talk_ratio: MetricValue,
    pub rep_questions: u32,
    pub rep_questions_per_hour: MetricValue,
    pub longest_rep_monologue_ms: MetricValue,
    pub longest_customer_story_ms: MetricValue,
    pub interactivity_switches_per_minute: MetricValue,
    pub patience_ms: MetricValue,
    pub interruptions: MetricValue,
    pub backchannels: u32,
    pub rep_filler_words: u32,
    pub rep_filler_words_per_minute: MetricValue,
    pub rep_words_per_minute: MetricValue,
    pub silence_ms: MetricValue,
    pub trackers: Vec<TrackerHit>,
}

/// A piece of evidence behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub description: String,
    pub at_ms: Option<u64>,
}

/// A 0-100 score for one coaching dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    pub dimension: String,
    pub score: u8,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionType {
    Price,
    Budget,
    Timing,
    Authority,
    Competitor,
    StatusQuo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HighlightKind {
    Objection { objection: ObjectionType },
    WeakClose,
    NextStep,
    StrongMoment,
}

/// A moment in the call worth looking at, with a quote that occurs in the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Highlight {
    pub highlight_id: HighlightId,
    #[serde(flatten)]
    pub kind: HighlightKind,
    pub at_ms: u64,
    pub quote: String,
    pub note: String,
}

/// A better answer a rep wrote to a highlight (usually an objection), to practise it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeResponse {
    pub highlight_id: HighlightId,
    pub author: crate::ids::UserId,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
}

/// A small, measurable goal for the rep's next calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroGoal {
    pub goal_id: GoalId,
    pub description: String,
    /// The metric it is checked against, for example `rep_questions`.
    pub metric: String,
    pub target: GoalTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalTarget {
    AtLeast(f64),
    AtMost(f64),
}

impl GoalTarget {
    pub fn is_met_by(&self, value: f64) -> bool {
        match *self {
            GoalTarget::AtLeast(min) => value >= min,
            GoalTarget::AtMost(max) => value <= max,
        }
    }
}

/// Who produced the scores, so an analysis can be reproduced and audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `deterministic`, or the LLM provider name.
    pub provider: String,
    pub model: Option<String>,
    pub rubric_version: String,
    pub prompt_version: Option<String>,
    /// Stored by the last-resort path when every LLM provider was down.
    pub degraded: bool,
}

/// The complete, explainable result of scoring one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub call_id: CallId,
    pub transcript_version: u32,
    pub metrics: Metrics,
    pub overall_score: u8,
    pub scores: Vec<DimensionScore>,
    pub highlights: Vec<Highlight>,
    pub suggestions: Vec<String>,
    pub micro_goals: Vec<MicroGoal>,
    pub summary: String,
    pub provenance: Provenance,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_targets_compare_inclusively() {
        assert!(GoalTarget::AtLeast(11.0).is_met_by(11.0));
        assert!(!GoalTarget::AtLeast(11.0).is_met_by(10.9));
        assert!(GoalTarget::AtMost(90.0).is_met_by(90.0));
        assert!(!GoalTarget::AtMost(90.0).is_met_by(90.5));
    }
}
