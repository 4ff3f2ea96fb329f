//! Objection handling: the customer's objections, each explored by the rep or left unanswered.
//!
//! Only what the customer says counts (any speaker but the rep; nothing when the rep is not
//! known). A sentence is an objection when it holds a cue of [`OBJECTION_CUES`] that no
//! negation cancels ("not too expensive", "I'm not worried about price"); inside a question
//! only a request for a lower price counts ("any discount possible?"), since neutral questions
//! are not resistance. One objection an utterance, its type the first in precedence among the
//! cues of its first such sentence; the same type again within a few utterances is the same
//! objection restated. It is handled when the rep answers it before the customer moves on: a
//! reply that asks back, acknowledges it or offers a way through ([`ANSWER_CUES`]); an "okay"
//! or a change of subject leaves it unanswered.

use crate::domain::analysis::{HighlightKind, ObjectionFinding, ObjectionType};
use crate::domain::playbook::Playbook;
use crate::ports::IdGenerator;
use crate::scoring::text::is_backchannel;

use super::scene::{Findings, Scene, Scored, Sentence, evidence};
#[cfg(doc)]
use super::words::ANSWER_CUES;
use super::words::{LEXICON, OBJECTION_CUES};

/// Without objections there was nothing to handle: a fair score, not a perfect one.
const NO_OBJECTION_SCORE: f64 = 80.0;
/// An objection of a type raised this few utterances after another of the same type restates it.
const RESTATED_WITHIN: usize = 10;
/// How many utterances after an objection the rep's answer is looked for.
const ANSWER_WITHIN: usize = 4;

fn precedence(kind: ObjectionType) -> usize {
    OBJECTION_CUES
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(usize::MAX)
}

/// Words that put a complaint on what the customer has today ("our current vendor is too
/// expensive"): pain to build on, not resistance to the sale.
const INCUMBENT_WORDS: &[&str] = &["current", "old", "existing", "previous", "their", "they"];
/// Replies this short to "any other questions?" ("no, not right now") are not a stall.
const SHORT_REPLY_WORDS: usize = 6;

/// Whether the cue at `position` speaks of what the customer has today.
fn about_incumbent(sentence: &Sentence<'_>, position: usize) -> bool {
    let tokens = &sentence.tokens;
    (tokens.clause_start(position)..position).any(|i| INCUMBENT_WORDS.contains(&tokens.get(i)))
}

/// The objection an utterance raises, with the sentence that raises it. `after_question`
/// says the rep's line before asked whether there were more questions.
fn objection_in<'a>(
    said: &[Sentence<'a>],
    after_question: bool,
) -> Option<(ObjectionType, &'a str)> {
    said.iter().find_map(|sentence| {
        let cues = if sentence.is_question() {
            &LEXICON.asked_objections
        } else {
            &LEXICON.objections
        };
        let short_reply = after_question && sentence.tokens.len() <= SHORT_REPLY_WORDS;
        cues.find(&sentence.tokens)
            .filter(|m| !about_incumbent(sentence, m.position))
            .map(|m| *m.payload)
            .filter(|kind| !(short_reply && *kind == ObjectionType::Timing))
            .min_by_key(|kind| precedence(*kind))
            .map(|kind| (kind, sentence.text))
    })
}

/// Whether the rep's line asks if the customer has more questions ("Any other questions?").
fn asks_for_questions(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("question") || lower.contains("anything else")
}

/// Whether the rep answers the objection at `index` before the customer moves on.
pub(super) fn answered(scene: &Scene<'_>, index: usize) -> bool {
    let utterances = scene.utterances();
    for (at, u) in utterances
        .iter()
        .enumerate()
        .skip(index + 1)
        .take(ANSWER_WITHIN)
    {
        let says_something = !is_backchannel(&u.text);
        if scene.is_rep(u) {
            let engages = u.text.contains('?')
                || scene
                    .sentences_of(at)
                    .iter()
                    .any(|s| LEXICON.answers.any(&s.tokens));
            if says_something && engages {
                return true;
            }
        } else if says_something {
            return false;
        }
    }
    false
}

fn find_objections(scene: &Scene<'_>) -> Vec<ObjectionFinding> {
    if scene.rep.is_none() {
        return Vec::new();
    }
    let mut found: Vec<ObjectionFinding> = Vec::new();
    for (index, u) in scene.utterances().iter().enumerate() {
        if scene.is_rep(u) {
            continue;
        }
        let after_question = index > 0
            && scene.is_rep(&scene.utterances()[index - 1])
            && asks_for_questions(&scene.utterances()[index - 1].text);
        let Some((kind, said)) = objection_in(&scene.sentences_of(index), after_question) else {
            continue;
        };
        // Only the last few found can be within reach: linear however many there are.
        let restated = found
            .iter()
            .rev()
            .take_while(|f| index - f.utterance <= RESTATED_WITHIN)
            .any(|f| f.kind == kind);
        if !restated {
            found.push(ObjectionFinding {
                utterance: index,
                at_ms: u.start_ms,
                kind,
                quote: said.to_owned(),
                handled: answered(scene, index),
            });
        }
    }
    found
}

fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

