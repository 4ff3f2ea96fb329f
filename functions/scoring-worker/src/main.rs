// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::system::{RandomIds, SystemClock};
use lambda_runtime::{Error, service_fn};
use scoring_worker::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    callcoach_shared::telemetry::init();
    // Reads transcripts, writes insights; no other key domain.
    let resources = ResourceConfig::from_env(&[DataCategory::Transcripts, DataCategory::Insights])?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let deps = Deps {
        envelope: aws.envelope(&resources),
        store: aws.table,
        blobs: aws.blobs,
        clock: SystemClock,
        ids: RandomIds,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
