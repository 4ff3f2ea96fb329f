//! Word-level text helpers shared by the metrics and the coach.

/// Lowercase word tokens with surrounding punctuation removed (apostrophes and hyphens inside a
/// word are kept: "don't", "mm-hm"). Allocates one string per token.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().filter_map(|raw| {
        let trimmed = raw.trim_matches(|c: char| !c.is_alphanumeric());
        (!trimmed.is_empty()).then(|| trimmed.to_lowercase())
    })
}

/// Sentences ending in a question mark ("??" counts once).
pub(crate) fn count_questions(text: &str) -> u32 {
    let mut count = 0;
    let mut previous = ' ';
    for c in text.chars() {
        if c == '?' && previous != '?' {
            count += 1;
        }
        previous = c;
    }
    count
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
    for token in tokens(text) {
        count += 1;
        if count > 3 || !BACKCHANNEL_WORDS.contains(&token.as_str()) {
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
pub(crate) fn count_fillers(tokens: &[String]) -> u32 {
    let mut count = 0;
    let mut i = 0;
    while i < tokens.len() {
        if FILLERS.contains(&tokens[i].as_str()) {
            count += 1;
        } else if i + 1 < tokens.len()
            && FILLER_PHRASES
                .iter()
                .any(|[a, b]| tokens[i] == *a && tokens[i + 1] == *b)
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
    tokens: &'a [String],
    phrase: &'a [String],
) -> impl Iterator<Item = usize> + 'a {
    let n = phrase.len();
    (0..tokens.len().saturating_sub(n.saturating_sub(1)))
        .filter(move |&i| n > 0 && tokens[i..i + n] == *phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<String> {
        tokens(text).collect()
    }

    #[test]
    fn questions_fillers_backchannels() {
        assert_eq!(count_questions("Why now? And who decides?? Okay."), 2);
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
    fn phrases_match_on_word_boundaries_only() {
        let t = toks("Pricing? We compared Acme pricing to acmeCorp pricing.");
        let p = toks("acme pricing");
        assert_eq!(phrase_positions(&t, &p).collect::<Vec<_>>(), [3]);
        assert_eq!(phrase_positions(&t, &toks("pricing")).count(), 3);
        assert_eq!(phrase_positions(&t, &[]).count(), 0);
    }
}
