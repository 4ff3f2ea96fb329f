//! Pre-call prep cards: what past calls with a company say before the next one.
//!
//! From the scored calls with the company that the caller may see (newest first, at most
//! [`MAX_CALLS`]): the objections raised (type, quote, which call), the next steps agreed in
//! the most recent call, the people met (transcript speaker names other than the rep), the
//! last summary, and the playbook's talking points: its value propositions and its responses
//! to the objection types this company raised.

use std::collections::BTreeSet;

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::analysis::{Analysis, HighlightKind, ObjectionType};
use crate::domain::call::Call;
use crate::domain::playbook::Playbook;
use crate::domain::transcript::Transcript;
use crate::ids::CallId;

/// Past calls a card reads at most.
pub const MAX_CALLS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaisedObjection {
    pub objection: ObjectionType,
    pub quote: String,
    pub call_id: CallId,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectionResponse {
    pub objection: ObjectionType,
    pub response: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrepCard {
    pub company_domain: String,
    pub calls_considered: usize,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_call_at: Option<OffsetDateTime>,
    pub last_summary: Option<String>,
    pub objections: Vec<RaisedObjection>,
    pub open_next_steps: Vec<String>,
    pub people_met: Vec<String>,
    pub value_propositions: Vec<String>,
    pub objection_responses: Vec<ObjectionResponse>,
}

/// One past call with what scoring stored for it.
pub struct PastCall<'a> {
    pub call: &'a Call,
    pub analysis: &'a Analysis,
    pub transcript: Option<&'a Transcript>,
}

/// Builds the card from past calls, newest first.
pub fn prep_card(company_domain: &str, past: &[PastCall<'_>], playbook: &Playbook) -> PrepCard {
    let mut objections = Vec::new();
    let mut raised = BTreeSet::new();
    let mut people = BTreeSet::new();
    for entry in past.iter().take(MAX_CALLS) {
        for highlight in &entry.analysis.highlights {
            if let HighlightKind::Objection { objection } = highlight.kind {
                raised.insert(format!("{objection:?}"));
                objections.push(RaisedObjection {
                    objection,
                    quote: highlight.quote.clone(),
                    call_id: entry.call.call_id.clone(),
                    at_ms: highlight.at_ms,
                });
            }
        }
        if let Some(transcript) = entry.transcript {
            let rep = entry.analysis.metrics.rep_speaker;
            for (index, speaker) in transcript.speakers.iter().enumerate() {
                if Some(index) != rep
                    && let Some(name) = &speaker.name
                {
                    people.insert(name.clone());
                }
            }
        }
    }
    let latest = past.first();
    let open_next_steps = latest
        .map(|entry| {
            entry
                .analysis
                .highlights
                .iter()
                .filter(|h| h.kind == HighlightKind::NextStep)
                .map(|h| h.quote.clone())
                .collect()
        })
        .unwrap_or_default();
    let objection_responses = playbook
        .objection_handling
        .iter()
        .filter(|o| raised.contains(&format!("{:?}", o.objection)))
        .map(|o| ObjectionResponse {
            objection: o.objection,
            response: o.response.clone(),
        })
        .collect();
    PrepCard {
        company_domain: company_domain.to_owned(),
        calls_considered: past.len().min(MAX_CALLS),
        last_call_at: latest.map(|e| e.call.created_at),
        last_summary: latest.map(|e| e.analysis.summary.clone()),
        objections,
        open_next_steps,
        people_met: people.into_iter().collect(),
        value_propositions: playbook.value_propositions.clone(),
        objection_responses,
    }
}
