//! WebVTT, SRT and plain "Speaker: text" files.

use super::ParseError;
use super::builder::TranscriptBuilder;
use crate::domain::transcript::{SourceFormat, Timing};

pub(super) fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| ParseError::NotText)
}

/// Longest speaker name accepted in a "Name: text" prefix.
const MAX_NAME_LEN: usize = 48;
const DEFAULT_SPEAKER: &str = "Speaker 1";

/// Titles written with a period that may open a speaker's name ("Mr. Garcia:", "Dr. Lee:").
const HONORIFICS: &[&str] = &[
    "mr.", "mrs.", "ms.", "mx.", "dr.", "prof.", "sr.", "jr.", "st.",
];

/// `Some((name, rest))` when a line starts with a plausible "Name: " prefix: short, no
/// sentence punctuation, not a time ("10:30") or a URL ("https://"). A leading time stamp
/// ("[00:01:02] Name:") is passed over; a period may only close a title or an initial
/// ("Mr. Garcia", "J. Smith"), so a sentence with a colon is not a name.
pub(super) fn speaker_prefix(line: &str) -> Option<(&str, &str)> {
    let line = skip_time_stamp(line.trim_start_matches('\u{feff}').trim_start());
    let (name, rest) = line.split_once(':')?;
    let name = name.trim();
    let plausible = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '[')
        && !name.contains(['?', '!', ',', '"', '<', '>', '/'])
        && is_name(name)
        && name.split_whitespace().count() <= 5
        && (rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t'));
    plausible.then(|| (name.trim_matches(['[', ']']), rest.trim()))
}

/// The words of a speaker's name: a period only closes a title or a one-letter initial, and
/// then what follows is a capitalised name ("Mr. Garcia", "J. Smith"), so outline items
/// ("Q. What", "A. Next steps") and sentences ("Dr. Lee said") stay text.
fn is_name(name: &str) -> bool {
    let words: Vec<&str> = name.split_whitespace().collect();
    let dotted = |word: &str| match word.strip_suffix('.') {
        None => Some(false),
        Some(stem) => {
            let title = HONORIFICS.contains(&word.to_ascii_lowercase().as_str());
            let initial = stem.chars().count() == 1
                && stem.chars().all(char::is_uppercase)
                && !matches!(stem, "Q" | "A" | "I");
            (!stem.contains('.') && (title || initial)).then_some(true)
        }
    };
    let mut has_dot = false;
    for word in &words {
        match dotted(word) {
            None => return false,
            Some(dot) => has_dot |= dot,
        }
    }
    let capitalised = |word: &&str| word.chars().next().is_some_and(char::is_uppercase);
    !has_dot || (words.last().is_some_and(|w| !w.ends_with('.')) && words.iter().all(capitalised))
}

/// The line after a leading time stamp, which some exports put before the speaker's name: in
/// brackets (`[00:01:02]`, `(01:02)`), or bare with hours (`00:01:02 `); the line itself
/// otherwise, so "10:30 works: see you then" is not read as a speaker "works".
fn skip_time_stamp(line: &str) -> &str {
    let is_time = |stamp: &str, colons: usize| {
        stamp.matches(':').count() >= colons
            && stamp
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | ','))
    };
    let split = match line.chars().next() {
        Some('[') => line[1..]
            .split_once(']')
            .filter(|(stamp, _)| is_time(stamp, 1)),
        Some('(') => line[1..]
            .split_once(')')
            .filter(|(stamp, _)| is_time(stamp, 1)),
        _ => line.split_once(' ').filter(|(stamp, _)| is_time(stamp, 2)),
    };
    split.map_or(line, |(_, rest)| rest.trim_start())
}

/// The character before the milliseconds: `.` in WebVTT, `,` in SRT.
#[derive(Clone, Copy)]
struct Separator(char);
const VTT: Separator = Separator('.');
const SRT: Separator = Separator(',');

