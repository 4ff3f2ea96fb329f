//! `callcoach`: the project's command line.
//!
//! - `callcoach analyze FILE ...` scores a transcript file offline (no cloud at all).
//! - `callcoach eval LABELS_JSON CALLS_DIR` measures the offline coach against hand-labelled calls.
//! - `callcoach demo` runs against the local AWS stand-in (`make demo` starts and provisions it).
//! - `callcoach provision` creates a workspace and its first admin on the local AWS stand-in.
//! - `callcoach token` issues local-only identities, which `callcoach api` (the api function
//!   behind a local stand-in for API Gateway's JWT authorizer) verifies.
//! - `callcoach verify-receipt FILE --public-key KEY` checks a deletion receipt offline.
//! - `callcoach open-export FILE --key KEY` opens a downloaded export bundle offline.

mod analyze;
mod demo;
mod eval;
mod open_export;
mod provision;
mod receipt;
mod serve;
mod token;

use std::process::ExitCode;

const USAGE: &str = "usage:\n  callcoach analyze FILE [--rep NAME] [--playbook FILE] [--type TYPE] [--json]\n  callcoach eval LABELS_JSON CALLS_DIR [--json]\n  callcoach demo [SAMPLE_FILE]\n  callcoach provision --tenant TENANT --admin USER\n  callcoach token --tenant TENANT --user USER [--ttl SECONDS] | --public-key\n  callcoach api [--port PORT]\n  callcoach verify-receipt FILE --public-key KEY_FILE\n  callcoach open-export FILE --key BUNDLE_KEY [--out OUT]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The offline commands run without an async runtime: `analyze` is timed as a whole
    // process, and starting worker threads it never uses would be a tenth of its time.
    let result = match args.first().map(String::as_str) {
        Some("demo") => block_on(demo::run(&args[1..])),
        Some("analyze") => analyze::run(&args[1..]),
        Some("eval") => eval::run(&args[1..]),
        Some("token") => token::run(&args[1..]),
        Some("provision") => block_on(provision::run(&args[1..])),
        Some("api") => block_on(serve::run(&args[1..])),
        Some("verify-receipt") => receipt::run(&args[1..]),
        Some("open-export") => open_export::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an online command on a multi-threaded runtime, as `#[tokio::main]` would.
fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(command)
}
