//! The api function's ports as deployed, built once for `main.rs` and the local tools that run
//! the same function.

use aws_config::SdkConfig;
use callcoach_shared::aws::{AwsAdapters, AwsEnvelope, DynamoTable, S3BlobStore, SqsQueue};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::system::{RandomIds, SystemClock};

use crate::Adapters;

/// The ports over the real AWS adapters.
pub type DeployedPorts =
    Adapters<DynamoTable, S3BlobStore, AwsEnvelope, SqsQueue, SystemClock, RandomIds>;

impl DeployedPorts {
    /// Every port over `aws`, with scoring requests and export jobs sent to their own queues.
    pub fn over_aws(
        sdk: &SdkConfig,
        aws: AwsAdapters,
        resources: &ResourceConfig,
        scoring_queue_url: &str,
        export_jobs_queue_url: &str,
    ) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self {
            envelope: aws.envelope(resources),
            store: aws.table,
            blobs: aws.blobs,
            queue: SqsQueue::new(sqs.clone(), scoring_queue_url),
            jobs: SqsQueue::new(sqs, export_jobs_queue_url),
            clock: SystemClock,
            ids: RandomIds,
        }
    }
}
