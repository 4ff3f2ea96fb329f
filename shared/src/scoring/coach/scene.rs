//! What every dimension reads (the call, tokenized once) and what they add to the coaching
//! besides their scores.

use crate::domain::analysis::{
    Evidence, GoalMetric, GoalTarget, Highlight, HighlightKind, MicroGoal,
};
use crate::domain::transcript::{Transcript, Utterance};
use crate::ports::IdGenerator;
use crate::scoring::report::clock;
use crate::scoring::text::TokenList;

/// Longest quote kept in a highlight (cut at a word boundary, still a substring of the text).
const MAX_QUOTE_CHARS: usize = 220;

/// The call as the dimensions read it.
pub(super) struct Scene<'a> {
    pub transcript: &'a Transcript,
    /// The tokens of each utterance, in order.
    pub tokens: Vec<TokenList>,
    pub rep: Option<usize>,
    pub timed: bool,
}

impl<'a> Scene<'a> {
    pub fn new(transcript: &'a Transcript, rep: Option<usize>) -> Self {
        Scene {
            transcript,
            tokens: transcript
                .utterances
                .iter()
                .map(|u| TokenList::from_text(&u.text))
                .collect(),
            rep,
            timed: transcript.has_times(),
        }
    }

    pub fn utterances(&self) -> &'a [Utterance] {
        &self.transcript.utterances
    }

    /// Where evidence about `u` points: its start, when the transcript has times.
    pub fn at(&self, u: &Utterance) -> Option<u64> {
        self.timed.then_some(u.start_ms)
    }

    pub fn is_rep(&self, u: &Utterance) -> bool {
        Some(u.speaker) == self.rep
    }
}

/// One sentence of an utterance: its text (a substring of the utterance, for quotes) and
/// tokens.
pub(super) struct Sentence<'a> {
    pub text: &'a str,
    pub tokens: TokenList,
}

impl Sentence<'_> {
    pub fn is_question(&self) -> bool {
        self.text.trim_end().ends_with('?')
    }
}

/// The sentences of a text, split after `.`, `?` and `!`; empty ones are dropped.
pub(super) fn sentences(text: &str) -> Vec<Sentence<'_>> {
    crate::scoring::text::sentence_spans(text)
        .map(str::trim)
        .map(|text| Sentence {
            text,
            tokens: TokenList::from_text(text),
        })
        .filter(|s| s.tokens.len() > 0)
        .collect()
}

/// A dimension's score (0-100, not yet rounded) and the evidence behind it.
pub(super) struct Scored {
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

/// A goal a dimension proposes; the weakest parts' goals are kept.
pub(super) struct GoalCandidate {
    /// The score of the part it came from: lower is more urgent.
    pub priority: u8,
    pub description: String,
    pub metric: GoalMetric,
    pub target: GoalTarget,
}

impl GoalCandidate {
    pub fn into_goal<I: IdGenerator>(self, ids: &I) -> MicroGoal {
        MicroGoal {
            goal_id: ids.mint(),
            description: self.description,
            metric: self.metric,
            target: self.target,
        }
    }
}

/// What the dimensions add besides their scores, in the order they found it.
#[derive(Default)]
pub(super) struct Findings {
    pub highlights: Vec<Highlight>,
    /// Each with the score of the part it came from: lower is more urgent.
    pub suggestions: Vec<(u8, String)>,
    pub goals: Vec<GoalCandidate>,
}

impl Findings {
    pub fn suggest(&mut self, priority: u8, text: String) {
        self.suggestions.push((priority, text));
    }

    pub fn propose_goal(
        &mut self,
        priority: u8,
        description: String,
        metric: GoalMetric,
        target: GoalTarget,
    ) {
        self.goals.push(GoalCandidate {
            priority,
            description,
            metric,
            target,
        });
    }

    /// A suggestion that cites its evidence: where in the call (when it has times) and what
    /// was said.
    pub fn suggest_at(&mut self, priority: u8, text: String, at_ms: Option<u64>, said: &str) {
        let place = at_ms
            .map(|ms| format!("at {}, ", clock(ms)))
            .unwrap_or_default();
        self.suggestions
            .push((priority, format!("{text} ({place}\"{}\")", quote(said))));
    }

    /// A highlight at `u` with a quote of part of it.
    pub fn highlight_quote<I: IdGenerator>(
        &mut self,
        ids: &I,
        kind: HighlightKind,
        u: &Utterance,
        said: &str,
        note: String,
    ) {
        self.highlights.push(Highlight {
            highlight_id: ids.mint(),
            kind,
            at_ms: u.start_ms,
            quote: quote(said),
            note,
        });
    }

    /// A highlight at `u`, quoting it.
    pub fn highlight<I: IdGenerator>(
        &mut self,
        ids: &I,
        kind: HighlightKind,
        u: &Utterance,
        note: String,
    ) {
        self.highlights.push(Highlight {
            highlight_id: ids.mint(),
            kind,
            at_ms: u.start_ms,
            quote: quote(&u.text),
            note,
        });
    }
}

/// The text, or its beginning cut at the last sentence end (else word) within the limit. Always
/// a substring of `text`, so quotes can be checked against the transcript.
pub(super) fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTE_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_QUOTE_CHARS).collect();
    let sentence_end = cut
        .rfind(['.', '?', '!'])
        .filter(|&i| i > MAX_QUOTE_CHARS / 3);
    match (sentence_end, cut.rfind(' ')) {
        (Some(end), _) => cut[..=end].to_owned(),
        (None, Some(space)) if space > 0 => cut[..space].to_owned(),
        _ => cut,
    }
}

pub(super) fn clamp_score(value: f64) -> u8 {
    value.round().clamp(0.0, 100.0) as u8
}

pub(super) fn evidence(description: String, at_ms: Option<u64>) -> Evidence {
    Evidence { description, at_ms }
}
