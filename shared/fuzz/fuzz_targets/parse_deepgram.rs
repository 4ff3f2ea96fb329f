//! Any bytes given to the Deepgram parser: a transcript or a typed error, never a panic.
#![no_main]

use callcoach_shared::parse::{TranscriptFormat, parse_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_as(TranscriptFormat::Deepgram, data);
});
