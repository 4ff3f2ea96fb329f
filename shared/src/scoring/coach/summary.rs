//! The summary: one framing sentence of facts, then sentences quoted from the call.

use super::scene::{Scene, quote};
use crate::domain::analysis::{Metrics, NextStepFinding, ObjectionFinding};

pub(super) fn summarize(
    scene: &Scene<'_>,
    metrics: &Metrics,
    objections: &[ObjectionFinding],
    next_steps: &[NextStepFinding],
) -> String {
    let minutes = metrics
        .duration_ms
        .value()
        .map(|ms| format!("{:.0}-minute ", ms / 60_000.0))
        .unwrap_or_default();
    let mut parts = vec![format!(
        "A {minutes}conversation between {} speakers.",
        scene.transcript.speakers.len()
    )];
    if let Some(pain) = scene.customer_pain() {
        parts.push(format!("Customer: \"{}\"", quote(&pain.text)));
    }
    if let Some(o) = objections.first() {
        parts.push(format!("Objection: \"{}\"", quote(&o.quote)));
    }
    if let Some(step) = next_steps.iter().find(|s| s.dated).or(next_steps.last()) {
        parts.push(format!("Next step: \"{}\"", quote(&step.quote)));
    }
    parts.join(" ")
}
