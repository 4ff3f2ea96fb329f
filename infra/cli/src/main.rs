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

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]).await,
        Some("analyze") => analyze::run(&args[1..]),
        Some("eval") => eval::run(&args[1..]),
        Some("token") => token::run(&args[1..]),
        Some("provision") => provision::run(&args[1..]).await,
        Some("api") => serve::run(&args[1..]).await,
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