/// `hh:mm:ss.mmm` or `mm:ss.mmm` (WebVTT); `hh:mm:ss,mmm` (SRT).
fn timestamp(text: &str, separator: Separator, line: usize) -> Result<u64, ParseError> {
    // The input is not repeated: a failure reason reaches users, and the line may be speech.
    let bad = || {
        ParseError::line(
            line,
            match separator.0 {
                ',' => "invalid timestamp (expected hh:mm:ss,mmm)",
                _ => "invalid timestamp (expected hh:mm:ss.mmm or mm:ss.mmm)",
            },
        )
    };
    let (clock, millis) = text.split_once(separator.0).ok_or_else(bad)?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parts: Vec<&str> = clock.split(':').collect();
    let number = |s: &str| -> Result<u64, ParseError> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (h, m, s) = match parts.as_slice() {
        [h, m, s] => (number(h)?, number(m)?, number(s)?),
        [m, s] => (0, number(m)?, number(s)?),
        _ => return Err(bad()),
    };
    if m > 59 || s > 59 {
        return Err(bad());
    }
    Ok(((h * 60 + m) * 60 + s) * 1000 + number(millis)?)
}

/// `start --> end [settings]`.
fn timing_line(text: &str, separator: Separator, line: usize) -> Result<(u64, u64), ParseError> {
    let (start, rest) = text
        .split_once("-->")
        .ok_or_else(|| ParseError::line(line, "expected a cue timing"))?;
    let end = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| ParseError::line(line, "cue timing has no end"))?;
    let (start, end) = (
        timestamp(start.trim(), separator, line)?,
        timestamp(end, separator, line)?,
    );
    if end < start {
        return Err(ParseError::line(line, "cue ends before it starts"));
    }
    Ok((start, end))
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Removes cue tags (`<c>`, `<b>`, `<00:01.000>`, `</v>`) and returns the first voice name.
fn strip_tags(payload: &str) -> (Option<String>, String) {
    let mut voice = None;
    let mut out = String::with_capacity(payload.len());
    let mut rest = payload;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if let Some(name) = tag
            .strip_prefix('v')
            .filter(|t| t.starts_with([' ', '.', '\t']))
        {
            // `<v.loud Name>`: classes come before the first space.
            let name = name
                .split_once(char::is_whitespace)
                .map(|(_, n)| n.trim())
                .unwrap_or("");
            if voice.is_none() && !name.is_empty() {
                voice = Some(decode_entities(name));
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    (voice, decode_entities(&out))
}

/// Shared by WebVTT and SRT: adds a cue, taking the speaker from a voice tag, a "Name:" prefix,
/// or the previous cue.
struct CueSink {
    builder: TranscriptBuilder,
    last_speaker: Option<usize>,
}

impl CueSink {
    fn new(format: SourceFormat) -> Self {
        Self {
            builder: TranscriptBuilder::new(format, Timing::Utterances),
            last_speaker: None,
        }
    }

    fn cue(&mut self, start: u64, end: u64, payload_lines: &[&str]) -> Result<(), ParseError> {
        let joined = payload_lines.join(" ");
        let (voice, text) = strip_tags(&joined);
        let (speaker, text) = match (voice, speaker_prefix(&text)) {
            (Some(name), _) => (
                Some(self.builder.speaker(&name, Some(&name))?),
                text.trim().to_owned(),
            ),
            (None, Some((name, rest))) => (
                Some(self.builder.speaker(name, Some(name))?),
                rest.to_owned(),
            ),
            (None, None) => (self.last_speaker, text.trim().to_owned()),
        };
        let speaker = match speaker {
            Some(speaker) => speaker,
            None => self.builder.speaker(DEFAULT_SPEAKER, None)?,
        };
        if text.is_empty() {
            return Ok(());
        }
        self.last_speaker = Some(speaker);
        self.builder.push(speaker, start, end, &text, Vec::new());
        Ok(())
    }
}

/// Blocks of non-blank lines with the 1-based number of their first line.
fn blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut first_line = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push((first_line, std::mem::take(&mut current)));
            }
        } else {
            if current.is_empty() {
                first_line = index + 1;
            }
            current.push(line);
        }
    }
    if !current.is_empty() {
        blocks.push((first_line, current));
    }
    blocks
}

