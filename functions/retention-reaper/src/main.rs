use lambda_runtime::{Error, service_fn};
use retention_reaper::{Deps, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    callcoach_shared::telemetry::init();
    let deps = Deps;
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
