//! `callcoach api [--port PORT]`: the api function's router on 127.0.0.1 against the local AWS
//! stand-in, behind the local authorizer (bearer tokens from `callcoach token`), as API Gateway
//! with its JWT authorizer would serve it. Local only.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use callcoach_local_router::local_api;
use callcoach_local_router::local_auth::LocalVerifier;
use callcoach_shared::aws::{
    AwsAdapters, DynamoTable, KmsKeyManagement, S3BlobStore, SqsQueue, load_sdk_config,
};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::{DataCategory, EnvelopeCipher};
use callcoach_shared::system::{RandomIds, SystemClock};

/// The api function's ports over the real adapters.
pub type LocalPorts = api::Adapters<
    DynamoTable,
    S3BlobStore,
    EnvelopeCipher<KmsKeyManagement, DynamoTable, SystemClock>,
    SqsQueue,
    SystemClock,
    RandomIds,
>;

/// Refuses to run against anything but the local stand-in: these commands serve and change
/// data for whoever holds a local token, and must never reach a real account.
pub fn ensure_local_aws() -> anyhow::Result<()> {
    let endpoint = process_env("AWS_ENDPOINT_URL").unwrap_or_default();
    let host = endpoint
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("");
    anyhow::ensure!(
        matches!(host, "127.0.0.1" | "localhost"),
        "AWS_ENDPOINT_URL must point at the local stand-in on 127.0.0.1 (run under `infra/local-aws.sh run`); refusing to run against {}",
        if endpoint.is_empty() {
            "AWS itself"
        } else {
            "another endpoint"
        }
    );
    Ok(())
}

/// The api function as its `main.rs` builds it, from the local AWS environment.
pub async fn local_api() -> anyhow::Result<Arc<api::Api<LocalPorts>>> {
    ensure_local_aws()?;
    let resources = ResourceConfig::from_env(&DataCategory::ALL)
        .context("the local AWS environment is missing: run under `infra/local-aws.sh run`")?;
    let scoring = required(&process_env, "SCORING_QUEUE_URL")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    Ok(Arc::new(api::Api {
        ports: api::Adapters {
            store: aws.table.clone(),
            blobs: aws.blobs.clone(),
            envelope: aws.envelope(&resources),
            queue: SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), &scoring),
            clock: SystemClock,
            ids: RandomIds,
        },
        settings: api::Settings::from_lookup(&process_env)?,
    }))
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args
            .get(i + 1)
            .context("--port takes a number")?
            .parse()
            .context("--port takes a number")?,
        None => 9000,
    };
    let (_, public) = crate::token::key_pair()?;
    let verifier = Arc::new(LocalVerifier::from_public_key(&public)?);
    let app = local_api::gateway(api::router(local_api().await?), verifier);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (bound, task) = local_api::serve(app, addr).await?;
    // Scripts and tests read the address from this line.
    println!("listening on http://{bound}");
    task.await?;
    Ok(())
}
