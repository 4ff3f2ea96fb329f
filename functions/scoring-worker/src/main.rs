// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::{ColdStart, secrets};
use callcoach_shared::config::{bounded, process_env};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::providers::llm::ConfiguredCoach;
use callcoach_shared::system::{RandomIds, SystemClock};
use lambda_runtime::{Error, service_fn};
use scoring_worker::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Reads transcripts, writes insights; no other key domain.
    let ColdStart {
        resources,
        sdk,
        aws,
    } = ColdStart::new(&[
        DataCategory::Transcripts,
        DataCategory::Insights,
        DataCategory::Metadata,
    ])
    .await?;
    // The LLM keys come from Secrets Manager (LLM_N_API_KEY_SECRET_ARN), read once here.
    let env = secrets::resolve(
        &sdk,
        process_env,
        &["LLM_1_API_KEY", "LLM_2_API_KEY", "LLM_3_API_KEY"],
    )
    .await?;
    let coach = ConfiguredCoach::from_lookup(&|name| env.get(name))?;
    // The queue's maxReceiveCount (SQS allows 1-1000; the template checks they agree).
    let max_receive_count = bounded(&process_env, "MAX_RECEIVE_COUNT", 1..=1000, 5)?;
    tracing::info!(coach = %coach.describe(), max_receive_count, "scoring worker configured");
    let quotas = callcoach_shared::usecases::quota::Quotas::from_lookup(&process_env)?;
    let deps = Deps {
        envelope: aws.envelope(&resources),
        store: aws.table,
        blobs: aws.blobs,
        clock: SystemClock,
        ids: RandomIds,
        coach,
        max_receive_count,
        quotas,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
