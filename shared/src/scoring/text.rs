//! Word-level text helpers shared by the metrics and the coach.

fn trim_token(raw: &str) -> &str {
    let bytes = raw.as_bytes();
    // Most words start and end with an ASCII letter or digit: nothing to trim, no decoding.
    let alphanumeric = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    if alphanumeric(bytes.first()) && alphanumeric(bytes.last()) {
        return raw;
    }
    raw.trim_matches(|c: char| !c.is_alphanumeric())
}

/// Whether a raw word closes a clause (`,` `;` `:` or a dash after it).
fn ends_clause(raw: &str) -> bool {
    match raw.as_bytes().last() {
        Some(b',' | b';' | b':') => true,
        Some(b) if b.is_ascii() => false,
        _ => raw.ends_with(['\u{2014}', '\u{2013}']),
    }
}

/// Lowercase word tokens of a text, with surrounding punctuation removed (apostrophes and
/// hyphens inside a word are kept: "don't", "mm-hm"; typographic apostrophes become "'", so
/// "don’t" is "don't"). One buffer for all tokens: no allocation per word, which keeps a long
/// call's analysis linear in time as well as in work. It also notes where clauses start (after
/// a word ending in `,` `;` `:` or a dash, and at "but"), so a negation in one clause does not
/// reach into the next ("No, it's too expensive").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenList {
    buf: String,
    ends: Vec<u32>,
    /// [`word_hash`] of each token: cue lookups compare these before any text.
    hashes: Vec<u32>,
    clause_starts: Vec<u32>,
    clause_pending: bool,
}

impl TokenList {
    pub fn from_text(text: &str) -> Self {
        // About one token per six bytes of conversation: sized once, grown rarely.
        let tokens = text.len() / 6 + 1;
        let mut list = TokenList {
            buf: String::with_capacity(text.len()),
            ends: Vec::with_capacity(tokens),
            hashes: Vec::with_capacity(tokens),
            ..TokenList::default()
        };
        for raw in text.split_whitespace() {
            list.push(raw);
        }
        list
    }

    /// Adds the tokens of one raw word; returns how many were added (0 or 1).
    pub fn push(&mut self, raw: &str) -> usize {
        let trimmed = trim_token(raw);
        let ends_clause = ends_clause(raw);
        if trimmed.is_empty() {
            self.clause_pending |= ends_clause || raw.starts_with(['\u{2014}', '-']);
            return 0;
        }
        let start = self.buf.len();
        if trimmed.is_ascii() {
            self.buf.push_str(trimmed);
            self.buf[start..].make_ascii_lowercase();
        } else {
            self.buf.extend(
                trimmed
                    .chars()
                    .map(|c| match c {
                        '\u{2019}' | '\u{2018}' | '\u{02bc}' => '\'',
                        other => other,
                    })
                    .flat_map(char::to_lowercase),
            );
        }
        let index = self.ends.len() as u32;
        self.hashes.push(word_hash(&self.buf[start..]));
        self.ends.push(self.buf.len() as u32);
        if index > 0 && (self.clause_pending || &self.buf[start..] == "but") {
            self.clause_starts.push(index);
        }
        self.clause_pending = ends_clause;
        1
    }

    /// The first token of the clause that holds token `i`.
    pub fn clause_start(&self, i: usize) -> usize {
        self.clause_starts
            .iter()
            .rev()
            .map(|&s| s as usize)
            .find(|&s| s <= i)
            .unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The [`word_hash`] of token `i`.
    #[inline]
    pub fn hash(&self, i: usize) -> u32 {
        self.hashes[i]
    }

    pub fn contains(&self, word: &str) -> bool {
        let hash = word_hash(word);
        (0..self.len()).any(|i| self.hashes[i] == hash && self.get(i) == word)
    }
}

/// FNV-1a of a token's text: computed once per word as it is read, so the coach's many cue
/// lists compare numbers, not strings, on every word of the call. The hashed words are only
/// compared with our own fixed lists (equal hashes are confirmed on the text), so no input can
/// make a collision matter. Folded to 32 bits: four bytes a word of a long call is memory
/// the scoring worker has to spare.
pub(crate) fn word_hash(word: &str) -> u32 {
    let hash = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash ^ (hash >> 32)) as u32
}

/// Words ending in "." that do not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "vs", "etc", "jr", "sr", "prof", "approx", "no", "e.g", "i.e",
];

