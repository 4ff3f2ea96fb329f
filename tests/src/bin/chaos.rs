//! `make chaos`: the full chaos run (`callcoach_tests::chaos`) on the local AWS, printing its
//! summary line; exits 1 when any rule broke. `--seed N` replays a run (default: from the
//! clock, printed); `--calls`, `--tenants` and `--kills` resize it.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use callcoach_tests::chaos::{ChaosPlan, run};

fn flag(args: &[String], name: &str) -> anyhow::Result<Option<u64>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let value = args.get(i + 1).context(format!("{name} takes a number"))?;
            Ok(Some(
                value.parse().context(format!("{name} takes a number"))?,
            ))
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = match flag(&args, "--seed")? {
        Some(seed) => seed,
        None => SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 100_000,
    };
    let mut plan = ChaosPlan::full(seed);
    if let Some(calls) = flag(&args, "--calls")? {
        plan.calls = usize::try_from(calls)?;
    }
    if let Some(tenants) = flag(&args, "--tenants")? {
        plan.tenants = usize::try_from(tenants)?.max(1);
    }
    if let Some(kills) = flag(&args, "--kills")? {
        plan.kills = usize::try_from(kills)?;
    }
    println!("chaos: seed {seed} (replay with --seed {seed})");
    let report = run(&plan).await?;
    println!("{}", report.summary());
    print!("{}", report.details());
    if !report.clean() {
        std::process::exit(1);
    }
    Ok(())
}
