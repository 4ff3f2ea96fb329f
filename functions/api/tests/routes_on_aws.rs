//! The route suite of `suite/` over the real adapters: DynamoDB, S3, KMS and SQS of the
//! local AWS stand-in, through the AWS SDK over HTTP (`make test` starts it). Each world gets
//! fresh tenant ids and a scoring queue of its own, so tests never see each other's data.

use callcoach_tests::{LocalAws, fresh_tenant, messages_on, own_queue};

mod suite;

use api::DeployedPorts;
use callcoach_shared::ids::TenantId;
use suite::{Backend, World};

/// The route suite over the real adapters on the local AWS stand-in.
struct OnAws;

impl Backend for OnAws {
    type Ports = DeployedPorts;

    async fn fresh_ports() -> DeployedPorts {
        let aws = LocalAws::connect().await;
        let sqs = aws_sdk_sqs::Client::new(&aws.sdk);
        let queue_url = own_queue(&sqs, "api", &[]).await;
        let jobs_url = own_queue(&sqs, "api-export-jobs", &[]).await;
        DeployedPorts::over_aws(
            &aws.sdk,
            aws.adapters,
            &aws.resources,
            &queue_url,
            &jobs_url,
        )
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
