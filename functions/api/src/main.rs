// The SDK-backed handler futures are deeply nested; the default limit is too low for their layout.
#![recursion_limit = "256"]

use std::sync::Arc;

use api::{Adapters, Api, Settings, router};
use callcoach_shared::aws::{AwsAdapters, SqsQueue, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::system::{RandomIds, SystemClock};

/// The local token verifier, when the local-only public key is configured.
#[cfg(feature = "local-auth")]
fn local_verifier() -> Result<Option<Arc<api::local_auth::LocalVerifier>>, lambda_http::Error> {
    let Some(key) = process_env(api::local_auth::PUBLIC_KEY_VAR) else {
        return Ok(None);
    };
    tracing::warn!("LOCAL AUTH: bearer tokens are verified with a local key; never deploy this");
    Ok(Some(Arc::new(
        api::local_auth::LocalVerifier::from_public_key(key.trim())?,
    )))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    callcoach_shared::telemetry::init();
    let resources = ResourceConfig::from_env(&[
        DataCategory::Transcripts,
        DataCategory::Insights,
        DataCategory::Notes,
    ])?;
    let scoring_queue_url = required(&process_env, "SCORING_QUEUE_URL")?;
    let settings = Settings {
        tenant_claim: process_env("TENANT_CLAIM")
            .unwrap_or_else(|| Settings::default().tenant_claim),
        #[cfg(feature = "local-auth")]
        local_auth: local_verifier()?,
    };
    #[cfg(not(feature = "local-auth"))]
    if process_env("CALLCOACH_LOCAL_AUTH_PUBLIC_KEY").is_some() {
        return Err("CALLCOACH_LOCAL_AUTH_PUBLIC_KEY is set, but this build cannot verify local tokens (feature local-auth): refusing to start".into());
    }
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let ports = Adapters {
        envelope: aws.envelope(&resources),
        store: aws.table,
        blobs: aws.blobs,
        queue: SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), scoring_queue_url),
        clock: SystemClock,
        ids: RandomIds,
    };
    lambda_http::run(router(Arc::new(Api { ports, settings }))).await
}
