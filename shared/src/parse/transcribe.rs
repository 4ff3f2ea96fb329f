//! Amazon Transcribe batch output (standard and Call Analytics).
//!
//! Standard output: `results.items` (pronunciations with times as strings, punctuation without
//! times), speakers on each item (newer outputs) or only in `speaker_labels.segments` (older),
//! or channels in `channel_labels`. Call Analytics: a `Transcript` array of turns with
//! `ParticipantRole` (AGENT, CUSTOMER) and timed `Items`; Contact Lens post-call output has the
//! same shape with `ParticipantId`.

use std::collections::HashMap;

use serde::Deserialize;

use super::ParseError;
use super::builder::{TranscriptBuilder, seconds_to_ms};
use crate::domain::transcript::{SourceFormat, Timing, Word};

const FORMAT: &str = "Amazon Transcribe";
const TCA_FORMAT: &str = "Transcribe Call Analytics";
const ITEM_GAP_MS: u64 = 2000;

#[derive(Deserialize)]
struct Output {
    status: Option<String>,
    results: Option<Results>,
}

#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    items: Vec<Item>,
    speaker_labels: Option<Labels>,
    channel_labels: Option<ChannelLabels>,
}

#[derive(Deserialize)]
struct Item {
    start_time: Option<String>,
    end_time: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    alternatives: Vec<Alternative>,
    speaker_label: Option<String>,
    channel_label: Option<String>,
}

#[derive(Deserialize)]
struct Alternative {
    content: String,
    confidence: Option<String>,
}

#[derive(Deserialize)]
struct Labels {
    #[serde(default)]
    segments: Vec<Segment>,
}

#[derive(Deserialize)]
struct Segment {
    speaker_label: String,
    #[serde(default)]
    items: Vec<SegmentItem>,
}

#[derive(Deserialize)]
struct SegmentItem {
    start_time: String,
}

#[derive(Deserialize)]
struct ChannelLabels {
    #[serde(default)]
    channels: Vec<ChannelEntry>,
}

#[derive(Deserialize)]
struct ChannelEntry {
    channel_label: String,
    #[serde(default)]
    items: Vec<Item>,
}

/// A job that did not complete, named by its status when it is one the service uses (the field
/// is the file's, so anything else is not repeated).
fn job_status_reason(status: &str) -> &'static str {
    match status {
        "FAILED" => "job status is FAILED",
        "IN_PROGRESS" => "job status is IN_PROGRESS",
        "QUEUED" => "job status is QUEUED",
        _ => "the job did not complete",
    }
}

fn seconds(text: &str) -> Result<u64, ParseError> {
    let value: f64 = text.trim().parse().map_err(|_| ParseError::Provider {
        format: FORMAT,
        reason: "a time is not a number",
    })?;
    seconds_to_ms(value, FORMAT)
}

