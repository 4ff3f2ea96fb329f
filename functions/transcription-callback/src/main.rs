// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::ColdStart;
use callcoach_shared::aws::transcribe::TranscribeService;
use callcoach_shared::config::{flag, process_env};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::providers::transcribe_language;
use callcoach_shared::system::SystemClock;
use lambda_runtime::{Error, service_fn};
use transcription_callback::{Deps, TranscribeDeps, deadlines, handle_any};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cold = ColdStart::new(&[DataCategory::Transcripts]).await?;
    let scoring_queue = cold.queue("SCORING_QUEUE_URL")?;
    let transcribe = TranscribeDeps {
        jobs: TranscribeService::new(
            aws_sdk_transcribe::Client::new(&cold.sdk),
            &cold.resources.bucket_name,
            transcribe_language(&process_env),
        ),
        delete_output: flag(&process_env, "TRANSCRIBE_DELETE_OUTPUT", true)?,
        deadlines: deadlines(&process_env)?,
    };
    let deps = Deps {
        envelope: cold.aws.envelope(&cold.resources),
        store: cold.aws.table,
        blobs: cold.aws.blobs,
        scoring_queue,
        clock: SystemClock,
    };
    lambda_runtime::run(service_fn(|event| handle_any(&deps, &transcribe, event))).await
}
