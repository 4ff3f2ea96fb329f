//! Phrase cues the coach listens for, matched in one pass over a sentence's tokens.
//!
//! A cue is written as words separated by spaces; a word may list alternatives with `|`
//! ("speak|talk with my wife|husband"). A cue that starts with `!` counts only when a negation
//! stands just before it ("!worth" matches "not worth", "isn't really worth"); any other cue
//! is cancelled by such a negation ("not too expensive", "I'm not worried"). Cues are indexed
//! by their first word's alternatives, so matching stays linear in the words of the call.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::scoring::text::{TokenList, word_hash};

/// How many words before a cue a negation still applies to it.
const NEGATION_REACH: usize = 3;

/// Words that negate what follows them (with any word ending in "n't").
const NEGATORS: &[&str] = &[
    "not", "no", "never", "nothing", "none", "nobody", "neither", "cannot", "without", "hardly",
    "nor", "dont", "cant", "wont", "isnt", "arent", "doesnt", "didnt", "wouldnt", "shouldnt",
    "couldnt", "havent", "hasnt", "wasnt", "werent", "aint",
];

pub(crate) fn is_negator(token: &str) -> bool {
    NEGATORS.contains(&token) || token.ends_with("n't") || token.ends_with("n’t")
}

/// Whether a negation stands within reach before `position`, in the same clause.
pub(crate) fn negated_before(tokens: &TokenList, position: usize) -> bool {
    let from = position
        .saturating_sub(NEGATION_REACH)
        .max(tokens.clause_start(position));
    (from..position).any(|i| is_negator(tokens.get(i)))
}

/// Cue keys are already [`word_hash`]es: the index uses them as they are.
#[derive(Default)]
struct KnownHash(u64);

impl Hasher for KnownHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u32 keys are hashed; any other write still spreads its bytes.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u32(&mut self, hash: u32) {
        self.0 = u64::from(hash);
    }
}

/// One spelling a cue word accepts, with its hash.
struct Alternative {
    hash: u32,
    text: String,
}

struct Cue<T> {
    payload: T,
    /// Alternatives for each word, tokenized like the transcript.
    words: Vec<Vec<Alternative>>,
    needs_negation: bool,
}

impl<T> Cue<T> {
    fn matches_at(&self, tokens: &TokenList, at: usize) -> bool {
        at + self.words.len() <= tokens.len()
            && self.words.iter().enumerate().all(|(k, alternatives)| {
                let hash = tokens.hash(at + k);
                alternatives
                    .iter()
                    .any(|a| a.hash == hash && a.text == tokens.get(at + k))
            })
    }
}

/// A set of cues, each with what it means.
pub(crate) struct CueSet<T> {
    cues: Vec<Cue<T>>,
    /// Cue indexes by the hash of each alternative of their first word.
    by_first_word: HashMap<u32, Vec<usize>, BuildHasherDefault<KnownHash>>,
}

/// One cue found in a sentence.
pub(crate) struct CueMatch<'a, T> {
    pub payload: &'a T,
    pub position: usize,
}

impl<T: Copy> CueSet<T> {
    pub fn new(groups: &[(T, &[&str])]) -> Self {
        let mut set = CueSet {
            cues: Vec::new(),
            by_first_word: HashMap::default(),
        };
        for (payload, phrases) in groups {
            for phrase in *phrases {
                set.add(*payload, phrase);
            }
        }
        set
    }

    fn add(&mut self, payload: T, phrase: &str) {
        let (needs_negation, phrase) = match phrase.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, phrase),
        };
        let words: Vec<Vec<Alternative>> = phrase
            .split_whitespace()
            .map(|word| {
                word.split('|')
                    .map(|alternative| TokenList::from_text(alternative).iter().collect::<String>())
                    .filter(|text| !text.is_empty())
                    .map(|text| Alternative {
                        hash: word_hash(&text),
                        text,
                    })
                    .collect()
            })
            .filter(|alternatives: &Vec<Alternative>| !alternatives.is_empty())
            .collect();
        let Some(first) = words.first() else {
            return;
        };
        let index = self.cues.len();
        for alternative in first {
            self.by_first_word
                .entry(alternative.hash)
                .or_default()
                .push(index);
        }
        self.cues.push(Cue {
            payload,
            words,
            needs_negation,
        });
    }
}

impl<T> CueSet<T> {
    /// Every cue that holds in `tokens` (one sentence), in the order of their positions.
    pub fn find<'a>(&'a self, tokens: &'a TokenList) -> impl Iterator<Item = CueMatch<'a, T>> {
        (0..tokens.len()).flat_map(move |at| {
            self.by_first_word
                .get(&tokens.hash(at))
                .into_iter()
                .flatten()
                .map(|&index| &self.cues[index])
                .filter(move |cue| {
                    cue.matches_at(tokens, at) && cue.needs_negation == negated_before(tokens, at)
                })
                .map(move |cue| CueMatch {
                    payload: &cue.payload,
                    position: at,
                })
        })
    }

    /// Whether any cue holds in `tokens`.
    pub fn any(&self, tokens: &TokenList) -> bool {
        self.find(tokens).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(set: &CueSet<u8>, text: &str) -> Vec<u8> {
        let tokens = TokenList::from_text(text);
        set.find(&tokens).map(|m| *m.payload).collect()
    }

    #[test]
    fn alternatives_negation_and_cancelled_cues() {
        let set = CueSet::new(&[
            (1, &["speak|talk with my wife|boss"][..]),
            (2, &["expensive", "don't like"][..]),
            (3, &["!worth"][..]),
        ]);
        assert_eq!(found(&set, "I'd like to talk with my boss first"), [1]);
        assert_eq!(found(&set, "It's expensive."), [2]);
        assert_eq!(found(&set, "It's not too expensive."), Vec::<u8>::new());
        assert_eq!(found(&set, "I don't like the noise"), [2]);
        assert_eq!(found(&set, "It's totally not worth it"), [3]);
        assert_eq!(found(&set, "It is worth it"), Vec::<u8>::new());
        assert_eq!(found(&set, "It isn't really worth the money"), [3]);
        // A negation ends with its clause; typographic apostrophes read as plain ones.
        assert_eq!(found(&set, "No, it's expensive."), [2]);
        assert_eq!(found(&set, "No, it is worth it"), Vec::<u8>::new());
        assert_eq!(found(&set, "I don’t like the noise"), [2]);
    }
}
