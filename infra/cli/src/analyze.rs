//! `callcoach analyze FILE`: the scoring engine on a local file, no cloud at all.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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

/// Opens a file to read, refusing a regular file over the limit before reading any of it.
fn open_limited(path: &Path) -> Result<(File, u64, bool)> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let size = metadata.len();
    if metadata.is_file() && size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes; the limit is {MAX_FILE_BYTES}",
            path.display()
        );
    }
    Ok((file, size, metadata.is_file()))
}

/// Reads an open file up to the limit: a pipe, FIFO or device has no length to check first.
fn read_open(file: &File, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "{} is more than {MAX_FILE_BYTES} bytes, the limit",
            path.display()
        );
    }
    Ok(bytes)
}

fn read_limited(path: &Path) -> Result<Vec<u8>> {
    let (file, _, _) = open_limited(path)?;
    read_open(&file, path)
}

/// A transcript file's bytes, mapped when the file is a regular one: a long call's file is
/// megabytes, and mapping lets the kernel hand over the pages it has cached instead of
/// zero-filling and copying a fresh buffer, a tenth of the command's time.
enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

fn read_transcript(path: &Path) -> Result<FileBytes> {
    let (file, size, regular) = open_limited(path)?;
    if !regular || size == 0 {
        return read_open(&file, path).map(FileBytes::Read);
    }
    // SAFETY: the map hands out the file's bytes as a slice Rust assumes never changes, and
    // the parser checks them as UTF-8 once and then reads its strings unchecked. Were another
    // program to write to or cut the file while it is mapped (from here until the transcript
    // is parsed, a few milliseconds; `run` drops the map then), the behaviour would be
    // undefined (a cut file stops the process with SIGBUS). `callcoach analyze` is a local
    // command on a file its user names; it is not for a file still being written, which the
    // README says. The length mapped is the one checked against the limit. The deployed
    // functions never map anything.
    let map = unsafe { memmap2::MmapOptions::new().len(size as usize).map(&file) }
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(FileBytes::Mapped(map))
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    // The file's bytes (mapped) are dropped once parsed: the transcript owns its text.
    let transcript = parse_transcript(&read_transcript(&options.file)?).with_context(|| {
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
    // Straight to stdout through one buffer: the report of a long call is tens of kilobytes.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if options.json {
        serde_json::to_writer_pretty(&mut out, &analysis)?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(report::render(&analysis).as_bytes())?;
    }
    out.flush()?;
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
