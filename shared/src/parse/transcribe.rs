//! Amazon Transcribe batch output (standard and Call Analytics).
//!
//! Standard output: `results.items` (pronunciations with times as strings, punctuation without
//! times), speakers on each item (newer outputs) or only in `speaker_labels.segments` (older),
//! or channels in `channel_labels`. Call Analytics: a `Transcript` array of turns with
//! `ParticipantRole` (AGENT, CUSTOMER) and timed `Items`; Contact Lens post-call output has the
//! same shape with `ParticipantId`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use super::ParseError;
use super::builder::{TranscriptBuilder, seconds_to_ms};
use super::json::{Text, first, from_json};
use crate::domain::transcript::{SourceFormat, Timing, Word};

const FORMAT: &str = "Amazon Transcribe";
const TCA_FORMAT: &str = "Transcribe Call Analytics";
const ITEM_GAP_MS: u64 = 2000;

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow)]
    status: Option<Text<'a>>,
    #[serde(borrow)]
    results: Option<Results<'a>>,
}

#[derive(Deserialize)]
struct Results<'a> {
    #[serde(default, borrow)]
    items: Heard<'a>,
    #[serde(borrow)]
    speaker_labels: Option<Labels<'a>>,
    #[serde(borrow)]
    channel_labels: Option<ChannelLabels<'a>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow)]
    start_time: Option<Text<'a>>,
    #[serde(borrow)]
    end_time: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default, rename = "alternatives", deserialize_with = "first", borrow)]
    alternative: Option<Alternative<'a>>,
    #[serde(borrow)]
    speaker_label: Option<Text<'a>>,
    #[serde(borrow)]
    channel_label: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(borrow)]
    content: Text<'a>,
    #[serde(borrow)]
    confidence: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Labels<'a> {
    #[serde(default, borrow)]
    segments: Vec<Segment<'a>>,
}

#[derive(Deserialize)]
struct Segment<'a> {
    #[serde(borrow)]
    speaker_label: Text<'a>,
    #[serde(default, borrow)]
    items: Vec<SegmentItem<'a>>,
}

#[derive(Deserialize)]
struct SegmentItem<'a> {
    #[serde(borrow)]
    start_time: Text<'a>,
}

#[derive(Deserialize)]
struct ChannelLabels<'a> {
    #[serde(default, borrow)]
    channels: Vec<ChannelEntry<'a>>,
}

#[derive(Deserialize)]
struct ChannelEntry<'a> {
    #[serde(borrow)]
    channel_label: Text<'a>,
    #[serde(default, borrow)]
    items: Heard<'a>,
}

/// What names a word's speaker: its own label (speaker or channel), or, in older outputs, its
/// start time, which the speaker segments map to a speaker.
#[derive(Clone, PartialEq)]
enum Who<'a> {
    Label(Text<'a>),
    StartTime(Text<'a>),
    Unknown,
}

/// Consecutive words of one speaker without a long pause: in the usual output, where every
/// item is labelled, each run as read is an utterance, and its words are not moved again.
struct Run<'a> {
    who: Who<'a>,
    words: Vec<Word>,
}

/// Appends a word to the last run when it continues it (the same label, or both unlabelled,
/// and no long pause), else starts a run. Words known only by their start time get a run of
/// their own until the segments are read.
fn push_word<'a>(runs: &mut Vec<Run<'a>>, who: Who<'a>, word: Word) {
    if let Some(last) = runs.last_mut()
        && !matches!(who, Who::StartTime(_))
        && last.who == who
        && !is_pause(&last.words, &word)
    {
        last.words.push(word);
        return;
    }
    runs.push(Run {
        who,
        words: vec![word],
    });
}

fn is_pause(before: &[Word], word: &Word) -> bool {
    before
        .last()
        .is_some_and(|last| word.start_ms.saturating_sub(last.end_ms) > ITEM_GAP_MS)
}

/// An `items` array read item by item into runs of words: punctuation joins the word before it
/// as it is read, so no item outlives its own parsing. A bad item is kept as the first error,
/// and the array is still read to its end so the JSON itself is checked.
#[derive(Default)]
struct Heard<'a> {
    items: usize,
    runs: Vec<Run<'a>>,
    error: Option<ParseError>,
}

