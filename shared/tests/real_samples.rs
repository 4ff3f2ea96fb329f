//! Every real sample in `../shared/testdata` parses, or fails with the clear error its content
//! calls for. Runs when that folder exists beside the checkout (CI has it); skips otherwise.

use std::path::{Path, PathBuf};

use callcoach_shared::parse::{ParseError, parse_transcript};

fn testdata() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata");
    dir.is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Recognises the error a sample must fail with.
type ErrorCheck = fn(&ParseError) -> bool;

/// What each sample must give: `Ok(min utterances)` or the error it must fail with.
fn expectation(name: &str) -> Option<Result<usize, ErrorCheck>> {
    let unsupported: ErrorCheck = |e| matches!(e, ParseError::UnknownFormat);
    let line_error: ErrorCheck = |e| matches!(e, ParseError::Line { .. });
    Some(match name {
        n if n.starts_with("python-captions__dg_speakers") => Ok(10),
        n if n.starts_with("python-") => Ok(1),
        "channel-id-output-batch.example.json" | "diarization-output-batch.example.json" => Ok(2),
        "contactlens__scv_postcall_analysis_extracted.json" => Ok(5),
        n if n.ends_with(".turns.derived.txt") => Ok(15),
        // QMSum meeting JSON and Rev's token-per-line .nlp are not transcript formats we take.
        n if n.starts_with("ES2002") || n.ends_with(".nlp") => Err(unsupported),
        // Lambda event fixtures are JSON but not transcripts.
        n if n.starts_with("aws-lambda-rust-runtime__") => Err(unsupported),
        "empty.vtt" => Err(|e| matches!(e, ParseError::Empty)),
        "no_captions.vtt" => Err(|e| matches!(e, ParseError::NoSpeech)),
        "invalid.vtt" => Err(unsupported),
        "invalid_timeframe.vtt" | "invalid_timeframe.srt" | "missing_timeframe.vtt" => {
            Err(line_error)
        }
        n if n.ends_with(".vtt") || n.ends_with(".srt") => Ok(1),
        _ => return None,
    })
}

#[test]
fn every_real_sample_parses_or_fails_clearly() {
    let Some(dir) = testdata() else {
        eprintln!("skipped: ../shared/testdata is not present");
        return;
    };
    let mut all = Vec::new();
    files(&dir, &mut all);
    let mut checked = 0;
    for path in all {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(expected) = expectation(&name) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        let result = parse_transcript(&bytes);
        match (expected, result) {
            (Ok(min), Ok(t)) => assert!(
                t.utterances.len() >= min,
                "{name}: {} utterances",
                t.utterances.len()
            ),
            (Err(check), Err(e)) => {
                assert!(check(&e), "{name}: unexpected error {e}");
                assert!(!e.to_string().is_empty());
            }
            (Ok(_), Err(e)) => panic!("{name} should parse: {e}"),
            (Err(_), Ok(_)) => panic!("{name} should be rejected"),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} samples checked");
}
