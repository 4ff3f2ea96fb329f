//! Discovery: how many questions the rep asked against the call type's target, and the
//! question that got the customer talking longest.

use crate::domain::analysis::{GoalMetric, GoalTarget, HighlightKind, Metrics};
use crate::domain::call::CallType;
use crate::ports::IdGenerator;

use super::scene::{Findings, GoalCandidate, Scene, Scored, clamp_score, evidence};

/// A customer answer this long shows a question that opened the customer up.
const STRONG_ANSWER_MS: u64 = 30_000;

/// Discovery question targets by call type (Gong Labs: 11-14 on discovery calls).
pub fn question_target(call_type: CallType) -> (u32, u32) {
    match call_type {
        CallType::Discovery => (11, 14),
        CallType::Demo => (6, 12),
        CallType::FollowUp | CallType::Other => (5, 10),
    }
}

fn plural(count: u32, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn questions_goal(priority: u8, at_least: u32) -> GoalCandidate {
    GoalCandidate {
        priority,
        description: format!("Ask at least {at_least} questions"),
        metric: GoalMetric::RepQuestions,
        target: GoalTarget::AtLeast(f64::from(at_least)),
    }
}

/// Scores discovery by the rep's questions; a shortfall cites the rep's longest line that
/// asked nothing.
pub(super) fn score(
    scene: &Scene<'_>,
    metrics: &Metrics,
    call_type: CallType,
    findings: &mut Findings,
) -> Scored {
    let (q_low, q_high) = question_target(call_type);
    let questions = metrics.rep_questions;
    let score = if questions >= q_low {
        100.0
    } else {
        100.0 * f64::from(questions) / f64::from(q_low)
    };
    if questions < q_low {
        findings.suggest_citing(scene, clamp_score(score), format!(
            "Ask more discovery questions: {questions} this call against a target of {q_low}-{q_high}. Prepare three open questions about the customer's process and its cost before the call. Your longest line without a question"
        ), scene.longest_rep_line(true));
        findings
            .goals
            .push(questions_goal(clamp_score(score), q_low));
    }
    Scored {
        score,
        evidence: vec![evidence(
            format!(
                "the rep asked {} (target {q_low}-{q_high} for this call type)",
                plural(questions, "question")
            ),
            None,
        )],
    }
}

/// The goal set when the call gave no other: the top of the question target.
pub(super) fn stretch_goal(call_type: CallType) -> GoalCandidate {
    questions_goal(0, question_target(call_type).1)
}

/// A strong moment: the rep question that got the customer talking longest, 30 s or more.
pub(super) fn strong_moment<I: IdGenerator>(scene: &Scene<'_>, ids: &I, findings: &mut Findings) {
    if !scene.timed {
        return;
    }
    let utterances = scene.utterances();
    let mut best: Option<(u64, usize)> = None;
    for (i, pair) in utterances.windows(2).enumerate() {
        let (question, answer) = (&pair[0], &pair[1]);
        if scene.is_rep(question) && question.text.contains('?') && !scene.is_rep(answer) {
            let length = answer.end_ms - answer.start_ms;
            if length >= STRONG_ANSWER_MS && best.is_none_or(|(l, _)| length > l) {
                best = Some((length, i));
            }
        }
    }
    if let Some((length, i)) = best {
        findings.highlight(
            ids,
            HighlightKind::StrongMoment,
            &utterances[i],
            format!(
                "This question got the customer talking for {} s.",
                length / 1000
            ),
        );
    }
}
