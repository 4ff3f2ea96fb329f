//! Deepgram pre-recorded responses (the body of the callback): utterances when requested, else
//! words grouped by speaker, else paragraphs, else the bare transcript. Multichannel audio gets
//! one speaker per channel (and diarized speaker, when present).

use serde::Deserialize;

use super::ParseError;
use super::builder::{TranscriptBuilder, seconds_to_ms};
use super::json::{Text, first, from_json};
use crate::domain::transcript::{SourceFormat, Timing, Word};

const FORMAT: &str = "Deepgram";
/// Words further apart than this start a new utterance when grouping words ourselves.
const WORD_GAP_MS: u64 = 2000;

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    results: Option<Results<'a>>,
}

#[derive(Deserialize)]
struct Results<'a> {
    #[serde(default, borrow)]
    channels: Vec<Channel<'a>>,
    #[serde(default, borrow)]
    utterances: Option<Vec<DgUtterance<'a>>>,
}

#[derive(Deserialize)]
struct Channel<'a> {
    #[serde(default, rename = "alternatives", deserialize_with = "first", borrow)]
    alternative: Option<Alternative<'a>>,
}

#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(default, borrow)]
    transcript: Text<'a>,
    #[serde(default, borrow)]
    words: Vec<DgWord<'a>>,
    #[serde(borrow)]
    paragraphs: Option<Paragraphs<'a>>,
}

#[derive(Deserialize)]
struct Paragraphs<'a> {
    #[serde(default, borrow)]
    paragraphs: Vec<Paragraph<'a>>,
}

#[derive(Deserialize)]
struct Paragraph<'a> {
    #[serde(default, borrow)]
    sentences: Vec<Sentence<'a>>,
    speaker: Option<u32>,
    start: f64,
    end: f64,
}

#[derive(Deserialize)]
struct Sentence<'a> {
    #[serde(borrow)]
    text: Text<'a>,
}

#[derive(Deserialize)]
struct DgUtterance<'a> {
    start: f64,
    end: f64,
    #[serde(default, borrow)]
    transcript: Text<'a>,
    #[serde(default)]
    channel: u32,
    speaker: Option<u32>,
    #[serde(default, borrow)]
    words: Vec<DgWord<'a>>,
}

#[derive(Deserialize)]
struct DgWord<'a> {
    #[serde(borrow)]
    word: Text<'a>,
    #[serde(borrow)]
    punctuated_word: Option<Text<'a>>,
    start: f64,
    end: f64,
    confidence: Option<f32>,
    speaker: Option<u32>,
}

fn label(channel: u32, speaker: Option<u32>, multichannel: bool) -> String {
    match (multichannel, speaker) {
        (true, Some(s)) => format!("channel {channel} speaker {s}"),
        (true, None) => format!("channel {channel}"),
        (false, Some(s)) => format!("speaker {s}"),
        (false, None) => "speaker 0".to_owned(),
    }
}

fn word(w: &DgWord) -> Result<Word, ParseError> {
    Ok(Word {
        text: w.punctuated_word.as_deref().unwrap_or(&w.word).to_owned(),
        start_ms: seconds_to_ms(w.start, FORMAT)?,
        end_ms: seconds_to_ms(w.end, FORMAT)?,
        confidence: w.confidence,
    })
}

pub fn parse_deepgram(bytes: &[u8]) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let response: Response = from_json(bytes)?;
    let results = response.results.ok_or(ParseError::Provider {
        format: FORMAT,
        reason: "no `results`",
    })?;
    let multichannel = results.channels.len() > 1;

    if let Some(utterances) = results.utterances.filter(|u| !u.is_empty()) {
        let timing = if utterances.iter().all(|u| !u.words.is_empty()) {
            Timing::Words
        } else {
            Timing::Utterances
        };
        let mut builder = TranscriptBuilder::new(SourceFormat::Deepgram, timing);
        for u in &utterances {
            let speaker = builder.speaker(&label(u.channel, u.speaker, multichannel), None)?;
            let words = u.words.iter().map(word).collect::<Result<Vec<_>, _>>()?;
            builder.push(
                speaker,
                seconds_to_ms(u.start, FORMAT)?,
                seconds_to_ms(u.end, FORMAT)?,
                &u.transcript,
                words,
            );
        }
        return builder.finish();
    }

    let with_words = results
        .channels
        .iter()
        .any(|c| c.alternative.as_ref().is_some_and(|a| !a.words.is_empty()));
    if with_words {
        let mut builder = TranscriptBuilder::new(SourceFormat::Deepgram, Timing::Words);
        for (channel, c) in results.channels.iter().enumerate() {
            let Some(alternative) = &c.alternative else {
                continue;
            };
            group_words(
                &mut builder,
                channel as u32,
                multichannel,
                &alternative.words,
            )?;
        }
        return builder.finish();
    }

    let mut builder = TranscriptBuilder::new(SourceFormat::Deepgram, Timing::Utterances);
    let mut timed = true;
    for (channel, c) in results.channels.iter().enumerate() {
        let Some(alternative) = &c.alternative else {
            continue;
        };
        match &alternative.paragraphs {
            Some(p) if !p.paragraphs.is_empty() => {
                for para in &p.paragraphs {
                    let speaker = builder
                        .speaker(&label(channel as u32, para.speaker, multichannel), None)?;
                    let text = para
                        .sentences
                        .iter()
                        .map(|s| &*s.text)
                        .collect::<Vec<_>>()
                        .join(" ");
                    builder.push(
                        speaker,
                        seconds_to_ms(para.start, FORMAT)?,
                        seconds_to_ms(para.end, FORMAT)?,
                        &text,
                        Vec::new(),
                    );
                }
            }
            _ => {
                timed = false;
                let speaker = builder.speaker(&label(channel as u32, None, multichannel), None)?;
                builder.push(speaker, 0, 0, &alternative.transcript, Vec::new());
            }
        }
    }
    let mut transcript = builder.finish()?;
    if !timed {
        transcript.timing = Timing::None;
    }
    Ok(transcript)
}

