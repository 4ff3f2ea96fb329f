//! The call file as labels count it: one utterance a non-empty line. The parser may read
//! several lines as one utterance (a line whose speaker it does not recognise continues the
//! previous turn), so findings are moved back to the file's lines before they are scored.

use serde::Deserialize;

use super::EvalError;
use crate::domain::transcript::{Timing, Transcript};

/// Longest time accepted in a times file, in seconds (more than 100 days).
const MAX_SECONDS: f64 = 1.0e7;

/// The file line each transcript utterance starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMap {
    first_line: Vec<usize>,
    lines: usize,
}

/// A line's text after its `Speaker:` prefix, or all of it when it has none.
fn after_speaker(line: &str) -> &str {
    line.split_once(':').map_or(line, |(_, rest)| rest.trim())
}

impl LineMap {
    /// Matches utterances to lines in order: an utterance starts on the first line not yet
    /// passed whose text (after its speaker) begins the utterance's text.
    pub fn new(text: &str, transcript: &Transcript) -> Self {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let utterances = &transcript.utterances;
        if utterances.len() == lines.len() {
            return Self {
                first_line: (0..lines.len()).collect(),
                lines: lines.len(),
            };
        }
        let mut first_line = Vec::with_capacity(utterances.len());
        let mut cursor = 0;
        for u in utterances {
            let found = (cursor..lines.len()).find(|&l| {
                let rest = after_speaker(lines[l]);
                (!rest.is_empty() && u.text.starts_with(rest)) || u.text.starts_with(lines[l])
            });
            // An utterance no line begins (a "Name:" line with its text below) stays on the
            // next unused line.
            let line = found.unwrap_or(cursor).min(lines.len().saturating_sub(1));
            first_line.push(line);
            cursor = line + 1;
        }
        Self {
            first_line,
            lines: lines.len(),
        }
    }

    /// The file line of a transcript utterance.
    pub fn line_of(&self, utterance: usize) -> Option<usize> {
        self.first_line.get(utterance).copied()
    }

    /// How many non-empty lines the file has: the labels' utterance count.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// How many utterances the parser read.
    pub fn utterances(&self) -> usize {
        self.first_line.len()
    }

    /// The last file line of a transcript utterance (the line before the next one starts).
    fn last_line_of(&self, utterance: usize) -> Option<usize> {
        let first = self.line_of(utterance)?;
        let next = self.line_of(utterance + 1).unwrap_or(self.lines);
        Some(next.saturating_sub(1).max(first))
    }
}

#[derive(Deserialize)]
struct TimesFile {
    utterances: Vec<TimedLine>,
}

#[derive(Deserialize)]
struct TimedLine {
    start: f64,
    end: f64,
}

fn seconds_to_ms(seconds: f64) -> Option<u64> {
    (seconds.is_finite() && (0.0..=MAX_SECONDS).contains(&seconds))
        .then(|| (seconds * 1000.0).round() as u64)
}

/// Gives the transcript the times of a `{"utterances": [{"start", "end", ...}]}` file (seconds,
/// one entry a line of the call file), so time-based metrics and evidence times are available.
pub fn apply_times(
    transcript: &mut Transcript,
    lines: &LineMap,
    times_json: &[u8],
) -> Result<(), EvalError> {
    let bad = |reason: String| EvalError::Times(reason);
    let times: TimesFile =
        serde_json::from_slice(times_json).map_err(|e| bad(format!("not a times file: {e}")))?;
    if times.utterances.len() != lines.lines() {
        return Err(bad(format!(
            "it times {} utterances but the call file has {} lines",
            times.utterances.len(),
            lines.lines()
        )));
    }
    let mut spans = Vec::with_capacity(transcript.utterances.len());
    let mut previous_start = 0;
    for index in 0..transcript.utterances.len() {
        let (Some(first), Some(last)) = (lines.line_of(index), lines.last_line_of(index)) else {
            return Err(bad("the call file has no lines".into()));
        };
        let (Some(start), Some(end)) = (
            seconds_to_ms(times.utterances[first].start),
            seconds_to_ms(times.utterances[last].end),
        ) else {
            return Err(bad(format!(
                "line {first}: a time is negative or out of range"
            )));
        };
        if start < previous_start {
            return Err(bad(format!(
                "line {first}: starts before the line above it"
            )));
        }
        previous_start = start;
        spans.push((start, end.max(start)));
    }
    for (utterance, (start, end)) in transcript.utterances.iter_mut().zip(spans) {
        utterance.start_ms = start;
        utterance.end_ms = end;
    }
    transcript.timing = Timing::Utterances;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_plain;

    #[test]
    fn lines_the_parser_joined_keep_their_own_numbers() {
        // A line without a speaker continues the turn before it.
        let text = "Dana: Hello.\nand welcome.\n\nMr. Lee: Hi there.\nDana: Shall we start?\n";
        let transcript = parse_plain(text).unwrap();
        let map = LineMap::new(text, &transcript);
        assert_eq!((map.utterances(), map.lines()), (3, 4));
        assert_eq!(
            (
                map.line_of(0),
                map.line_of(1),
                map.line_of(2),
                map.line_of(3)
            ),
            (Some(0), Some(2), Some(3), None)
        );
    }

    #[test]
    fn times_follow_the_lines_and_bad_times_are_refused() {
        let text = "Dana: Hello.\nand welcome.\nDana: Shall we start?\n";
        let mut transcript = parse_plain(text).unwrap();
        let map = LineMap::new(text, &transcript);
        let times = br#"{"utterances": [{"start": 1, "end": 2}, {"start": 2, "end": 3.5},
                                         {"start": 4, "end": 6}]}"#;
        apply_times(&mut transcript, &map, times).unwrap();
        assert_eq!(transcript.timing, Timing::Utterances);
        let spans: Vec<_> = transcript
            .utterances
            .iter()
            .map(|u| (u.start_ms, u.end_ms))
            .collect();
        assert_eq!(spans, [(1000, 3500), (4000, 6000)]);

        for (times, reason) in [
            (&br#"{"utterances": [{"start": 1, "end": 2}]}"#[..], "3 lines"),
            (br#"{"utterances": [{"start": 1, "end": 2}, {"start": 2, "end": 3}, {"start": -4, "end": 6}]}"#, "out of range"),
            (br#"{"utterances": [{"start": 5, "end": 6}, {"start": 6, "end": 7}, {"start": 1, "end": 2}]}"#, "before the line above"),
            (b"[1]", "not a times file"),
        ] {
            let error = apply_times(&mut transcript, &map, times).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
    }
}
