//! Media files as uploads carry them.

/// A well-formed WAV header (PCM, mono, 8 kHz, 16-bit) followed by `silence` zero bytes: the
/// upload trigger sniffs the magic bytes, and a provider gets something to fetch.
pub fn wav_recording(silence: usize) -> Vec<u8> {
    let mut wav = b"RIFF\x24\x10\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x10\x00\x00".to_vec();
    wav.extend(std::iter::repeat_n(0u8, silence));
    wav
}
