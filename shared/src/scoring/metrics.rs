//! The metrics engine: one pass over the utterances, linear in the number of words.
//!
//! Definitions (the README repeats them):
//! - **Turn on the floor**: consecutive utterances of one speaker; a *backchannel* by someone
//!   else (at most three acknowledgement words such as "mm-hm", "yeah, right", no question)
//!   does not end it.
//! - **Talk time** of a speaker: the sum of their utterances' durations (end - start).
//!   **Talk share**: talk time / all speakers' talk time. **Rep talk ratio**: the rep's share.
//! - **Words**: whitespace-separated tokens with letters or digits. **Speaking speed**: words
//!   per minute of the speaker's own talk time.
//! - **Longest monologue**: the longest turn on the floor (first start to last end).
//!   **Longest customer story**: the longest turn of any speaker but the rep.
//! - **Questions**: question sentences as [`count_questions`] tells them (a "?" less reported,
//!   filler and self-answered ones, plus interrogatives that lost their "?"). **Question
//!   rate**: the rep's questions per hour of call.
//! - **Interactivity**: changes of the speaker on the floor per minute of call.
//! - **Patience**: the mean pause between the end of a customer turn and the start of the rep's
//!   next turn (overlap counts as 0 ms).
//! - **Interruption**: an utterance that is not a backchannel and starts more than 300 ms before
//!   the previous floor utterance of another speaker ends; counted for the interrupter. Needs
//!   word timings: caption cue times are too coarse to tell overlaps.
//! - **Filler words**: "um", "uh", "erm", "er", "ah" (and doubled forms) and the phrases "you
//!   know", "I mean", "kind of", "sort of"; per minute of the rep's talk time.
//! - **Silence**: call duration minus the union of all utterance intervals (from 0 to the end
//!   of the last utterance). **Duration**: the end of the last utterance.
//! - **Trackers**: each playbook phrase matched case-insensitively on word boundaries; hits are
//!   timed at the first matched word (word timings) or the utterance start. Every hit counts;
//!   the times of the first [`MAX_TRACKER_TIMES`] are kept (a crafted file repeating one
//!   phrase cannot grow the list without bound).
//!
//! Time-based metrics are *unavailable* for transcripts without times, and interruptions for
//! transcripts without word timings: they are never invented. Talk shares, the rep's talk
//! ratio and monologue, and the customer's story are unavailable too when diarization put a
//! conversation on one speaker: one speaker holds over 90% of the words and answers their own
//! questions ("...does that work? Yes, Tuesday works."), at least twice.

use crate::domain::analysis::{MetricValue, Metrics, SpeakerMetrics, TrackerHit};
use crate::domain::playbook::Tracker;
use crate::domain::transcript::{Transcript, Utterance};

use super::rep::RepChoice;
use super::text::{TokenList, count_fillers, count_questions, is_backchannel, phrase_positions};

/// Overlap shorter than this is normal turn-taking, not an interruption.
pub const INTERRUPTION_TOLERANCE_MS: u64 = 300;
const UNTIMED: &str = "the transcript has no times";
const NEEDS_WORD_TIMINGS: &str = "needs word timings, which this transcript does not have";
const NO_REP: &str = "no rep speaker could be identified";

#[derive(Default, Clone)]
struct SpeakerTotals {
    talk_ms: u64,
    words: u64,
    questions: u32,
    fillers: u32,
    interruptions: u32,
    longest_turn_ms: u64,
}

struct Turn {
    speaker: usize,
    start: u64,
    end: u64,
}

fn available(value: f64) -> MetricValue {
    MetricValue::Available { value }
}

fn unavailable(reason: &str) -> MetricValue {
    MetricValue::Unavailable {
        reason: reason.to_owned(),
    }
}

fn timed_value(timed: bool, value: impl FnOnce() -> Option<f64>, missing: &str) -> MetricValue {
    if !timed {
        return unavailable(UNTIMED);
    }
    value().map_or_else(|| unavailable(missing), available)
}

fn per_minute(count: f64, ms: u64) -> Option<f64> {
    (ms > 0).then(|| count / (ms as f64 / 60_000.0))
}

/// Tokens of an utterance with the time of each (word start when timed word by word).
fn timed_tokens(u: &Utterance, word_timed: bool) -> (TokenList, Vec<u64>) {
    if word_timed && !u.words.is_empty() {
        let mut toks = TokenList::default();
        let mut times = Vec::with_capacity(u.words.len());
        for w in &u.words {
            for raw in w.text.split_whitespace() {
                if toks.push(raw) == 1 {
                    times.push(w.start_ms);
                }
            }
        }
        (toks, times)
    } else {
        let toks = TokenList::from_text(&u.text);
        let times = vec![u.start_ms; toks.len()];
        (toks, times)
    }
}

