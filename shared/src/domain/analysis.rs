//! What scoring produces: metrics, scores with evidence, highlights, suggestions, goals.

use std::fmt;

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

/// Shows an enum by its wire name (its `as_str`, equal to its serde name) and compares it
/// with a wire name read from outside.
macro_rules! wire_named {
    ($name:ty) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, name: &&str) -> bool {
                self.as_str() == *name
            }
        }
    };
}

/// A piece of evidence behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub description: String,
    pub at_ms: Option<u64>,
}

/// What a call is scored on. The wire names are the serde names, stored in every analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreDimension {
    Discovery,
    Listening,
    ObjectionHandling,
    NextSteps,
    PlaybookAdherence,
}

impl ScoreDimension {
    /// Every dimension, in the order scores are listed.
    pub const ALL: [ScoreDimension; 5] = [
        Self::Discovery,
        Self::Listening,
        Self::ObjectionHandling,
        Self::NextSteps,
        Self::PlaybookAdherence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Listening => "listening",
            Self::ObjectionHandling => "objection_handling",
            Self::NextSteps => "next_steps",
            Self::PlaybookAdherence => "playbook_adherence",
        }
    }

    /// Its share of the overall score; the shares add up to 1.
    pub fn weight(self) -> f64 {
        match self {
            Self::Discovery | Self::Listening => 0.25,
            Self::ObjectionHandling | Self::PlaybookAdherence => 0.15,
            Self::NextSteps => 0.20,
        }
    }

    /// The wire names of [`Self::ALL`], as the LLM is told them.
    pub fn names() -> [&'static str; 5] {
        Self::ALL.map(Self::as_str)
    }
}

wire_named!(ScoreDimension);

/// A 0-100 score for one coaching dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    pub dimension: ScoreDimension,
    pub score: u8,
    pub evidence: Vec<Evidence>,
}

/// What stands in the way of the sale (or of keeping the customer): the taxonomy of the
/// coach, of the LLM's findings and of the eval's labels alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionType {
    /// The price or the value for it ("not worth it", "more than I hoped").
    Price,
    /// No money set aside ("no budget this year").
    Budget,
    /// Not now ("not today", "let me think about it").
    Timing,
    /// Someone else decides ("speak with my wife", "my boss signs").
    Authority,
    /// Another vendor ("another company", "cheaper elsewhere").
    Competitor,
    /// Happy with the way things are.
    StatusQuo,
    /// No need for it.
    Need,
    /// Doubt or fear ("afraid it would have the same problems").
    Trust,
    /// Wanting to cancel or leave.
    Cancellation,
    /// Any other resistance.
    Other,
}

impl ObjectionType {
    /// How coaching notes and reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Budget => "budget",
            Self::Timing => "timing",
            Self::Authority => "authority",
            Self::Competitor => "competitor",
            Self::StatusQuo => "status quo",
            Self::Need => "need",
            Self::Trust => "trust",
            Self::Cancellation => "cancellation",
            Self::Other => "other",
        }
    }
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

/// A measure a micro-goal is checked against on the rep's later calls. The wire names are the
/// serde names, stored with every goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalMetric {
    RepQuestions,
    RepTalkRatio,
    LongestRepMonologueMs,
    RepFillerWordsPerMinute,
    PatienceMs,
    /// Next-step highlights: a next step agreed with a date or time.
    DatedNextSteps,
}

impl GoalMetric {
    pub const ALL: [GoalMetric; 6] = [
        Self::RepQuestions,
        Self::RepTalkRatio,
        Self::LongestRepMonologueMs,
        Self::RepFillerWordsPerMinute,
        Self::PatienceMs,
        Self::DatedNextSteps,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepQuestions => "rep_questions",
            Self::RepTalkRatio => "rep_talk_ratio",
            Self::LongestRepMonologueMs => "longest_rep_monologue_ms",
            Self::RepFillerWordsPerMinute => "rep_filler_words_per_minute",
            Self::PatienceMs => "patience_ms",
            Self::DatedNextSteps => "dated_next_steps",
        }
    }

    /// Its value in one call's analysis; `None` when the call could not measure it.
    pub fn value_in(self, metrics: &Metrics, highlights: &[Highlight]) -> Option<f64> {
        match self {
            Self::RepQuestions => Some(f64::from(metrics.rep_questions)),
            Self::RepTalkRatio => metrics.rep_talk_ratio.value(),
            Self::LongestRepMonologueMs => metrics.longest_rep_monologue_ms.value(),
            Self::RepFillerWordsPerMinute => metrics.rep_filler_words_per_minute.value(),
            Self::PatienceMs => metrics.patience_ms.value(),
            Self::DatedNextSteps => Some(
                highlights
                    .iter()
                    .filter(|h| h.kind == HighlightKind::NextStep)
                    .count() as f64,
            ),
        }
    }
}

