//! The project's SDK configuration against faults injected at the network: the real SDK, its
//! own retries and backoff (`callcoach_shared::aws::retry_config`), talking HTTP to the fault
//! proxy (`callcoach_tests::fault_proxy`) in front of the local AWS. Fixed seeds: a failure
//! replays.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use callcoach_shared::aws::AwsAdapters;
use callcoach_shared::config::category_key_var;
use callcoach_shared::crypto::{DataCategory, KeyManagement};
use callcoach_shared::domain::org::Tenant;
use callcoach_shared::ports::{BlobStore, Clock, TenantRepository};
use callcoach_shared::system::SystemClock;
use callcoach_tests::fault_proxy::{Fault, FaultPlan, FaultProxy, Service};
use callcoach_tests::{LocalAws, fresh_tenant};

const ROUNDS: usize = 40;

async fn through(plan: FaultPlan) -> (FaultProxy, SdkConfig) {
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("the local AWS is running");
    let proxy = FaultProxy::start(&upstream, plan).await.unwrap();
    // The functions' own loader, with the proxy as the endpoint (set in code, so it wins over
    // the environment's `AWS_ENDPOINT_URL`).
    let sdk = callcoach_shared::aws::sdk_loader()
        .endpoint_url(&proxy.url)
        .load()
        .await;
    (proxy, sdk)
}

/// One round of the work every function does, on each of the four services: a tenant written
/// and read (DynamoDB), a data key made and opened (KMS), an object written and read (S3), a
/// message sent and received (SQS, on a queue of the test's own).
async fn one_round(
    adapters: &AwsAdapters,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    round: usize,
) -> Result<(), String> {
    let tenant = fresh_tenant();
    let record = Tenant::active(tenant.clone(), "Faulted Ltd", SystemClock.now());
    adapters
        .table
        .create_tenant(&record)
        .await
        .map_err(|e| format!("create_tenant: {e:?}"))?;
    let read = adapters.table.get_tenant(&tenant).await;
    if !matches!(read, Ok(Some(ref t)) if t.tenant_id == tenant) {
        return Err(format!("get_tenant: {read:?}"));
    }

    let key_id = std::env::var(category_key_var(DataCategory::Transcripts)).unwrap();
    let context = BTreeMap::from([("tenant".to_owned(), tenant.as_str().to_owned())]);
    let generated = adapters
        .kms
        .generate_data_key(&key_id, &context)
        .await
        .map_err(|e| format!("generate_data_key: {e:?}"))?;
    adapters
        .kms
        .decrypt_data_key(&key_id, &generated.wrapped, &context)
        .await
        .map_err(|e| format!("decrypt_data_key: {e:?}"))?;

    let key = format!("faults/{tenant}/round-{round}");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 + round as u32) as u8).collect();
    adapters
        .blobs
        .put(&key, bytes.clone(), "application/octet-stream")
        .await
        .map_err(|e| format!("put: {e:?}"))?;
    let got = adapters.blobs.get(&key).await;
    if !matches!(got, Ok(Some(ref b)) if *b == bytes) {
        return Err(format!("get: {:?}", got.map(|b| b.map(|b| b.len()))));
    }
    adapters
        .blobs
        .delete(&[key])
        .await
        .map_err(|e| format!("delete: {e:?}"))?;

    sqs.send_message()
        .queue_url(queue_url)
        .message_body(format!("round {round}"))
        .send()
        .await
        .map_err(|e| format!("send_message: {e:?}"))?;
    Ok(())
}

/// The first plan (by seed) that drops answers after forwarding and whose first requests get
/// exactly `pattern`: a lost answer where the test needs one.
fn plan_drawing(pattern: &[Option<Fault>]) -> FaultPlan {
    (0..)
        .map(|seed| FaultPlan {
            reset_after: 0.5,
            ..FaultPlan::pass_through(seed)
        })
        .find(|p| (0..).zip(pattern).all(|(n, want)| p.fault_for(n) == *want))
        .expect("some seed draws the pattern")
}

