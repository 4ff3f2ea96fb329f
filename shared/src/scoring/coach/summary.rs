//! The summary: one framing sentence of facts, then sentences quoted from the call.

use crate::domain::analysis::Metrics;
use crate::domain::transcript::Utterance;

use super::objections::ObjectionFound;
use super::scene::{Scene, quote};
use super::words::PAIN_WORDS;

pub(super) fn summarize(
    scene: &Scene<'_>,
    metrics: &Metrics,
    objections: &[ObjectionFound],
    next_step: Option<&Utterance>,
) -> String {
    let utterances = scene.utterances();
    let minutes = metrics
        .duration_ms
        .value()
        .map(|ms| format!("{:.0}-minute ", ms / 60_000.0))
        .unwrap_or_default();
    let mut parts = vec![format!(
        "A {minutes}conversation between {} speakers.",
        scene.transcript.speakers.len()
    )];
    if let Some(pain) = utterances
        .iter()
        .zip(&scene.tokens)
        .find(|(u, toks)| !scene.is_rep(u) && toks.iter().any(|t| PAIN_WORDS.contains(&t)))
    {
        parts.push(format!("Customer: \"{}\"", quote(&pain.0.text)));
    }
    if let Some(o) = objections.first() {
        parts.push(format!(
            "Objection: \"{}\"",
            quote(&utterances[o.utterance].text)
        ));
    }
    if let Some(step) = next_step {
        parts.push(format!("Next step: \"{}\"", quote(&step.text)));
    }
    parts.join(" ")
}
