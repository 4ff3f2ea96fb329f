//! Personal data out of text before it leaves for a provider.

/// Whether `c` separates words: any Unicode white space (tabs, no-break and narrow spaces,
/// line breaks) and the invisible joiners that can sit between digits.
pub(super) fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// The words of `text`, each with the separators that follow it.
fn words_with_gaps(text: &str) -> Vec<(&str, &str)> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(is_separator).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        let gap_end = after
            .find(|c: char| !is_separator(c))
            .unwrap_or(after.len());
        let (gap, next) = after.split_at(gap_end);
        pieces.push((word, gap));
        rest = next;
    }
    pieces
}

/// Replaces e-mail addresses, card numbers (13-19 digits passing the Luhn check) and phone
/// numbers (7 or more digits, with the usual separators) with placeholders. Words are split
/// at every kind of white space, so a number broken up by tabs or no-break spaces is found
/// as surely as one broken up by spaces.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let words = words_with_gaps(text);
    let mut i = 0;
    while i < words.len() {
        let (word, gap) = words[i];
        if is_email(word) {
            out.push_str("[email]");
            out.push_str(trailing_punctuation(word));
            out.push_str(gap);
            i += 1;
            continue;
        }
        // Numbers may be split into groups ("4111 1111 1111 1111", "+1 415 555 0100").
        let mut j = i;
        let mut digits = String::new();
        while j < words.len() && is_number_part(words[j].0) {
            digits.extend(words[j].0.chars().filter(char::is_ascii_digit));
            j += 1;
        }
        if j > i && digits.len() >= 7 {
            let (last, last_gap) = words[j - 1];
            let label = if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
                "[card]"
            } else {
                "[phone]"
            };
            out.push_str(label);
            out.push_str(trailing_punctuation(last));
            out.push_str(last_gap);
            i = j;
            continue;
        }
        out.push_str(word);
        out.push_str(gap);
        i += 1;
    }
    out
}

fn trailing_punctuation(word: &str) -> &str {
    let keep = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    &word[keep.len()..]
}

fn is_email(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    match word.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        }
        None => false,
    }
}

fn is_number_part(word: &str) -> bool {
    let core = word.trim_end_matches(['.', ',', ';', ':', '!', '?']);
    !core.is_empty()
        && core.chars().any(|c| c.is_ascii_digit())
        && core
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'))
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
