//! Creating calls and asking for their re-scoring (their moves: `usecases::call_lifecycle`).

use time::OffsetDateTime;

use crate::domain::SCHEMA_VERSION;
use crate::domain::call::{Call, CallStatus, CallType, IllegalTransition, SealedDetails};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::messages::PipelineMessage;
use crate::ports::{CallRepository, Clock, IdGenerator, Queue, QueueError, StoreError};
use crate::usecases::call_lifecycle::{CallLifecycle, Mover};
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
    pub call_type: CallType,
    /// Sealed for the call's id ([`crate::usecases::call_details::seal_details`]); empty for
    /// none.
    pub details: SealedDetails,
}

impl NewCall {
    /// The call this becomes when it is created: awaiting its upload, none of the pipeline's
    /// fields set yet. [`create_call`] stores it; unit tests build their calls from it.
    pub fn into_call(self, tenant: TenantId, call_id: CallId, now: OffsetDateTime) -> Call {
        Call {
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant,
            team_id: self.team_id,
            call_id,
            rep_id: self.rep_id,
            call_type: self.call_type,
            details: self.details,
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
        }
    }
}

/// A scored call of workspace `t` on `team` with `rep` as its rep, created at `at`: the one
/// call unit tests of who may see a call and which listing holds it start from.
#[cfg(test)]
pub(crate) fn scored_call(team: TeamId, rep: &str, at: OffsetDateTime) -> Call {
    use crate::ids::MintedId;
    let new = NewCall {
        team_id: team,
        rep_id: UserId::parse(rep).unwrap(),
        ..crate::fakes::kit::seed::sample_new_call()
    };
    let mut call = new.into_call(
        TenantId::parse("t").unwrap(),
        CallId::from_random([1; 16]),
        at,
    );
    call.status = CallStatus::Scored;
    call.transcript_version = 1;
    call
}

pub async fn create_call<R: CallRepository, C: Clock, I: IdGenerator>(
    calls: &R,
    clock: &C,
    ids: &I,
    tenant: &TenantId,
    new: NewCall,
) -> Result<Call, CallError> {
    let now = clock.now();
    let call = new.into_call(tenant.clone(), ids.mint(), now);
    calls.create_call(&call).await?;
    Ok(call)
}

/// Asks for a new scoring of the call's current transcript, with `change` (a new rep speaker)
/// written in the same save through [`CallLifecycle::update`]. When the call has a transcript to score,
/// the request is counted on the call, which makes it a scoring job of its own (a job running
/// for the old state finds itself superseded and stores nothing), and the job is queued;
/// otherwise only `change` is written. Returns whether a re-score was queued.
pub async fn request_rescore<R, Q, E>(
    calls: &R,
    queue: &Q,
    call: &mut Call,
    now: OffsetDateTime,
    mut change: impl FnMut(&mut Call) -> Result<(), E>,
) -> Result<bool, E>
where
    R: CallRepository,
    Q: Queue,
    E: From<StoreError> + From<QueueError>,
{
    let rescoring = CallLifecycle::new(calls, Mover::Api)
        .update(call, |c| {
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
        CallLifecycle::new(&rig.store, Mover::Api)
            .update(&mut holder, |c| {
                c.legal_hold = true;
                Ok::<_, StoreError>(Change::Write(()))
            })
            .await
            .unwrap();
        let mut decided_on = Vec::new();
        let deleted = CallLifecycle::new(&rig.store, Mover::Api)
            .update(&mut stale, |c| {
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
        let err = CallLifecycle::new(&rig.store, Mover::Api)
            .move_to(&mut call, CallStatus::Scored, rig.clock.now())
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Illegal(_)));
        let stored = rig.stored(&call).await;
        assert_eq!(stored.status, CallStatus::AwaitingUpload);
        assert_eq!(stored.version, 0);
    }
}
