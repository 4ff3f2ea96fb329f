//! `callcoach api [--port PORT]`: the api function's router on 127.0.0.1 against the local AWS
//! stand-in, behind the local authorizer (bearer tokens from `callcoach token`), as API Gateway
//! with its JWT authorizer would serve it. Local only.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use api::DeployedPorts;
use callcoach_local_router::local_auth::LocalVerifier;
use callcoach_local_router::{SqsEventSource, local_api};
use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;

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
pub async fn local_api() -> anyhow::Result<Arc<api::Api<DeployedPorts>>> {
    ensure_local_aws()?;
    let resources = ResourceConfig::from_env(&DataCategory::ALL)
        .context("the local AWS environment is missing: run under `infra/local-aws.sh run`")?;
    let scoring = required(&process_env, "SCORING_QUEUE_URL")?;
    let export_jobs = required(&process_env, "EXPORT_JOBS_QUEUE_URL")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    Ok(Arc::new(api::Api {
        ports: DeployedPorts::over_aws(&sdk, aws, &resources, &scoring, &export_jobs),
        settings: api::Settings::from_lookup(&process_env)?,
    }))
}

/// Plays the export-jobs queue's event source for the api function, as Lambda would: every
/// batch through the function's one entry point. Runs as long as the server does.
async fn run_export_jobs(api: Arc<api::Api<DeployedPorts>>) {
    let Some(url) = process_env("EXPORT_JOBS_QUEUE_URL") else {
        return;
    };
    let sdk = load_sdk_config().await;
    let source = match SqsEventSource::new(
        aws_sdk_sqs::Client::new(&sdk),
        url,
        std::time::Duration::from_secs(300),
    )
    .await
    {
        Ok(source) => source,
        Err(error) => {
            eprintln!("export jobs will not run: {error:#}");
            return;
        }
    };
    loop {
        let polled = source
            .poll_once(std::time::Duration::from_secs(5), async |event| {
                api::entry::handle_queue_batch(&api, event).await
            })
            .await;
        if let Err(error) = polled {
            eprintln!("export jobs: {error:#}");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    }
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
    let api = local_api().await?;
    let app = local_api::gateway(api::router(Arc::clone(&api)), verifier);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (bound, task) = local_api::serve(app, addr).await?;
    // Scripts and tests read the address from this line.
    println!("listening on http://{bound}");
    // The export jobs run beside the server, as long as it does.
    tokio::select! {
        served = task => served?,
        // Should the jobs stop (no queue), the server goes on alone.
        () = async { run_export_jobs(api).await; std::future::pending().await } => {}
    }
    Ok(())
}
