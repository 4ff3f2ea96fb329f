//! Any upload as the upload trigger sees it: sniffed, parsed in the detected format, and, when
//! it parses, scored by the deterministic coach, whose scores must stay in range and whose
//! quotes must come from the transcript.
#![no_main]

use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::ids::{CallId, TenantId};
use callcoach_shared::parse::{Detected, detect, parse_as};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis};
use callcoach_shared::system::RandomIds;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Detected::Transcript(format) = detect(data) else {
        return;
    };
    let Ok(transcript) = parse_as(format, data) else {
        return;
    };
    let tenant = TenantId::parse("fuzz").unwrap();
    let call = CallId::parse("call_00000000000000000000000000000000").unwrap();
    let playbook = Playbook::default();
    let analysis = deterministic_analysis(
        ScoringRequest {
            tenant_id: &tenant,
            call_id: &call,
            transcript_version: 1,
            transcript: &transcript,
            playbook: &playbook,
            call_type: CallType::Discovery,
            rep_override: None,
            rep_name: None,
        },
        &RandomIds,
        time::OffsetDateTime::UNIX_EPOCH,
    );
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
