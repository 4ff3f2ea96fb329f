//! Creating calls and moving them through their states.

use crate::domain::SCHEMA_VERSION;
use crate::domain::call::{Call, CallStatus, CallType, IllegalTransition};
use crate::ids::{TeamId, TenantId, UserId};
use crate::messages::PipelineMessage;
use crate::ports::{CallRepository, Clock, IdGenerator, Queue, QueueError, StoreError};
pub use crate::usecases::workspace::Change;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the call was not found")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the scoring queue failed")]
    Queue(#[from] QueueError),
}

/// What the creator supplies for a new call.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub team_id: TeamId,
    pub rep_id: UserId,
    pub title: String,
    pub call_type: CallType,
    pub company_domain: Option<String>,
    pub buyer_persona: Option<String>,
}

pub async fn create_call<R: CallRepository, C: Clock, I: IdGenerator>(
    calls: &R,
    clock: &C,
    ids: &I,
    tenant: &TenantId,
    new: NewCall,
) -> Result<Call, CallError> {
    let now = clock.now();
    let call = Call {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        team_id: new.team_id,
        call_id: ids.mint(),
        rep_id: new.rep_id,
        title: new.title,
        call_type: new.call_type,
        company_domain: new.company_domain,
        buyer_persona: new.buyer_persona,
        status: CallStatus::AwaitingUpload,
        failure_reason: None,
        rep_speaker: None,
        transcript_version: 0,
        upload_sequencer: None,
        upload_key: None,
        transcription: None,
        legal_hold: false,
        created_at: now,
        updated_at: now,
        status_since: Some(now),
        waiting_retries: 0,
        rescore_requests: 0,
        transcript_floor: 0,
        upload_generation: 0,
        version: 0,
    };
    calls.create_call(&call).await?;
    Ok(call)
}

/// Rounds of read, change, write before giving up while other writers keep winning.
const UPDATE_ATTEMPTS: usize = 8;

/// The one way a stored call changes: `change` is applied to `call` (the caller's copy, as
/// fresh as it is) and the call is written back only if nobody wrote it since that copy was
/// read (its version). Otherwise the call is read again and `change` decides again from what
/// is stored now, so a legal hold, a rep speaker or a deletion set meanwhile is never undone
/// by a writer holding an older copy. On return `call` is the stored call. `NotFound` when
/// the call is gone.
pub async fn update_call<R, T, E>(
    calls: &R,
    call: &mut Call,
    mut change: impl FnMut(&mut Call) -> Result<Change<T>, E>,
) -> Result<T, E>
where
    R: CallRepository,
    E: From<StoreError>,
{
    for _ in 0..UPDATE_ATTEMPTS {
        let mut draft = call.clone();
        match change(&mut draft)? {
            Change::Keep(answer) => return Ok(answer),
            Change::Write(answer) => match calls.save_call(&mut draft).await {
                Ok(()) => {
                    *call = draft;
                    return Ok(answer);
                }
                Err(StoreError::StaleTransition { .. }) => {
                    *call = calls
                        .get_call(&call.tenant_id, &call.call_id)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                }
                Err(e) => return Err(e.into()),
            },
        }
    }
    Err(StoreError::StaleTransition {
        expected: call.status,
    }
    .into())
}

/// Moves the call to `next` through [`update_call`]: refused (and nothing written) when the
/// stored call can no longer make that move.
pub async fn move_call<R: CallRepository>(
    calls: &R,
    call: &mut Call,
    next: CallStatus,
    at: time::OffsetDateTime,
) -> Result<CallStatus, CallError> {
    update_call(calls, call, |c| {
        let from = c.transition(next, at)?;
        Ok::<_, CallError>(Change::Write(from))
    })
    .await
}

/// Asks for a new scoring of the call's current transcript, with `change` (a new rep speaker)
/// written in the same save through [`update_call`]. When the call has a transcript to score,
/// the request is counted on the call, which makes it a scoring job of its own (a job running
/// for the old state finds itself superseded and stores nothing), and the job is queued;
/// otherwise only `change` is written. Returns whether a re-score was queued.
pub async fn request_rescore<R, Q, E>(
    calls: &R,
    queue: &Q,
    call: &mut Call,
    now: time::OffsetDateTime,
    mut change: impl FnMut(&mut Call) -> Result<(), E>,
) -> Result<bool, E>
where
    R: CallRepository,
    Q: Queue,
    E: From<StoreError> + From<QueueError>,
{
    let rescoring = update_call(calls, call, |c| {
        change(c)?;
        let rescoring = c.status.can_rescore();
        if rescoring {
            c.rescore_requests += 1;
        }
        c.updated_at = now;
        Ok::<_, E>(Change::Write(rescoring))
    })
    .await?;
    if rescoring {
        queue
            .send(&PipelineMessage::ScoreCall {
                tenant_id: call.tenant_id.clone(),
                call_id: call.call_id.clone(),
                transcript_version: call.transcript_version,
            })
            .await?;
    }
    Ok(rescoring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::kit::rig::FakePorts;
    use time::macros::datetime;

    /// The ports, and a call of a workspace `acme` awaiting its upload.
    async fn awaiting_upload() -> (FakePorts, Call) {
        let rig = FakePorts::at(datetime!(2026-01-01 0:00 UTC));
        let call = rig.call(&TenantId::parse("acme").unwrap()).await;
        (rig, call)
    }

    #[tokio::test]
    async fn a_stale_copy_cannot_undo_a_change_made_since_it_was_read() {
        let (rig, call) = awaiting_upload().await;

        // Two writers read the same call; the second write must fail, whatever it changed.
        let mut first = call.clone();
        let mut second = call.clone();
        first.legal_hold = true;
        rig.store.save_call(&mut first).await.unwrap();
        assert_eq!(first.version, call.version + 1);
        second
            .transition(CallStatus::Uploaded, rig.clock.now())
            .unwrap();
        let err = rig.store.save_call(&mut second).await.unwrap_err();
        assert!(matches!(err, StoreError::StaleTransition { .. }));
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.legal_hold),
            (CallStatus::AwaitingUpload, true)
        );
    }

    #[tokio::test]
    async fn an_update_from_an_old_copy_decides_again_from_the_stored_call() {
        let (rig, mut stale) = awaiting_upload().await;
        // A hold lands after the deleter read the call.
        let mut holder = stale.clone();
        update_call(&rig.store, &mut holder, |c| {
            c.legal_hold = true;
            Ok::<_, StoreError>(Change::Write(()))
        })
        .await
        .unwrap();
        let mut decided_on = Vec::new();
        let deleted = update_call(&rig.store, &mut stale, |c| {
            decided_on.push(c.legal_hold);
            if c.legal_hold {
                return Ok::<_, StoreError>(Change::Keep(false));
            }
            c.transition(CallStatus::Deleted, rig.clock.now()).unwrap();
            Ok(Change::Write(true))
        })
        .await
        .unwrap();
        assert_eq!((deleted, decided_on), (false, vec![false, true]));
        assert_eq!(stale, holder, "the caller's copy is the stored call");
        let stored = rig.stored(&stale).await;
        assert_eq!(
            (stored.status, stored.legal_hold),
            (CallStatus::AwaitingUpload, true)
        );
    }

    #[tokio::test]
    async fn illegal_transition_writes_nothing() {
        let (rig, mut call) = awaiting_upload().await;
        let err = move_call(&rig.store, &mut call, CallStatus::Scored, rig.clock.now())
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Illegal(_)));
        let stored = rig.stored(&call).await;
        assert_eq!(stored.status, CallStatus::AwaitingUpload);
        assert_eq!(stored.version, 0);
    }
}
