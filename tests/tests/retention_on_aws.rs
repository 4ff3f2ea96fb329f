//! The retention reaper through the real adapters on the local stand-in: the exact expired set
//! at the boundaries, the cascade to every item and object version (proven by query and list),
//! a second run deleting nothing, and the cost of a run over 100,000 live items.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use callcoach_shared::aws::DynamoTable;
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::call::Call;
use callcoach_shared::domain::org::Tenant;
use callcoach_shared::domain::retention::AccountState;
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::fakes::ManualClock;
use callcoach_shared::fakes::kit::seed::tenant_keeping_transcripts;
use callcoach_shared::ids::{TenantId, UserId};
use callcoach_shared::parse::{TranscriptFormat, parse_as};
use callcoach_shared::ports::{
    AgeMark, AuditLog, BlobStore, CallRepository, PageRequest, RetentionStore, TenantRepository,
};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::documents::DocumentVault;
use callcoach_shared::usecases::reaper::{ReapReport, Reaper};
use callcoach_tests::{
    LocalAws, fresh_tenant, items_under, mint, object_versions_of, sample_call, wrapped_keys_of,
};
use time::{Duration, OffsetDateTime};

async fn tenant_with(aws: &LocalAws, transcripts_days: Option<u32>) -> TenantId {
    let tenant_id = fresh_tenant();
    aws.adapters
        .table
        .create_tenant(&tenant_keeping_transcripts(
            tenant_id.clone(),
            "Retention test",
            transcripts_days,
            OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    tenant_id
}

/// A reaper run at `at` over the workspaces in `scope`.
async fn reap_at(aws: &LocalAws, at: OffsetDateTime, scope: &[TenantId]) -> ReapReport {
    let clock = ManualClock::at(at);
    let signer = aws.receipt_signer();
    let reaper = Reaper {
        store: &aws.adapters.table,
        blobs: &aws.adapters.blobs,
        clock: &clock,
        signer: &signer,
    };
    reaper.run(Some(scope), false, || true).await.unwrap()
}

fn transcript() -> Transcript {
    // Long enough to go to S3 as a blob (over 350 KB), so the cascade has documents to find.
    let mut vtt = String::from("WEBVTT\n\n");
    for i in 0..4000 {
        vtt.push_str(&format!(
            "{:02}:{:02}.000 --> {:02}:{:02}.500\n<v Dana>Question number {i} about the budget and the timeline for the rollout?\n\n",
            i / 60 % 60, i % 60, i / 60 % 60, i % 60
        ));
    }
    parse_as(TranscriptFormat::WebVtt, vtt.as_bytes()).unwrap()
}

/// A call created at `created`, with two versions of its upload, a transcript and a
/// transcription job's raw output in S3.
async fn seeded_call(aws: &LocalAws, tenant: &TenantId, created: OffsetDateTime) -> Call {
    let call = sample_call(aws, tenant, "rep", &ManualClock::at(created)).await;
    let upload = format!("uploads/{tenant}/{}/call.vtt", call.call_id);
    for body in [b"first".to_vec(), b"second".to_vec()] {
        aws.adapters
            .blobs
            .put(&upload, body, "text/vtt")
            .await
            .unwrap();
    }
    // Amazon Transcribe's raw output, as a job that ended after its call was deleted leaves it.
    let job = callcoach_shared::usecases::transcribe::job_name(tenant, &call.call_id, created);
    aws.adapters
        .blobs
        .put(
            &callcoach_shared::keys::provider_output_key(tenant, &call.call_id, &job),
            b"{\"results\":{}}".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
    let (cipher, _) = aws.cipher(CachePolicy::default());
    aws.vault(&cipher)
        .put_transcript(tenant, &call.call_id, 1, &transcript())
        .await
        .unwrap();
    aws.adapters
        .table
        .mark_aging(tenant, &call.call_id, AgeMark::Recording, created)
        .await
        .unwrap();
    call
}

/// What is left of a call: table items in its partition and object versions in the bucket.
async fn remains(aws: &LocalAws, call: &Call) -> (usize, usize) {
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let items = ddb
        .query()
        .table_name(&aws.resources.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("T#{}#CALL#{}", call.tenant_id, call.call_id)),
        )
        .send()
        .await
        .unwrap()
        .count as usize;
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let mut versions = 0;
    for area in ["uploads", "documents"] {
        let out = s3
            .list_object_versions()
            .bucket(&aws.resources.bucket_name)
            .prefix(format!("{area}/{}/{}/", call.tenant_id, call.call_id))
            .send()
            .await
            .unwrap();
        versions += out.versions().len() + out.delete_markers().len();
    }
    (items, versions)
}

#[tokio::test]
async fn the_reaper_deletes_exactly_the_expired_calls_and_everything_of_them() {
    let _together = MOTO_TABLE.read().await;
    let aws = LocalAws::connect().await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let tenant = tenant_with(&aws, Some(30)).await;
    let window = Duration::days(30);
    let before = seeded_call(&aws, &tenant, now - window - Duration::SECOND).await;
    let exactly = seeded_call(&aws, &tenant, now - window).await;
    let after = seeded_call(&aws, &tenant, now - window + Duration::SECOND).await;
    let (items, versions) = remains(&aws, &before).await;
    assert!(
        items >= 3 && versions >= 3,
        "seeded: {items} items, {versions} versions"
    );

    let report = reap_at(&aws, now, std::slice::from_ref(&tenant)).await;
    assert!(report.finished);
    assert_eq!(report.calls.get("calls"), Some(&2), "{report:?}");
    assert_eq!(remains(&aws, &before).await, (0, 0));
    assert_eq!(remains(&aws, &exactly).await, (0, 0));
    let (items, versions) = remains(&aws, &after).await;
    assert!(
        items >= 3 && versions >= 1,
        "the live call keeps its transcript"
    );

    let audit = aws
        .adapters
        .table
        .list(&tenant, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    // Per expired call: its move to `deleted` and its expiry, once each.
    for action in ["retention.call_deleted", "retention.call_expired"] {
        let events = audit.items.iter().filter(|e| e.action == action).count();
        assert_eq!(events, 2, "one {action} per expired call");
    }
    assert_eq!(audit.items.len(), 4);
    let again = reap_at(&aws, now, std::slice::from_ref(&tenant)).await;
    assert!(
        again.calls.is_empty(),
        "a second run deletes nothing: {again:?}"
    );
    let audit_again = aws
        .adapters
        .table
        .list(&tenant, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    assert_eq!(
        audit_again.items.len(),
        audit.items.len(),
        "no duplicate audit events"
    );
}

#[tokio::test]
async fn holds_keep_calls_and_a_run_stopped_midway_ends_the_same_when_run_again() {
    let _together = MOTO_TABLE.read().await;
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let expired = now - Duration::days(31);
    let tenant = tenant_with(&aws, Some(30)).await;
    let mut calls = Vec::new();
    for _ in 0..4 {
        calls.push(seeded_call(&aws, &tenant, expired).await);
    }
    let mut held = seeded_call(&aws, &tenant, expired).await;
    held.legal_hold = true;
    table.save_call(&mut held).await.unwrap();
    // A whole workspace under a legal hold.
    let frozen = tenant_with(&aws, Some(30)).await;
    let frozen_call = seeded_call(&aws, &frozen, expired).await;
    let mut workspace = table.get_tenant(&frozen).await.unwrap().unwrap();
    workspace.legal_hold = true;
    table.update_tenant(&workspace).await.unwrap();

    let clock = ManualClock::at(now);
    let signer = aws.receipt_signer();
    let reaper = Reaper {
        store: table,
        blobs: &aws.adapters.blobs,
        clock: &clock,
        signer: &signer,
    };
    let scope = [tenant.clone(), frozen.clone()];
    // The deadline comes after a few steps: the run stops with work left.
    let steps = std::sync::atomic::AtomicUsize::new(0);
    let first = reaper
        .run(Some(&scope), false, || {
            steps.fetch_add(1, Ordering::SeqCst) < 3
        })
        .await
        .unwrap();
    assert!(!first.finished, "{first:?}");
    let mut left = 0;
    for call in &calls {
        left += usize::from(remains(&aws, call).await != (0, 0));
    }
    assert!((1..4).contains(&left), "stopped midway: {left} of 4 left");

    let second = reaper.run(Some(&scope), false, || true).await.unwrap();
    assert!(second.finished);
    for call in &calls {
        assert_eq!(remains(&aws, call).await, (0, 0));
    }
    assert_ne!(remains(&aws, &held).await.0, 0, "the held call stays");
    assert_ne!(
        remains(&aws, &frozen_call).await.0,
        0,
        "the held workspace stays"
    );
    let trail = table
        .list(&tenant, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    let expired_events = trail
        .items
        .iter()
        .filter(|e| e.action == "retention.call_expired")
        .count();
    assert_eq!(expired_events, 4, "one event per call across both runs");
    let third = reaper.run(Some(&scope), false, || true).await.unwrap();
    assert!(third.calls.is_empty(), "{third:?}");
}

/// Counts the requests a DynamoDB client sends.
#[derive(Debug, Clone)]
struct RequestCounter(Arc<AtomicUsize>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Moto's TransactWriteItems deep-copies the whole table for its rollback, which fails
/// ("dictionary changed size during iteration") if any other request writes meanwhile. The
/// test that creates teams (a transaction) and the scale test (100,000 writes, which make every
/// later copy slow) each run alone; the other tests of this file run together.
static MOTO_TABLE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

#[tokio::test]
async fn a_run_over_100000_live_items_makes_a_handful_of_requests() {
    const LIVE: usize = 100_000;
    let _alone = MOTO_TABLE.write().await;
    let aws = LocalAws::connect().await;
    let tenant = tenant_with(&aws, Some(30)).await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    // Index entries of live calls, written directly: the reaper reads only the index.
    let recent = OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let started = Instant::now();
    let mut writes = Vec::new();
    for i in 0..LIVE {
        let call = format!("call_{i:032x}");
        let item = [
            ("pk", format!("T#{tenant}#CALL#{call}")),
            ("sk", "CALL".to_owned()),
            ("exp_pk", format!("T#{tenant}#AGE#calls")),
            ("exp_sk", format!("{recent:012}#{call}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
        .collect();
        writes.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
        if writes.len() == 25 || i + 1 == LIVE {
            ddb.batch_write_item()
                .request_items(&aws.resources.table_name, std::mem::take(&mut writes))
                .send()
                .await
                .unwrap();
        }
    }
    eprintln!("seeded {LIVE} items in {:?}", started.elapsed());

    let counter = RequestCounter(Arc::new(AtomicUsize::new(0)));
    let counted = aws_sdk_dynamodb::config::Builder::from(&aws.sdk)
        .interceptor(counter.clone())
        .build();
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::from_conf(counted),
        &aws.resources.table_name,
        &aws.resources.keys_table_name,
    );
    let signer = aws.receipt_signer();
    let reaper = Reaper {
        store: &table,
        blobs: &aws.adapters.blobs,
        clock: &SystemClock,
        signer: &signer,
    };
    let report = reaper.run(Some(&[tenant]), false, || true).await.unwrap();
    assert!(report.calls.is_empty());
    let requests = counter.0.load(Ordering::SeqCst);
    // The tenant, one query per expiring-record kind (usage, audit, receipts), one per age
    // index, and one for the deletion tickets waiting for their receipts.
    assert!(requests <= 8, "{requests} requests");
}

#[tokio::test]
async fn workspace_settings_update_in_place_and_the_registry_lists_every_tenant() {
    let _together = MOTO_TABLE.read().await;
    let aws = LocalAws::connect().await;
    let tenant_id = tenant_with(&aws, None).await;
    let table = &aws.adapters.table;
    let mut tenant = table.get_tenant(&tenant_id).await.unwrap().unwrap();
    tenant.retention.transcripts_days = Some(90);
    tenant.legal_hold = true;
    table.update_tenant(&tenant).await.unwrap();
    let stored = table.get_tenant(&tenant_id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Tenant {
            version: tenant.version + 1,
            ..tenant.clone()
        }
    );
    assert!(table.tenant_ids().await.unwrap().contains(&tenant_id));
    // A write based on the older read is refused: it would undo the one that came first.
    let mut stale = tenant.clone();
    stale.legal_hold = false;
    assert!(matches!(
        table.update_tenant(&stale).await,
        Err(callcoach_shared::ports::StoreError::Conflict)
    ));
    assert!(
        table
            .get_tenant(&tenant_id)
            .await
            .unwrap()
            .unwrap()
            .legal_hold
    );

    let mut stranger = tenant.clone();
    stranger.tenant_id = fresh_tenant();
    assert!(matches!(
        table.update_tenant(&stranger).await,
        Err(callcoach_shared::ports::StoreError::Conflict)
    ));
    assert!(
        table
            .get_tenant(&stranger.tenant_id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Test 43 / P6: deleting a workspace makes every ciphertext of it unreadable at once (its data
/// keys are shredded, so backups of the table and bucket are unreadable too) while another
/// tenant is untouched; the reaper's next run removes every item and object version of it,
/// proven by query and list. Its audit trail stays (ids only) as the record of the deletion.
#[tokio::test]
async fn a_deleted_workspace_is_unreadable_at_once_and_physically_gone_after_the_reaper() {
    use callcoach_shared::domain::org::{Membership, Role, Team};
    use callcoach_shared::domain::usage::UsageEvent;
    use callcoach_shared::ports::{
        DocumentKind, PlaybookRepository, ProgressRepository, TeamRepository, UsageLog,
    };
    use callcoach_shared::usecases::deletion::delete_workspace;

    let _alone = MOTO_TABLE.write().await;
    let aws = LocalAws::connect().await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let table = &aws.adapters.table;
    let rep = UserId::parse("rep").unwrap();
    let mut seeded = Vec::new();
    for _ in 0..2 {
        let tenant = tenant_with(&aws, None).await;
        let team: callcoach_shared::ids::TeamId = mint();
        table
            .create_team(
                &Team {
                    schema_version: SCHEMA_VERSION,
                    tenant_id: tenant.clone(),
                    team_id: team.clone(),
                    name: callcoach_shared::domain::org::SealedName(b"sealed".to_vec()),
                    created_at: now,
                },
                &Membership {
                    tenant_id: tenant.clone(),
                    team_id: team.clone(),
                    user_id: UserId::parse("owner").unwrap(),
                    role: Role::Owner,
                },
            )
            .await
            .unwrap();
        table
            .put_membership(&Membership {
                tenant_id: tenant.clone(),
                team_id: team.clone(),
                user_id: rep.clone(),
                role: Role::Rep,
            })
            .await
            .unwrap();
        table.put_playbook(&tenant, &team, b"sealed").await.unwrap();
        table
            .put_progress(&tenant, &rep, 0, b"sealed")
            .await
            .unwrap();
        let call = seeded_call(&aws, &tenant, now - Duration::days(1)).await;
        table
            .record_view(&UsageEvent {
                tenant_id: tenant.clone(),
                user_id: rep.clone(),
                call_id: call.call_id.clone(),
                view: callcoach_shared::domain::usage::UsageView::Call,
                at: now,
            })
            .await
            .unwrap();
        seeded.push((tenant, team, call));
    }
    let (doomed, doomed_team, doomed_call) = &seeded[0];
    let (kept, _, kept_call) = &seeded[1];
    let read = async |tenant: &TenantId, call: &Call| {
        // A process of its own, with an empty key cache, as any later reader would be.
        let (cipher, _) = aws.cipher(CachePolicy::default());
        DocumentVault {
            repository: table,
            blobs: &aws.adapters.blobs,
            envelope: &cipher,
        }
        .get::<Transcript>(tenant, &call.call_id, DocumentKind::Transcript, 1)
        .await
    };
    assert!(read(doomed, doomed_call).await.unwrap().is_some());

    delete_workspace(table, doomed, now).await.unwrap();
    assert!(
        read(doomed, doomed_call).await.is_err(),
        "unreadable at once: its data keys are gone"
    );
    assert!(
        read(kept, kept_call).await.unwrap().is_some(),
        "the other tenant reads on"
    );

    let report = reap_at(&aws, now + Duration::HOUR, &[doomed.clone(), kept.clone()]).await;
    assert_eq!(report.accounts_destroyed, 1, "{report:?}");

    let partitions_of = |t: &TenantId, team: &callcoach_shared::ids::TeamId, call: &Call| {
        vec![
            format!("T#{t}#CALL#{}", call.call_id),
            format!("T#{t}#TEAM#{team}"),
            format!("T#{t}#USER#{rep}"),
            format!("T#{t}#USAGE#{rep}"),
            format!("T#{t}#KEYS"),
        ]
    };
    let index_partitions_of = |t: &TenantId| {
        ["calls", "deleted", "recordings", "usage_events"]
            .map(|i| format!("T#{t}#AGE#{i}"))
            .to_vec()
    };
    assert_eq!(
        items_under(
            &aws,
            &partitions_of(doomed, doomed_team, doomed_call),
            &index_partitions_of(doomed)
        )
        .await,
        0,
        "no item of the deleted workspace is left"
    );
    assert_eq!(
        object_versions_of(&aws, doomed).await,
        0,
        "no object version either"
    );
    assert_eq!(
        wrapped_keys_of(&aws, doomed).await,
        (0, 0),
        "no wrapped key"
    );
    // The tenant partition keeps only the tombstone (ids and state, no content).
    let tenant_items = items_under(&aws, &[format!("T#{doomed}")], &[]).await;
    assert_eq!(tenant_items, 1);
    let record = table.get_tenant(doomed).await.unwrap().unwrap();
    assert_eq!(record.state, AccountState::Destroyed);

    let (kept_team, kept_call) = (&seeded[1].1, &seeded[1].2);
    assert!(
        items_under(
            &aws,
            &partitions_of(kept, kept_team, kept_call),
            &index_partitions_of(kept)
        )
        .await
            >= 8
    );
    assert!(object_versions_of(&aws, kept).await >= 3);
    assert!(read(kept, kept_call).await.unwrap().is_some());
    let audit = table
        .list(doomed, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    let actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"workspace.shredded") && actions.contains(&"retention.account_destroyed"),
        "{actions:?}"
    );
}

/// Tests 40 and 41 through the real adapters: usage events go at 13 months and audit events at
/// 2 years, to the second, found through the expiry index (no scan), other tenants untouched.
#[tokio::test]
async fn usage_and_audit_events_expire_exactly_through_the_expiry_index() {
    let _together = MOTO_TABLE.read().await;
    use callcoach_shared::domain::audit::{AUDIT_RETENTION, AuditEvent, Outcome};
    use callcoach_shared::domain::usage::{USAGE_RETENTION, UsageEvent};
    use callcoach_shared::ports::UsageLog;

    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let (tenant, other) = (tenant_with(&aws, None).await, tenant_with(&aws, None).await);
    let offsets = [-Duration::SECOND, Duration::ZERO, Duration::SECOND];
    for (i, offset) in offsets.into_iter().enumerate() {
        for t in [&tenant, &other] {
            table
                .record_view(&UsageEvent {
                    tenant_id: t.clone(),
                    user_id: UserId::parse(format!("u{i}")).unwrap(),
                    call_id: mint(),
                    view: callcoach_shared::domain::usage::UsageView::Call,
                    at: now - USAGE_RETENTION + offset,
                })
                .await
                .unwrap();
        }
        table
            .append(&AuditEvent {
                schema_version: SCHEMA_VERSION,
                event_id: mint(),
                tenant_id: tenant.clone(),
                actor: None,
                actor_kind: "test".into(),
                action: format!("test.old{i}"),
                object: "x".into(),
                outcome: Outcome::Success,
                request_id: None,
                at: now - AUDIT_RETENTION + offset,
            })
            .await
            .unwrap();
    }
    let report = reap_at(&aws, now, std::slice::from_ref(&tenant)).await;
    assert_eq!(report.records.get("usage_events"), Some(&2), "{report:?}");
    assert_eq!(report.records.get("audit_events"), Some(&2), "{report:?}");
    let long_ago = now - Duration::days(500);
    let mut left = Vec::new();
    for t in [&tenant, &other] {
        for i in 0..3 {
            let user = UserId::parse(format!("u{i}")).unwrap();
            left.push(
                table
                    .views_of_user(t, &user, long_ago, &PageRequest::first(10).unwrap())
                    .await
                    .unwrap()
                    .items
                    .len(),
            );
        }
    }
    assert_eq!(
        left,
        [0, 0, 1, 1, 1, 1],
        "one second short stays; the other tenant keeps all"
    );
    let audit = table
        .list(&tenant, &PageRequest::first(50).unwrap())
        .await
        .unwrap();
    let old: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action.starts_with("test.old"))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(old, ["test.old2"]);
    let again = reap_at(&aws, now, std::slice::from_ref(&tenant)).await;
    assert!(again.records.is_empty(), "{again:?}");
}

/// A worker that ran while its call was deleted and purged wrote a large transcript for it
/// afterwards (an item and S3 object versions no age index lists): the orphan mark it leaves,
/// in the `deleted` index on DynamoDB, makes the next run purge them.
#[tokio::test]
async fn what_a_late_writer_left_for_a_purged_call_goes_with_the_next_run_on_dynamodb() {
    let aws = LocalAws::connect().await;
    let tenant = tenant_with(&aws, None).await;
    let call = sample_call(&aws, &tenant, "rep", &SystemClock).await;
    aws.adapters
        .table
        .delete_call_items(&tenant, &call.call_id)
        .await
        .unwrap();
    let (cipher, _) = aws.cipher(CachePolicy::default());
    aws.vault(&cipher)
        .put_transcript(&tenant, &call.call_id, 1, &transcript())
        .await
        .unwrap();
    let (items, versions) = remains(&aws, &call).await;
    assert!(
        items >= 1 && versions >= 1,
        "{items} items, {versions} versions"
    );
    let now = OffsetDateTime::now_utc();
    assert!(
        !callcoach_shared::usecases::documents::live_after_writes(
            &aws.adapters.table,
            &tenant,
            &call.call_id,
            now
        )
        .await
        .unwrap()
    );
    let report = reap_at(
        &aws,
        now + Duration::minutes(1),
        std::slice::from_ref(&tenant),
    )
    .await;
    assert_eq!(report.calls.get("deleted"), Some(&1), "{report:?}");
    assert_eq!(remains(&aws, &call).await, (0, 0));
}