pub fn parse_vtt(text: &str) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or("");
    let signature_ok = first
        .strip_prefix("WEBVTT")
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']));
    if !signature_ok {
        return Err(ParseError::line(1, "a WebVTT file must begin with WEBVTT"));
    }
    let mut sink = CueSink::new(SourceFormat::WebVtt);
    // The first block is the header (signature and metadata lines).
    for (line, block) in blocks(text).into_iter().skip(1) {
        let head = block[0].trim_start();
        if head.starts_with("NOTE") || head == "STYLE" || head == "REGION" {
            continue;
        }
        // An optional cue identifier precedes the timing line.
        let (timing_at, timing) = if block[0].contains("-->") {
            (0, block[0])
        } else {
            match block.get(1) {
                Some(l) if l.contains("-->") => (1, *l),
                _ => return Err(ParseError::line(line, "expected a cue timing")),
            }
        };
        let (start, end) = timing_line(timing, VTT, line + timing_at)?;
        sink.cue(start, end, &block[timing_at + 1..])?;
    }
    sink.builder.finish()
}

pub fn parse_srt(text: &str) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let mut sink = CueSink::new(SourceFormat::Srt);
    for (line, block) in blocks(text.trim_start_matches('\u{feff}')) {
        let timing_at = usize::from(!block[0].contains("-->"));
        let timing = block
            .get(timing_at)
            .filter(|l| l.contains("-->"))
            .ok_or_else(|| ParseError::line(line, "expected a subtitle timing"))?;
        let (start, end) = timing_line(timing, SRT, line + timing_at)?;
        sink.cue(start, end, &block[timing_at + 1..])?;
    }
    sink.builder.finish()
}

