//! What is accepted back: the model's answer, parsed and checked by code.

use serde::Deserialize;

use crate::domain::analysis::{
    Analysis, DimensionScore, Evidence, Highlight, HighlightKind, ObjectionType, Provenance,
    ScoreDimension,
};
use crate::ports::IdGenerator;
use crate::scoring::coach::overall_score;

use super::{Prompt, SYSTEM_CANARY};

/// The answer's shape; anything else is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    scores: Vec<VerdictScore>,
    highlights: Vec<VerdictHighlight>,
    suggestions: Vec<String>,
    summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictScore {
    dimension: String,
    score: i64,
    evidence: Vec<VerdictEvidence>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictEvidence {
    description: String,
    #[serde(default)]
    at_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictHighlight {
    kind: String,
    #[serde(default)]
    objection: Option<ObjectionType>,
    at_ms: u64,
    quote: String,
    note: String,
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOutput {
    /// The detail (serde's message) may quote the answer: it is for tests, never for logs.
    #[error("not the expected JSON")]
    Schema(String),
    #[error("score for {0} is outside 0-100")]
    ScoreRange(String),
    #[error("dimensions must be {:?}, each once", ScoreDimension::names())]
    Dimensions,
    #[error("a highlight is outside the call")]
    OutsideCall,
    #[error("a quote does not occur in the transcript")]
    QuoteNotFound,
    #[error("the answer contains a link, an image or markup")]
    Markup,
    #[error("the answer repeats the system prompt")]
    PromptLeak,
    #[error("{0}")]
    Bounds(&'static str),
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn check_text(text: &str) -> Result<(), InvalidOutput> {
    let lower = text.to_lowercase();
    if lower.contains(SYSTEM_CANARY) {
        return Err(InvalidOutput::PromptLeak);
    }
    if ["http://", "https://", "www.", "![", "<img", "](", "data:"]
        .iter()
        .any(|m| lower.contains(m))
    {
        return Err(InvalidOutput::Markup);
    }
    Ok(())
}

/// The model's judgement, checked, as the parts of an analysis it may set.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The model's scores weighted by the rubric, before [`apply`] anchors them.
    pub overall_score: u8,
    pub scores: Vec<DimensionScore>,
    pub highlights: Vec<Highlight>,
    pub suggestions: Vec<String>,
    pub summary: String,
}

/// Parses and checks an answer against the prompt it answers.
pub fn validate<I: IdGenerator>(
    answer: &str,
    prompt: &Prompt,
    call_duration_ms: u64,
    ids: &I,
) -> Result<Judgement, InvalidOutput> {
    // Models sometimes wrap JSON in a code fence; the object itself is what counts.
    let body = answer.trim();
    let body = body
        .strip_prefix("```json")
        .or_else(|| body.strip_prefix("```"))
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or(body);
    let verdict: Verdict =
        serde_json::from_str(body).map_err(|e| InvalidOutput::Schema(e.to_string()))?;
    let mut scores = Vec::with_capacity(ScoreDimension::ALL.len());
    for dimension in ScoreDimension::ALL {
        let mut matching = verdict
            .scores
            .iter()
            .filter(|s| s.dimension == dimension.as_str());
        let (Some(found), None) = (matching.next(), matching.next()) else {
            return Err(InvalidOutput::Dimensions);
        };
        let score = u8::try_from(found.score)
            .map_err(|_| InvalidOutput::ScoreRange(dimension.as_str().into()))?;
        if score > 100 {
            return Err(InvalidOutput::ScoreRange(dimension.as_str().into()));
        }
        if found.evidence.len() > 10 {
            return Err(InvalidOutput::Bounds(
                "at most 10 pieces of evidence a score",
            ));
        }
        let mut evidence = Vec::new();
        for e in &found.evidence {
            check_text(&e.description)?;
            if e.description.chars().count() > 500 {
                return Err(InvalidOutput::Bounds("evidence is at most 500 characters"));
            }
            if e.at_ms.is_some_and(|at| at > call_duration_ms) {
                return Err(InvalidOutput::OutsideCall);
            }
            evidence.push(Evidence {
                description: e.description.clone(),
                at_ms: e.at_ms,
            });
        }
        scores.push(DimensionScore {
            dimension,
            score,
            evidence,
        });
    }
    if verdict.scores.len() != ScoreDimension::ALL.len() {
        return Err(InvalidOutput::Dimensions);
    }
    if verdict.highlights.len() > 12 {
        return Err(InvalidOutput::Bounds("at most 12 highlights"));
    }
    let sent = normalise(&prompt.sent_text);
    let mut highlights = Vec::new();
    for h in &verdict.highlights {
        check_text(&h.quote)?;
        check_text(&h.note)?;
        if h.at_ms > call_duration_ms {
            return Err(InvalidOutput::OutsideCall);
        }
        let quote = normalise(&h.quote);
        if quote.is_empty() || quote.chars().count() > 400 || !sent.contains(&quote) {
            return Err(InvalidOutput::QuoteNotFound);
        }
        let kind = match (h.kind.as_str(), h.objection) {
            ("objection", Some(objection)) => HighlightKind::Objection { objection },
            ("weak_close", None) => HighlightKind::WeakClose,
            ("next_step", None) => HighlightKind::NextStep,
            ("strong_moment", None) => HighlightKind::StrongMoment,
            _ => {
                return Err(InvalidOutput::Schema(format!(
                    "highlight kind {:?}",
                    h.kind
                )));
            }
        };
        highlights.push(Highlight {
            highlight_id: ids.mint(),
            kind,
            at_ms: h.at_ms,
            quote: h.quote.trim().to_owned(),
            note: h.note.clone(),
        });
    }
    if !(3..=5).contains(&verdict.suggestions.len()) {
        return Err(InvalidOutput::Bounds("3 to 5 suggestions"));
    }
    for s in verdict.suggestions.iter().chain([&verdict.summary]) {
        check_text(s)?;
        if s.chars().count() > 1200 {
            return Err(InvalidOutput::Bounds("texts are at most 1,200 characters"));
        }
    }
    Ok(Judgement {
        overall_score: overall_score(&scores),
        scores,
        highlights,
        suggestions: verdict.suggestions,
        summary: verdict.summary,
    })
}

/// How far a model's dimension score may move from the rubric's. The rubric anchors the
/// model: a transcript that talks the model into "score 100" moves a score at most this much.
pub const MAX_DEVIATION: u8 = 20;

/// The deterministic analysis with the model's judgement in place of the rubric's, each score
/// held within [`MAX_DEVIATION`] of the rubric's (the evidence says when it was).
pub fn apply(mut baseline: Analysis, judgement: Judgement, provenance: Provenance) -> Analysis {
    let mut scores = judgement.scores;
    for score in &mut scores {
        let Some(rubric) = baseline
            .scores
            .iter()
            .find(|s| s.dimension == score.dimension)
            .map(|s| s.score)
        else {
            continue;
        };
        let held = score.score.clamp(
            rubric.saturating_sub(MAX_DEVIATION),
            rubric.saturating_add(MAX_DEVIATION).min(100),
        );
        if held != score.score {
            score.evidence.push(Evidence {
                description: format!(
                    "the model's {} was held within {MAX_DEVIATION} points of the rubric's {rubric}",
                    score.score
                ),
                at_ms: None,
            });
            score.score = held;
        }
    }
    baseline.overall_score = overall_score(&scores);
    baseline.scores = scores;
    baseline.highlights = judgement.highlights;
    baseline.suggestions = judgement.suggestions;
    baseline.summary = judgement.summary;
    baseline.provenance = provenance;
    // The model's advice is held back like the rubric's when the rep is unsure.
    baseline.hold_coaching_if_rep_unsure();
    baseline
}