#[tokio::test]
async fn throttling_and_server_errors_on_every_service_are_ridden_out_by_the_retries() {
    let aws = LocalAws::connect().await;
    let plan = FaultPlan {
        throttle: 0.10,
        internal_error: 0.05,
        max_latency: std::time::Duration::from_millis(15),
        ..FaultPlan::pass_through(7)
    };
    let (proxy, sdk) = through(plan).await;
    let adapters = AwsAdapters::new(&sdk, &aws.resources);
    // The test's queue is made without faults: only the work is faulted.
    let direct_sqs = aws_sdk_sqs::Client::new(&aws.sdk);
    let queue_name = format!("faults-{}", fresh_tenant());
    let queue_url = direct_sqs
        .create_queue()
        .queue_name(&queue_name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        if let Err(e) = one_round(&adapters, &sqs, &queue_url, round).await {
            failures.push(format!("round {round}: {e}"));
        }
    }
    let received = direct_sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    direct_sqs
        .delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();

    assert!(failures.is_empty(), "work lost to faults: {failures:#?}");
    // Every message went in exactly once (a refused send is not in the queue, and retries of a
    // refused send add nothing).
    let in_queue = received
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .cloned()
        })
        .unwrap_or_default();
    assert_eq!(in_queue, ROUNDS.to_string());
    // The faults were really there, on every service.
    for service in [Service::DynamoDb, Service::Kms, Service::S3, Service::Sqs] {
        let throttled = proxy.injected(service, Fault::Throttle);
        assert!(throttled > 0, "no throttling injected into {service:?}");
    }
    let failed: usize = [Service::DynamoDb, Service::Kms, Service::S3, Service::Sqs]
        .into_iter()
        .map(|s| proxy.injected(s, Fault::InternalError))
        .sum();
    assert!(failed > 0, "no 500 injected");
}

#[tokio::test]
async fn connections_dropped_before_a_request_or_before_its_answer_are_retried() {
    let aws = LocalAws::connect().await;
    let plan = FaultPlan {
        reset_before: 0.10,
        reset_after: 0.10,
        ..FaultPlan::pass_through(11)
    };
    let (proxy, sdk) = through(plan).await;
    let adapters = AwsAdapters::new(&sdk, &aws.resources);
    // Idempotent work only: a write whose answer was lost is simply written again.
    let tenant = fresh_tenant();
    for round in 0..ROUNDS {
        let key = format!("faults/{tenant}/dropped-{round}");
        let bytes = format!("round {round}").into_bytes();
        adapters
            .blobs
            .put(&key, bytes.clone(), "text/plain")
            .await
            .unwrap_or_else(|e| panic!("put {round}: {e:?}"));
        let got = adapters.blobs.get(&key).await.unwrap();
        assert_eq!(got.as_deref(), Some(bytes.as_slice()));
        adapters.blobs.delete(&[key]).await.unwrap();
        let read = adapters.table.get_tenant(&tenant).await;
        assert!(matches!(read, Ok(None)), "{read:?}");
    }
    assert!(proxy.injected(Service::S3, Fault::ResetBefore) > 0);
    assert!(proxy.injected(Service::S3, Fault::ResetAfter) > 0);
    assert!(
        proxy.injected(Service::DynamoDb, Fault::ResetBefore)
            + proxy.injected(Service::DynamoDb, Fault::ResetAfter)
            > 0
    );
}

