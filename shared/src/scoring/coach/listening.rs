//! Listening: talk ratio, longest monologue, patience and interruptions, each against its
//! target; filler words add advice but no score.

use crate::domain::analysis::{GoalMetric, GoalTarget, Metrics};

use super::scene::{Findings, Scene, Scored, clamp_score, evidence};

const MONOLOGUE_LIMIT_MS: f64 = 90_000.0;
const TALK_RATIO_RANGE: (f64, f64) = (0.40, 0.60);
const FILLERS_PER_MINUTE_LIMIT: f64 = 3.0;
const PATIENCE_FLOOR_MS: f64 = 600.0;

/// Without any timing, listening is judged on the discovery score, capped at this.
const UNTIMED_CAP: f64 = 80.0;

/// Scores listening from the metrics; each suggestion cites the line it is about.
pub(super) fn score(
    scene: &Scene<'_>,
    metrics: &Metrics,
    discovery: f64,
    findings: &mut Findings,
) -> Scored {
    let mut parts = Vec::new();
    let mut evidence_list = Vec::new();
    if let Some(ratio) = metrics.rep_talk_ratio.value() {
        let (low, high) = TALK_RATIO_RANGE;
        let part = if ratio > high {
            100.0 - (ratio - high) * 250.0
        } else if ratio < low {
            100.0 - (low - ratio) * 150.0
        } else {
            100.0
        };
        parts.push(part);
        evidence_list.push(evidence(
            format!(
                "rep talk ratio {:.0}% (target {:.0}-{:.0}%)",
                ratio * 100.0,
                low * 100.0,
                high * 100.0
            ),
            None,
        ));
        if ratio > high {
            findings.suggest_citing(scene, clamp_score(part), format!(
                "You talked {:.0}% of the time. Aim for {:.0}-{:.0}%: after each answer, ask a follow-up question before presenting. Your longest stretch",
                ratio * 100.0, low * 100.0, high * 100.0
            ), scene.longest_rep_line(false));
            findings.propose_goal(
                clamp_score(part),
                "Talk no more than 60% of the call".into(),
                GoalMetric::RepTalkRatio,
                GoalTarget::AtMost(high),
            );
        }
    }
    if let Some(monologue) = metrics.longest_rep_monologue_ms.value() {
        let part = if monologue <= MONOLOGUE_LIMIT_MS {
            100.0
        } else {
            100.0 - (monologue - MONOLOGUE_LIMIT_MS) / 1000.0
        };
        parts.push(part);
        evidence_list.push(evidence(
            format!(
                "longest rep monologue {:.0} s (target under 90 s)",
                monologue / 1000.0
            ),
            None,
        ));
        if monologue > MONOLOGUE_LIMIT_MS {
            findings.suggest_citing(scene, clamp_score(part), format!(
                "Your longest monologue ran {:.0} s. Check in with a question every 60-90 s so the customer stays in the conversation. Your longest line",
                monologue / 1000.0
            ), scene.longest_rep_line(false));
            findings.propose_goal(
                clamp_score(part),
                "Keep monologues under 90 s".into(),
                GoalMetric::LongestRepMonologueMs,
                GoalTarget::AtMost(MONOLOGUE_LIMIT_MS),
            );
        }
    }
    if let Some(patience) = metrics.patience_ms.value() {
        let part = if patience >= PATIENCE_FLOOR_MS {
            100.0
        } else {
            60.0 + 40.0 * patience / PATIENCE_FLOOR_MS
        };
        parts.push(part);
        evidence_list.push(evidence(format!("mean pause before responding {patience:.0} ms (target at least {PATIENCE_FLOOR_MS:.0} ms)"), None));
        if patience < PATIENCE_FLOOR_MS {
            findings.suggest_citing(scene, clamp_score(part), "Leave a short pause before you answer: it signals you heard the customer and often draws out more detail. Your quickest reply".into(), scene.quickest_rep_reply());
        }
    }
    if let Some(interruptions) = metrics
        .rep_speaker
        .and_then(|r| metrics.speakers.get(r))
        .and_then(|s| s.interruptions.value())
    {
        let part = 100.0 - 15.0 * interruptions;
        parts.push(part);
        evidence_list.push(evidence(
            format!("the rep interrupted {interruptions:.0} times"),
            None,
        ));
        if interruptions >= 2.0 {
            findings.suggest_citing(scene, clamp_score(part), format!("You interrupted the customer {interruptions:.0} times. Let them finish; note your point and come back to it. The furthest you cut in"), scene.quickest_rep_reply());
        }
    }
    if let Some(fillers) = metrics.rep_filler_words_per_minute.value()
        && fillers > FILLERS_PER_MINUTE_LIMIT
    {
        findings.suggest_citing(scene, 70, format!("Cut filler words: {fillers:.1} per minute (\"um\", \"you know\"). A brief silence sounds more confident. The line with the most"), scene.most_filled_rep_line());
        findings.propose_goal(
            70,
            "Use at most 3 filler words per minute".into(),
            GoalMetric::RepFillerWordsPerMinute,
            GoalTarget::AtMost(FILLERS_PER_MINUTE_LIMIT),
        );
    }
    let score = if parts.is_empty() {
        evidence_list.push(evidence(
            "no timing in this transcript: listening is judged on questions only".into(),
            None,
        ));
        discovery.min(UNTIMED_CAP)
    } else {
        parts.iter().sum::<f64>() / parts.len() as f64
    };
    Scored {
        score,
        evidence: evidence_list,
    }
}
