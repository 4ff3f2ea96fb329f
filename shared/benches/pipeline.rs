//! Speed budgets (release, one core): parsing a one-hour call of about 9,000 timed words in the
//! Deepgram and Amazon Transcribe formats under 20 ms each; metrics plus the deterministic
//! coach under 5 ms; cost linear in words (each is also run at 18,000 words).

use std::fmt::Write;
use std::hint::black_box;

use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::playbook::{Playbook, Tracker};
use callcoach_shared::ids::{CallId, MintedId, TenantId};
use callcoach_shared::parse::{parse_deepgram, parse_transcribe};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis};
use callcoach_shared::system::RandomIds;
use criterion::{Criterion, criterion_group, criterion_main};
use time::macros::datetime;

const LINES: [&str; 6] = [
    "So what made you look at this now?",
    "Our reps spend hours on notes and the budget is tight this year.",
    "How many people are on the team today and who else decides?",
    "We already use a spreadsheet and honestly it works fine for us.",
    "I can send you a proposal, does Tuesday at 2pm work for a follow up?",
    "Um, you know, the pricing looked expensive compared to what we have.",
];

/// A synthetic call: alternating speakers, 0.3 s per word, a short pause between turns.
fn words(count: usize) -> Vec<(u32, String, f64, f64)> {
    let mut out = Vec::with_capacity(count);
    let mut t = 0.0;
    let mut line = 0;
    while out.len() < count {
        let speaker = (line % 2) as u32;
        for w in LINES[line % LINES.len()].split_whitespace() {
            out.push((speaker, w.to_owned(), t, t + 0.28));
            t += 0.3;
        }
        t += 0.7;
        line += 1;
    }
    out.truncate(count);
    out
}

fn deepgram_json(count: usize) -> String {
    let ws = words(count);
    let mut words_json = String::new();
    let mut utterances = String::new();
    let mut i = 0;
    while i < ws.len() {
        let speaker = ws[i].0;
        let start = i;
        while i < ws.len() && ws[i].0 == speaker {
            i += 1;
        }
        let mut utter_words = String::new();
        for (s, w, a, b) in &ws[start..i] {
            let word = format!(
                r#"{{"word":"{}","punctuated_word":"{w}","start":{a:.2},"end":{b:.2},"confidence":0.95,"speaker":{s},"speaker_confidence":0.9}}"#,
                w.to_lowercase()
            );
            if !words_json.is_empty() {
                words_json.push(',');
            }
            words_json.push_str(&word);
            if !utter_words.is_empty() {
                utter_words.push(',');
            }
            utter_words.push_str(&word);
        }
        let text: Vec<&str> = ws[start..i].iter().map(|w| w.1.as_str()).collect();
        if !utterances.is_empty() {
            utterances.push(',');
        }
        let _ = write!(
            utterances,
            r#"{{"start":{:.2},"end":{:.2},"confidence":0.95,"channel":0,"transcript":"{}","speaker":{speaker},"id":"u{start}","words":[{utter_words}]}}"#,
            ws[start].2,
            ws[i - 1].3,
            text.join(" ")
        );
    }
    format!(
        r#"{{"metadata":{{"request_id":"bench","channels":1}},"results":{{"channels":[{{"alternatives":[{{"transcript":"","confidence":0.9,"words":[{words_json}]}}]}}],"utterances":[{utterances}]}}}}"#
    )
}

fn transcribe_json(count: usize) -> String {
    let mut items = String::new();
    for (s, w, a, b) in words(count) {
        if !items.is_empty() {
            items.push(',');
        }
        let word = w.trim_end_matches(['?', ',', '.']);
        let _ = write!(
            items,
            r#"{{"start_time":"{a:.2}","end_time":"{b:.2}","speaker_label":"spk_{s}","type":"pronunciation","alternatives":[{{"confidence":"0.98","content":"{word}"}}]}}"#
        );
        if w.ends_with(['?', ',', '.']) {
            let _ = write!(
                items,
                r#",{{"type":"punctuation","alternatives":[{{"confidence":"0.0","content":"{}"}}]}}"#,
                &w[w.len() - 1..]
            );
        }
    }
    format!(
        r#"{{"jobName":"bench","status":"COMPLETED","results":{{"transcripts":[{{"transcript":""}}],"items":[{items}]}}}}"#
    )
}

fn playbook() -> Playbook {
    Playbook {
        value_propositions: vec!["Cut ramp time for new hires with weekly coaching".into()],
        trackers: vec![
            Tracker {
                name: "pricing".into(),
                phrases: vec!["pricing".into(), "budget".into(), "expensive".into()],
            },
            Tracker {
                name: "next steps".into(),
                phrases: vec!["send you a proposal".into(), "follow up".into()],
            },
        ],
        ..Playbook::default()
    }
}

fn benches(c: &mut Criterion) {
    for count in [9_000usize, 18_000] {
        let deepgram = deepgram_json(count);
        let transcribe = transcribe_json(count);
        c.bench_function(&format!("parse deepgram {count} words"), |b| {
            b.iter(|| parse_deepgram(black_box(deepgram.as_bytes())).unwrap())
        });
        c.bench_function(&format!("parse transcribe {count} words"), |b| {
            b.iter(|| parse_transcribe(black_box(transcribe.as_bytes())).unwrap())
        });
        let transcript = parse_deepgram(deepgram.as_bytes()).unwrap();
        let (tenant, call, playbook) = (
            TenantId::parse("bench").unwrap(),
            CallId::from_random([3; 16]),
            playbook(),
        );
        c.bench_function(&format!("metrics and coach {count} words"), |b| {
            b.iter(|| {
                deterministic_analysis(
                    ScoringRequest {
                        tenant_id: &tenant,
                        call_id: &call,
                        transcript_version: 1,
                        transcript: black_box(&transcript),
                        playbook: &playbook,
                        call_type: CallType::Discovery,
                        rep_override: None,
                        rep_name: None,
                    },
                    &RandomIds,
                    datetime!(2026-11-01 0:00 UTC),
                )
            })
        });
    }
}

criterion_group! {
    name = pipeline;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(pipeline);
