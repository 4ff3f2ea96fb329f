//! Property tests: no input makes a parser panic. Every parser returns a transcript or a typed
//! error for arbitrary bytes, for text shaped like its format, and for mutations of valid files.

use callcoach_shared::parse::{
    parse_deepgram, parse_plain, parse_srt, parse_transcribe, parse_transcribe_call_analytics,
    parse_transcript, parse_vtt,
};
use proptest::prelude::*;

mod common;

const VTT: &str = "WEBVTT\n\nNOTE x\n\n1\n00:00:01.000 --> 00:00:04.500 align:start\n<v Dana>Hi &amp; welcome</v>\n\n00:04.600 --> 00:00:07.000\nSam: What does it cost?\n";
const SRT: &str =
    "1\n00:00:01,000 --> 00:00:02,500\nDana: Hi\n\n2\n00:00:03,000 --> 00:00:04,000\nSam: Hello\n";
const DEEPGRAM: &str = r#"{"metadata":{"request_id":"r"},"results":{"channels":[{"alternatives":[{"transcript":"hi","words":[{"word":"hi","punctuated_word":"Hi.","start":0.1,"end":0.4,"confidence":0.9,"speaker":0}]}]}],"utterances":[{"start":0.1,"end":0.4,"transcript":"Hi.","channel":0,"speaker":0,"words":[{"word":"hi","start":0.1,"end":0.4,"speaker":0}]}]}}"#;
const TRANSCRIBE: &str = r#"{"jobName":"j","status":"COMPLETED","results":{"transcripts":[{"transcript":"Hi"}],"items":[{"start_time":"0.1","end_time":"0.4","type":"pronunciation","speaker_label":"spk_0","alternatives":[{"confidence":"0.9","content":"Hi"}]},{"type":"punctuation","alternatives":[{"confidence":"0.0","content":"."}]}]}}"#;
const TCA: &str = r#"{"JobStatus":"COMPLETED","Transcript":[{"ParticipantRole":"AGENT","Content":"Hi.","BeginOffsetMillis":100,"EndOffsetMillis":900,"Items":[{"Content":"Hi","BeginOffsetMillis":100,"EndOffsetMillis":900,"Type":"pronunciation"}]}]}"#;

/// Whatever parses also scores: scores stay in 0-100 and every quote occurs in the transcript.
fn scores_soundly(transcript: &callcoach_shared::domain::transcript::Transcript) {
    let analysis = common::discovery_analysis(
        transcript,
        &callcoach_shared::domain::playbook::Playbook::default(),
    );
    assert!(analysis.overall_score <= 100);
    assert!(analysis.scores.iter().all(|s| s.score <= 100));
    for h in &analysis.highlights {
        assert!(
            transcript
                .utterances
                .iter()
                .any(|u| u.text.contains(&h.quote)),
            "quote not in transcript"
        );
    }
}

fn all_parsers(bytes: &[u8]) {
    if let Ok(t) = parse_transcript(bytes) {
        scores_soundly(&t);
    }
    let _ = parse_deepgram(bytes);
    let _ = parse_transcribe(bytes);
    let _ = parse_transcribe_call_analytics(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = parse_vtt(text);
        let _ = parse_srt(text);
        let _ = parse_plain(text);
    }
}

/// A valid file with one byte replaced, one range deleted, or a range duplicated.
fn mutated(base: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (0..len, 0..len, any::<u8>(), 0u8..3).prop_map(move |(a, b, byte, kind)| {
        let mut bytes = base.as_bytes().to_vec();
        let (lo, hi) = (a.min(b), a.max(b));
        match kind {
            0 => bytes[a] = byte,
            1 => {
                bytes.drain(lo..hi);
            }
            _ => {
                let copy = bytes[lo..hi].to_vec();
                bytes.splice(hi..hi, copy);
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn cue_shaped_text_never_panics(lines in proptest::collection::vec("([0-9:.,]{0,14} --> [0-9:.,]{0,14}|<v [a-zA-Z ]{0,8}>[ -~]{0,20}|[A-Za-z]{0,8}: [ -~]{0,20}|NOTE|WEBVTT|[0-9]{0,3}|)", 0..40)) {
        let text = lines.join("\n");
        all_parsers(text.as_bytes());
        all_parsers(format!("WEBVTT\n\n{text}").as_bytes());
    }

    #[test]
    fn mutated_valid_files_never_panic(
        vtt in mutated(VTT), srt in mutated(SRT), deepgram in mutated(DEEPGRAM),
        transcribe in mutated(TRANSCRIBE), tca in mutated(TCA),
    ) {
        for bytes in [vtt, srt, deepgram, transcribe, tca] {
            all_parsers(&bytes);
        }
    }
}

#[test]
fn the_seed_files_are_valid() {
    // The mutations start from files that parse, so they explore near-valid input.
    assert!(parse_vtt(VTT).is_ok() && parse_srt(SRT).is_ok());
    assert!(
        parse_deepgram(DEEPGRAM.as_bytes()).is_ok()
            && parse_transcribe(TRANSCRIBE.as_bytes()).is_ok()
    );
    assert!(parse_transcribe_call_analytics(TCA.as_bytes()).is_ok());
}

/// Every error a parser can give, for `bytes`, as the text a user would read.
fn every_error(bytes: &[u8]) -> Vec<String> {
    let mut errors = vec![
        parse_transcript(bytes).err(),
        parse_deepgram(bytes).err(),
        parse_transcribe(bytes).err(),
        parse_transcribe_call_analytics(bytes).err(),
    ];
    if let Ok(text) = std::str::from_utf8(bytes) {
        errors.extend([
            parse_vtt(text).err(),
            parse_srt(text).err(),
            parse_plain(text).err(),
        ]);
    }
    errors
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Failure reasons reach users (the call's `failure_reason`, exports): they say what is
    /// wrong and where, and never repeat the file's words, which may be what was said.
    #[test]
    fn failure_reasons_never_repeat_the_input(canary in "[a-z]{14}") {
        let shapes = [
            format!(r#"{{"results": "{canary}"}}"#),
            format!(r#"{{"metadata": {{"request_id": "r"}}, "results": {{"channels": [{{"alternatives": "{canary}"}}]}}}}"#),
            format!(r#"{{"jobName": "j", "status": "{canary}", "results": {{"items": []}}}}"#),
            format!(r#"{{"jobName": "j", "results": {{"transcripts": [], "items": [{{"start_time": "{canary}", "end_time": "1", "type": "pronunciation", "alternatives": [{{"content": "hi"}}]}}]}}}}"#),
            format!(r#"{{"JobStatus": "{canary}", "Transcript": []}}"#),
            format!(r#"{{"JobStatus": "COMPLETED", "Transcript": [{{"Content": 7, "ParticipantRole": "{canary}"}}]}}"#),
            format!("WEBVTT\n\n00:0{canary} --> 00:01.000\nhello\n"),
            format!("WEBVTT\n\n{canary}\n00:00.000 --> 00:01.000\nhello\n"),
            format!("1\n00:00:0{canary},000 --> 00:00:01,000\nhello\n"),
            format!("{canary} without a speaker\n"),
            format!("{{\"{canary}\": [1, 2"),
        ];
        for shape in &shapes {
            for error in every_error(shape.as_bytes()) {
                prop_assert!(!error.contains(&canary), "{error:?} repeats the input of {shape:?}");
            }
        }
    }
}
