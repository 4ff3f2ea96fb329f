// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::{AwsAdapters, SqsQueue, load_sdk_config, secrets};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::providers::ConfiguredProvider;
use callcoach_shared::system::SystemClock;
use lambda_runtime::{Error, service_fn};
use upload_trigger::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    callcoach_shared::telemetry::init();
    let resources = ResourceConfig::from_env(&[DataCategory::Transcripts])?;
    let scoring_queue_url = required(&process_env, "SCORING_QUEUE_URL")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    // The Deepgram key comes from Secrets Manager (DEEPGRAM_API_KEY_SECRET_ARN), read once here.
    let env = secrets::resolve(&sdk, process_env, &["DEEPGRAM_API_KEY"]).await?;
    let provider = ConfiguredProvider::transcribe(
        &|name| env.get(name),
        aws.blobs.clone(),
        &sdk,
        &resources.bucket_name,
    )?;
    let deps = Deps {
        envelope: aws.envelope(&resources),
        store: aws.table,
        blobs: aws.blobs,
        scoring_queue: SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), scoring_queue_url),
        provider,
        clock: SystemClock,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
