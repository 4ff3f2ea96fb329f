//! Assembles a canonical transcript, numbering speakers in order of appearance.

use std::collections::HashMap;

use super::ParseError;
use crate::domain::SCHEMA_VERSION;
use crate::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance, Word};

/// More speakers than any real call has (a conference call rarely passes 30): a file with more
/// is refused, so a crafted file of one voice per cue cannot make scoring keep metrics for
/// hundreds of thousands of speakers.
pub const MAX_SPEAKERS: usize = 100;

pub(super) struct TranscriptBuilder {
    format: SourceFormat,
    timing: Timing,
    speakers: Vec<Speaker>,
    by_label: HashMap<String, usize>,
    utterances: Vec<Utterance>,
}

impl TranscriptBuilder {
    pub fn new(format: SourceFormat, timing: Timing) -> Self {
        Self {
            format,
            timing,
            speakers: Vec::new(),
            by_label: HashMap::new(),
            utterances: Vec::new(),
        }
    }

    /// The index of a speaker, adding it on first sight; refused past [`MAX_SPEAKERS`].
    pub fn speaker(&mut self, label: &str, name: Option<&str>) -> Result<usize, ParseError> {
        if let Some(&index) = self.by_label.get(label) {
            return Ok(index);
        }
        let index = self.speakers.len();
        if index == MAX_SPEAKERS {
            return Err(ParseError::TooManySpeakers { max: MAX_SPEAKERS });
        }
        self.speakers.push(Speaker {
            label: label.to_owned(),
            name: name.map(str::to_owned),
        });
        self.by_label.insert(label.to_owned(), index);
        Ok(index)
    }

    /// Adds an utterance of the text trimmed; one with no text is dropped.
    pub fn push(
        &mut self,
        speaker: usize,
        start_ms: u64,
        end_ms: u64,
        text: &str,
        words: Vec<Word>,
    ) {
        let text = text.trim();
        if !text.is_empty() {
            self.push_trimmed(speaker, start_ms, end_ms, text.to_owned(), words);
        }
    }

    fn push_trimmed(
        &mut self,
        speaker: usize,
        start_ms: u64,
        end_ms: u64,
        text: String,
        words: Vec<Word>,
    ) {
        self.utterances.push(Utterance {
            speaker,
            start_ms,
            end_ms: end_ms.max(start_ms),
            text,
            words,
        });
    }

    /// Makes the words gathered so far (taken out of `words`) one utterance of `label`, its
    /// text the words joined by spaces in one buffer.
    pub fn push_words(&mut self, label: &str, words: &mut Vec<Word>) -> Result<(), ParseError> {
        if let (Some(first), Some(last)) = (words.first(), words.last()) {
            let (start, end) = (first.start_ms, last.end_ms);
            let mut text = String::with_capacity(words.iter().map(|w| w.text.len() + 1).sum());
            for (i, word) in words.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(&word.text);
            }
            let index = self.speaker(label, None)?;
            let words = std::mem::take(words);
            if !text.is_empty() && text.trim().len() == text.len() {
                self.push_trimmed(index, start, end, text, words);
            } else {
                self.push(index, start, end, &text, words);
            }
        }
        Ok(())
    }

    /// Appends text to the last utterance (continuation lines).
    pub fn extend_last(&mut self, text: &str) -> bool {
        match self.utterances.last_mut() {
            Some(last) => {
                last.text.push(' ');
                last.text.push_str(text.trim());
                true
            }
            None => false,
        }
    }

    pub fn finish(mut self) -> Result<Transcript, ParseError> {
        if self.utterances.is_empty() {
            return Err(ParseError::NoSpeech);
        }
        if self.timing != Timing::None {
            // Stable: keeps file order for equal start times.
            self.utterances.sort_by_key(|u| u.start_ms);
        }
        Ok(Transcript {
            schema_version: SCHEMA_VERSION,
            source_format: self.format,
            timing: self.timing,
            speakers: self.speakers,
            utterances: self.utterances,
        })
    }
}

/// Seconds (as providers write them) to milliseconds; negative or non-finite values are errors.
pub(super) fn seconds_to_ms(seconds: f64, format: &'static str) -> Result<u64, ParseError> {
    if !seconds.is_finite() || !(0.0..=1.0e7).contains(&seconds) {
        return Err(ParseError::Provider {
            format,
            reason: "a time is negative or out of range",
        });
    }
    Ok((seconds * 1000.0).round() as u64)
}