/// The sentences of a text, each with its closing punctuation: a sentence ends at `.`, `?` or
/// `!` (and any run of them) followed by a space or the end, except after an abbreviation
/// ("Mr.", "Dr."), a single letter ("p.m.", "J. Smith") or inside a number ("3.5").
pub(crate) fn sentence_spans(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if !matches!(b, b'.' | b'?' | b'!') {
                continue;
            }
            while i < bytes.len() && matches!(bytes[i], b'.' | b'?' | b'!') {
                i += 1;
            }
            if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                continue;
            }
            let piece = &text[start..i];
            if piece.ends_with('.') && !piece.ends_with("..") {
                let word = piece[..piece.len() - 1]
                    .rsplit(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .trim_start_matches(|c: char| !c.is_alphanumeric())
                    .to_ascii_lowercase();
                let letters = word.trim_end_matches('.');
                if letters.chars().count() == 1 && letters.chars().all(char::is_alphabetic)
                    || ABBREVIATIONS.contains(&word.as_str())
                    || word.split('.').all(|part| part.chars().count() == 1) && word.contains('.')
                {
                    continue;
                }
            }
            start = i;
            return Some(piece);
        }
        if start < bytes.len() {
            let piece = &text[start..];
            start = bytes.len();
            return Some(piece);
        }
        None
    })
}

/// Words that ask the other side.
const ADDRESSEE_WORDS: &[&str] = &["you", "your", "you're", "you've", "yours", "u", "ya"];
/// A question about "we" or "I" without asking the other side, in the middle of a turn that
/// goes on, is the speaker's own ("so how do we fix that?") and answered by them.
const SPEAKER_WORDS: &[&str] = &["we", "i", "us", "our", "my", "me"];
/// A question this short that names no one ("Who else decides?") is still asked.
const SHORT_QUESTION_WORDS: usize = 5;
/// Reported questions ("you may ask, what is a good score?") are not asked.
const REPORTED_ASKS: &[[&str; 2]] = &[
    ["may", "ask"],
    ["might", "ask"],
    ["will", "ask"],
    ["can", "ask"],
    ["ask", "me"],
];
/// Tags that turn a statement into a question ("..., right?").
const QUESTION_TAGS: &[&str] = &["right", "ok", "okay", "correct", "yeah", "no", "yes", "huh"];
/// Openings of a question that speech-to-text often ends without a "?".
const INTERROGATIVE_OPENINGS: &[[&str; 2]] = &[
    ["are", "you"],
    ["do", "you"],
    ["did", "you"],
    ["have", "you"],
    ["can", "you"],
    ["could", "you"],
    ["would", "you"],
    ["will", "you"],
    ["is", "that"],
    ["does", "that"],
    ["is", "it"],
    ["what", "do"],
    ["how", "do"],
    ["how", "many"],
    ["how", "much"],
    ["is", "there"],
    ["are", "there"],
    ["can", "i"],
    ["should", "we"],
];
/// Words a question may open with before its interrogative ("so, are you ...").
const LEAD_INS: &[&str] = &[
    "so", "and", "okay", "ok", "um", "uh", "but", "now", "then", "also",
];
/// A question followed by this many more words of the same turn may be self-answered.
const SELF_ANSWER_WORDS: usize = 8;
/// Fillers shaped like questions ("you know what?").
const FILLER_QUESTIONS: &[&str] = &[
    "you know what",
    "you know",
    "guess what",
    "who knows",
    "hello",
];

/// The question sentences of one turn: those ending in "?" ("??" counts once), less reported
/// ones ("you may ask, ...?"), the speaker's own (not asking "you", with no tag, about "we"
/// or "I" or longer than a short direct question, and the turn goes on at length: rhetorical
/// or self-answered) and fillers ("you know what?"); plus sentences that open as a question
/// ("are you ...", "how many ...") but lost their "?" in transcription.
pub(crate) fn count_questions(text: &str) -> u32 {
    let sentences: Vec<&str> = sentence_spans(text)
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect();
    let lengths: Vec<usize> = sentences
        .iter()
        .map(|s| s.split_whitespace().count())
        .collect();
    // Words after each sentence, from the end: one pass, so a long turn stays linear.
    let mut after = vec![0usize; sentences.len()];
    for i in (0..sentences.len().saturating_sub(1)).rev() {
        after[i] = after[i + 1] + lengths[i + 1];
    }
    let mut count = 0;
    for (i, sentence) in sentences.iter().enumerate() {
        if sentence.ends_with('?') {
            let tokens = TokenList::from_text(sentence);
            let words: Vec<&str> = tokens.iter().collect();
            if words.len() <= 3 && FILLER_QUESTIONS.contains(&words.join(" ").as_str()) {
                continue;
            }
            let reported = words
                .windows(2)
                .any(|pair| REPORTED_ASKS.iter().any(|[a, b]| pair == [*a, *b]));
            let own = !words.iter().any(|w| ADDRESSEE_WORDS.contains(w))
                && !words.last().is_some_and(|w| QUESTION_TAGS.contains(w))
                && (words.len() > SHORT_QUESTION_WORDS
                    || words.iter().any(|w| SPEAKER_WORDS.contains(w)));
            let self_answered = own && after[i] >= SELF_ANSWER_WORDS;
            if !reported && !self_answered {
                count += 1;
            }
        } else if !sentence.ends_with('!') && lengths[i] >= 4 && opens_as_question(sentence) {
            count += 1;
        }
    }
    count
}

