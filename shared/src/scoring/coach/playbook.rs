//! Playbook adherence: the value propositions the rep covered, and the trackers' hits as
//! evidence.

use crate::domain::analysis::Metrics;
use crate::domain::playbook::Playbook;
use crate::scoring::text::TokenList;

use super::scene::{Findings, Scene, Scored, clamp_score, evidence, quote};

/// With no value propositions there is nothing to adhere to: a neutral score.
const NO_PROPOSITIONS_SCORE: f64 = 70.0;
/// Under this score the rep is told which proposition was missed.
const WEAK_SCORE: f64 = 70.0;

pub(super) fn score(
    scene: &Scene<'_>,
    metrics: &Metrics,
    playbook: &Playbook,
    findings: &mut Findings,
) -> Scored {
    let rep_utterances: Vec<usize> = (0..scene.utterances().len())
        .filter(|&i| scene.is_rep(&scene.utterances()[i]))
        .collect();
    let mut evidence_list = Vec::new();
    let mut parts = Vec::new();
    let mut missed: Option<&str> = None;
    for proposition in &playbook.value_propositions {
        // Covered: one rep utterance has at least half of its key words (those over four
        // letters); two always suffice.
        let all_words = TokenList::from_text(proposition);
        let key_words: Vec<&str> = all_words.iter().filter(|w| w.len() > 4).collect();
        let mentioned = !key_words.is_empty()
            && rep_utterances.iter().any(|&i| {
                key_words.iter().filter(|k| scene.says(i, k)).count() * 2 >= key_words.len().min(4)
            });
        parts.push(if mentioned { 100.0 } else { 0.0 });
        if !mentioned && missed.is_none() {
            missed = Some(proposition);
        }
        evidence_list.push(evidence(
            format!(
                "value proposition {}: \"{}\"",
                if mentioned { "covered" } else { "not covered" },
                quote(proposition)
            ),
            None,
        ));
    }
    for hit in &metrics.trackers {
        evidence_list.push(evidence(
            format!("tracker \"{}\" mentioned {} times", hit.tracker, hit.count),
            hit.at_ms.first().copied(),
        ));
    }
    let score = if parts.is_empty() {
        evidence_list.push(evidence(
            "no value propositions in the playbook".into(),
            None,
        ));
        NO_PROPOSITIONS_SCORE
    } else {
        parts.iter().sum::<f64>() / parts.len() as f64
    };
    if let Some(missed) = missed.filter(|_| score < WEAK_SCORE) {
        findings.suggest_citing(
            scene,
            clamp_score(score),
            format!(
                "Work your value propositions into the call: tie each one to a problem the customer described. Not covered this call: \"{}\". The customer's problem",
                quote(missed)
            ),
            scene.customer_pain(),
        );
    }
    Scored {
        score,
        evidence: evidence_list,
    }
}