/// The score, and the objections found, in the order raised.
pub(super) fn score<I: IdGenerator>(
    scene: &Scene<'_>,
    playbook: &Playbook,
    ids: &I,
    findings: &mut Findings,
) -> (Scored, Vec<ObjectionFinding>) {
    let objections = find_objections(scene);
    let mut evidence_list = Vec::new();
    for o in &objections {
        let u = &scene.utterances()[o.utterance];
        let name = o.kind.label();
        // "a price objection"; one of no named type is just "an objection".
        let an_objection = match o.kind {
            ObjectionType::Other => "an objection".to_owned(),
            _ => format!("{} objection", with_article(name)),
        };
        evidence_list.push(evidence(
            format!(
                "{name} objection {}: \"{}\"",
                if o.handled {
                    "explored by the rep"
                } else {
                    "left unanswered"
                },
                o.quote
            ),
            scene.at(u),
        ));
        let response = playbook
            .objection_handling
            .iter()
            .find(|h| h.objection == o.kind)
            .map(|h| h.response.as_str());
        let note = match (o.handled, response) {
            (true, _) => {
                format!("The customer raised {an_objection} and the rep engaged with it.")
            }
            (false, Some(r)) => format!("Unanswered {name} objection. Playbook response: {r}"),
            (false, None) => {
                format!("Unanswered {name} objection: ask what is behind it before answering.")
            }
        };
        let kind = HighlightKind::Objection { objection: o.kind };
        findings.highlight_quote(ids, kind, u, &o.quote, note);
        if !o.handled {
            let advice = response.map_or_else(
                || "ask a clarifying question (\"What would need to be true for this to work?\") before answering".to_owned(),
                |r| format!("use the playbook response: {r}"),
            );
            findings.suggest_at(
                40,
                format!("When the customer raised {an_objection}, {advice}."),
                scene.at(u),
                &o.quote,
            );
        }
    }
    let score = if objections.is_empty() {
        evidence_list.push(evidence(
            "no objections were raised in this call".into(),
            None,
        ));
        NO_OBJECTION_SCORE
    } else {
        let handled = objections.iter().filter(|o| o.handled).count() as f64;
        40.0 + 60.0 * handled / objections.len() as f64
    };
    (
        Scored {
            score,
            evidence: evidence_list,
        },
        objections,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_plain;

    fn objections_of(text: &str) -> Vec<(usize, ObjectionType, bool)> {
        let transcript = parse_plain(text).unwrap();
        let scene = Scene::new(&transcript, Some(0));
        find_objections(&scene)
            .into_iter()
            .map(|o| (o.utterance, o.kind, o.handled))
            .collect()
    }

    #[test]
    fn what_customers_say_is_typed() {
        let cases = [
            ("It's just totally not worth it.", ObjectionType::Price),
            ("That's a significant investment.", ObjectionType::Price),
            ("It costs more than I hoped.", ObjectionType::Price),
            ("We have no budget left this year.", ObjectionType::Budget),
            ("No, we won't do that today.", ObjectionType::Timing),
            ("Let me think about it.", ObjectionType::Timing),
            (
                "I'd like to speak with my wife first.",
                ObjectionType::Authority,
            ),
            (
                "I'm gonna just try another company.",
                ObjectionType::Competitor,
            ),
            (
                "We're happy with our current provider.",
                ObjectionType::StatusQuo,
            ),
            ("We don't really need it.", ObjectionType::Need),
            (
                "I'm afraid it would have the same problems.",
                ObjectionType::Trust,
            ),
            ("You can help me cancel it.", ObjectionType::Cancellation),
            ("That sounds complicated.", ObjectionType::Other),
            ("My concern is the price is too high.", ObjectionType::Price),
            ("I'm not the decision maker.", ObjectionType::Authority),
            ("That's over our budget.", ObjectionType::Budget),
            ("I don’t like the terms.", ObjectionType::Other),
            (
                "I need to talk it over with my husband.",
                ObjectionType::Authority,
            ),
            ("No, it's too expensive.", ObjectionType::Price),
        ];
        for (said, kind) in cases {
            let found = objections_of(&format!("Rep: Hello.\nBuyer: {said}\nRep: Tell me more?\n"));
            assert_eq!(found, [(1, kind, true)], "{said}");
        }
    }

    #[test]
    fn negations_neutral_questions_and_the_reps_words_are_not_objections() {
        let found = objections_of(
            "Rep: Is it too expensive for you? Some say it is not worth it.\nBuyer: It's not too expensive.\nRep: Good.\nBuyer: I'm not worried about price. What does it cost?\n",
        );
        assert_eq!(found, []);
    }

    #[test]
    fn complaints_about_what_they_have_today_and_polite_replies_are_not_objections() {
        let found = objections_of(
            "Rep: What do you use today?\nBuyer: Our current vendor is too expensive and slow.\nRep: Any other questions?\nBuyer: No, not right now.\nRep: Great.\nBuyer: No, I'm ready.\n",
        );
        assert_eq!(found, []);
    }

    #[test]
    fn a_discount_asked_for_is_a_price_objection_and_an_okay_does_not_handle_it() {
        let found = objections_of(
            "Rep: Here is the plan.\nBuyer: Any discount possible for the course?\nRep: OK.\nBuyer: And when does it start?\n",
        );
        assert_eq!(found, [(1, ObjectionType::Price, false)]);
    }

    #[test]
    fn a_restated_objection_is_one() {
        let found = objections_of(
            "Rep: Hi.\nBuyer: I want to cancel.\nRep: Can I ask why?\nBuyer: I just want to cancel it.\n",
        );
        assert_eq!(found, [(1, ObjectionType::Cancellation, true)]);
    }
}
