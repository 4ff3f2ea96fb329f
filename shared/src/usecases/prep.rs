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

use crate::access::Caller;
use crate::crypto::Envelope;
use crate::domain::analysis::{Analysis, HighlightKind, ObjectionType};
use crate::domain::call::{Call, CallStatus};
use crate::domain::playbook::Playbook;
use crate::domain::transcript::Transcript;
use crate::ids::{CallId, TeamId, TenantId};
use crate::ports::{
    BlobStore, CallRepository, DocumentKind, DocumentRepository, PageRequest, PlaybookRepository,
    StoreError,
};
use crate::usecases::documents::{DocumentError, DocumentVault};

/// Past calls a card reads at most.
pub const MAX_CALLS: usize = 10;
/// The team's calls are read in pages of this many, at most [`MAX_PAGES`] of them: a card costs
/// a bounded number of reads however many calls the team has.
const PAGE_SIZE: u16 = 100;
const MAX_PAGES: usize = 10;

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

#[derive(Debug, thiserror::Error)]
pub enum PrepError {
    /// A scored call's analysis is not there (any more).
    #[error("a past call's analysis is missing")]
    MissingAnalysis,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Playbook(#[from] crate::usecases::playbooks::PlaybookError),
    #[error("a past call's details could not be opened")]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// The card for `company_domain` (as the caller wrote it, trimmed) from the team's scored calls
/// with that company that `caller` may see, newest first, and the team's playbook.
use crate::usecases::call_details::open_details;
use crate::usecases::playbooks::load_playbook;

pub async fn card_for<S, B, E>(
    vault: &DocumentVault<'_, S, B, E>,
    caller: &Caller,
    tenant: &TenantId,
    team: &TeamId,
    company_domain: &str,
) -> Result<PrepCard, PrepError>
where
    S: CallRepository + DocumentRepository + PlaybookRepository,
    B: BlobStore,
    E: Envelope,
{
    let store = vault.repository;
    let calls = calls_with(store, vault.envelope, caller, tenant, team, company_domain).await?;
    let mut loaded = Vec::with_capacity(calls.len());
    for call in &calls {
        let analysis: Analysis = vault
            .current(call, DocumentKind::Analysis)
            .await?
            .ok_or(PrepError::MissingAnalysis)?;
        // The people met come from the transcript; a card does without them rather than fail.
        let transcript: Option<Transcript> = vault
            .current(call, DocumentKind::Transcript)
            .await
            .ok()
            .flatten();
        loaded.push((analysis, transcript));
    }
    let past: Vec<PastCall<'_>> = calls
        .iter()
        .zip(&loaded)
        .map(|(call, (analysis, transcript))| PastCall {
            call,
            analysis,
            transcript: transcript.as_ref(),
        })
        .collect();
    let playbook = load_playbook(store, vault.envelope, tenant, team)
        .await?
        .unwrap_or_default();
    Ok(prep_card(company_domain, &past, &playbook))
}

/// The team's scored calls with the company (case-insensitive) that `caller` may see, newest
/// first, at most [`MAX_CALLS`], from at most [`MAX_PAGES`] pages.
async fn calls_with<S: CallRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    caller: &Caller,
    tenant: &TenantId,
    team: &TeamId,
    company_domain: &str,
) -> Result<Vec<Call>, PrepError> {
    let mut matching = Vec::new();
    let mut page = PageRequest::first(PAGE_SIZE).expect("a valid page size");
    for _ in 0..MAX_PAGES {
        let listed = store.list_team_calls(tenant, team, &page).await?;
        for call in listed.items {
            // Only calls the caller may see are opened.
            if call.status != CallStatus::Scored || !caller.can_view_call(&call) {
                continue;
            }
            if open_details(envelope, &call).await?.is_with(company_domain) {
                matching.push(call);
            }
        }
        match listed.next {
            Some(next) if matching.len() < MAX_CALLS => {
                page = PageRequest::new(PAGE_SIZE, Some(next)).expect("a valid page size");
            }
            _ => break,
        }
    }
    matching.truncate(MAX_CALLS);
    Ok(matching)
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
