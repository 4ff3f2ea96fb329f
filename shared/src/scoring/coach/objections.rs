//! Objection handling: the customer's objections, each explored by the rep or left unanswered.

use crate::domain::analysis::{HighlightKind, ObjectionType};
use crate::domain::playbook::Playbook;
use crate::ports::IdGenerator;
use crate::scoring::text::is_backchannel;

use super::scene::{Findings, Scene, Scored, contains_phrase, evidence};
use super::words::{LEXICON, topic_words};

/// Without objections there was nothing to handle: a fair score, not a perfect one.
const NO_OBJECTION_SCORE: f64 = 80.0;

/// The first objection of one kind in the call.
pub(super) struct ObjectionFound {
    pub kind: ObjectionType,
    /// Index of the customer's utterance that raised it.
    pub utterance: usize,
    pub handled: bool,
}

fn find_objections(scene: &Scene<'_>) -> Vec<ObjectionFound> {
    let utterances = scene.utterances();
    let mut found = Vec::new();
    for (i, u) in utterances.iter().enumerate() {
        if scene.is_rep(u) || scene.rep.is_none() {
            continue;
        }
        for (kind, phrases) in &LEXICON.objections {
            if found.iter().any(|f: &ObjectionFound| f.kind == *kind) {
                continue;
            }
            if phrases.iter().any(|p| contains_phrase(&scene.tokens[i], p)) {
                // Handled: the rep's next real reply (not an "mm-hm") asks a question back or
                // speaks to the objection's topic.
                let handled = utterances[i + 1..]
                    .iter()
                    .enumerate()
                    .find(|(_, n)| scene.is_rep(n) && !is_backchannel(&n.text))
                    .is_some_and(|(offset, reply)| {
                        let reply_tokens = &scene.tokens[i + 1 + offset];
                        reply.text.contains('?')
                            || topic_words(*kind).iter().any(|w| reply_tokens.contains(w))
                    });
                found.push(ObjectionFound {
                    kind: *kind,
                    utterance: i,
                    handled,
                });
            }
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

/// The score, and the objections found (in the order raised) for the summary.
pub(super) fn score<I: IdGenerator>(
    scene: &Scene<'_>,
    playbook: &Playbook,
    ids: &I,
    findings: &mut Findings,
) -> (Scored, Vec<ObjectionFound>) {
    let objections = find_objections(scene);
    let mut evidence_list = Vec::new();
    for o in &objections {
        let u = &scene.utterances()[o.utterance];
        let name = o.kind.label();
        evidence_list.push(evidence(
            format!(
                "{name} objection {}",
                if o.handled {
                    "explored by the rep"
                } else {
                    "left unanswered"
                }
            ),
            scene.at(u),
        ));
        let response = playbook
            .objection_handling
            .iter()
            .find(|h| h.objection == o.kind)
            .map(|h| h.response.as_str());
        let note = match (o.handled, response) {
            (true, _) => format!(
                "The customer raised {} objection and the rep engaged with it.",
                with_article(name)
            ),
            (false, Some(r)) => format!("Unanswered {name} objection. Playbook response: {r}"),
            (false, None) => {
                format!("Unanswered {name} objection: ask what is behind it before answering.")
            }
        };
        findings.highlight(ids, HighlightKind::Objection { objection: o.kind }, u, note);
        if !o.handled {
            let advice = response.map_or_else(
                || "ask a clarifying question (\"What would need to be true for this to work?\") before answering".to_owned(),
                |r| format!("use the playbook response: {r}"),
            );
            findings.suggest(40, format!("When the customer raised {name}, {advice}."));
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