impl<'a> Heard<'a> {
    fn take(&mut self, item: Item<'a>) {
        self.items += 1;
        if self.error.is_some() {
            return;
        }
        let Some(alternative) = item.alternative else {
            return;
        };
        if &*item.kind == "punctuation" {
            if let Some(last) = self.runs.last_mut().and_then(|r| r.words.last_mut()) {
                last.text.push_str(&alternative.content);
            }
            return;
        }
        match spoken(item.start_time, item.end_time, alternative) {
            Ok((word, start_time)) => {
                let who = match (item.speaker_label.or(item.channel_label), start_time) {
                    (Some(label), _) => Who::Label(label),
                    (None, Some(start)) => Who::StartTime(start),
                    (None, None) => Who::Unknown,
                };
                push_word(&mut self.runs, who, word);
            }
            Err(error) => self.error = Some(error),
        }
    }

    fn runs(self) -> Result<Vec<Run<'a>>, ParseError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.runs),
        }
    }
}

/// A pronunciation item's word; its start time is handed back for the segment lookup.
fn spoken<'a>(
    start: Option<Text<'a>>,
    end: Option<Text<'a>>,
    alternative: Alternative<'a>,
) -> Result<(Word, Option<Text<'a>>), ParseError> {
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ParseError::Provider {
            format: FORMAT,
            reason: "a pronunciation item has no time",
        });
    };
    let mut text = String::with_capacity(alternative.content.len() + 1);
    text.push_str(&alternative.content);
    let word = Word {
        text,
        start_ms: seconds(&start)?,
        end_ms: seconds(&end)?,
        confidence: alternative
            .confidence
            .as_deref()
            .and_then(|c| c.parse().ok()),
    };
    Ok((word, Some(start)))
}

impl<'de: 'a, 'a> Deserialize<'de> for Heard<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeardVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for HeardVisitor<'a> {
            type Value = Heard<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut heard = Heard::default();
                while let Some(item) = seq.next_element::<Item<'a>>()? {
                    heard.take(item);
                }
                Ok(heard)
            }
        }

        deserializer.deserialize_seq(HeardVisitor(PhantomData))
    }
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
    if let Some(ms) = decimal_ms(text) {
        return Ok(ms);
    }
    let value: f64 = text.trim().parse().map_err(|_| ParseError::Provider {
        format: FORMAT,
        reason: "a time is not a number",
    })?;
    seconds_to_ms(value, FORMAT)
}

/// Milliseconds of a time written as the service writes them ("12.34": digits, and at most
/// three after the point), read exactly without going through a float; anything else
/// (exponents, more digits, signs) is left to the general path.
fn decimal_ms(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 7
        || fraction.len() > 3
        || !digits(whole)
        || !digits(fraction)
    {
        return None;
    }
    let fraction_ms = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |ms, b| ms * 10 + u64::from(b - b'0'));
    Some(whole.parse::<u64>().ok()? * 1000 + fraction_ms)
}

pub fn parse_transcribe(bytes: &[u8]) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let output: Output = from_json(bytes)?;
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
                .map(move |i| (&*i.start_time, &*s.speaker_label))
        })
        .collect();

    let runs = match results.channel_labels {
        Some(channels)
            if results.items.items == 0 || channels.channels.iter().any(|c| c.items.items > 0) =>
        {
            // Channel items are listed per channel: merged by time (a stable sort keeps each
            // channel's order for equal times), each word its channel's.
            let mut timed = Vec::new();
            for channel in channels.channels {
                let label = channel.channel_label;
                for run in channel.items.runs()? {
                    timed.extend(run.words.into_iter().map(|w| (w, label.clone())));
                }
            }
            timed.sort_by_key(|(word, _)| word.start_ms);
            let mut runs = Vec::new();
            for (word, label) in timed {
                push_word(&mut runs, Who::Label(label), word);
            }
            runs
        }
        _ => results.items.runs()?,
    };

    // Runs become utterances; neighbours whose speakers turn out the same (known by start time
    // until now) and that have no long pause between them are joined.
    let mut builder = TranscriptBuilder::new(SourceFormat::AmazonTranscribe, Timing::Words);
    let mut current: Option<(Option<Cow<str>>, Vec<Word>)> = None;
    let flush = |builder: &mut TranscriptBuilder, speaker: Option<&str>, words: &mut Vec<Word>| {
        builder.push_words(speaker.unwrap_or("spk_0"), words)
    };
    for Run { who, mut words } in runs {
        let speaker = match who {
            Who::Label(label) => Some(label.into_cow()),
            Who::StartTime(start) => segment_speakers.get(&*start).map(|s| Cow::Borrowed(*s)),
            Who::Unknown => None,
        };
        match &mut current {
            Some((current_speaker, current_words))
                if *current_speaker == speaker && !is_pause(current_words, &words[0]) =>
            {
                current_words.append(&mut words);
            }
            _ => {
                if let Some((speaker, mut words)) = current.take() {
                    flush(&mut builder, speaker.as_deref(), &mut words)?;
                }
                current = Some((speaker, words));
            }
        }
    }
    if let Some((speaker, mut words)) = current {
        flush(&mut builder, speaker.as_deref(), &mut words)?;
    }
    builder.finish()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaOutput<'a> {
    #[serde(borrow)]
    job_status: Option<Text<'a>>,
    #[serde(default, borrow)]
    transcript: Vec<TcaTurn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaTurn<'a> {
    /// Amazon Connect Contact Lens names the same field `ParticipantId`.
    #[serde(alias = "ParticipantId", borrow)]
    participant_role: Text<'a>,
    #[serde(borrow)]
    content: Text<'a>,
    begin_offset_millis: u64,
    end_offset_millis: u64,
    #[serde(default, borrow)]
    items: Vec<TcaItem<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcaItem<'a> {
    #[serde(borrow)]
    content: Text<'a>,
    begin_offset_millis: Option<u64>,
    end_offset_millis: Option<u64>,
    confidence: Option<f32>,
    #[serde(rename = "Type", borrow)]
    kind: Option<Text<'a>>,
}

