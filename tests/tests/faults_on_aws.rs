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
