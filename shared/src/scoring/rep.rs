//! Which transcript speaker is the rep.
//!
//! The rule, in order: (1) the speaker the user set on the call (`rep_speaker`, matched to a
//! label or name); (2) a speaker whose name matches the rep's name (case-insensitive, whole name
//! or first name); (3) a seller's role in the speaker's label (`AGENT` in Transcribe Call
//! Analytics output, "agent", "rep", "sales", "AE", "SDR", "host" ...), or, when one speaker is
//! labelled as the customer ("customer", "caller", "client", "prospect" ...), the one other
//! speaker with a real label; (4) the speaker who introduces themselves as the seller ("thank
//! you for calling", "my name is ... and I'll be assisting you", "this is ... from ..."); (5)
//! the speaker who acts as the seller: of the two who talk most, the one who asks the other
//! more questions and presents the offer ("we offer", "the price is", "I'll send you"), when
//! the other sounds like the buyer or the lead is clear; (6) otherwise the first speaker to
//! talk whose label is not `unknown`, since the rep usually opens a sales call. Each rule
//! carries a confidence; under [`UNSURE_BELOW`] the analysis says the rep is unsure instead of
//! coaching the wrong person as if it were sure. The user can always correct it and re-score
//! without re-transcribing.

use crate::domain::transcript::Transcript;
use crate::scoring::cues::CueSet;
use crate::scoring::text::{TokenList, sentence_spans};

/// A rep chosen with less confidence than this is reported as unsure.
pub const UNSURE_BELOW: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct RepChoice {
    pub speaker: Option<usize>,
    pub rule: &'static str,
    /// 0-1, fixed per rule: how far the rule can be trusted.
    pub confidence: f64,
}

impl RepChoice {
    pub fn is_unsure(&self) -> bool {
        self.confidence < UNSURE_BELOW
    }
}

fn same_name(candidate: &str, wanted: &str) -> bool {
    let (c, w) = (
        candidate.trim().to_lowercase(),
        wanted.trim().to_lowercase(),
    );
    !w.is_empty() && (c == w || c.split_whitespace().next() == w.split_whitespace().next())
}

pub fn choose_rep(
    transcript: &Transcript,
    override_speaker: Option<&str>,
    rep_name: Option<&str>,
) -> RepChoice {
    let find = |wanted: &str, exact: bool| {
        transcript.speakers.iter().position(|s| {
            let name = s.name.as_deref().unwrap_or("");
            if exact {
                s.label == wanted || name == wanted
            } else {
                same_name(name, wanted) || same_name(&s.label, wanted)
            }
        })
    };
    if let Some(index) = override_speaker.and_then(|o| find(o, true).or_else(|| find(o, false))) {
        return RepChoice {
            speaker: Some(index),
            rule: "set by the user",
            confidence: 1.0,
        };
    }
    if let Some(index) = rep_name.and_then(|n| find(n, false)) {
        return RepChoice {
            speaker: Some(index),
            rule: "speaker name matches the rep",
            confidence: 0.95,
        };
    }
    if let Some(index) = by_role(transcript) {
        return RepChoice {
            speaker: Some(index),
            rule: "the speaker's role label",
            confidence: 0.9,
        };
    }
    if let Some(index) = by_introduction(transcript) {
        return RepChoice {
            speaker: Some(index),
            rule: "the speaker who introduced themselves as the seller",
            confidence: 0.85,
        };
    }
    if let Some(index) = by_conduct(transcript) {
        return RepChoice {
            speaker: Some(index),
            rule: "the speaker who asks the questions and presents the offer",
            confidence: 0.7,
        };
    }
    let labelled = |u: &&crate::domain::transcript::Utterance| {
        !is_unknown(&transcript.speakers[u.speaker].label)
    };
    let first = transcript.utterances.iter().find(labelled);
    RepChoice {
        speaker: first.or(transcript.utterances.first()).map(|u| u.speaker),
        rule: "the first speaker (default rule)",
        confidence: 0.4,
    }
}

/// Label words that name the seller's side of a call.
const SELLER_ROLES: &[&str] = &[
    "agent",
    "rep",
    "representative",
    "sales",
    "salesperson",
    "seller",
    "ae",
    "sdr",
    "bdr",
    "host",
    "advisor",
    "consultant",
    "counselor",
];

/// Label words that name the customer's side.
const CUSTOMER_ROLES: &[&str] = &[
    "customer",
    "caller",
    "client",
    "prospect",
    "buyer",
    "lead",
    "guest",
    "homeowner",
];

/// Phrases with which a seller opens or introduces themselves.
const SELLER_INTRODUCTIONS: &[&str] = &[
    "thank you for calling",
    "thanks for calling",
    "thank you for contacting",
    "i'll be assisting you",
    "i will be assisting you",
    "how can i help you today",
    "how may i help you",
    "reaching out from",
];

