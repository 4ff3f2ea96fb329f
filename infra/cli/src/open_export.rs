//! `callcoach open-export FILE --key KEY [--out OUT]`: opens a downloaded export bundle with the
//! key the API answered with (`bundle_key`), offline, and writes the bundle's JSON to OUT or
//! stdout. A bundle that was altered, cut short or sealed under another key is refused whole:
//! nothing is written.

use std::io::Write;

use anyhow::{Context, bail};
use callcoach_shared::crypto::bundle::{BundleKey, open_bundle};

const USAGE: &str = "usage: callcoach open-export FILE --key BUNDLE_KEY [--out OUT]";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (Some(file), Some(key)) = (args.first(), crate::receipt::flag(args, "--key")) else {
        bail!(USAGE);
    };
    let sealed = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let key = BundleKey::from_base64(&key).context("the key")?;
    let bundle = open_bundle(&key, &sealed).context("the bundle does not open")?;
    match crate::receipt::flag(args, "--out") {
        Some(out) => std::fs::write(&out, &bundle).with_context(|| format!("writing {out}"))?,
        None => std::io::stdout()
            .write_all(&bundle)
            .context("writing the bundle")?,
    }
    Ok(())
}