pub fn parse_transcribe_call_analytics(
    bytes: &[u8],
) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let output: TcaOutput = from_json(bytes)?;
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
                    text: String::from(&*item.content),
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
            &turn.content,
            words,
        );
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transcript::Transcript;

    fn item(content: &str, start: &str, end: &str, speaker: Option<&str>) -> String {
        let speaker = speaker
            .map(|s| format!(r#","speaker_label":"{s}""#))
            .unwrap_or_default();
        format!(
            r#"{{"start_time":"{start}","end_time":"{end}","type":"pronunciation","alternatives":[{{"confidence":"0.99","content":"{content}"}}]{speaker}}}"#
        )
    }
    fn who_said_what(t: &Transcript) -> Vec<(&str, &str)> {
        t.utterances
            .iter()
            .map(|u| (t.speaker_name(u.speaker), u.text.as_str()))
            .collect()
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
        let shape = who_said_what(&t);
        assert_eq!(shape, [("spk_0", "Hello, Sam"), ("spk_1", "Hi")]);
        assert_eq!(t.utterances[0].words[0].confidence, Some(0.99));
    }

    #[test]
    fn channels_merge_by_time_and_punctuation_stays_with_its_word() {
        let body = format!(
            r#"{{"results":{{"items":[],"channel_labels":{{"number_of_channels":2,"channels":[
                {{"channel_label":"ch_0","items":[{},{},{}]}},
                {{"channel_label":"ch_1","items":[{}]}}]}}}}}}"#,
            item("Hello", "0.5", "0.6", None),
            COMMA,
            item("Sam", "0.9", "1.0", None),
            item("Hi", "0.7", "0.8", None)
        );
        let t = parse_transcribe(body.as_bytes()).unwrap();
        let shape = who_said_what(&t);
        assert_eq!(shape, [("ch_0", "Hello,"), ("ch_1", "Hi"), ("ch_0", "Sam")]);
    }

    #[test]
    fn strings_with_escapes_are_read_like_plain_ones() {
        let body = format!(
            r#"{{"results":{{"items":[{},{}]}}}}"#,
            item(r#"say \"hi\""#, "0.5", "0.9", Some(r"spk_\u0030")),
            item(r"caf\u00e9", "1.0", "1.2", Some("spk_0"))
        );
        let t = parse_transcribe(body.as_bytes()).unwrap();
        assert_eq!(t.speakers[0].label, "spk_0");
        assert_eq!(t.utterances[0].text, "say \"hi\" café");
    }

    #[test]
    fn times_read_exactly_as_the_float_path_would() {
        for text in [
            "0",
            "0.5",
            "12.34",
            "1.005",
            "3599.999",
            "9999999.999",
            " 2.5",
            "1e2",
            "1.0005",
        ] {
            let general = seconds_to_ms(text.trim().parse().unwrap(), FORMAT).unwrap();
            assert_eq!(seconds(text).unwrap(), general, "{text}");
        }
        assert_eq!(decimal_ms("12.34"), Some(12_340));
        assert_eq!(decimal_ms("1e2"), None);
        assert!(seconds("-1.0").is_err() && seconds("1.2.3").is_err() && seconds("").is_err());
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