/// Whether a sentence opens like a question ("so, are you ..."): only its first words are read.
fn opens_as_question(sentence: &str) -> bool {
    let mut words = sentence
        .split_whitespace()
        .map(|w| trim_token(w).to_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .skip_while(|w| LEAD_INS.contains(&w.as_str()));
    match (words.next(), words.next()) {
        (Some(a), Some(b)) => INTERROGATIVE_OPENINGS
            .iter()
            .any(|[x, y]| a == *x && b == *y),
        _ => false,
    }
}

const BACKCHANNEL_WORDS: &[&str] = &[
    "mm",
    "mhm",
    "mm-hm",
    "mm-hmm",
    "mmhmm",
    "hmm",
    "uh-huh",
    "huh",
    "yeah",
    "yep",
    "yes",
    "right",
    "okay",
    "ok",
    "sure",
    "got",
    "it",
    "i",
    "see",
    "true",
    "exactly",
    "absolutely",
    "cool",
    "great",
    "nice",
    "wow",
    "oh",
    "ah",
    "totally",
    "definitely",
    "correct",
    "perfect",
];

/// At most three words, all acknowledgements, and not a question: "mm-hm", "yeah, right".
pub(crate) fn is_backchannel(text: &str) -> bool {
    if text.contains('?') {
        return false;
    }
    let mut count = 0;
    for token in text
        .split_whitespace()
        .map(trim_token)
        .filter(|t| !t.is_empty())
    {
        count += 1;
        if count > 3
            || !BACKCHANNEL_WORDS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(token))
        {
            return false;
        }
    }
    count > 0
}

const FILLERS: &[&str] = &["um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "ahh"];
const FILLER_PHRASES: &[[&str; 2]] = &[
    ["you", "know"],
    ["i", "mean"],
    ["kind", "of"],
    ["sort", "of"],
];

/// Filler words: single fillers ("um", "uh", ...) and the phrases "you know", "I mean",
/// "kind of", "sort of" (each phrase counts once).
pub(crate) fn count_fillers(tokens: &TokenList) -> u32 {
    let mut count = 0;
    let mut i = 0;
    while i < tokens.len() {
        if FILLERS.contains(&tokens.get(i)) {
            count += 1;
        } else if i + 1 < tokens.len()
            && FILLER_PHRASES
                .iter()
                .any(|[a, b]| tokens.get(i) == *a && tokens.get(i + 1) == *b)
        {
            count += 1;
            i += 1;
        }
        i += 1;
    }
    count
}

/// Positions where `phrase` (already tokenized) occurs in `tokens` on word boundaries.
pub(crate) fn phrase_positions<'a>(
    tokens: &'a TokenList,
    phrase: &'a TokenList,
) -> impl Iterator<Item = usize> + 'a {
    let n = phrase.len();
    (0..tokens.len().saturating_sub(n.saturating_sub(1))).filter(move |&i| {
        n > 0
            && (0..n).all(|k| tokens.hash(i + k) == phrase.hash(k))
            && (0..n).all(|k| tokens.get(i + k) == phrase.get(k))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> TokenList {
        TokenList::from_text(text)
    }

    #[test]
    fn questions_fillers_backchannels() {
        assert_eq!(count_questions("Why now? And who decides?? Okay."), 2);
        // Self-answered: no "you" and the turn goes on; a tag counts; a lost "?" counts.
        assert_eq!(
            count_questions(
                "So how do we fix that? We start with the basics and then move to the harder parts of it. It works, right? Are you familiar with the goal."
            ),
            2
        );
        assert_eq!(count_questions("You know what? Do you like it?"), 1);
        assert_eq!(
            count_questions("So are you free on the weekends. You know?"),
            1
        );
        // um, you know, uh, kind of, I mean
        assert_eq!(
            count_fillers(&toks("Um, so, you know, it's, uh, kind of big. I mean it.")),
            5
        );
        assert!(is_backchannel("Mm-hm."));
        assert!(is_backchannel("Yeah, right"));
        assert!(!is_backchannel("Yeah, but the price"));
        assert!(!is_backchannel("Right?"));
        assert!(!is_backchannel("..."));
    }

    #[test]
    fn sentences_end_at_their_punctuation_not_at_abbreviations_or_numbers() {
        let spans: Vec<&str> = sentence_spans(
            "Mr. Garcia called at 2 p.m. today. It costs 3.5 thousand?! Yes... Done",
        )
        .map(str::trim)
        .collect();
        assert_eq!(
            spans,
            [
                "Mr. Garcia called at 2 p.m. today.",
                "It costs 3.5 thousand?!",
                "Yes...",
                "Done"
            ]
        );
    }

    #[test]
    fn phrases_match_on_word_boundaries_only() {
        let t = toks("Pricing? We compared Acme pricing to acmeCorp pricing.");
        let p = toks("acme pricing");
        assert_eq!(phrase_positions(&t, &p).collect::<Vec<_>>(), [3]);
        assert_eq!(phrase_positions(&t, &toks("pricing")).count(), 3);
        assert_eq!(phrase_positions(&t, &TokenList::default()).count(), 0);
    }
}
