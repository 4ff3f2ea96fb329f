// The SDK-backed handler future is deeply nested; the default limit is too low for its layout.
#![recursion_limit = "256"]

use callcoach_shared::aws::ColdStart;
use callcoach_shared::system::SystemClock;
use lambda_runtime::{Error, service_fn};
use retention_reaper::{Deps, handle_event};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The reaper decrypts nothing: it needs the table, the bucket and the receipts key.
    let start = ColdStart::new(&[]).await?;
    let signer = start.receipt_signer()?;
    let deps = Deps {
        store: start.aws.table,
        blobs: start.aws.blobs,
        clock: SystemClock,
        signer,
    };
    lambda_runtime::run(service_fn(|event| handle_event(&deps, event))).await
}