/// A conditional create whose write landed but whose answer was lost: the SDK's retry meets
/// the item its first attempt wrote. That is the create succeeding, not a conflict (found by
/// the chaos run: `POST /v1/calls` answered 500 and left the call behind); another item
/// under the same key is still refused.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_refused_by_its_own_retry() {
    use callcoach_shared::domain::audit::AuditEvent;
    use callcoach_shared::ports::{AuditLog, StoreError};
    let aws = LocalAws::connect().await;
    // A seed whose first request loses its answer and whose second passes.
    let plan = plan_drawing(&[Some(Fault::ResetAfter), None]);
    let (proxy, sdk) = through(plan).await;
    let adapters = AwsAdapters::new(&sdk, &aws.resources);
    let tenant = fresh_tenant();
    let event = AuditEvent::by_system(
        "worker",
        &tenant,
        "worker.call_scored",
        "call/lost-answer",
        &["1"],
        SystemClock.now(),
    );
    adapters.table.append(&event).await.unwrap();
    let seen: Vec<_> = proxy.seen().iter().map(|s| (s.service, s.fault)).collect();
    assert_eq!(
        seen,
        [
            (Service::DynamoDb, Some(Fault::ResetAfter)),
            (Service::DynamoDb, None)
        ]
    );
    // Another write of the same event, or another item under its key, is still refused.
    let direct = AwsAdapters::new(&aws.sdk, &aws.resources);
    let same = direct.table.append(&event).await;
    assert!(matches!(same, Err(StoreError::AlreadyExists)), "{same:?}");
    let other = AuditEvent {
        actor_kind: "pipeline".into(),
        ..event.clone()
    };
    let again = direct.table.append(&other).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    let trail = direct
        .table
        .list(
            &tenant,
            &callcoach_shared::ports::PageRequest::first(10).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(trail.items.len(), 1);
}

/// An idempotency claim, then its completion, each with its first answer lost: the retry of
/// the claim finds the claim it made and takes it as its own (before, the job waited out its
/// own lease as "in progress", found by the chaos run), and the retry of the completion finds
/// the record completed by it (before, "the work outlived its claim").
#[tokio::test]
async fn a_claim_and_a_completion_whose_answers_were_lost_are_still_ours() {
    use callcoach_shared::ports::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore};
    let aws = LocalAws::connect().await;
    // Requests: the claim (answer lost), its retry (refused), the read of the record, the
    // completion (answer lost), its retry (refused, the record returned with the refusal).
    let pattern = [
        Some(Fault::ResetAfter),
        None,
        None,
        Some(Fault::ResetAfter),
        None,
    ];
    let plan = plan_drawing(&pattern);
    let (proxy, sdk) = through(plan).await;
    let adapters = AwsAdapters::new(&sdk, &aws.resources);
    let tenant = fresh_tenant();
    let key = IdempotencyKey {
        tenant: &tenant,
        call: None,
        key: "score#lost-answers",
        payload_hash: "h",
    };
    let now = SystemClock.now();
    let lease = ClaimLease {
        owner: "invocation-1",
        now,
        in_progress_until: now + std::time::Duration::from_secs(360),
        expires_at: now + std::time::Duration::from_secs(3600),
    };
    assert_eq!(
        adapters.table.claim(&key, lease).await.unwrap(),
        Claim::Acquired
    );
    assert!(adapters.table.complete(&key, "invocation-1").await.unwrap());
    let faults: Vec<_> = proxy.seen().iter().map(|s| s.fault).collect();
    assert_eq!(faults, pattern);
    // Someone else's claim of the completed record is still refused as done.
    let direct = AwsAdapters::new(&aws.sdk, &aws.resources);
    let other = ClaimLease {
        owner: "invocation-2",
        ..lease
    };
    assert_eq!(
        direct.table.claim(&key, other).await.unwrap(),
        Claim::AlreadyDone
    );
}

/// A transaction whose answer was lost is retried by the SDK with the same
/// `ClientRequestToken`, which DynamoDB answers as it answered the first time. The local AWS
/// ignores the token, so the proxy keeps that promise for it; this proves the proxy does (the
/// chaos run relies on it: without it a retried move of a call failed on its own write).
#[tokio::test]
async fn a_transaction_whose_answer_was_lost_is_answered_again_not_applied_twice() {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let aws = LocalAws::connect().await;
    let plan = plan_drawing(&[Some(Fault::ResetAfter), None]);
    let (proxy, sdk) = through(plan).await;
    let pk = format!("T#{}#FAULTS", fresh_tenant());
    let put = Put::builder()
        .table_name(&aws.resources.table_name)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::S("once".into()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    aws_sdk_dynamodb::Client::new(&sdk)
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .send()
        .await
        .unwrap();
    let faults: Vec<_> = proxy.seen().iter().map(|s| s.fault).collect();
    assert_eq!(faults, [Some(Fault::ResetAfter), None]);
    let stored = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .query()
        .table_name(&aws.resources.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.count, 1);
}
