//! The canonical transcript every input format is parsed into.

use serde::{Deserialize, Serialize};

/// Which format a transcript was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Deepgram,
    AmazonTranscribe,
    TranscribeCallAnalytics,
    WebVtt,
    Srt,
    PlainText,
}

/// How precisely the source timed its speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Every utterance has timed words (speech-to-text output).
    Words,
    /// Utterances (cues) have start and end times, words do not (VTT, SRT).
    Utterances,
    /// No times at all ("Speaker: text" files); utterance times are zero and only order counts.
    None,
}

/// A speaker as found in the source: a diarization label ("speaker 0") or a name from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    /// Stable label within this transcript, referenced by utterances.
    pub label: String,
    /// A display name when the source carries one (VTT voice tags, "Name: text").
    pub name: Option<String>,
}

/// One timed word, when the source has word timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub confidence: Option<f32>,
}

/// One stretch of speech by one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// Index into [`Transcript::speakers`].
    pub speaker: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Empty when the source has no word timings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// A transcript in the one shape the metrics engine and coaches read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub schema_version: u32,
    pub source_format: SourceFormat,
    pub timing: Timing,
    pub speakers: Vec<Speaker>,
    /// Ordered by start time.
    pub utterances: Vec<Utterance>,
}

impl Transcript {
    /// Whether every utterance carries word timings (some metrics need them).
    pub fn has_word_timings(&self) -> bool {
        self.timing == Timing::Words
    }

    pub fn has_times(&self) -> bool {
        self.timing != Timing::None
    }

    /// The speaker's display name, or its label when the source gave no name.
    pub fn speaker_name(&self, index: usize) -> &str {
        self.speakers
            .get(index)
            .map(|s| s.name.as_deref().unwrap_or(&s.label))
            .unwrap_or("unknown")
    }

    /// End of the last utterance, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.utterances.iter().map(|u| u.end_ms).max().unwrap_or(0)
    }
}