/// Hit times kept per tracker.
pub const MAX_TRACKER_TIMES: usize = 500;

struct PreparedTracker {
    name: String,
    phrases: Vec<TokenList>,
    count: u32,
    at_ms: Vec<u64>,
}

/// Over this share of the words, one speaker may be several people merged by diarization.
const ONE_VOICE_SHARE: f64 = 0.9;
/// Questions answered in the same voice that show it is several people.
const ONE_VOICE_ANSWERS: usize = 2;
const ANSWER_OPENINGS: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "sure",
    "absolutely",
    "definitely",
    "correct",
];
const MERGED_SPEAKERS: &str =
    "diarization put the conversation on one speaker: talk shares cannot be measured";

/// Whether one speaker holds nearly all words and answers their own questions.
fn one_voice_conversation(transcript: &Transcript, words: &[u64]) -> bool {
    let all: u64 = words.iter().sum();
    let Some((dominant, &most)) = words.iter().enumerate().max_by_key(|(_, w)| **w) else {
        return false;
    };
    if all == 0 || (most as f64) / (all as f64) <= ONE_VOICE_SHARE {
        return false;
    }
    let mut answered = 0;
    let mut asked = false;
    for u in transcript.utterances.iter() {
        if u.speaker != dominant {
            asked = false;
            continue;
        }
        for sentence in crate::scoring::text::sentence_spans(&u.text) {
            let first = TokenList::from_text(sentence);
            if first.len() == 0 {
                continue;
            }
            if asked && ANSWER_OPENINGS.contains(&first.get(0)) {
                answered += 1;
            }
            asked = sentence.trim_end().ends_with('?');
        }
    }
    answered >= ONE_VOICE_ANSWERS
}

/// Talk measures made unavailable: they would describe the diarization, not the people.
fn without_talk_shares(mut metrics: Metrics) -> Metrics {
    let merged = || unavailable(MERGED_SPEAKERS);
    metrics.rep_talk_ratio = merged();
    metrics.longest_rep_monologue_ms = merged();
    metrics.longest_customer_story_ms = merged();
    metrics.interactivity_switches_per_minute = merged();
    metrics.patience_ms = merged();
    for speaker in &mut metrics.speakers {
        speaker.talk_share = merged();
        speaker.longest_monologue_ms = merged();
    }
    metrics
}

