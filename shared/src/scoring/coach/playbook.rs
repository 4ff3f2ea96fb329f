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
    // Covered: one rep utterance has at least half of a proposition's key words (those over
    // four letters); two always suffice. Each rep utterance is read once, for all of them.
    let key_words: Vec<Vec<String>> = playbook
        .value_propositions
        .iter()
        .map(|p| {
            TokenList::from_text(p)
                .iter()
                .filter(|w| w.len() > 4)
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let mut covered = vec![false; key_words.len()];
    for u in scene.utterances().iter().filter(|u| scene.is_rep(u)) {
        if covered.iter().all(|&c| c) {
            break;
        }
        let said = TokenList::from_text(&u.text);
        for (words, covered) in key_words.iter().zip(&mut covered) {
            *covered |= !words.is_empty()
                && words.iter().filter(|k| said.contains(k)).count() * 2 >= words.len().min(4);
        }
    }
    let mut evidence_list = Vec::new();
    let mut parts = Vec::new();
    let mut missed: Option<&str> = None;
    for (proposition, &mentioned) in playbook.value_propositions.iter().zip(&covered) {
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