wire_named!(GoalMetric);

/// A small, measurable goal for the rep's next calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroGoal {
    pub goal_id: GoalId,
    pub description: String,
    /// The metric it is checked against.
    pub metric: GoalMetric,
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

/// An objection the customer raised, in the analysis's `objections` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectionFinding {
    /// 0-based index into the canonical transcript's utterances (for a `Speaker: text` file,
    /// the index of its non-empty lines).
    pub utterance: usize,
    /// The utterance's start; 0 when the transcript has no times.
    pub at_ms: u64,
    #[serde(rename = "type")]
    pub kind: ObjectionType,
    /// The sentence that raised it: a substring of the utterance.
    pub quote: String,
    /// Whether the rep answered it before the customer moved on.
    pub handled: bool,
}

/// A next step agreed or proposed, in the analysis's `next_steps` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextStepFinding {
    /// 0-based index into the canonical transcript's utterances.
    pub utterance: usize,
    pub at_ms: u64,
    /// The sentence that states it: a substring of the utterance.
    pub quote: String,
    /// Whether a day, date or time was fixed.
    pub dated: bool,
}

/// Which speaker the coach took for the rep, by which rule, and how sure it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepSpeaker {
    /// Index into the transcript's speakers; `None` when the call has no speaker.
    pub speaker: Option<usize>,
    /// That speaker's label, as the transcript spells it.
    pub label: Option<String>,
    pub rule: String,
    /// 0-1: how often the rule is right on calls of this kind.
    pub confidence: f64,
    /// True when the confidence is too low to coach on: the report says so, the coaching for
    /// the rep (suggestions, micro-goals, progress) is held back, and setting the call's rep
    /// speaker removes the doubt.
    pub unsure: bool,
}

/// The one suggestion of an analysis whose rep speaker is unsure.
pub const UNSURE_REP_SUGGESTION: &str = "The coach could not tell which speaker is the rep, so it gives no advice for this call: set the call's rep speaker to get coaching.";

impl Analysis {
    /// Whether the coach was unsure which speaker is the rep.
    pub fn rep_is_unsure(&self) -> bool {
        self.rep.as_ref().is_some_and(|r| r.unsure)
    }

    /// When the rep is unsure, advice and goals could be meant for the wrong person: only the
    /// scores, highlights and lists stay, and the one suggestion says how to get coaching.
    pub fn hold_coaching_if_rep_unsure(&mut self) {
        if self.rep_is_unsure() {
            self.suggestions = vec![UNSURE_REP_SUGGESTION.to_owned()];
            self.micro_goals.clear();
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

/// The version of the analysis document. Version 2 added the `objections`, `next_steps` and
/// `rep` fields; a version 1 document reads with them empty.
pub const ANALYSIS_SCHEMA_VERSION: u32 = 2;

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
    /// Since version 2: the customer's objections, in the order raised.
    #[serde(default)]
    pub objections: Vec<ObjectionFinding>,
    /// Since version 2: the next steps agreed or proposed, in the order said.
    #[serde(default)]
    pub next_steps: Vec<NextStepFinding>,
    /// Since version 2: the rep speaker, its rule and confidence (`None` in version 1).
    #[serde(default)]
    pub rep: Option<RepSpeaker>,
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

    #[test]
    fn score_dimensions_and_goal_metrics_keep_their_wire_names() {
        let dimensions = serde_json::to_value(ScoreDimension::ALL).unwrap();
        assert_eq!(
            dimensions,
            serde_json::json!([
                "discovery",
                "listening",
                "objection_handling",
                "next_steps",
                "playbook_adherence"
            ])
        );
        assert_eq!(dimensions, serde_json::json!(ScoreDimension::names()));
        let weights: f64 = ScoreDimension::ALL.iter().map(|d| d.weight()).sum();
        assert!((weights - 1.0).abs() < 1e-9, "weights add up to {weights}");
        let metrics = serde_json::to_value(GoalMetric::ALL).unwrap();
        assert_eq!(
            metrics,
            serde_json::json!([
                "rep_questions",
                "rep_talk_ratio",
                "longest_rep_monologue_ms",
                "rep_filler_words_per_minute",
                "patience_ms",
                "dated_next_steps"
            ])
        );
        assert_eq!(
            metrics,
            serde_json::json!(GoalMetric::ALL.map(GoalMetric::as_str))
        );
    }
}
