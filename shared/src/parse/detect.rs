//! What a file is, from its first bytes.

/// A transcript format is the format a parsed transcript records as its source: one enum, so
/// a format detected here and the `source_format` its parser writes cannot drift apart.
pub use crate::domain::transcript::SourceFormat as TranscriptFormat;

/// Audio and video containers we accept for transcription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Wav,
    Mp3,
    Mp4,
    WebM,
    Ogg,
    Flac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Empty,
    Audio(AudioKind),
    Transcript(TranscriptFormat),
    /// Text in UTF-16 (a byte-order mark first): refused with a reason that says so, not
    /// taken for audio (`FF FE` passes MP3's frame sync) nor for an unknown format.
    Utf16Text,
    Unknown,
}

/// How many leading bytes [`detect`] needs at most to decide for audio; text formats are
/// decided on whatever prefix is given (JSON needs its top-level keys in it).
pub const SNIFF_LEN: usize = 64 * 1024;

fn audio(bytes: &[u8]) -> Option<AudioKind> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"RIFF") && at(8, b"WAVE") {
        Some(AudioKind::Wav)
    } else if at(0, b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some(AudioKind::Mp3)
    } else if at(4, b"ftyp") {
        Some(AudioKind::Mp4)
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some(AudioKind::WebM)
    } else if at(0, b"OggS") {
        Some(AudioKind::Ogg)
    } else if at(0, b"fLaC") {
        Some(AudioKind::Flac)
    } else {
        None
    }
}

fn json_format(text: &str) -> Option<TranscriptFormat> {
    // Decided on top-level keys that only one provider writes; the full parse validates.
    let has = |needle: &str| text.contains(needle);
    if (has("\"ParticipantRole\"") || has("\"ParticipantId\"")) && has("\"Transcript\"") {
        Some(TranscriptFormat::TranscribeCallAnalytics)
    } else if has("\"results\"")
        && has("\"channels\"")
        && has("\"alternatives\"")
        && !has("\"jobName\"")
    {
        Some(TranscriptFormat::Deepgram)
    } else if has("\"results\"") && (has("\"items\"") || has("\"transcripts\"")) {
        Some(TranscriptFormat::AmazonTranscribe)
    } else {
        None
    }
}

fn looks_like_srt(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    match (lines.next(), lines.next()) {
        (Some(first), Some(second)) if first.bytes().all(|b| b.is_ascii_digit()) => {
            second.contains("-->")
        }
        (Some(first), _) => first.contains("-->") && first.contains(','),
        _ => false,
    }
}

fn looks_like_plain(text: &str) -> bool {
    text.lines()
        .take(50)
        .any(|line| super::text::speaker_prefix(line).is_some())
}

pub fn detect(bytes: &[u8]) -> Detected {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Detected::Empty;
    }
    // Before the audio check: a UTF-16LE byte-order mark looks like an MP3 frame header.
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Detected::Utf16Text;
    }
    if let Some(kind) = audio(bytes) {
        return Detected::Audio(kind);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // A prefix may end inside a multi-byte character: decide on the valid part.
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) if e.valid_up_to() > 0 && e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Detected::Unknown,
    };
    let trimmed = text.trim_start();
    let format = if trimmed.starts_with("WEBVTT") {
        Some(TranscriptFormat::WebVtt)
    } else if trimmed.starts_with('{') {
        json_format(trimmed)
    } else if looks_like_srt(trimmed) {
        Some(TranscriptFormat::Srt)
    } else if looks_like_plain(trimmed) {
        Some(TranscriptFormat::PlainText)
    } else {
        None
    };
    format.map_or(Detected::Unknown, Detected::Transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_text_is_told_apart_from_mp3() {
        let utf16le: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain("WEBVTT\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(detect(&utf16le), Detected::Utf16Text);
        let utf16be: Vec<u8> = b"\xFE\xFF"
            .iter()
            .copied()
            .chain("WEBVTT\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(detect(&utf16be), Detected::Utf16Text);
        // A real MP3 frame header still is one.
        assert_eq!(
            detect(&[0xFF, 0xFB, 0x90, 0x64, 0, 0]),
            Detected::Audio(AudioKind::Mp3)
        );
    }

    #[test]
    fn audio_by_magic_bytes_not_name() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&[0; 32]);
        assert_eq!(detect(&wav), Detected::Audio(AudioKind::Wav));
        assert_eq!(detect(b"ID3\x04\0\0\0\0"), Detected::Audio(AudioKind::Mp3));
        assert_eq!(
            detect(&[0xFF, 0xFB, 0x90, 0x00]),
            Detected::Audio(AudioKind::Mp3)
        );
        assert_eq!(
            detect(b"\0\0\0\x20ftypM4A \0\0"),
            Detected::Audio(AudioKind::Mp4)
        );
        assert_eq!(
            detect(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Detected::Audio(AudioKind::WebM)
        );
        assert_eq!(detect(b"OggS\0\x02"), Detected::Audio(AudioKind::Ogg));
        assert_eq!(detect(b"fLaC\0\0\0\x22"), Detected::Audio(AudioKind::Flac));
    }

    #[test]
    fn text_formats_by_content() {
        assert_eq!(
            detect(b"\xEF\xBB\xBFWEBVTT\n\n"),
            Detected::Transcript(TranscriptFormat::WebVtt)
        );
        assert_eq!(
            detect(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n"),
            Detected::Transcript(TranscriptFormat::Srt)
        );
        assert_eq!(
            detect(b"Dana: Hello there\nSam: Hi\n"),
            Detected::Transcript(TranscriptFormat::PlainText)
        );
        assert_eq!(
            detect(br#"{"metadata":{},"results":{"channels":[{"alternatives":[]}]}}"#),
            Detected::Transcript(TranscriptFormat::Deepgram)
        );
        assert_eq!(
            detect(br#"{"jobName":"j","results":{"transcripts":[],"items":[]}}"#),
            Detected::Transcript(TranscriptFormat::AmazonTranscribe)
        );
        assert_eq!(detect(b"   \n"), Detected::Empty);
        assert_eq!(
            detect(b"just some prose without speakers"),
            Detected::Unknown
        );
        assert_eq!(detect(&[0x00, 0x9F, 0x92, 0x96]), Detected::Unknown);
        // A name ending in .vtt means nothing: only content counts (the detector never sees names).
        assert_eq!(detect(b"%PDF-1.7"), Detected::Unknown);
    }
}
