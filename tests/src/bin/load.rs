//! `make load`: the load run (`callcoach_tests::load`) on the local AWS, printing its tables;
//! exits 1 when a rule broke (a call not scored, an answer to the wrong tenant). `--seed N`
//! replays the mix of requests; `--tenants`, `--requests` and `--calls` resize it.

use callcoach_tests::load::{LoadPlan, run};
use callcoach_tests::number_flag;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plan = LoadPlan::full(number_flag(&args, "--seed")?.unwrap_or(1));
    if let Some(tenants) = number_flag::<usize>(&args, "--tenants")? {
        plan.tenants = tenants.max(1);
    }
    if let Some(requests) = number_flag::<usize>(&args, "--requests")? {
        plan.requests = requests;
    }
    if let Some(calls) = number_flag::<usize>(&args, "--calls")? {
        plan.pipeline_calls = calls.max(1);
    }
    let report = run(&plan).await?;
    print!("{}", report.tables());
    if !report.clean() {
        std::process::exit(1);
    }
    Ok(())
}
