//! The deterministic coach: the default when no LLM is configured and the last-resort fallback.
//!
//! Scores 0-100 per dimension from the metrics against target ranges and from what was said
//! (objections, next steps, playbook phrases); every score lists its evidence. Same input, same
//! output (ids aside). Each dimension has its module; this one puts their findings together.

mod discovery;
mod listening;
mod model_findings;
mod next_steps;
mod objections;
mod playbook;
mod scene;
mod summary;
mod words;

pub use discovery::question_target;
pub use model_findings::list_model_findings;

use crate::domain::analysis::{
    DimensionScore, Highlight, Metrics, MicroGoal, NextStepFinding, ObjectionFinding,
    ScoreDimension,
};
use crate::domain::call::CallType;
use crate::domain::playbook::Playbook;
use crate::domain::transcript::Transcript;
use crate::ports::IdGenerator;

use scene::{Findings, GoalCandidate, Scene, clamp_score};

pub const RUBRIC_VERSION: &str = "deterministic-1";

/// At most this many micro-goals a call.
const MAX_GOALS: usize = 3;
/// Suggestions a call gets: at least, and at most.
const SUGGESTIONS: (usize, usize) = (3, 5);
/// Strengths that fill in when few problems were found.
const KEEP_DOING: [&str; 3] = [
    "Keep opening with the customer's agenda: confirm time, goals and who else should be involved.",
    "Keep summarising what you heard before you present: it shows you listened and catches misunderstandings.",
    "Keep asking about impact: how much time or money the problem costs makes the business case.",
];

/// Everything the coach writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Coaching {
    pub overall_score: u8,
    pub scores: Vec<DimensionScore>,
    pub highlights: Vec<Highlight>,
    pub suggestions: Vec<String>,
    pub micro_goals: Vec<MicroGoal>,
    pub summary: String,
    pub objections: Vec<ObjectionFinding>,
    pub next_steps: Vec<NextStepFinding>,
}

/// The overall score: the dimension scores weighted by [`ScoreDimension::weight`].
pub fn overall_score(scores: &[DimensionScore]) -> u8 {
    clamp_score(
        scores
            .iter()
            .map(|s| f64::from(s.score) * s.dimension.weight())
            .sum(),
    )
}

/// The deterministic coach. `ids` mints highlight and goal ids.
pub fn coach<I: IdGenerator>(
    transcript: &Transcript,
    metrics: &Metrics,
    playbook: &Playbook,
    call_type: CallType,
    ids: &I,
) -> Coaching {
    let scene = Scene::new(transcript, metrics.rep_speaker);
    let mut findings = Findings::default();
    // The order matters: it is the order ids are minted and ties are ranked in.
    let discovery = discovery::score(&scene, metrics, call_type, &mut findings);
    let listening = listening::score(&scene, metrics, discovery.score, &mut findings);
    let (objection_handling, objections) = objections::score(&scene, playbook, ids, &mut findings);
    let (next_steps, steps) = next_steps::score(&scene, ids, &mut findings);
    discovery::strong_moment(&scene, ids, &mut findings);
    let playbook_adherence = playbook::score(&scene, metrics, playbook, &mut findings);

    let scores: Vec<DimensionScore> = [
        (ScoreDimension::Discovery, discovery),
        (ScoreDimension::Listening, listening),
        (ScoreDimension::ObjectionHandling, objection_handling),
        (ScoreDimension::NextSteps, next_steps),
        (ScoreDimension::PlaybookAdherence, playbook_adherence),
    ]
    .into_iter()
    .map(|(dimension, scored)| DimensionScore {
        dimension,
        score: clamp_score(scored.score),
        evidence: scored.evidence,
    })
    .collect();

    let Findings {
        mut highlights,
        suggestions,
        goals,
    } = findings;
    highlights.sort_by_key(|h| h.at_ms);
    Coaching {
        overall_score: overall_score(&scores),
        summary: summary::summarize(&scene, metrics, &objections, &steps),
        scores,
        highlights,
        suggestions: pick_suggestions(suggestions),
        micro_goals: pick_goals(goals, call_type, ids),
        objections,
        next_steps: steps,
    }
}

/// 3-5 suggestions, weakest areas first; strengths fill in when few problems were found.
fn pick_suggestions(mut ranked: Vec<(u8, String)>) -> Vec<String> {
    let (least, most) = SUGGESTIONS;
    ranked.sort_by_key(|(score, _)| *score);
    let mut suggestions: Vec<String> = ranked.into_iter().map(|(_, s)| s).collect();
    suggestions.dedup();
    for keep in KEEP_DOING {
        if suggestions.len() >= least {
            break;
        }
        suggestions.push(keep.to_owned());
    }
    suggestions.truncate(most);
    suggestions
}

/// The weakest areas' goals, one a metric; the top of the question target when none.
fn pick_goals<I: IdGenerator>(
    mut candidates: Vec<GoalCandidate>,
    call_type: CallType,
    ids: &I,
) -> Vec<MicroGoal> {
    candidates.sort_by_key(|g| g.priority);
    let mut goals: Vec<MicroGoal> = Vec::new();
    for candidate in candidates {
        if goals.iter().all(|g| g.metric != candidate.metric) && goals.len() < MAX_GOALS {
            goals.push(candidate.into_goal(ids));
        }
    }
    if goals.is_empty() {
        goals.push(discovery::stretch_goal(call_type).into_goal(ids));
    }
    goals
}
