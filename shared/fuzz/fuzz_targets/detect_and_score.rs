//! Any upload as the upload trigger sees it: sniffed, parsed in the detected format, and, when
//! it parses, scored by the deterministic coach, whose scores must stay in range and whose
//! quotes must come from the transcript.
#![no_main]

use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::parse::{Detected, detect, parse_as};
use libfuzzer_sys::fuzz_target;

/// Scored as the shared crate's tests score, from the one place they build the request.
#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Detected::Transcript(format) = detect(data) else {
        return;
    };
    let Ok(transcript) = parse_as(format, data) else {
        return;
    };
    let analysis = common::discovery_analysis(&transcript, &Playbook::default());
    assert!(analysis.overall_score <= 100);
    let text: String = transcript
        .utterances
        .iter()
        .map(|u| u.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for highlight in &analysis.highlights {
        assert!(
            text.contains(highlight.quote.as_str()),
            "a quote not in the transcript"
        );
    }
});
