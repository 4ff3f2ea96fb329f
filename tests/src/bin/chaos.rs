//! `make chaos`: the full chaos run (`callcoach_tests::chaos`) on the local AWS, printing its
//! summary line; exits 1 when any rule broke. `--seed N` replays a run (default: from the
//! clock, printed); `--calls`, `--tenants` and `--kills` resize it.

use std::time::{SystemTime, UNIX_EPOCH};

use callcoach_tests::chaos::{ChaosPlan, run};
use callcoach_tests::number_flag;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = match number_flag::<u64>(&args, "--seed")? {
        Some(seed) => seed,
        None => SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 100_000,
    };
    let mut plan = ChaosPlan::full(seed);
    if let Some(calls) = number_flag::<usize>(&args, "--calls")? {
        plan.calls = calls;
    }
    if let Some(tenants) = number_flag::<usize>(&args, "--tenants")? {
        plan.tenants = tenants.max(1);
    }
    if let Some(kills) = number_flag::<usize>(&args, "--kills")? {
        plan.kills = kills;
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
