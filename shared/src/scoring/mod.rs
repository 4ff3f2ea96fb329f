//! Turning a canonical transcript into an explainable analysis: metrics, the deterministic
//! coach, the rep speaker rule, and the readable report.

pub mod coach;
mod cues;
pub mod llm;
pub mod metrics;
pub mod rep;
pub mod report;
#[cfg(test)]
mod tests;
mod text;

pub use coach::{RUBRIC_VERSION, coach};
pub use metrics::{MAX_TRACKER_TIMES, compute_metrics};
pub use rep::{RepChoice, choose_rep};

use time::OffsetDateTime;

use crate::domain::analysis::{ANALYSIS_SCHEMA_VERSION, Analysis, Provenance, RepSpeaker};
use crate::domain::call::CallType;
use crate::domain::playbook::Playbook;
use crate::domain::transcript::Transcript;
use crate::ids::{CallId, TenantId};
use crate::ports::IdGenerator;

/// What to score.
#[derive(Debug, Clone, Copy)]
pub struct ScoringRequest<'a> {
    pub tenant_id: &'a TenantId,
    pub call_id: &'a CallId,
    pub transcript_version: u32,
    pub transcript: &'a Transcript,
    pub playbook: &'a Playbook,
    pub call_type: CallType,
    /// The speaker the user said is the rep, if they did.
    pub rep_override: Option<&'a str>,
    /// The rep's name, matched against speaker names.
    pub rep_name: Option<&'a str>,
}

/// Metrics plus the deterministic coach: a complete analysis with no outside service.
pub fn deterministic_analysis<I: IdGenerator>(
    request: ScoringRequest<'_>,
    ids: &I,
    now: OffsetDateTime,
) -> Analysis {
    let rep = choose_rep(request.transcript, request.rep_override, request.rep_name);
    let metrics = compute_metrics(request.transcript, &rep, &request.playbook.trackers);
    let coaching = coach(
        request.transcript,
        &metrics,
        request.playbook,
        request.call_type,
        ids,
    );
    let rep_speaker = RepSpeaker {
        speaker: rep.speaker,
        label: rep
            .speaker
            .and_then(|i| request.transcript.speakers.get(i))
            .map(|s| s.label.clone()),
        rule: rep.rule.to_owned(),
        confidence: rep.confidence,
        unsure: rep.is_unsure(),
    };
    let mut analysis = Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        tenant_id: request.tenant_id.clone(),
        call_id: request.call_id.clone(),
        transcript_version: request.transcript_version,
        metrics,
        overall_score: coaching.overall_score,
        scores: coaching.scores,
        highlights: coaching.highlights,
        suggestions: coaching.suggestions,
        micro_goals: coaching.micro_goals,
        summary: coaching.summary,
        objections: coaching.objections,
        next_steps: coaching.next_steps,
        rep: Some(rep_speaker),
        provenance: Provenance {
            provider: "deterministic".into(),
            model: None,
            rubric_version: RUBRIC_VERSION.into(),
            prompt_version: None,
            degraded: false,
        },
        created_at: now,
    };
    analysis.hold_coaching_if_rep_unsure();
    analysis
}

/// The deterministic analysis of a call with `rep` set as its rep: the starting point of
/// unit tests that change one part of it.
#[cfg(test)]
pub(crate) fn analysis_with_rep(transcript: &Transcript, rep: &str) -> Analysis {
    use crate::ports::IdGenerator;
    deterministic_analysis(
        ScoringRequest {
            tenant_id: &TenantId::parse("t").unwrap(),
            call_id: &crate::system::RandomIds.mint(),
            transcript_version: 1,
            transcript,
            playbook: &Playbook::default(),
            call_type: CallType::Demo,
            rep_override: Some(rep),
            rep_name: None,
        },
        &crate::system::RandomIds,
        OffsetDateTime::UNIX_EPOCH,
    )
}