pub fn compute_metrics(transcript: &Transcript, rep: &RepChoice, trackers: &[Tracker]) -> Metrics {
    let timed = transcript.has_times();
    let word_timed = transcript.has_word_timings();
    let mut totals = vec![SpeakerTotals::default(); transcript.speakers.len()];
    let mut prepared: Vec<PreparedTracker> = trackers
        .iter()
        .map(|t| PreparedTracker {
            name: t.name.clone(),
            phrases: t
                .phrases
                .iter()
                .map(|p| TokenList::from_text(p))
                .filter(|p| p.len() > 0)
                .collect(),
            count: 0,
            at_ms: Vec::new(),
        })
        .collect();

    let mut backchannels = 0u32;
    let mut floor: Option<Turn> = None;
    // The previous utterance that held the floor: (speaker, end).
    let mut last_floor_utterance: Option<(usize, u64)> = None;
    let mut switches = 0u32;
    let (mut patience_sum, mut patience_count) = (0u64, 0u32);
    let mut covered_until = 0u64;
    let mut silence = 0u64;

    let close_turn = |turn: &Turn, totals: &mut Vec<SpeakerTotals>| {
        let t = &mut totals[turn.speaker];
        t.longest_turn_ms = t.longest_turn_ms.max(turn.end - turn.start);
    };

    for (index, u) in transcript.utterances.iter().enumerate() {
        let speaker = u.speaker.min(totals.len().saturating_sub(1));
        let (toks, times) = timed_tokens(u, word_timed);
        let t = &mut totals[speaker];
        t.talk_ms += u.end_ms - u.start_ms;
        t.words += toks.len() as u64;
        t.questions += count_questions(&u.text);
        t.fillers += count_fillers(&toks);

        for tracker in &mut prepared {
            for phrase in &tracker.phrases {
                for position in phrase_positions(&toks, phrase) {
                    tracker.count += 1;
                    if timed && tracker.at_ms.len() < MAX_TRACKER_TIMES {
                        tracker.at_ms.push(times[position]);
                    }
                }
            }
        }

        silence += u.start_ms.saturating_sub(covered_until);
        covered_until = covered_until.max(u.end_ms);

        if index > 0 && is_backchannel(&u.text) {
            backchannels += 1;
            continue;
        }
        if let Some((previous_speaker, previous_end)) = last_floor_utterance
            && previous_speaker != speaker
            && u.start_ms + INTERRUPTION_TOLERANCE_MS < previous_end
        {
            totals[speaker].interruptions += 1;
        }
        last_floor_utterance = Some((speaker, u.end_ms));
        match &mut floor {
            Some(turn) if turn.speaker == speaker => turn.end = turn.end.max(u.end_ms),
            current => {
                if let Some(previous) = current.take() {
                    close_turn(&previous, &mut totals);
                    switches += 1;
                    if Some(speaker) == rep.speaker && Some(previous.speaker) != rep.speaker {
                        patience_sum += u.start_ms.saturating_sub(previous.end);
                        patience_count += 1;
                    }
                }
                *current = Some(Turn {
                    speaker,
                    start: u.start_ms,
                    end: u.end_ms,
                });
            }
        }
    }
    if let Some(turn) = &floor {
        close_turn(turn, &mut totals);
    }

    let duration = transcript.duration_ms();
    let all_talk: u64 = totals.iter().map(|t| t.talk_ms).sum();
    let rep_totals = rep.speaker.and_then(|r| totals.get(r));
    let rep_value = |f: &dyn Fn(&SpeakerTotals) -> Option<f64>| {
        timed_value(timed, || rep_totals.and_then(f), NO_REP)
    };

    let speakers = totals
        .iter()
        .enumerate()
        .map(|(i, t)| SpeakerMetrics {
            speaker: transcript.speaker_name(i).to_owned(),
            talk_time_ms: timed_value(timed, || Some(t.talk_ms as f64), UNTIMED),
            talk_share: timed_value(
                timed,
                || (all_talk > 0).then(|| t.talk_ms as f64 / all_talk as f64),
                "no talk time",
            ),
            words: t.words,
            words_per_minute: timed_value(
                timed,
                || per_minute(t.words as f64, t.talk_ms),
                "no talk time",
            ),
            longest_monologue_ms: timed_value(timed, || Some(t.longest_turn_ms as f64), UNTIMED),
            questions: t.questions,
            interruptions: if word_timed {
                available(f64::from(t.interruptions))
            } else {
                unavailable(NEEDS_WORD_TIMINGS)
            },
            filler_words: t.fillers,
        })
        .collect();

    let customer_story = totals
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != rep.speaker)
        .map(|(_, t)| t.longest_turn_ms)
        .max();

    let words: Vec<u64> = totals.iter().map(|t| t.words).collect();
    let metrics = Metrics {
        duration_ms: timed_value(timed, || Some(duration as f64), UNTIMED),
        rep_speaker: rep.speaker,
        rep_rule: rep.rule.to_owned(),
        speakers,
        rep_talk_ratio: rep_value(&|t| (all_talk > 0).then(|| t.talk_ms as f64 / all_talk as f64)),
        rep_questions: rep_totals.map_or(0, |t| t.questions),
        rep_questions_per_hour: rep_value(&|t| {
            (duration > 0).then(|| f64::from(t.questions) / (duration as f64 / 3_600_000.0))
        }),
        longest_rep_monologue_ms: rep_value(&|t| Some(t.longest_turn_ms as f64)),
        longest_customer_story_ms: timed_value(
            timed,
            || rep.speaker.and(customer_story).map(|ms| ms as f64),
            "no customer speech",
        ),
        interactivity_switches_per_minute: timed_value(
            timed,
            || per_minute(f64::from(switches), duration),
            "no call duration",
        ),
        patience_ms: timed_value(
            timed,
            || (patience_count > 0).then(|| patience_sum as f64 / f64::from(patience_count)),
            "the rep never spoke after a customer turn",
        ),
        interruptions: if word_timed {
            available(f64::from(
                totals.iter().map(|t| t.interruptions).sum::<u32>(),
            ))
        } else {
            unavailable(NEEDS_WORD_TIMINGS)
        },
        backchannels,
        rep_filler_words: rep_totals.map_or(0, |t| t.fillers),
        rep_filler_words_per_minute: rep_value(&|t| per_minute(f64::from(t.fillers), t.talk_ms)),
        rep_words_per_minute: rep_value(&|t| per_minute(t.words as f64, t.talk_ms)),
        silence_ms: timed_value(timed, || Some(silence as f64), UNTIMED),
        trackers: prepared
            .into_iter()
            .map(|t| TrackerHit {
                tracker: t.name,
                count: t.count,
                at_ms: t.at_ms,
            })
            .collect(),
    };
    if one_voice_conversation(transcript, &words) {
        without_talk_shares(metrics)
    } else {
        metrics
    }
}
