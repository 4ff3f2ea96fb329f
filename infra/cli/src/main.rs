//! `callcoach`: the project's command line.
//!
//! - `callcoach analyze FILE ...` scores a transcript file offline (no cloud at all).
//! - `callcoach demo` runs against the local AWS stand-in (`make demo` starts and provisions it).

mod analyze;
mod demo;

use std::process::ExitCode;

const USAGE: &str = "usage:\n  callcoach analyze FILE [--rep NAME] [--playbook FILE] [--type TYPE] [--json]\n  callcoach demo [SAMPLE_FILE]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]).await,
        Some("analyze") => analyze::run(&args[1..]),
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
