// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::crypto::DataCategory;
use lambda_runtime::{Error, service_fn};
use scoring_worker::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    callcoach_shared::telemetry::init();
    let resources = ResourceConfig::from_env(&[DataCategory::Transcripts, DataCategory::Insights])?;
    let sdk = load_sdk_config().await;
    let adapters = AwsAdapters::new(&sdk, &resources);
    let deps = Deps {
        calls: adapters.table,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
