//! `callcoach`: the project's command line.
//!
//! `callcoach demo` runs against the local AWS stand-in (`make demo` starts and provisions it).

mod demo;

use std::process::ExitCode;

const USAGE: &str = "usage: callcoach demo";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run().await,
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
