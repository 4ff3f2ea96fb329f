//! The reaper's schedule sample deserializes and runs a real sweep over in-memory stores.

use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::retention::AccountState;
use callcoach_shared::fakes::kit::seed::tenant_keeping_transcripts;
use callcoach_shared::fakes::{InMemoryBlobStore, InMemoryStore, LocalReceiptSigner, ManualClock};
use callcoach_shared::ids::{TenantId, UserId};
use callcoach_shared::ports::{AdminRepository, Clock, IdGenerator, TenantRepository};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use lambda_runtime::{Context, LambdaEvent};
use retention_reaper::{Deps, handle, handle_event, wants_dry_run};
use serde_json::Value;

const SAMPLE: &str = include_str!("../../../events/reaper-schedule.json");

async fn seeded() -> (
    Deps<InMemoryStore, InMemoryBlobStore, SystemClock, LocalReceiptSigner>,
    TenantId,
) {
    seeded_at(SystemClock).await
}

async fn seeded_at<C: Clock>(
    clock: C,
) -> (
    Deps<InMemoryStore, InMemoryBlobStore, C, LocalReceiptSigner>,
    TenantId,
) {
    let deps = Deps {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        clock,
        signer: LocalReceiptSigner::default(),
    };
    let tenant = TenantId::parse("demo-tenant").unwrap();
    deps.store
        .create_tenant(&tenant_keeping_transcripts(
            tenant.clone(),
            "Demo",
            Some(30),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    let long_ago = callcoach_shared::fakes::ManualClock::at(
        time::OffsetDateTime::now_utc() - time::Duration::days(31),
    );
    create_call(
        &deps.store,
        &long_ago,
        &RandomIds,
        &tenant,
        NewCall {
            team_id: RandomIds.mint(),
            rep_id: UserId::parse("demo-rep").unwrap(),
            call_type: CallType::Demo,
            details: Default::default(),
        },
    )
    .await
    .unwrap();
    (deps, tenant)
}

#[tokio::test]
async fn the_sample_schedule_runs_a_sweep() {
    let event: Value = serde_json::from_str(SAMPLE).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert!(!wants_dry_run(&event));
    let (deps, tenant) = seeded().await;
    let report = handle(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(report.finished && !report.dry_run);
    assert_eq!(report.calls.get("calls"), Some(&1));
    // The call's move to `deleted`, then its expiry.
    let actions: Vec<String> = deps
        .store
        .audit_events()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["retention.call_deleted", "retention.call_expired"]
    );
    let remaining = deps.store.calls_of_tenant(&tenant);
    assert!(remaining.is_empty(), "the expired call is gone");
}

#[tokio::test]
async fn a_dry_run_request_deletes_nothing() {
    let event = serde_json::json!({"dry_run": true});
    assert!(wants_dry_run(&event));
    let (deps, _) = seeded().await;
    let report = handle(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.calls.get("calls"), Some(&1));
    assert!(deps.store.audit_events().is_empty());
}

const BILLING_SAMPLE: &str = include_str!("../../../events/account-cancelled.json");

#[tokio::test]
async fn the_sample_billing_event_cancels_the_workspace_once() {
    // Received an hour after billing sent it.
    let received = time::macros::datetime!(2026-11-20 13:00 UTC);
    let (deps, tenant) = seeded_at(ManualClock::at(received)).await;
    let event: Value = serde_json::from_str(BILLING_SAMPLE).unwrap();
    for _ in 0..2 {
        let answer = handle_event(&deps, LambdaEvent::new(event.clone(), Context::default()))
            .await
            .unwrap();
        assert_eq!(answer["state"], "cancelled");
    }
    let record = deps.store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(record.state, AccountState::Cancelled);
    assert_eq!(
        record.state_since,
        Some(received),
        "the grace period runs from receipt, not from the sender's `at`"
    );
    let cancellations = deps
        .store
        .audit_events()
        .into_iter()
        .filter(|e| e.action == "account.cancelled")
        .count();
    assert_eq!(cancellations, 1, "a redelivered event is recorded once");

    let mut unknown = event.clone();
    unknown["detail"]["tenant_id"] = serde_json::json!("nobody");
    assert!(
        handle_event(&deps, LambdaEvent::new(unknown, Context::default()))
            .await
            .is_err()
    );
    let mut destroy = event;
    destroy["detail"]["state"] = serde_json::json!("destroyed");
    assert!(
        handle_event(&deps, LambdaEvent::new(destroy, Context::default()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_billing_event_with_a_forged_time_changes_nothing() {
    let (deps, tenant) = seeded().await;
    let mut event: Value = serde_json::from_str(BILLING_SAMPLE).unwrap();
    event["detail"]["state"] = serde_json::json!("suspended");
    for forged in ["2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"] {
        event["detail"]["at"] = serde_json::json!(forged);
        let refused =
            handle_event(&deps, LambdaEvent::new(event.clone(), Context::default())).await;
        assert!(refused.is_err(), "{forged}");
    }
    let record = deps.store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.state_since),
        (AccountState::Active, None)
    );
    assert!(deps.store.audit_events().is_empty());
}

#[tokio::test]
async fn the_sample_provisioning_events_create_the_workspace_and_its_admin_once() {
    let deps = Deps {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        clock: SystemClock,
        signer: LocalReceiptSigner::default(),
    };
    let from_signup: Value =
        serde_json::from_str(include_str!("../../../events/workspace-provisioned.json")).unwrap();
    let by_operator: Value =
        serde_json::from_str(include_str!("../../../events/provision.json")).unwrap();
    let first = handle_event(
        &deps,
        LambdaEvent::new(from_signup.clone(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        first,
        serde_json::json!({"workspace_created": true, "admin_added": true})
    );
    let again = handle_event(&deps, LambdaEvent::new(from_signup, Context::default()))
        .await
        .unwrap();
    assert_eq!(
        again,
        serde_json::json!({"workspace_created": false, "admin_added": false})
    );
    let tenant = TenantId::parse("demo-tenant").unwrap();
    assert_eq!(
        deps.store.get_tenant(&tenant).await.unwrap().unwrap().state,
        AccountState::Active
    );
    // The operator's invoke names a second admin of the same workspace.
    let operator = handle_event(&deps, LambdaEvent::new(by_operator, Context::default()))
        .await
        .unwrap();
    assert_eq!(operator["admin_added"], true);
    let admins = deps.store.admins(&tenant).await.unwrap();
    assert_eq!(admins.len(), 2, "{admins:?}");
    let bad = serde_json::json!({"provision": {"tenant_id": "a/b", "admin_user_id": "x"}});
    assert!(
        handle_event(&deps, LambdaEvent::new(bad, Context::default()))
            .await
            .is_err()
    );
}

const BREACH_SAMPLE: &str = include_str!("../../../events/breach-scope.json");

#[tokio::test]
async fn the_sample_breach_query_lists_the_workspace_that_held_transcripts() {
    use callcoach_shared::crypto::{DataCategory, DataKeyStore, WrappedDataKey};
    let (deps, tenant) = seeded().await;
    let key = |category, at| WrappedDataKey {
        tenant: tenant.clone(),
        category,
        version: 1,
        kms_key_id: "key".into(),
        wrapped: vec![1; 32],
        created_at: at,
    };
    let before_window = time::macros::datetime!(2026-11-01 0:00 UTC);
    let after_window = time::macros::datetime!(2026-11-23 0:00:01 UTC);
    deps.store
        .insert_data_key(&key(DataCategory::Transcripts, before_window))
        .await
        .unwrap();
    deps.store
        .insert_data_key(&key(DataCategory::Insights, after_window))
        .await
        .unwrap();

    let event: Value = serde_json::from_str(BREACH_SAMPLE).unwrap();
    let report = handle_event(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(report["finished"], true);
    assert_eq!(report["tenants_checked"], 1);
    assert_eq!(report["affected"][0]["tenant_id"], tenant.as_str());
    let categories = report["affected"][0]["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 1);
    assert_eq!(categories[0]["category"], "transcripts");
    assert!(
        deps.store
            .audit_events()
            .iter()
            .any(|e| e.action == "breach.scoped" && e.tenant_id == tenant)
    );
}

#[tokio::test]
async fn a_malformed_breach_query_is_refused_and_scopes_nothing() {
    let (deps, _) = seeded().await;
    for bad in [
        serde_json::json!({"breach_scope": {"from": "yesterday", "to": "2026-11-23T00:00:00Z"}}),
        serde_json::json!({"breach_scope": {"from": "2026-11-20T00:00:00Z", "to": "2026-11-23T00:00:00Z", "categories": ["passwords"]}}),
        serde_json::json!({"breach_scope": {"from": "2026-11-20T00:00:00Z", "to": "2026-11-23T00:00:00Z", "tenant": "x"}}),
        serde_json::json!({"breach_scope": {"from": "2026-11-23T00:00:00Z", "to": "2026-11-20T00:00:00Z"}}),
    ] {
        let refused = handle_event(&deps, LambdaEvent::new(bad.clone(), Context::default())).await;
        assert!(refused.is_err(), "{bad}");
    }
    assert!(
        deps.store
            .audit_events()
            .iter()
            .all(|e| e.action != "breach.scoped")
    );
    assert!(
        !deps
            .store
            .calls_of_tenant(&TenantId::parse("demo-tenant").unwrap())
            .is_empty(),
        "a refused query is not taken for a sweep"
    );
}

#[tokio::test]
async fn the_sample_quota_setting_gives_a_workspace_limits_of_its_own() {
    let (deps, tenant) = seeded().await;
    let event: Value =
        serde_json::from_str(include_str!("../../../events/set-quotas.json")).unwrap();
    let answer = handle_event(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(answer["quotas"]["calls_per_day"], 200);
    let record = deps.store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(record.quotas.unwrap().calls_per_day, 200);
    // `null` goes back to the deployment's; unknown limits and unknown workspaces are refused.
    let reset = serde_json::json!({"set_quotas": {"tenant_id": "demo-tenant", "quotas": null}});
    handle_event(&deps, LambdaEvent::new(reset, Context::default()))
        .await
        .unwrap();
    assert_eq!(
        deps.store
            .get_tenant(&tenant)
            .await
            .unwrap()
            .unwrap()
            .quotas,
        None
    );
    for bad in [
        serde_json::json!({"set_quotas": {"tenant_id": "demo-tenant", "quotas": {"calls_per_day": 1}}}),
        serde_json::json!({"set_quotas": {"tenant_id": "nobody", "quotas": null}}),
    ] {
        assert!(
            handle_event(&deps, LambdaEvent::new(bad.clone(), Context::default()))
                .await
                .is_err(),
            "{bad}"
        );
    }
}
