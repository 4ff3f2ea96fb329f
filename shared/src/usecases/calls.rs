//! Creating calls and moving them through their states.

use tracing::instrument;

use crate::domain::SCHEMA_VERSION;
use crate::domain::call::{Call, CallStatus, CallType, IllegalTransition};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{CallRepository, Clock, IdGenerator, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the call was not found")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Store(#[from] StoreError),
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
    };
    calls.create_call(&call).await?;
    Ok(call)
}

/// Loads the call, applies `change` and stores it only if nobody moved it meanwhile.
#[instrument(skip_all, fields(tenant = %tenant, call = %call_id))]
pub async fn transition<R: CallRepository, C: Clock>(
    calls: &R,
    clock: &C,
    tenant: &TenantId,
    call_id: &CallId,
    next: CallStatus,
) -> Result<Call, CallError> {
    let mut call = calls
        .get_call(tenant, call_id)
        .await?
        .ok_or(CallError::NotFound)?;
    let from = call.transition(next, clock.now())?;
    calls.save_transition(&call, from).await?;
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{InMemoryStore, ManualClock};
    use crate::system::RandomIds;
    use time::macros::datetime;

    fn new_call() -> NewCall {
        NewCall {
            team_id: RandomIds.mint(),
            rep_id: UserId::parse("rep-1").unwrap(),
            title: "Intro".into(),
            call_type: CallType::Discovery,
            company_domain: None,
            buyer_persona: None,
        }
    }

    #[tokio::test]
    async fn stale_transition_fails_and_keeps_the_winner() {
        let store = InMemoryStore::default();
        let clock = ManualClock::at(datetime!(2026-01-01 0:00 UTC));
        let tenant = TenantId::parse("acme").unwrap();
        let call = create_call(&store, &clock, &RandomIds, &tenant, new_call())
            .await
            .unwrap();

        // Two workers read the same state; the second write must fail.
        let mut first = call.clone();
        let mut second = call.clone();
        let from = first.transition(CallStatus::Uploaded, clock.now()).unwrap();
        store.save_transition(&first, from).await.unwrap();
        let from = second.fail("bad file", clock.now()).unwrap();
        let err = store.save_transition(&second, from).await.unwrap_err();
        assert!(matches!(err, StoreError::StaleTransition { .. }));
        let stored = store
            .get_call(&tenant, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, CallStatus::Uploaded);
    }

    #[tokio::test]
    async fn illegal_transition_writes_nothing() {
        let store = InMemoryStore::default();
        let clock = ManualClock::at(datetime!(2026-01-01 0:00 UTC));
        let tenant = TenantId::parse("acme").unwrap();
        let call = create_call(&store, &clock, &RandomIds, &tenant, new_call())
            .await
            .unwrap();
        let err = transition(&store, &clock, &tenant, &call.call_id, CallStatus::Scored)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Illegal(_)));
        let stored = store
            .get_call(&tenant, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, CallStatus::AwaitingUpload);
    }
}