/// Consecutive words of one speaker, split at long pauses, become one utterance.
fn group_words(
    builder: &mut TranscriptBuilder,
    channel: u32,
    multichannel: bool,
    words: &[DgWord],
) -> Result<(), ParseError> {
    let mut current: Vec<Word> = Vec::new();
    let mut current_speaker: Option<Option<u32>> = None;
    let flush = |builder: &mut TranscriptBuilder, speaker: Option<u32>, words: &mut Vec<Word>| {
        builder.push_words(&label(channel, speaker, multichannel), words)
    };
    for w in words {
        let parsed = word(w)?;
        let gap = current
            .last()
            .is_some_and(|last| parsed.start_ms.saturating_sub(last.end_ms) > WORD_GAP_MS);
        if current_speaker.is_some_and(|s| s != w.speaker) || gap {
            flush(builder, current_speaker.flatten(), &mut current)?;
        }
        current_speaker = Some(w.speaker);
        current.push(parsed);
    }
    flush(builder, current_speaker.flatten(), &mut current)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(word: &str, start: f64, end: f64, speaker: u32) -> String {
        format!(
            r#"{{"word":"{}","punctuated_word":"{word}","start":{start},"end":{end},"confidence":0.9,"speaker":{speaker}}}"#,
            word.to_lowercase()
        )
    }

    #[test]
    fn utterances_carry_words_and_speakers() {
        let body = format!(
            r#"{{"metadata":{{"request_id":"r1","extra":{{"callback_secret":"x"}}}},"results":{{"channels":[{{"alternatives":[{{"transcript":"","words":[]}}]}}],
            "utterances":[{{"start":0.5,"end":1.2,"transcript":"Hi there.","channel":0,"speaker":1,"words":[{},{}]}},
                          {{"start":1.5,"end":2.0,"transcript":"Hello.","channel":0,"speaker":0,"words":[{}]}}]}}}}"#,
            w("Hi", 0.5, 0.8, 1),
            w("there.", 0.8, 1.2, 1),
            w("Hello.", 1.5, 2.0, 0)
        );
        let t = parse_deepgram(body.as_bytes()).unwrap();
        assert_eq!(t.timing, Timing::Words);
        assert_eq!(t.speakers[0].label, "speaker 1");
        assert_eq!(t.utterances[0].words.len(), 2);
        assert_eq!(t.utterances[0].words[1].start_ms, 800);
        assert_eq!(t.utterances[1].text, "Hello.");
    }

    #[test]
    fn words_are_grouped_by_speaker_and_pause_when_utterances_are_absent() {
        let body = format!(
            r#"{{"results":{{"channels":[{{"alternatives":[{{"transcript":"x","words":[{},{},{},{}]}}]}}]}}}}"#,
            w("One", 0.0, 0.4, 0),
            w("two", 0.4, 0.8, 0),
            w("Three", 0.9, 1.3, 1),
            w("four", 5.0, 5.4, 1)
        );
        let t = parse_deepgram(body.as_bytes()).unwrap();
        let shape: Vec<_> = t
            .utterances
            .iter()
            .map(|u| (u.speaker, u.text.as_str()))
            .collect();
        assert_eq!(shape, [(0, "One two"), (1, "Three"), (1, "four")]);
    }

    #[test]
    fn multichannel_gives_a_speaker_per_channel() {
        let body = format!(
            r#"{{"results":{{"channels":[{{"alternatives":[{{"transcript":"a","words":[{}]}}]}},{{"alternatives":[{{"transcript":"b","words":[{}]}}]}}]}}}}"#,
            w("Hello", 1.0, 1.5, 0),
            w("Hi", 0.2, 0.6, 0)
        );
        let t = parse_deepgram(body.as_bytes()).unwrap();
        assert_eq!(t.speakers.len(), 2);
        // Ordered by time across channels.
        assert_eq!(t.utterances[0].text, "Hi");
        assert_eq!(
            t.speaker_name(t.utterances[0].speaker),
            "channel 1 speaker 0"
        );
    }

    #[test]
    fn malformed_bodies_are_typed_errors() {
        assert!(matches!(parse_deepgram(b"{"), Err(ParseError::Json { .. })));
        assert!(matches!(
            parse_deepgram(b"{}"),
            Err(ParseError::Provider { .. })
        ));
        assert!(matches!(
            parse_deepgram(br#"{"results":{"channels":[]}}"#),
            Err(ParseError::NoSpeech)
        ));
        let negative = format!(
            r#"{{"results":{{"channels":[{{"alternatives":[{{"words":[{}]}}]}}]}}}}"#,
            w("x", -1.0, 0.5, 0)
        );
        assert!(matches!(
            parse_deepgram(negative.as_bytes()),
            Err(ParseError::Provider { .. })
        ));
    }
}
