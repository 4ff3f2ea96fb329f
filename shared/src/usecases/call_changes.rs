//! What people change on a call after its upload: which transcript speaker is the rep (and the
//! re-score that follows), a re-score of its own, its legal hold, its deletion. Each is decided
//! on the call as stored ([`CallLifecycle::update`], as the API), so a hold or a deletion set meanwhile is never
//! undone. Who may make each change is the caller's to check first ([`crate::access`]).

use time::OffsetDateTime;

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus};
use crate::domain::receipt::{Subject, SubjectKind};
use crate::domain::transcript::Transcript;
use crate::ids::{ReceiptId, TenantId, UserId};
use crate::ports::{
    BlobStore, CallRepository, DocumentKind, DocumentRepository, ProgressRepository, Queue,
    QueueError, ReceiptBook, StoreError, TenantRepository,
};
use crate::usecases::call_details::seal_rep_speaker;
use crate::usecases::call_lifecycle::{CallLifecycle, Mover};
use crate::usecases::calls::{Change, request_rescore};
use crate::usecases::documents::{DocumentError, DocumentVault};
use crate::usecases::progress::{ProgressError, forget_call_progress};
use crate::usecases::receipts::{Asked, open_ticket, removed_at_once};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The call was deleted meanwhile, or has no transcript yet to choose a speaker from.
    #[error("the call is not there")]
    NotFound,
    #[error("the call's transcript changed meanwhile")]
    TranscriptChanged,
    #[error("not a speaker of the call's transcript")]
    UnknownSpeaker,
    #[error("the call has no transcript to score yet")]
    NothingToScore,
    /// A held call's analysis is kept as it is: a re-score would write over it.
    #[error("the call is under legal hold; its analysis is kept")]
    AnalysisHeld,
    /// Under a workspace legal hold no analysis is re-scored either.
    #[error("the workspace is under legal hold; analyses are kept")]
    WorkspaceHeld,
    /// A held call stays until its hold is lifted, whoever asks.
    #[error("the call is under legal hold; it is not deleted")]
    DeletionHeld,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Progress(#[from] ProgressError),
}

/// Makes `speaker` (a label or name of the call's current transcript) the rep and re-scores,
/// without re-transcribing. A call being scored is re-scored too: the running job's analysis is
/// for the old speaker, and the new request is a job of its own. Returns whether a re-score was
/// queued.
pub async fn set_rep_speaker<S, B, E, Q>(
    vault: &DocumentVault<'_, S, B, E>,
    queue: &Q,
    call: &mut Call,
    speaker: &str,
    now: OffsetDateTime,
) -> Result<bool, ChangeError>
where
    S: CallRepository + TenantRepository + DocumentRepository,
    B: BlobStore,
    E: Envelope,
    Q: Queue,
{
    let store = vault.repository;
    refuse_if_workspace_held(store, &call.tenant_id).await?;
    let transcript: Transcript = vault
        .current(call, DocumentKind::Transcript)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let known = transcript
        .speakers
        .iter()
        .any(|s| s.label == speaker || s.name.as_deref() == Some(speaker));
    if !known {
        return Err(ChangeError::UnknownSpeaker);
    }
    let checked_against = call.transcript_version;
    let sealed = seal_rep_speaker(vault.envelope, call, speaker)
        .await
        .map_err(DocumentError::from)?;
    request_rescore(store, queue, call, now, |c| {
        if c.status == CallStatus::Deleted {
            return Err(ChangeError::NotFound);
        }
        if c.transcript_version != checked_against {
            return Err(ChangeError::TranscriptChanged);
        }
        refuse_rescoring_held(c)?;
        c.rep_speaker = Some(sealed.clone());
        Ok(())
    })
    .await
}

