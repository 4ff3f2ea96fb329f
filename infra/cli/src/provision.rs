//! `callcoach provision --tenant TENANT --admin USER`: the provisioning path sign-up takes in
//! AWS (see the retention-reaper function's `provision` event), run against the local AWS
//! stand-in: creates the workspace record and its first admin, idempotently.

use anyhow::{Context, bail};
use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::ids::{TenantId, UserId};
use callcoach_shared::ports::Clock;
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::workspace::{Provisioned, Provisioner, provision};

pub const USAGE: &str = "usage: callcoach provision --tenant TENANT --admin USER";

/// Provisions `tenant` with `admin` through the local AWS environment.
pub async fn provision_locally(tenant: &TenantId, admin: &UserId) -> anyhow::Result<Provisioned> {
    crate::serve::ensure_local_aws()?;
    let resources = ResourceConfig::from_env(&[])
        .context("the local AWS environment is missing: run under `infra/local-aws.sh run`")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    Ok(provision(
        &aws.table,
        tenant,
        admin,
        SystemClock.now(),
        Provisioner::Operator,
    )
    .await?)
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(tenant), Some(admin)) = (value("--tenant"), value("--admin")) else {
        bail!("{USAGE}");
    };
    let tenant = TenantId::parse(tenant).context("--tenant: not a valid tenant id")?;
    let admin = UserId::parse(admin).context("--admin: not a valid user id")?;
    let done = provision_locally(&tenant, &admin).await?;
    println!("{}", serde_json::to_string(&done)?);
    Ok(())
}