/// "Name: text" lines; lines without a prefix continue the current speaker's turn, and a
/// "Name:" alone on a line starts a turn whose text follows.
pub fn parse_plain(text: &str) -> Result<crate::domain::transcript::Transcript, ParseError> {
    let mut builder = TranscriptBuilder::new(SourceFormat::PlainText, Timing::None);
    // The speaker of the turn in progress, and whether it has text yet.
    let mut current: Option<(usize, bool)> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match (speaker_prefix(line), current) {
            (Some((name, rest)), _) => {
                let speaker = builder.speaker(name, Some(name))?;
                builder.push(speaker, 0, 0, rest, Vec::new());
                current = Some((speaker, !rest.is_empty()));
            }
            (None, Some((_, true))) => {
                builder.extend_last(line);
            }
            (None, Some((speaker, false))) => {
                builder.push(speaker, 0, 0, line, Vec::new());
                current = Some((speaker, true));
            }
            (None, None) => return Err(ParseError::line(index + 1, "expected \"Speaker: text\"")),
        }
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_voice_tags_zoom_prefixes_ids_notes_and_styles() {
        let vtt = "\u{feff}WEBVTT Kind: captions\nLanguage: en\n\nSTYLE\n::cue { color: red }\n\nNOTE this is a comment\nspanning lines\n\ncue-1\n00:00:01.000 --> 00:00:04.500 align:start\n<v Dana Rep>Thanks for &amp; joining</v>\n\n00:04.600 --> 00:00:07.000\nSam Buyer: What does it cost?\n\n3\n00:00:07.100 --> 00:00:09.000\nand how long does <b>setup</b> take<00:00:08.000>?\n";
        let t = parse_vtt(vtt).unwrap();
        assert_eq!(t.timing, Timing::Utterances);
        let names: Vec<_> = t.speakers.iter().map(|s| s.name.clone().unwrap()).collect();
        assert_eq!(names, ["Dana Rep", "Sam Buyer"]);
        let texts: Vec<_> = t
            .utterances
            .iter()
            .map(|u| (u.speaker, u.start_ms, u.end_ms, u.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (0, 1000, 4500, "Thanks for & joining"),
                (1, 4600, 7000, "What does it cost?"),
                (1, 7100, 9000, "and how long does setup take?"),
            ]
        );
    }

    #[test]
    fn vtt_errors_name_the_line() {
        assert_eq!(
            parse_vtt("no header\n"),
            Err(ParseError::line(1, "a WebVTT file must begin with WEBVTT"))
        );
        let missing = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\njust text\nno timing\n";
        assert_eq!(
            parse_vtt(missing),
            Err(ParseError::line(6, "expected a cue timing"))
        );
        let bad_time = "WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nok\n";
        assert!(matches!(
            parse_vtt(bad_time),
            Err(ParseError::Line { line: 3, .. })
        ));
        let backwards = "WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nok\n";
        assert_eq!(
            parse_vtt(backwards),
            Err(ParseError::line(3, "cue ends before it starts"))
        );
        assert_eq!(parse_vtt("WEBVTT\n"), Err(ParseError::NoSpeech));
    }

    #[test]
    fn srt_with_and_without_indexes() {
        let srt = "1\r\n00:00:01,000 --> 00:00:02,500\r\nDana: Hi Sam\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nSam: Hello\r\nthere\r\n\r\n00:00:05,000 --> 00:00:06,000\r\nstill Sam\r\n";
        let t = parse_srt(srt).unwrap();
        assert_eq!(t.speakers.len(), 2);
        assert_eq!(t.utterances[1].text, "Hello there");
        assert_eq!(t.utterances[2].speaker, 1);
        assert_eq!(t.utterances[2].start_ms, 5000);
        assert!(matches!(
            parse_srt("1\n00:00:01,000 -> 00:00:02,000\nx\n"),
            Err(ParseError::Line { line: 1, .. })
        ));
        // SRT separates milliseconds with a comma; a dot is a WebVTT timestamp.
        assert!(matches!(
            parse_srt("1\n00:00:01,000 --> 00:00:02.000\nx\n"),
            Err(ParseError::Line { line: 2, .. })
        ));
    }

    #[test]
    fn plain_speaker_lines_and_continuations() {
        let t = parse_plain("Dana: Hi, thanks for the time.\nWe have 30 minutes.\nSam: Great.\n\nDana: First question?\nSam:\nLet me think.\n").unwrap();
        assert_eq!(t.timing, Timing::None);
        assert_eq!(t.utterances.len(), 4);
        assert_eq!(
            (t.utterances[3].speaker, t.utterances[3].text.as_str()),
            (1, "Let me think.")
        );
        assert_eq!(
            t.utterances[0].text,
            "Hi, thanks for the time. We have 30 minutes."
        );
        assert_eq!(t.utterances[2].speaker, 0);
        assert!(matches!(
            parse_plain("no speaker here\nDana: hi"),
            Err(ParseError::Line { line: 1, .. })
        ));
    }

    #[test]
    fn speaker_prefix_rejects_times_and_sentences() {
        assert_eq!(
            speaker_prefix("Dana Smith: hello"),
            Some(("Dana Smith", "hello"))
        );
        assert_eq!(speaker_prefix("[Sam]: hi"), Some(("Sam", "hi")));
        assert_eq!(speaker_prefix("10:30 works for me"), None);
        assert_eq!(speaker_prefix("see https://example.com"), None);
        assert_eq!(speaker_prefix("Well, here is the thing: pricing"), None);
        for sentence in [
            "It is done. Next: pricing",
            "10:30 works: see you then",
            "9:00 Agenda: pricing",
            "Q. What: the plan",
            "A. Next steps: send it",
            "Dr. Lee said: fine",
        ] {
            assert_eq!(speaker_prefix(sentence), None, "{sentence}");
        }
    }

    /// Every speaker shape that transcripts and note takers write, one case each.
    #[test]
    fn speaker_prefix_reads_titles_numbers_time_stamps_and_companies() {
        for (line, name) in [
            ("Mr. Garcia: We looked at it.", "Mr. Garcia"),
            ("Mrs. Okafor: Not this year.", "Mrs. Okafor"),
            ("Dr. Lee: Send it over.", "Dr. Lee"),
            ("J. Smith: Sounds fine.", "J. Smith"),
            ("Speaker 1: Hello there.", "Speaker 1"),
            ("SPEAKER_00: Hello there.", "SPEAKER_00"),
            ("[00:01:02] Priya: Can you hear me?", "Priya"),
            ("(01:02) Priya: Can you hear me?", "Priya"),
            ("00:01:02 Priya: Can you hear me?", "Priya"),
            (
                "Tom (Brightline): We use a spreadsheet.",
                "Tom (Brightline)",
            ),
        ] {
            assert_eq!(speaker_prefix(line).map(|(n, _)| n), Some(name), "{line}");
        }
        assert_eq!(
            speaker_prefix("[00:01:02] Priya: Can you hear me?").map(|(_, rest)| rest),
            Some("Can you hear me?")
        );
        let t = parse_plain("Rep: Hi, this is Ana.\nMr. Garcia: Hi Ana.\nRep: Shall we start?\n")
            .unwrap();
        assert_eq!(t.utterances.len(), 3, "each titled line is its own turn");
        assert_eq!(t.utterances[1].speaker, 1);
    }
}
