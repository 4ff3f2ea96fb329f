// The SDK-backed handler futures are deeply nested; the default limit is too low for their layout.
#![recursion_limit = "256"]

use std::sync::Arc;

use api::{Api, DeployedPorts, Settings};
use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callcoach_shared::telemetry::init();
    let resources = ResourceConfig::from_env(&[
        DataCategory::Transcripts,
        DataCategory::Insights,
        DataCategory::Notes,
        DataCategory::Metadata,
    ])?;
    let scoring_queue_url = required(&process_env, "SCORING_QUEUE_URL")?;
    let export_jobs_queue_url = required(&process_env, "EXPORT_JOBS_QUEUE_URL")?;
    let settings = Settings::from_lookup(&process_env)?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let ports = DeployedPorts::over_aws(
        &sdk,
        aws,
        &resources,
        &scoring_queue_url,
        &export_jobs_queue_url,
    );
    api::entry::serve(Arc::new(Api { ports, settings })).await
}
