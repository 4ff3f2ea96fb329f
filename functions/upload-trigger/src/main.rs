// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::{ColdStart, secrets};
use callcoach_shared::config::process_env;
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::providers::ConfiguredProvider;
use callcoach_shared::system::SystemClock;
use lambda_runtime::{Error, service_fn};
use upload_trigger::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cold = ColdStart::new(&[DataCategory::Transcripts]).await?;
    let scoring_queue = cold.queue("SCORING_QUEUE_URL")?;
    let ColdStart {
        resources,
        sdk,
        aws,
    } = cold;
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
        scoring_queue,
        provider,
        clock: SystemClock,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
