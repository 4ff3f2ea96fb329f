//! `callcoach analyze FILE`: the scoring engine on a local file, no cloud at all.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::ids::{CallId, TenantId};
use callcoach_shared::parse::parse_transcript;
use callcoach_shared::ports::{Clock, IdGenerator};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis, report};
use callcoach_shared::system::{RandomIds, SystemClock};

pub const USAGE: &str = "callcoach analyze FILE [--rep NAME] [--playbook FILE] [--type discovery|demo|follow-up|other] [--json]";

/// Largest transcript file read (the upload limit for transcripts is the same).
const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

#[derive(Debug, PartialEq)]
pub struct Options {
    pub file: PathBuf,
    pub rep: Option<String>,
    pub playbook: Option<PathBuf>,
    pub call_type: CallType,
    pub json: bool,
}

pub fn parse_call_type(value: &str) -> Result<CallType> {
    Ok(match value {
        "discovery" => CallType::Discovery,
        "demo" => CallType::Demo,
        "follow-up" | "follow_up" => CallType::FollowUp,
        "other" => CallType::Other,
        other => bail!("unknown call type {other:?} (discovery, demo, follow-up, other)"),
    })
}

pub fn parse_options(args: &[String]) -> Result<Options> {
    let mut file = None;
    let mut options = Options {
        file: PathBuf::new(),
        rep: None,
        playbook: None,
        call_type: CallType::Discovery,
        json: false,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--json" => options.json = true,
            "--rep" => options.rep = Some(value("--rep")?),
            "--playbook" => options.playbook = Some(value("--playbook")?.into()),
            "--type" => options.call_type = parse_call_type(&value("--type")?)?,
            flag if flag.starts_with("--") => bail!("unknown option {flag}\nusage: {USAGE}"),
            path if file.is_none() => file = Some(PathBuf::from(path)),
            extra => bail!("unexpected argument {extra:?}\nusage: {USAGE}"),
        }
    }
    options.file = file.with_context(|| format!("no file given\nusage: {USAGE}"))?;
    Ok(options)
}

fn read_limited(path: &PathBuf) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes; the limit is {MAX_FILE_BYTES}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    let bytes = read_limited(&options.file)?;
    let transcript = parse_transcript(&bytes).with_context(|| {
        format!(
            "{} is not a transcript callcoach can read",
            options.file.display()
        )
    })?;
    let playbook: Playbook = match &options.playbook {
        Some(path) => serde_json::from_slice(&read_limited(path)?)
            .with_context(|| format!("{} is not a valid playbook", path.display()))?,
        None => Playbook::default(),
    };
    let call_id: CallId = RandomIds.mint();
    let analysis = deterministic_analysis(
        ScoringRequest {
            tenant_id: &TenantId::parse("local")?,
            call_id: &call_id,
            transcript_version: 1,
            transcript: &transcript,
            playbook: &playbook,
            call_type: options.call_type,
            rep_override: None,
            rep_name: options.rep.as_deref(),
        },
        &RandomIds,
        SystemClock.now(),
    );
    if options.json {
        println!("{}", serde_json::to_string_pretty(&analysis)?);
    } else {
        print!("{}", report::render(&analysis));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_and_reject_mistakes() {
        let o = parse_options(&args(&[
            "call.vtt", "--rep", "Dana", "--json", "--type", "demo",
        ]))
        .unwrap();
        assert_eq!(
            (o.rep.as_deref(), o.json, o.call_type),
            (Some("Dana"), true, CallType::Demo)
        );
        assert!(parse_options(&args(&[])).is_err());
        assert!(parse_options(&args(&["a", "b"])).is_err());
        assert!(parse_options(&args(&["a", "--rep"])).is_err());
        assert!(parse_options(&args(&["a", "--type", "cold"])).is_err());
        assert!(parse_options(&args(&["a", "--verbose"])).is_err());
    }
}
