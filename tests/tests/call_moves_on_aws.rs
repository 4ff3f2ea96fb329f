//! Every status change goes through `CallLifecycle`: on DynamoDB (the local stand-in), each
//! kind of move leaves exactly its audit event, and the age indexes follow the status, in the
//! same write. A move that loses its race writes neither.

use callcoach_shared::domain::audit::AuditEvent;
use callcoach_shared::domain::call::{Call, CallStatus};
use callcoach_shared::ports::{
    AgeIndex, AuditLog, CallRepository, Clock, PageRequest, RetentionStore, StoreError,
};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::call_lifecycle::{CallLifecycle, Change, Mover};
use callcoach_tests::{LocalAws, fresh_tenant, sample_call};
use time::Duration;

use CallStatus::*;

/// Each writer's moves, in an order the state machine allows: the pipeline's way in, the
/// worker's scoring and re-scoring, a newer upload superseding a scoring, a failure, an upload
/// after it, and the deletions (a user's through the API, a team's, the reaper's).
const PATH: [(Mover, CallStatus); 11] = [
    (Mover::Pipeline, Uploaded),
    (Mover::Pipeline, Transcribing),
    (Mover::Pipeline, Transcribed),
    (Mover::Worker, Scoring),
    (Mover::Worker, Scored),
    (Mover::Worker, Scoring),
    (Mover::Pipeline, Uploaded),
    (Mover::Pipeline, Failed),
    (Mover::Pipeline, Uploaded),
    (Mover::Pipeline, Transcribed),
    (Mover::Api, Deleted),
];

/// Which of the three status-driven age indexes hold the call now.
async fn indexes_holding(aws: &LocalAws, call: &Call) -> Vec<AgeIndex> {
    let far = SystemClock.now() + Duration::days(1);
    let mut holding = Vec::new();
    for index in [AgeIndex::Waiting, AgeIndex::Calls, AgeIndex::Deleted] {
        let due = aws
            .adapters
            .table
            .due_calls(&call.tenant_id, index, far, None, 50)
            .await
            .unwrap();
        if due.iter().any(|d| d.call_id == call.call_id) {
            holding.push(index);
        }
    }
    holding
}

fn indexes_for(status: CallStatus) -> Vec<AgeIndex> {
    match status {
        Deleted => vec![AgeIndex::Deleted],
        waiting if waiting.is_waiting() => vec![AgeIndex::Waiting, AgeIndex::Calls],
        _ => vec![AgeIndex::Calls],
    }
}

async fn events_of(aws: &LocalAws, call: &Call) -> Vec<AuditEvent> {
    let page = aws
        .adapters
        .table
        .list(&call.tenant_id, &PageRequest::first(100).unwrap())
        .await
        .unwrap();
    let object = format!("call/{}", call.call_id);
    page.items
        .into_iter()
        .filter(|e| e.object == object)
        .collect()
}

#[tokio::test]
async fn every_kind_of_move_is_audited_and_moves_the_age_marks() {
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    let mut call = sample_call(&aws, &tenant, "rep-1", &SystemClock).await;
    assert_eq!(indexes_holding(&aws, &call).await, vec![AgeIndex::Calls]);

    for (step, (mover, next)) in PATH.into_iter().enumerate() {
        let lifecycle = CallLifecycle::new(&aws.adapters.table, mover);
        lifecycle
            .move_to(&mut call, next, SystemClock.now())
            .await
            .unwrap_or_else(|e| panic!("{mover:?} -> {next:?}: {e}"));

        let events = events_of(&aws, &call).await;
        assert_eq!(events.len(), step + 1, "one event per move, at {next:?}");
        let action = mover.move_action(next);
        assert_eq!(
            events.iter().filter(|e| e.action == action).count(),
            PATH[..=step]
                .iter()
                .filter(|(m, s)| m.move_action(*s) == action)
                .count(),
            "{action}"
        );
        assert!(events.iter().all(|e| e.actor.is_none()));
        assert_eq!(
            indexes_holding(&aws, &call).await,
            indexes_for(next),
            "the age marks follow the move to {next:?}"
        );
    }
    let stored = aws
        .adapters
        .table
        .get_call(&tenant, &call.call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status, stored.version),
        (Deleted, PATH.len() as u32)
    );
}

#[tokio::test]
async fn the_reaper_and_a_deletion_audit_their_moves_under_their_own_names() {
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    for (mover, action) in [
        (Mover::Reaper, "retention.call_deleted"),
        (Mover::Deletion, "deletion.call_deleted"),
    ] {
        let mut call = sample_call(&aws, &tenant, "rep-1", &SystemClock).await;
        CallLifecycle::new(&aws.adapters.table, mover)
            .move_to(&mut call, Deleted, SystemClock.now())
            .await
            .unwrap();
        let events = events_of(&aws, &call).await;
        assert_eq!(
            events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec![action]
        );
        assert_eq!(indexes_holding(&aws, &call).await, vec![AgeIndex::Deleted]);
    }
}

#[tokio::test]
async fn a_move_that_loses_its_race_writes_neither_the_move_nor_its_event() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    let call = sample_call(&aws, &tenant, "rep-1", &SystemClock).await;

    // A legal hold lands after the deleter read the call: the deleter's copy is stale.
    let mut holder = call.clone();
    CallLifecycle::new(table, Mover::Api)
        .update(&mut holder, |c| {
            c.legal_hold = true;
            Ok::<_, StoreError>(Change::Write(()))
        })
        .await
        .unwrap();
    let mut stale = call.clone();
    stale.transition(Deleted, SystemClock.now()).unwrap();
    let event = AuditEvent::by_system(
        "api",
        &tenant,
        &Mover::Api.move_action(Deleted),
        &format!("call/{}", call.call_id),
        &[&call.version.to_string()],
        SystemClock.now(),
    );
    assert!(matches!(
        table.save_moved(&mut stale, &event).await,
        Err(StoreError::StaleTransition { .. })
    ));
    assert!(
        events_of(&aws, &call).await.is_empty(),
        "no event of a lost move"
    );
    let stored = table
        .get_call(&tenant, &call.call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.status, stored.legal_hold), (AwaitingUpload, true));
    assert_eq!(indexes_holding(&aws, &call).await, vec![AgeIndex::Calls]);

    // Through the lifecycle the stale copy decides again from the stored call: the hold
    // keeps the call, and nothing is moved or audited.
    let mut deleter = call.clone();
    let deleted = CallLifecycle::new(table, Mover::Api)
        .update(&mut deleter, |c| {
            if c.legal_hold {
                return Ok::<_, StoreError>(Change::Keep(false));
            }
            c.transition(Deleted, SystemClock.now()).unwrap();
            Ok(Change::Write(true))
        })
        .await
        .unwrap();
    assert!(!deleted);
    assert!(events_of(&aws, &call).await.is_empty());
}
