//! What every dimension reads (the call, tokenized once) and what they add to the coaching
//! besides their scores.

use crate::domain::analysis::{
    Evidence, GoalMetric, GoalTarget, Highlight, HighlightKind, MicroGoal,
};
use crate::domain::transcript::{Transcript, Utterance};
use crate::ports::IdGenerator;
use crate::scoring::report::clock;
use crate::scoring::text::{TokenList, count_fillers};

use super::words::PAIN_WORDS;

/// Longest quote kept in a highlight (cut at a word boundary, still a substring of the text).
const MAX_QUOTE_CHARS: usize = 220;

/// The call as the dimensions read it.
pub(super) struct Scene<'a> {
    pub transcript: &'a Transcript,
    pub rep: Option<usize>,
    pub timed: bool,
}

impl<'a> Scene<'a> {
    pub fn new(transcript: &'a Transcript, rep: Option<usize>) -> Self {
        Scene {
            transcript,
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

    /// The rep's longest utterance (by time when timed, else by words), optionally only among
    /// those that ask nothing: where a talk-ratio, monologue or question suggestion points.
    pub fn longest_rep_line(&self, without_questions: bool) -> Option<&'a Utterance> {
        let utterances = self.utterances();
        (0..utterances.len())
            .filter(|&i| self.is_rep(&utterances[i]))
            .filter(|&i| !without_questions || !asks_a_question(&utterances[i].text))
            .max_by_key(|&i| {
                let u = &utterances[i];
                if self.timed {
                    u.end_ms.saturating_sub(u.start_ms)
                } else {
                    u.text.split_whitespace().count() as u64
                }
            })
            .map(|i| &utterances[i])
    }

    /// The rep's quickest reply to the customer (the one that cut in furthest, or left the
    /// shortest pause), on a timed call: where a pause or interruption suggestion points.
    pub fn quickest_rep_reply(&self) -> Option<&'a Utterance> {
        if !self.timed {
            return None;
        }
        let utterances = self.utterances();
        utterances
            .windows(2)
            .filter(|pair| !self.is_rep(&pair[0]) && self.is_rep(&pair[1]))
            .min_by_key(|pair| i128::from(pair[1].start_ms) - i128::from(pair[0].end_ms))
            .map(|pair| &pair[1])
    }

    /// The rep utterance with the most filler words.
    pub fn most_filled_rep_line(&self) -> Option<&'a Utterance> {
        let utterances = self.utterances();
        (0..utterances.len())
            .filter(|&i| self.is_rep(&utterances[i]))
            .map(|i| {
                let fillers = count_fillers(&TokenList::from_text(&utterances[i].text));
                (fillers, i)
            })
            .filter(|(fillers, _)| *fillers > 0)
            .max_by_key(|(fillers, i)| (*fillers, std::cmp::Reverse(*i)))
            .map(|(_, i)| &utterances[i])
    }

    /// The customer's first line about a problem ([`PAIN_WORDS`]).
    pub fn customer_pain(&self) -> Option<&'a Utterance> {
        self.utterances().iter().find(|u| {
            !self.is_rep(u)
                && TokenList::from_text(&u.text)
                    .iter()
                    .any(|t| PAIN_WORDS.contains(&t))
        })
    }

    /// The sentences of utterance `index`, read when a rule needs them: kept for the whole
    /// call they would cost more memory than the transcript itself.
    pub fn sentences_of(&self, index: usize) -> Vec<Sentence<'a>> {
        sentences(&self.transcript.utterances[index].text)
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

/// Whether any sentence of a text is a question: what [`Sentence::is_question`] says of
/// [`sentences`], without tokenising (a sentence has a token when it has a letter or digit).
fn asks_a_question(text: &str) -> bool {
    crate::scoring::text::sentence_spans(text)
        .map(str::trim_end)
        .any(|s| s.ends_with('?') && s.chars().any(char::is_alphanumeric))
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

    /// [`Findings::suggest_at`] citing `u`, or a plain suggestion when there is no such line.
    pub fn suggest_citing(
        &mut self,
        scene: &Scene<'_>,
        priority: u8,
        text: String,
        u: Option<&Utterance>,
    ) {
        match u {
            Some(u) => self.suggest_at(priority, text, scene.at(u), &u.text),
            None => self.suggest(priority, text),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_check_agrees_with_the_sentences() {
        for text in [
            "Who else decides? We can start Monday.",
            "We can start Monday. Who else decides?",
            "Right. ? And then.",
            "Is it 2pm?!",
            "No questions here",
            "",
            "Mr. Lee asked about it, didn't he ?",
        ] {
            let by_sentences = sentences(text).iter().any(Sentence::is_question);
            assert_eq!(asks_a_question(text), by_sentences, "{text:?}");
        }
        assert!(asks_a_question("We can start. Who else decides?"));
        assert!(!asks_a_question("We can start. ?"));
    }
}
