//! The memory a worst-case transcript costs, measured with a counting allocator: the largest
//! accepted file (`MAX_TRANSCRIPT_BYTES`) of short cues spread over the most speakers allowed,
//! through the copies the upload trigger and the scoring worker make. Both stay well inside a
//! 256 MB function; one speaker more than allowed is refused before any metrics exist.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use callcoach_shared::domain::playbook::{Playbook, Tracker};
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::parse::{MAX_SPEAKERS, ParseError, TranscriptFormat, parse_as};
use callcoach_shared::usecases::ingest::MAX_TRANSCRIPT_BYTES;

mod common;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counters are the process's: one test at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes allocated at the peak of `work`, above what was live before it.
fn peak_of<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let out = work();
    (PEAK.load(Ordering::SeqCst) - before, out)
}

/// A WebVTT file of `size` bytes or a little less: one short cue after another, voices
/// taking turns among `speakers`.
fn crafted_vtt(size: usize, speakers: usize) -> Vec<u8> {
    let mut vtt = String::with_capacity(size);
    vtt.push_str("WEBVTT\n\n");
    let mut n = 0usize;
    loop {
        let (s, ms) = (n / 1000, n % 1000);
        let cue = format!(
            "{:02}:{:02}:{:02}.{ms:03} --> {:02}:{:02}:{:02}.{ms:03}\n<v s{}>price ok?\n\n",
            s / 3600,
            s / 60 % 60,
            s % 60,
            s / 3600,
            s / 60 % 60,
            s % 60,
            n % speakers
        );
        if vtt.len() + cue.len() > size {
            return vtt.into_bytes();
        }
        vtt.push_str(&cue);
        n += 1;
    }
}

const MB: usize = 1024 * 1024;
/// What a 256 MB function may spend on one transcript, leaving room for the runtime, the SDK
/// and a batch's other messages.
const BUDGET: usize = 160 * MB;

#[test]
fn the_largest_accepted_transcript_fits_a_256_mb_function() {
    let _alone = alone();
    let size = MAX_TRANSCRIPT_BYTES as usize;
    let file = crafted_vtt(size, MAX_SPEAKERS);

    // Upload trigger: the bytes as read, the parse, the stored JSON and its ciphertext.
    let (ingest_peak, stored) = peak_of(|| {
        let read = file.clone();
        let transcript = parse_as(TranscriptFormat::WebVtt, &read).unwrap();
        let json = serde_json::to_vec(&transcript).unwrap();
        let ciphertext = json.clone();
        drop(transcript);
        ciphertext
    });

    // Scoring worker: the ciphertext as read, its plaintext, the transcript and the analysis,
    // with a tracker that every cue hits.
    let playbook = Playbook {
        trackers: vec![Tracker {
            name: "pricing".into(),
            phrases: vec!["price".into()],
        }],
        ..Playbook::default()
    };
    let (score_peak, hits) = peak_of(|| {
        let read = stored.clone();
        let plaintext = read.clone();
        let transcript: Transcript = serde_json::from_slice(&plaintext).unwrap();
        let analysis = common::discovery_analysis(&transcript, &playbook);
        assert_eq!(analysis.metrics.speakers.len(), MAX_SPEAKERS);
        analysis.metrics.trackers[0].at_ms.len()
    });
    println!(
        "{} MB file: upload trigger peak {} MB, scoring worker peak {} MB",
        file.len() / MB,
        ingest_peak / MB,
        score_peak / MB
    );
    assert!(
        ingest_peak < BUDGET,
        "upload trigger: {} MB",
        ingest_peak / MB
    );
    assert!(
        score_peak < BUDGET,
        "scoring worker: {} MB",
        score_peak / MB
    );
    assert_eq!(hits, callcoach_shared::scoring::MAX_TRACKER_TIMES);
}

#[test]
fn one_speaker_too_many_is_refused_with_a_reason() {
    let _alone = alone();
    let file = crafted_vtt(64 * 1024, MAX_SPEAKERS + 1);
    let (peak, parsed) = peak_of(|| parse_as(TranscriptFormat::WebVtt, &file));
    assert!(
        matches!(parsed, Err(ParseError::TooManySpeakers { max }) if max == MAX_SPEAKERS),
        "{parsed:?}"
    );
    assert_eq!(
        ParseError::TooManySpeakers { max: MAX_SPEAKERS }.to_string(),
        "the transcript has more than 100 speakers"
    );
    assert!(peak < 4 * MB, "{peak} bytes for a refusal");
}