pub fn parse_transcribe(bytes: &[u8]) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let output: Output = serde_json::from_slice(bytes).map_err(|e| ParseError::json(&e))?;
    if let Some(status) = output.status.as_deref().filter(|s| *s != "COMPLETED") {
        return Err(ParseError::Provider {
            format: FORMAT,
            reason: job_status_reason(status),
        });
    }
    let results = output.results.ok_or(ParseError::Provider {
        format: FORMAT,
        reason: "no `results`",
    })?;

    // Older outputs name speakers only in segments: map item start times to speakers.
    let segment_speakers: HashMap<&str, &str> = results
        .speaker_labels
        .iter()
        .flat_map(|l| &l.segments)
        .flat_map(|s| {
            s.items
                .iter()
                .map(move |i| (i.start_time.as_str(), s.speaker_label.as_str()))
        })
        .collect();

    let mut items: Vec<(&Item, Option<&str>)> = Vec::new();
    match &results.channel_labels {
        Some(channels)
            if results.items.is_empty()
                || channels.channels.iter().any(|c| !c.items.is_empty()) =>
        {
            for channel in &channels.channels {
                items.extend(
                    channel
                        .items
                        .iter()
                        .map(|i| (i, Some(channel.channel_label.as_str()))),
                );
            }
        }
        _ => items.extend(results.items.iter().map(|i| {
            let speaker = i
                .speaker_label
                .as_deref()
                .or(i.channel_label.as_deref())
                .or_else(|| {
                    i.start_time
                        .as_deref()
                        .and_then(|t| segment_speakers.get(t).copied())
                });
            (i, speaker)
        })),
    }

    let mut builder = TranscriptBuilder::new(SourceFormat::AmazonTranscribe, Timing::Words);
    let mut words: Vec<Word> = Vec::new();
    let mut speaker: Option<&str> = None;
    let flush = |builder: &mut TranscriptBuilder, speaker: Option<&str>, words: &mut Vec<Word>| {
        builder.push_words(speaker.unwrap_or("spk_0"), words)
    };
    // Channel items are listed per channel: merge them by time first.
    if results.channel_labels.is_some() {
        items.sort_by(|a, b| {
            let key = |i: &Item| {
                i.start_time
                    .as_deref()
                    .and_then(|t| t.parse::<f64>().ok())
                    .unwrap_or(f64::MAX)
            };
            key(a.0).total_cmp(&key(b.0))
        });
    }
    for (item, item_speaker) in items {
        let Some(alternative) = item.alternatives.first() else {
            continue;
        };
        if item.kind == "punctuation" {
            // Punctuation has no time: it sticks to the word before it.
            if let Some(last) = words.last_mut() {
                last.text.push_str(&alternative.content);
            }
            continue;
        }
        let (Some(start), Some(end)) = (&item.start_time, &item.end_time) else {
            return Err(ParseError::Provider {
                format: FORMAT,
                reason: "a pronunciation item has no time",
            });
        };
        let word = Word {
            text: alternative.content.clone(),
            start_ms: seconds(start)?,
            end_ms: seconds(end)?,
            confidence: alternative
                .confidence
                .as_deref()
                .and_then(|c| c.parse().ok()),
        };
        let gap = words
            .last()
            .is_some_and(|l| word.start_ms.saturating_sub(l.end_ms) > ITEM_GAP_MS);
        if (!words.is_empty() && item_speaker != speaker) || gap {
            flush(&mut builder, speaker, &mut words)?;
        }
        speaker = item_speaker;
        words.push(word);
    }
    flush(&mut builder, speaker, &mut words)?;
    builder.finish()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaOutput {
    job_status: Option<String>,
    #[serde(default)]
    transcript: Vec<TcaTurn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaTurn {
    /// Amazon Connect Contact Lens names the same field `ParticipantId`.
    #[serde(alias = "ParticipantId")]
    participant_role: String,
    content: String,
    begin_offset_millis: u64,
    end_offset_millis: u64,
    #[serde(default)]
    items: Vec<TcaItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaItem {
    content: String,
    begin_offset_millis: Option<u64>,
    end_offset_millis: Option<u64>,
    confidence: Option<f32>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

pub fn parse_transcribe_call_analytics(
    bytes: &[u8],
) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let output: TcaOutput = serde_json::from_slice(bytes).map_err(|e| ParseError::json(&e))?;
    if let Some(status) = output.job_status.as_deref().filter(|s| *s != "COMPLETED") {
        return Err(ParseError::Provider {
            format: TCA_FORMAT,
            reason: job_status_reason(status),
        });
    }
    let timing = if output.transcript.iter().all(|t| !t.items.is_empty()) {
        Timing::Words
    } else {
        Timing::Utterances
    };
    let mut builder = TranscriptBuilder::new(SourceFormat::TranscribeCallAnalytics, timing);
    for turn in &output.transcript {
        let role = turn.participant_role.to_ascii_uppercase();
        let speaker = builder.speaker(&role, None)?;
        let mut words: Vec<Word> = Vec::new();
        for item in &turn.items {
            match (
                item.kind.as_deref(),
                item.begin_offset_millis,
                item.end_offset_millis,
            ) {
                (Some("punctuation"), _, _) | (_, None, _) | (_, _, None) => {
                    if let Some(last) = words.last_mut() {
                        last.text.push_str(&item.content);
                    }
                }
                (_, Some(start), Some(end)) => words.push(Word {
                    text: item.content.clone(),
                    start_ms: start,
                    end_ms: end,
                    confidence: item.confidence,
                }),
            }
        }
        builder.push(
            speaker,
            turn.begin_offset_millis,
            turn.end_offset_millis,
            turn.content.clone(),
            words,
        );
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(content: &str, start: &str, end: &str, speaker: Option<&str>) -> String {
        let speaker = speaker
            .map(|s| format!(r#","speaker_label":"{s}""#))
            .unwrap_or_default();
        format!(
            r#"{{"start_time":"{start}","end_time":"{end}","type":"pronunciation","alternatives":[{{"confidence":"0.99","content":"{content}"}}]{speaker}}}"#
        )
    }
    const COMMA: &str =
        r#"{"type":"punctuation","alternatives":[{"confidence":"0.0","content":","}]}"#;

    #[test]
    fn items_with_speakers_and_punctuation() {
        let body = format!(
            r#"{{"jobName":"j","status":"COMPLETED","results":{{"transcripts":[{{"transcript":"x"}}],"items":[{},{},{},{}]}}}}"#,
            item("Hello", "0.5", "0.9", Some("spk_0")),
            COMMA,
            item("Sam", "0.9", "1.2", Some("spk_0")),
            item("Hi", "1.5", "1.7", Some("spk_1"))
        );
        let t = parse_transcribe(body.as_bytes()).unwrap();
        let shape: Vec<_> = t
            .utterances
            .iter()
            .map(|u| (t.speaker_name(u.speaker), u.text.as_str()))
            .collect();
        assert_eq!(shape, [("spk_0", "Hello, Sam"), ("spk_1", "Hi")]);
        assert_eq!(t.utterances[0].words[0].confidence, Some(0.99));
    }

    #[test]
    fn older_outputs_with_speakers_only_in_segments() {
        let body = format!(
            r#"{{"results":{{"speaker_labels":{{"speakers":2,"segments":[{{"speaker_label":"spk_1","start_time":"0.5","end_time":"1.2","items":[{{"start_time":"0.5","end_time":"0.9","speaker_label":"spk_1"}}]}}]}},"items":[{},{}]}}}}"#,
            item("Yes", "0.5", "0.9", None),
            item("no", "3.5", "3.9", None)
        );
        let t = parse_transcribe(body.as_bytes()).unwrap();
        assert_eq!(t.speaker_name(t.utterances[0].speaker), "spk_1");
        assert_eq!(t.utterances.len(), 2);
    }

    #[test]
    fn failed_jobs_and_bad_times_are_errors() {
        assert!(matches!(
            parse_transcribe(br#"{"status":"FAILED","results":{}}"#),
            Err(ParseError::Provider { .. })
        ));
        let bad = format!(
            r#"{{"results":{{"items":[{}]}}}}"#,
            item("x", "abc", "1", None)
        );
        assert!(matches!(
            parse_transcribe(bad.as_bytes()),
            Err(ParseError::Provider { .. })
        ));
    }

    #[test]
    fn call_analytics_turns_by_role() {
        let body = r#"{"JobStatus":"COMPLETED","Transcript":[
            {"ParticipantRole":"AGENT","Content":"How can I help?","BeginOffsetMillis":100,"EndOffsetMillis":1500,"Id":"a",
             "Items":[{"Content":"How","BeginOffsetMillis":100,"EndOffsetMillis":300,"Confidence":0.9,"Type":"pronunciation"},{"Content":"?","Type":"punctuation"}]},
            {"ParticipantRole":"CUSTOMER","Content":"Cancel please.","BeginOffsetMillis":1600,"EndOffsetMillis":2500,"Id":"b",
             "Items":[{"Content":"Cancel","BeginOffsetMillis":1600,"EndOffsetMillis":2000,"Type":"pronunciation"}]}]}"#;
        let t = parse_transcribe_call_analytics(body.as_bytes()).unwrap();
        assert_eq!(t.speakers[0].label, "AGENT");
        assert_eq!(t.utterances[0].words[0].text, "How?");
        assert_eq!(t.timing, Timing::Words);
    }
}