/// Scores the call's current transcript again, as a request of its own (after a playbook
/// change, say); refused while the call has no transcript to score. Returns whether a re-score
/// was queued (always, once not refused).
pub async fn rescore<S, Q>(
    store: &S,
    queue: &Q,
    call: &mut Call,
    now: OffsetDateTime,
) -> Result<bool, ChangeError>
where
    S: CallRepository + TenantRepository,
    Q: Queue,
{
    refuse_if_workspace_held(store, &call.tenant_id).await?;
    let rescoring = request_rescore(store, queue, call, now, |c| {
        if c.status == CallStatus::Deleted {
            return Err(ChangeError::NotFound);
        }
        if !c.status.can_rescore() {
            return Err(ChangeError::NothingToScore);
        }
        refuse_rescoring_held(c)
    })
    .await?;
    debug_assert!(rescoring, "refused above when nothing can be re-scored");
    Ok(rescoring)
}

/// Sets or lifts the call's legal hold (which stops its deletion, by retention or by anyone).
pub async fn set_legal_hold<S: CallRepository>(
    store: &S,
    call: &mut Call,
    hold: bool,
    now: OffsetDateTime,
) -> Result<(), ChangeError> {
    CallLifecycle::new(store, Mover::Api)
        .update(call, |c| {
            if c.status == CallStatus::Deleted {
                return Err(ChangeError::NotFound);
            }
            c.legal_hold = hold;
            c.updated_at = now;
            Ok(Change::Write(()))
        })
        .await
}

/// Deletes the call: at once it is hidden everywhere (the reaper's next run purges it) and its
/// scores and goals leave the rep's progress. A held call stays until its hold is lifted
/// (otherwise the owner who set the hold could never see, or lift, it again).
pub async fn delete_call<S, E>(
    store: &S,
    envelope: &E,
    call: &mut Call,
    by: &UserId,
    now: OffsetDateTime,
) -> Result<ReceiptId, ChangeError>
where
    S: CallRepository + ProgressRepository + ReceiptBook,
    E: Envelope,
{
    let asked = Asked {
        tenant: &call.tenant_id,
        subject: Subject {
            kind: SubjectKind::Call,
            id: call.call_id.to_string(),
        },
        by,
        at: now,
    };
    let calls = [call.call_id.clone()];
    // Before the move, so the reaper cannot purge the call unknown to its receipt.
    let ticket = open_ticket(store, asked, &calls).await?;
    let receipt = ticket.receipt_id.clone();
    let moved = CallLifecycle::new(store, Mover::Api)
        .update(call, |c| {
            if c.legal_hold {
                return Err(ChangeError::DeletionHeld);
            }
            c.transition(CallStatus::Deleted, now)
                .map_err(|_| ChangeError::NotFound)?;
            Ok(Change::Write(()))
        })
        .await;
    match moved {
        Ok(()) => removed_at_once(store, ticket, 0).await?,
        // Refused: nothing was deleted, so nothing is to be receipted. (After any other
        // failure the ticket stays open and incomplete, for a retry to finish.)
        Err(refused @ (ChangeError::DeletionHeld | ChangeError::NotFound)) => {
            store
                .close_ticket(&call.tenant_id, &receipt, &calls)
                .await?;
            return Err(refused);
        }
        Err(failed) => return Err(failed),
    }
    // Now, not at the purge: averages and exports no longer count it.
    forget_call_progress(
        store,
        envelope,
        &call.tenant_id,
        &call.rep_id,
        &call.call_id,
    )
    .await?;
    // Ids only; outside the table, so a restored backup can be brought up to date.
    tracing::info!(tenant = %call.tenant_id, call = %call.call_id, "call deleted");
    Ok(receipt)
}

fn refuse_rescoring_held(call: &Call) -> Result<(), ChangeError> {
    if call.legal_hold && call.status.can_rescore() {
        return Err(ChangeError::AnalysisHeld);
    }
    Ok(())
}

async fn refuse_if_workspace_held<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<(), ChangeError> {
    let held = store
        .get_tenant(tenant)
        .await?
        .is_some_and(|t| t.legal_hold);
    if held {
        return Err(ChangeError::WorkspaceHeld);
    }
    Ok(())
}
