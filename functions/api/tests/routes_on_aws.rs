//! The route suite of `suite/` over the real adapters: DynamoDB, S3, KMS and SQS of the
//! local AWS stand-in, through the AWS SDK over HTTP (`make test` starts it). Each world gets
//! fresh tenant ids and a scoring queue of its own, so tests never see each other's data.

use api::Settings;
use api::error::NOT_FOUND_BODY;
use axum::http::StatusCode;
use callcoach_tests::counting::{RequestLog, counted};
use callcoach_tests::{LocalAws, fresh_tenant, messages_on, own_queue};

mod suite;

use api::DeployedPorts;
use callcoach_shared::ids::TenantId;
use suite::{Backend, World};

/// The route suite over the real adapters on the local AWS stand-in.
struct OnAws;

/// Ports over the adapters `sdk` makes, with queues of their own.
async fn ports_over(aws: &LocalAws, sdk: &aws_config::SdkConfig) -> DeployedPorts {
    let sqs = aws_sdk_sqs::Client::new(&aws.sdk);
    let queue_url = own_queue(&sqs, "api", &[]).await;
    let jobs_url = own_queue(&sqs, "api-export-jobs", &[]).await;
    let adapters = callcoach_shared::aws::AwsAdapters::new(sdk, &aws.resources);
    DeployedPorts::over_aws(sdk, adapters, &aws.resources, &queue_url, &jobs_url)
}

impl Backend for OnAws {
    type Ports = DeployedPorts;

    async fn fresh_ports() -> DeployedPorts {
        let aws = LocalAws::connect().await;
        ports_over(&aws, &aws.sdk).await
    }

    fn fresh_tenants() -> (TenantId, TenantId) {
        (fresh_tenant(), fresh_tenant())
    }

    async fn queued_jobs(w: &World<Self>) -> usize {
        let sdk = callcoach_shared::aws::load_sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        messages_on(&sqs, w.api.ports.queue.url()).await.len()
    }

    async fn queued_export_jobs(w: &World<Self>) -> Vec<String> {
        let sdk = callcoach_shared::aws::load_sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        callcoach_tests::take_messages(&sqs, w.api.ports.jobs.url()).await
    }
}

suite::route_suite!(OnAws);

/// A world whose every AWS request is logged, and the log.
async fn counted_world() -> (World<OnAws>, RequestLog) {
    let aws = LocalAws::connect().await;
    let (sdk, log) = counted(&aws.sdk);
    let ports = ports_over(&aws, &sdk).await;
    (
        suite::world_over::<OnAws>(ports, Settings::default()).await,
        log,
    )
}

/// `who` of `tenant` sends a GET in a warm process: the first time fills what a warm process
/// keeps (the workspace's unwrapped data keys, the SDK's connections), the second is counted.
/// The answer of the counted one and its round trips.
async fn counted_get(
    w: &World<OnAws>,
    log: &RequestLog,
    tenant: &TenantId,
    who: &str,
    path: &str,
) -> (StatusCode, String, usize) {
    suite::as_user(w, tenant, who, "GET", path, None).await;
    log.clear();
    let (status, body) = suite::as_user(w, tenant, who, "GET", path, None).await;
    let trips = log.round_trips();
    println!("{path}: {trips} round trips: {:?}", log.operations());
    (status, body, trips)
}

/// The reads of a call take at most 3 DynamoDB round trips: the workspace and the caller's
/// roles together, the call and its document together, the usage event. A call of another
/// workspace is refused with the one 404, byte for byte the answer for a call that does not
/// exist, and costs no more than a hit.
#[tokio::test]
async fn call_reads_take_at_most_three_round_trips_and_a_refusal_no_more() {
    let (w, log) = counted_world().await;
    let call = format!("/v1/calls/{}", w.c1);
    let reads = [
        format!("/v1/calls?team_id={}", w.west),
        call.clone(),
        format!("{call}/transcript"),
        format!("{call}/analysis"),
        format!("{call}/practice"),
        format!("/v1/calls/{}", w.c2),
    ];
    for path in &reads {
        let who = if path.contains(w.c2.as_str()) {
            "r2"
        } else {
            "r1"
        };
        let (status, body, trips) = counted_get(&w, &log, &w.a, who, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            (1..=3).contains(&trips),
            "{path}: {trips} round trips: {:?}",
            log.operations()
        );
    }

    let hit = counted_get(&w, &log, &w.a, "r1", &format!("{call}/analysis"))
        .await
        .2;
    let missing = format!("/v1/calls/call_{}/analysis", "0".repeat(32));
    for path in [format!("{call}/analysis"), call.clone(), missing] {
        // r1 of workspace b asks for workspace a's call (and for one that exists nowhere).
        let (status, body, trips) = counted_get(&w, &log, &w.b, "r1", &path).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, NOT_FOUND_BODY),
            "{path}"
        );
        assert!(
            trips <= hit,
            "{path}: {trips} round trips, a hit takes {hit}"
        );
    }
}
