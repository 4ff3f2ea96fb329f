//! `callcoach eval LABELS_JSON CALLS_DIR`: the deterministic coach measured against hand labels.
//! The scoring itself is `callcoach_shared::eval`; this reads the files and prints.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use callcoach_shared::eval::{Report, evaluate_call, parse_labels, render};

pub const USAGE: &str = "callcoach eval LABELS_JSON CALLS_DIR [--json]";

/// Largest labels, call or times file read (the transcript upload limit).
const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

#[derive(Debug, PartialEq)]
pub struct Options {
    pub labels: PathBuf,
    pub calls_dir: PathBuf,
    pub json: bool,
}

pub fn parse_options(args: &[String]) -> Result<Options> {
    let mut paths = Vec::new();
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            flag if flag.starts_with("--") => bail!("unknown option {flag}\nusage: {USAGE}"),
            path if paths.len() < 2 => paths.push(PathBuf::from(path)),
            extra => bail!("unexpected argument {extra:?}\nusage: {USAGE}"),
        }
    }
    let mut paths = paths.into_iter();
    match (paths.next(), paths.next()) {
        (Some(labels), Some(calls_dir)) => Ok(Options {
            labels,
            calls_dir,
            json,
        }),
        _ => bail!("LABELS_JSON and CALLS_DIR are both needed\nusage: {USAGE}"),
    }
}

/// Reads at most the limit, refusing a larger file rather than cutting it.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!("{} is larger than {MAX_FILE_BYTES} bytes", path.display());
    }
    Ok(bytes)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    let labels = parse_labels(&read_file(&options.labels)?)
        .with_context(|| format!("{} is not a labels file", options.labels.display()))?;
    let mut results = Vec::with_capacity(labels.len());
    for call in &labels {
        let call_path = options.calls_dir.join(format!("{}.txt", call.id));
        let call_file = read_file(&call_path).with_context(|| format!("call {}", call.id))?;
        // The timed form is optional: use it when it is there.
        let times_path = options.calls_dir.join(format!("{}.json", call.id));
        let times = match times_path.try_exists() {
            Ok(true) => Some(read_file(&times_path).with_context(|| format!("call {}", call.id))?),
            _ => None,
        };
        let result = evaluate_call(call, &call_file, times.as_deref()).with_context(|| {
            let times_note = if times.is_some() {
                format!(" with {}", times_path.display())
            } else {
                String::new()
            };
            format!("call {} ({}{times_note})", call.id, call_path.display())
        })?;
        results.push(result);
    }
    let report = Report::new(results);
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_need_both_paths_and_reject_mistakes() {
        let o = parse_options(&["labels.json", "calls", "--json"].map(String::from)).unwrap();
        assert_eq!(
            o,
            Options {
                labels: "labels.json".into(),
                calls_dir: "calls".into(),
                json: true
            }
        );
        assert!(parse_options(&["labels.json".to_owned()]).is_err());
        assert!(parse_options(&["a", "b", "c"].map(String::from)).is_err());
        assert!(parse_options(&["a", "b", "--csv"].map(String::from)).is_err());
    }
}
