//! Practice responses: better answers a rep writes to the highlights of their call.
//!
//! One document per call holds every response, each naming its highlight by id: a re-score
//! mints new highlights, and the answers written before stay with the highlights they answered
//! (listed and exported with their ids) instead of sliding onto whatever highlight now has the
//! same position. The document is changed by revision, so two answers written at once are
//! both kept: the second writer reads again and adds to what the first wrote.

use time::OffsetDateTime;

use crate::crypto::Envelope;
use crate::domain::analysis::{Analysis, PracticeResponse};
use crate::ids::{CallId, TenantId, UserId};
use crate::ports::{BlobStore, DocumentKind, DocumentRepository, StoreError};
use crate::usecases::documents::{DocumentError, DocumentVault};

/// The document version that holds a call's practice responses.
pub const PRACTICE_SLOT: u32 = 0;
/// Answers to one highlight.
pub const MAX_RESPONSES_PER_HIGHLIGHT: usize = 50;
/// Answers to one call (which also keeps the document inside one table item).
pub const MAX_RESPONSES_PER_CALL: usize = 100;
/// Rounds of read, add, write while other writers keep winning.
const ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PracticeError {
    #[error("highlight_id: not a highlight of this call")]
    UnknownHighlight,
    #[error("text: at most {MAX_RESPONSES_PER_HIGHLIGHT} practice responses a highlight")]
    HighlightFull,
    #[error("text: at most {MAX_RESPONSES_PER_CALL} practice responses a call")]
    CallFull,
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// Every practice response of the call, oldest first.
pub async fn list_responses<R, B, E>(
    vault: &DocumentVault<'_, R, B, E>,
    tenant: &TenantId,
    call: &CallId,
) -> Result<Vec<PracticeResponse>, DocumentError>
where
    R: DocumentRepository,
    B: BlobStore,
    E: Envelope,
{
    Ok(vault
        .get(tenant, call, DocumentKind::Practice, PRACTICE_SLOT)
        .await?
        .unwrap_or_default())
}

/// Adds `text` by `author` as an answer to the highlight `highlight_id` of `analysis` (the
/// call's current one).
pub async fn add_response<R, B, E>(
    vault: &DocumentVault<'_, R, B, E>,
    analysis: &Analysis,
    highlight_id: &str,
    author: &UserId,
    text: &str,
    now: OffsetDateTime,
) -> Result<PracticeResponse, PracticeError>
where
    R: DocumentRepository,
    B: BlobStore,
    E: Envelope,
{
    let highlight = analysis
        .highlights
        .iter()
        .find(|h| h.highlight_id.as_str() == highlight_id)
        .ok_or(PracticeError::UnknownHighlight)?;
    let response = PracticeResponse {
        highlight_id: highlight.highlight_id.clone(),
        author: author.clone(),
        text: text.trim().to_owned(),
        written_at: now,
    };
    let (tenant, call) = (&analysis.tenant_id, &analysis.call_id);
    for _ in 0..ATTEMPTS {
        let (revision, mut responses): (u64, Vec<PracticeResponse>) = vault
            .get_revision(tenant, call, DocumentKind::Practice, PRACTICE_SLOT)
            .await?
            .unwrap_or_default();
        let to_this_one = responses
            .iter()
            .filter(|r| r.highlight_id == response.highlight_id)
            .count();
        if to_this_one >= MAX_RESPONSES_PER_HIGHLIGHT {
            return Err(PracticeError::HighlightFull);
        }
        if responses.len() >= MAX_RESPONSES_PER_CALL {
            return Err(PracticeError::CallFull);
        }
        responses.push(response.clone());
        let written = vault
            .put_at_revision(
                tenant,
                call,
                DocumentKind::Practice,
                PRACTICE_SLOT,
                &responses,
                revision,
            )
            .await;
        match written {
            Ok(()) => return Ok(response),
            Err(DocumentError::Store(StoreError::Conflict)) => continue,
            Err(DocumentError::TooLarge) => return Err(PracticeError::CallFull),
            Err(other) => return Err(other.into()),
        }
    }
    Err(DocumentError::Store(StoreError::Conflict).into())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::analysis::{Highlight, HighlightKind};
    use crate::fakes::kit::rig::FakePorts;
    use crate::ids::MintedId;
    use crate::system::RandomIds;

    const NOW: OffsetDateTime = datetime!(2026-11-24 9:00 UTC);

    fn analysis_with(highlights: usize) -> Analysis {
        let transcript = crate::parse::parse_vtt(
            "WEBVTT\n\n00:00.000 --> 00:02.000\n<v Dana>What brings you here?\n",
        )
        .unwrap();
        let mut analysis = crate::scoring::deterministic_analysis(
            crate::scoring::ScoringRequest {
                tenant_id: &TenantId::parse("acme").unwrap(),
                call_id: &CallId::from_random([3; 16]),
                transcript_version: 1,
                transcript: &transcript,
                playbook: &crate::domain::playbook::Playbook::default(),
                call_type: crate::domain::call::CallType::Discovery,
                rep_override: None,
                rep_name: None,
            },
            &RandomIds,
            NOW,
        );
        analysis.highlights = (0..highlights)
            .map(|i| Highlight {
                highlight_id: crate::ports::IdGenerator::mint(&RandomIds),
                kind: HighlightKind::StrongMoment,
                at_ms: i as u64 * 1000,
                quote: "q".into(),
                note: "n".into(),
            })
            .collect();
        analysis
    }

    fn rep() -> UserId {
        UserId::parse("rep-1").unwrap()
    }

    #[tokio::test]
    async fn answers_stay_with_their_highlight_after_a_rescore() {
        let rig = FakePorts::at(NOW);
        let first = analysis_with(2);
        let id = first.highlights[1].highlight_id.as_str().to_owned();
        add_response(
            &rig.vault(),
            &first,
            &id,
            &rep(),
            "  Ask about the budget owner  ",
            NOW,
        )
        .await
        .unwrap();
        // A re-score: new highlights in the same places.
        let mut second = analysis_with(2);
        second.call_id = first.call_id.clone();
        second.tenant_id = first.tenant_id.clone();
        let new_id = second.highlights[1].highlight_id.as_str().to_owned();
        add_response(&rig.vault(), &second, &new_id, &rep(), "Name a date", NOW)
            .await
            .unwrap();
        // An answer to a highlight the current analysis no longer has is refused.
        assert!(matches!(
            add_response(&rig.vault(), &second, &id, &rep(), "late", NOW).await,
            Err(PracticeError::UnknownHighlight)
        ));
        let listed = list_responses(&rig.vault(), &first.tenant_id, &first.call_id)
            .await
            .unwrap();
        let pairs: Vec<_> = listed
            .iter()
            .map(|r| (r.highlight_id.as_str().to_owned(), r.text.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![(id, "Ask about the budget owner"), (new_id, "Name a date")]
        );
    }

    #[tokio::test]
    async fn a_write_from_a_stale_read_is_refused_and_the_retry_keeps_both() {
        let rig = FakePorts::at(NOW);
        let analysis = analysis_with(1);
        let id = analysis.highlights[0].highlight_id.as_str().to_owned();
        let (tenant, call) = (&analysis.tenant_id, &analysis.call_id);
        add_response(&rig.vault(), &analysis, &id, &rep(), "one", NOW)
            .await
            .unwrap();
        let (read_at, mut copy): (u64, Vec<PracticeResponse>) = rig
            .vault()
            .get_revision(tenant, call, DocumentKind::Practice, PRACTICE_SLOT)
            .await
            .unwrap()
            .unwrap();
        // Another answer lands between that read and its write.
        add_response(&rig.vault(), &analysis, &id, &rep(), "two", NOW)
            .await
            .unwrap();
        copy.clear();
        let stale = rig
            .vault()
            .put_at_revision(
                tenant,
                call,
                DocumentKind::Practice,
                PRACTICE_SLOT,
                &copy,
                read_at,
            )
            .await;
        assert!(matches!(
            stale,
            Err(DocumentError::Store(StoreError::Conflict))
        ));
        let texts: Vec<String> = list_responses(&rig.vault(), tenant, call)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(texts, ["one", "two"]);
    }

    #[tokio::test]
    async fn a_highlight_and_a_call_take_a_bounded_number_of_answers() {
        let rig = FakePorts::at(NOW);
        let analysis = analysis_with(3);
        let ids: Vec<String> = analysis
            .highlights
            .iter()
            .map(|h| h.highlight_id.as_str().to_owned())
            .collect();
        for _ in 0..MAX_RESPONSES_PER_HIGHLIGHT {
            add_response(&rig.vault(), &analysis, &ids[0], &rep(), "x", NOW)
                .await
                .unwrap();
        }
        assert!(matches!(
            add_response(&rig.vault(), &analysis, &ids[0], &rep(), "x", NOW).await,
            Err(PracticeError::HighlightFull)
        ));
        for _ in MAX_RESPONSES_PER_HIGHLIGHT..MAX_RESPONSES_PER_CALL {
            add_response(&rig.vault(), &analysis, &ids[1], &rep(), "x", NOW)
                .await
                .unwrap();
        }
        assert!(matches!(
            add_response(&rig.vault(), &analysis, &ids[2], &rep(), "x", NOW).await,
            Err(PracticeError::CallFull)
        ));
    }
}
