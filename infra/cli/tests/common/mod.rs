//! Running the `callcoach` binary as a user would, for the test binaries that drive it
//! through a working directory of their own.

use std::path::Path;
use std::process::Command;

/// The `callcoach` binary, to run in `dir`.
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callcoach"));
    command.current_dir(dir);
    command
}

/// Runs `callcoach ARGS` in `dir` and returns what it printed, trimmed; panics with its
/// standard error unless it succeeds.
pub fn callcoach(dir: &Path, args: &[&str]) -> String {
    let out = command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "callcoach {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
