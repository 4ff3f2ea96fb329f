// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::transcribe::TranscribeService;
use callcoach_shared::aws::{AwsAdapters, SqsQueue, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, flag, process_env, required};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::providers::transcribe_language;
use callcoach_shared::system::SystemClock;
use lambda_runtime::{Error, service_fn};
use transcription_callback::{Deps, TranscribeDeps, deadlines, handle_any};

#[tokio::main]
async fn main() -> Result<(), Error> {
    callcoach_shared::telemetry::init();
    let resources = ResourceConfig::from_env(&[DataCategory::Transcripts])?;
    let scoring_queue_url = required(&process_env, "SCORING_QUEUE_URL")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let transcribe = TranscribeDeps {
        jobs: TranscribeService::new(
            aws_sdk_transcribe::Client::new(&sdk),
            &resources.bucket_name,
            transcribe_language(&process_env),
        ),
        delete_output: flag(&process_env, "TRANSCRIBE_DELETE_OUTPUT", true)?,
        deadlines: deadlines(&process_env)?,
    };
    let deps = Deps {
        envelope: aws.envelope(&resources),
        store: aws.table,
        blobs: aws.blobs,
        scoring_queue: SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), scoring_queue_url),
        clock: SystemClock,
    };
    lambda_runtime::run(service_fn(|event| handle_any(&deps, &transcribe, event))).await
}
