//! Breach scoping (P11) over DynamoDB through the real SDK: the tenant registry, each
//! workspace's data-key inventory and its audit trail read by time range.

use std::collections::{BTreeMap, BTreeSet};

use callcoach_shared::crypto::DataCategory;
use callcoach_shared::domain::org::Tenant;
use callcoach_shared::fakes::kit::seed::{seed_data_key, seed_user_action};
use callcoach_shared::ids::TenantId;
use callcoach_shared::ports::{AuditLog, PageRequest, TenantRepository};
use callcoach_shared::usecases::breach::{BreachQuery, scope_breach};
use callcoach_tests::{LocalAws, fresh_tenant};
use time::OffsetDateTime;
use time::macros::datetime;

// Long before anything other tests write, so their workspaces stay out of scope.
const FROM: OffsetDateTime = datetime!(2020-03-01 0:00 UTC);
const TO: OffsetDateTime = datetime!(2020-03-03 0:00 UTC);

async fn workspace(aws: &LocalAws) -> TenantId {
    let tenant_id = fresh_tenant();
    aws.adapters
        .table
        .create_tenant(&Tenant::active(
            tenant_id.clone(),
            "breach",
            datetime!(2020-01-01 0:00 UTC),
        ))
        .await
        .unwrap();
    tenant_id
}

async fn read_call_at(aws: &LocalAws, tenant: &TenantId, at: OffsetDateTime) {
    seed_user_action(&aws.adapters.table, tenant, "u1", "call.read", at).await;
}

#[tokio::test]
async fn the_audit_trail_is_read_by_window_with_both_ends_included() {
    let aws = LocalAws::connect().await;
    let tenant = workspace(&aws).await;
    let nanosecond = time::Duration::nanoseconds(1);
    for at in [FROM - nanosecond, FROM, TO, TO + nanosecond] {
        read_call_at(&aws, &tenant, at).await;
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(1).unwrap();
    loop {
        let listed = aws
            .adapters
            .table
            .list_between(&tenant, FROM, TO, &page)
            .await
            .unwrap();
        seen.extend(listed.items.into_iter().map(|e| e.at));
        match listed.next {
            Some(next) => page = PageRequest::new(1, Some(next)).unwrap(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![TO, FROM],
        "newest first, ends included, one page at a time"
    );
}

#[tokio::test]
async fn a_breach_window_names_the_workspaces_and_categories_it_touched() {
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let held = workspace(&aws).await;
    let later = workspace(&aws).await;
    for (tenant, category, at) in [
        (
            &held,
            DataCategory::Transcripts,
            datetime!(2020-02-01 0:00 UTC),
        ),
        (&held, DataCategory::Notes, datetime!(2020-04-01 0:00 UTC)),
        (
            &later,
            DataCategory::Transcripts,
            TO + time::Duration::seconds(1),
        ),
    ] {
        seed_data_key(table, tenant, category, 1, at).await;
    }
    read_call_at(&aws, &held, datetime!(2020-03-02 0:00 UTC)).await;

    let query = BreachQuery {
        from: FROM,
        to: TO,
        categories: BTreeSet::from([DataCategory::Transcripts, DataCategory::Notes]),
        after: None,
    };
    let now = OffsetDateTime::now_utc();
    let scope = scope_breach(table, &query, now, || true).await.unwrap();
    assert!(scope.finished);
    assert!(scope.tenants_checked >= 2);
    let mine: Vec<_> = scope
        .affected
        .iter()
        .filter(|t| t.tenant_id == held || t.tenant_id == later)
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "the workspace keyed after the window is out of scope"
    );
    let exposure = mine[0];
    assert_eq!(exposure.tenant_id, held);
    assert_eq!(exposure.categories.len(), 1);
    assert_eq!(exposure.categories[0].category, DataCategory::Transcripts);
    assert_eq!(exposure.categories[0].key_versions, vec![1]);
    assert_eq!(
        exposure.actions,
        BTreeMap::from([("call.read".to_owned(), 1)])
    );

    // The scoping is in the workspace's own trail, once however often it is run.
    scope_breach(table, &query, now, || true).await.unwrap();
    let trail = table
        .list(&held, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    let scoped = trail
        .items
        .iter()
        .filter(|e| e.action == "breach.scoped" && e.actor.is_none())
        .count();
    assert_eq!(scoped, 1);
    let untouched = table
        .list(&later, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    assert!(untouched.items.is_empty());
}
