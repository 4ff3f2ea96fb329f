//! Next steps: whether the close of the call agreed one, and whether it has a date or time.

use crate::domain::analysis::{GoalMetric, GoalTarget, HighlightKind};
use crate::domain::transcript::Utterance;
use crate::ports::IdGenerator;
use crate::scoring::text::TokenList;

use super::scene::{Findings, Scene, Scored, contains_phrase, evidence};
use super::words::{LEXICON, MONTHS, WEEKDAYS};

const DATED_SCORE: f64 = 100.0;
const UNDATED_SCORE: f64 = 55.0;
const NONE_SCORE: f64 = 20.0;

/// A concrete time: a weekday, "tomorrow", a month name, a clock time ("2pm", "10:30") or an
/// ordinal date ("the 12th").
fn has_concrete_time(toks: &TokenList) -> bool {
    toks.iter().any(|t| {
        WEEKDAYS.contains(&t)
            || MONTHS.contains(&t)
            || ((t.ends_with("am") || t.ends_with("pm"))
                && t.len() > 2
                && t[..t.len() - 2]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b':'))
            || (t.contains(':')
                && t.split(':')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
            || (["st", "nd", "rd", "th"].iter().any(|s| t.ends_with(s))
                && t.len() > 2
                && t[..t.len() - 2].bytes().all(|b| b.is_ascii_digit()))
    }) || (1..toks.len()).any(|i| {
        toks.get(i - 1).bytes().all(|b| b.is_ascii_digit())
            && matches!(toks.get(i), "am" | "pm" | "o'clock")
    })
}

/// The utterance that closes with a next step: only the closing part of the call counts (its
/// last 40% of utterances). A mention is dated when a concrete time is in its sentence or the
/// sentence after it (which may open the next utterance: "Does Tuesday work?" "Tuesday
/// works."). The last dated mention wins; else the last mention is a weak close.
fn find_next_step(utterances: &[Utterance]) -> Option<(usize, bool)> {
    let sentences = |i: usize| -> Vec<TokenList> {
        utterances[i]
            .text
            .split_inclusive(['.', '?', '!'])
            .map(TokenList::from_text)
            .collect()
    };
    let closing_from = utterances.len() * 3 / 5;
    let mut dated = None;
    let mut undated = None;
    for i in closing_from..utterances.len() {
        let mut window = sentences(i);
        let own = window.len();
        if i + 1 < utterances.len() {
            window.extend(sentences(i + 1).into_iter().take(1));
        }
        for j in 0..own {
            if LEXICON
                .next_steps
                .iter()
                .any(|p| contains_phrase(&window[j], p))
            {
                let timed = window[j..(j + 2).min(window.len())]
                    .iter()
                    .any(has_concrete_time);
                if timed {
                    dated = Some(i)
                } else {
                    undated = Some(i)
                }
            }
        }
    }
    dated.map(|i| (i, true)).or(undated.map(|i| (i, false)))
}

fn dated_goal(priority: u8, findings: &mut Findings) {
    findings.propose_goal(
        priority,
        "End every call with a next step that has a date".into(),
        GoalMetric::DatedNextSteps,
        GoalTarget::AtLeast(1.0),
    );
}

/// The score, and the utterance with the next step (dated or not) for the summary.
pub(super) fn score<'a, I: IdGenerator>(
    scene: &Scene<'a>,
    ids: &I,
    findings: &mut Findings,
) -> (Scored, Option<&'a Utterance>) {
    let utterances = scene.utterances();
    let next_step = find_next_step(utterances);
    let (score, shown) = match next_step {
        Some((i, dated)) => {
            let u = &utterances[i];
            let (kind, note, score, said) = if dated {
                (
                    HighlightKind::NextStep,
                    "A next step with a time was agreed.",
                    DATED_SCORE,
                    "a next step with a concrete time was agreed",
                )
            } else {
                (
                    HighlightKind::WeakClose,
                    "A next step was mentioned but no date or time was fixed.",
                    UNDATED_SCORE,
                    "a next step was mentioned without a date or time",
                )
            };
            findings.highlight(ids, kind, u, note.into());
            if !dated {
                findings.suggest(55, "Close with a dated next step: propose a day and time and send the invite before hanging up.".into());
                dated_goal(55, findings);
            }
            (score, evidence(said.into(), scene.at(u)))
        }
        None => {
            if let Some(last) = utterances.iter().rev().find(|u| scene.is_rep(u)) {
                findings.highlight(
                    ids,
                    HighlightKind::WeakClose,
                    last,
                    "The call ended without any agreed next step.".into(),
                );
            }
            findings.suggest(20, "The call ended without a next step. Before the end, propose one concrete action with a date.".into());
            dated_goal(20, findings);
            (
                NONE_SCORE,
                evidence("no next step was discussed".into(), None),
            )
        }
    };
    (
        Scored {
            score,
            evidence: vec![shown],
        },
        next_step.map(|(i, _)| &utterances[i]),
    )
}