/// The role a label names: the whole label without numbers ("Agent 2", "SPEAKER_AGENT" is
/// not one), or its part in parentheses ("Dana (Sales)"); a role word inside a name or a
/// title ("Dana, VP Sales") is not read as the speaker's side.
fn label_role(label: &str) -> Option<String> {
    let role_of = |text: &str| {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        (words.len() == 1).then(|| words[0].clone())
    };
    match label.split_once('(') {
        Some((_, inside)) => role_of(inside.trim_end_matches(')')),
        None => role_of(label),
    }
}

fn is_unknown(label: &str) -> bool {
    let label = label.trim().to_lowercase();
    label.is_empty() || label == "unknown" || label == "unk"
}

/// The seller by label: a seller's role word, or the one labelled speaker facing a customer.
fn by_role(transcript: &Transcript) -> Option<usize> {
    let has_role = |index: usize, roles: &[&str]| {
        label_role(&transcript.speakers[index].label).is_some_and(|r| roles.contains(&r.as_str()))
    };
    let speakers = 0..transcript.speakers.len();
    if let Some(seller) = speakers.clone().find(|&i| has_role(i, SELLER_ROLES)) {
        return Some(seller);
    }
    if !speakers.clone().any(|i| has_role(i, CUSTOMER_ROLES)) {
        return None;
    }
    let mut others = speakers
        .filter(|&i| !has_role(i, CUSTOMER_ROLES) && !is_unknown(&transcript.speakers[i].label));
    match (others.next(), others.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// The first speaker to introduce themselves as the seller: a seller's opening phrase, or
/// "this is NAME from COMPANY" / "my name is NAME ... from".
fn by_introduction(transcript: &Transcript) -> Option<usize> {
    transcript.utterances.iter().take(12).find_map(|u| {
        let text = u.text.to_lowercase();
        let introduces = SELLER_INTRODUCTIONS.iter().any(|p| text.contains(p))
            || ((text.contains("this is ") || text.contains("my name is "))
                && text.contains(" from "));
        introduces.then_some(u.speaker)
    })
}

/// What a seller says when presenting: the offer, its price, what they will do.
const SELLER_CONDUCT: &[&str] = &[
    "we offer",
    "we provide",
    "we can offer",
    "the price is",
    "financing",
    "warranty",
    "i'll send you",
    "i will send you",
    "i can get you",
    "i recommend",
    "i would recommend",
    "we recommend",
];

/// What a buyer says: their home, family, account, or asking what it costs.
const BUYER_CONDUCT: &[&str] = &[
    "my wife",
    "my husband",
    "my house",
    "my home",
    "my account",
    "how much is",
    "how much does",
    "how much would",
    "can you send me",
    "send me",
    "email me",
    "i'm looking for",
    "we're looking for",
];

/// A lead in conduct this large picks the seller.
const CONDUCT_LEAD: i64 = 3;

/// Of the two speakers who say the most words, the one who acts as the seller: questions
/// to the other ("...you...?") and seller's phrases count for a speaker, buyer's phrases
/// against (whole words: "send me" is not "send messages"). `None` unless one leads clearly.
fn by_conduct(transcript: &Transcript) -> Option<usize> {
    static CONDUCT: std::sync::LazyLock<CueSet<i64>> =
        std::sync::LazyLock::new(|| CueSet::new(&[(2, SELLER_CONDUCT), (-2, BUYER_CONDUCT)]));
    let mut words = vec![0usize; transcript.speakers.len()];
    let mut conduct = vec![0i64; transcript.speakers.len()];
    for u in &transcript.utterances {
        let Some(speaker) = words.get_mut(u.speaker) else {
            continue;
        };
        for sentence in sentence_spans(&u.text) {
            let tokens = TokenList::from_text(sentence);
            *speaker += tokens.len();
            let asks_the_other = sentence.trim_end().ends_with('?')
                && tokens.iter().any(|w| matches!(w, "you" | "your"));
            conduct[u.speaker] +=
                i64::from(asks_the_other) + CONDUCT.find(&tokens).map(|m| *m.payload).sum::<i64>();
        }
    }
    let mut by_words: Vec<usize> = (0..words.len()).filter(|&i| words[i] > 0).collect();
    by_words.sort_by_key(|&i| std::cmp::Reverse(words[i]));
    let (&first, &second) = (by_words.first()?, by_words.get(1)?);
    let lead = conduct[first] - conduct[second];
    if lead >= CONDUCT_LEAD {
        Some(first)
    } else if -lead >= CONDUCT_LEAD {
        Some(second)
    } else {
        None
    }
}
