//! Parsers from every supported input into the canonical [`Transcript`], and content sniffing.
//!
//! Pure functions: bytes in, a transcript or a typed error out, never a panic. The format is
//! decided by content, never by file name or declared type.

mod builder;
mod deepgram;
mod detect;
mod json;
mod text;
mod transcribe;

pub use builder::MAX_SPEAKERS;
pub use deepgram::parse_deepgram;
pub use detect::{AudioKind, Detected, SNIFF_LEN, TranscriptFormat, detect};
pub use text::{parse_plain, parse_srt, parse_vtt};
pub use transcribe::{parse_transcribe, parse_transcribe_call_analytics};

use crate::domain::call::FailureReason;
use crate::domain::transcript::Transcript;

/// Why an input is not a transcript we can read. Messages name what is wrong, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error(
        "the file is not a supported transcript format (WebVTT, SRT, Deepgram JSON, Amazon Transcribe JSON, or \"Speaker: text\" lines)"
    )]
    UnknownFormat,
    #[error("the file is audio or video, not a transcript")]
    IsAudio,
    #[error("the file is UTF-16 text; save the transcript as UTF-8 and upload it again")]
    Utf16,
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: &'static str },
    /// Where the JSON broke and how; never the input itself (serde's own messages quote the
    /// offending value, which can be transcript text, and failure reasons reach users).
    #[error("invalid JSON at line {line}, column {column}: {problem}")]
    Json {
        line: usize,
        column: usize,
        problem: &'static str,
    },
    #[error("{format} output: {reason}")]
    Provider {
        format: &'static str,
        reason: &'static str,
    },
    #[error("the transcript has no speech")]
    NoSpeech,
    #[error("the transcript has more than {max} speakers")]
    TooManySpeakers { max: usize },
}

impl ParseError {
    /// A JSON failure, described without any of the input's text.
    pub fn json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        ParseError::Json {
            line: error.line(),
            column: error.column(),
            problem: match error.classify() {
                Category::Syntax => "not well-formed JSON",
                Category::Eof => "the file ends too early",
                Category::Data => "a field is missing or of the wrong type",
                Category::Io => "the file could not be read",
            },
        }
    }

    fn line(line: usize, reason: &'static str) -> Self {
        ParseError::Line { line, reason }
    }

    /// As a call's failure reason: every field of a parse error is our own fixed text or a
    /// number (line, column, a limit), never the input's.
    pub fn as_failure(&self) -> FailureReason {
        FailureReason::composed(self.to_string())
    }
}

/// Detects the format by content and parses it. The format is decided on the first
/// [`SNIFF_LEN`] bytes, as the upload trigger decides it (it reads no more before choosing),
/// so a file is taken for the same format here as when it is uploaded.
pub fn parse_transcript(bytes: &[u8]) -> Result<Transcript, ParseError> {
    match detect(&bytes[..bytes.len().min(SNIFF_LEN)]) {
        Detected::Empty => Err(ParseError::Empty),
        Detected::Audio(_) => Err(ParseError::IsAudio),
        Detected::Utf16Text => Err(ParseError::Utf16),
        Detected::Unknown => Err(ParseError::UnknownFormat),
        Detected::Transcript(format) => parse_as(format, bytes),
    }
}

/// Parses bytes already known to be of `format`.
pub fn parse_as(format: TranscriptFormat, bytes: &[u8]) -> Result<Transcript, ParseError> {
    match format {
        TranscriptFormat::Deepgram => parse_deepgram(bytes),
        TranscriptFormat::AmazonTranscribe => parse_transcribe(bytes),
        TranscriptFormat::TranscribeCallAnalytics => parse_transcribe_call_analytics(bytes),
        TranscriptFormat::WebVtt => parse_vtt(text::utf8(bytes)?),
        TranscriptFormat::Srt => parse_srt(text::utf8(bytes)?),
        TranscriptFormat::PlainText => parse_plain(text::utf8(bytes)?),
    }
}
