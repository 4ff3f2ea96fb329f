//! Next steps: the concrete actions agreed or proposed as the call closes, each dated when a
//! day or time is fixed.
//!
//! A sentence is a next step when it promises or proposes an action for after the call
//! ("I'll send you the proposal", "let's schedule", "someone will call you back", "would you
//! be interested in a pilot?") or asks to be contacted ("email me these", "give me a call").
//! A question counts only as a proposal: a frame with an action, or a time offered ("How does
//! Tuesday at 10 sound?"). Descriptions of past actions have no future frame and do not
//! count; actions inside the call ("I'll share my screen now") do not either. Only the close of
//! the call (its last 40% of utterances) counts, where steps are agreed. The same action said again is the same
//! step: a restatement that adds a date moves the step to it, any other is dropped.

use crate::domain::analysis::{GoalMetric, GoalTarget, HighlightKind, NextStepFinding};
use crate::ports::IdGenerator;
use crate::scoring::text::TokenList;

use super::scene::{Findings, Scene, Scored, Sentence, evidence};
use super::words::{LEXICON, STEP_ACTION_CUES, StepAction};

const DATED_SCORE: f64 = 100.0;
const UNDATED_SCORE: f64 = 55.0;
const NONE_SCORE: f64 = 20.0;

/// How far after its frame ("I'll", "let's") an action may be named: "I'll send you the
/// proposal" is a step, "I will walk you through how we ... install" is not.
const FRAME_REACH: usize = 10;
/// A restatement this close that adds a date fixes the earlier step's time.
const FIXED_WITHIN: usize = 3;
/// A sentence after a mention this short may fix its time ("Tuesday works.").
const SHORT_REPLY_WORDS: usize = 8;

/// Words that make a question about a time a proposal of it ("does Tuesday work?").
const TIME_PROPOSAL_WORDS: &[&str] = &[
    "work",
    "works",
    "sound",
    "suit",
    "good",
    "okay",
    "ok",
    "free",
    "available",
    "about",
];

/// A clock time ("2pm", "10:30", "10 am") or an ordinal date ("the 12th"), or a day or time
/// in words.
pub(super) fn has_concrete_time(toks: &TokenList) -> bool {
    LEXICON.dates.any(toks)
        || toks.iter().any(|t| {
            ((t.ends_with("am") || t.ends_with("pm"))
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
        })
        || (1..toks.len()).any(|i| {
            toks.get(i - 1).bytes().all(|b| b.is_ascii_digit())
                && matches!(toks.get(i), "am" | "pm" | "a.m" | "p.m")
        })
}

/// Words before "email me" that make it a report of someone else's habit ("they send us
/// reports"), not a request.
const NOT_A_REQUEST_BEFORE: &[&str] = &["they", "he", "she", "it", "who", "did", "does"];
/// Openings that make a question a request ("Can you email me the deck?").
const REQUEST_OPENINGS: &[&str] = &["can", "could", "would", "will"];
/// Words that make a sentence a condition ("I'd sign up if it were cheaper").
const CONDITIONS: &[&str] = &["if", "unless"];

/// The contact asked for ("email me these", "give me a call"), if the sentence is a request.
fn contact_request(sentence: &Sentence<'_>) -> Option<StepAction> {
    let tokens = &sentence.tokens;
    if sentence.is_question() && !REQUEST_OPENINGS.contains(&tokens.get(0)) {
        return None;
    }
    LEXICON
        .contact_me
        .find(tokens)
        .find(|m| {
            (m.position.saturating_sub(2)..m.position)
                .all(|i| !NOT_A_REQUEST_BEFORE.contains(&tokens.get(i)))
        })
        .map(|m| *m.payload)
}

/// The action a sentence promises or proposes, if it is a next step. A customer's own plans
/// ("I'm going to book my exam") are not steps: a customer's sentence counts when it asks to
/// be contacted or speaks to the rep ("I will message you").
fn step_action(sentence: &Sentence<'_>, by_rep: bool) -> Option<StepAction> {
    let tokens = &sentence.tokens;
    let last = tokens.len().checked_sub(1).map(|i| tokens.get(i));
    if LEXICON.in_call.any(tokens) || last == Some("now") {
        return None;
    }
    if let Some(asked) = contact_request(sentence) {
        return Some(asked);
    }
    if sentence.is_question()
        && has_concrete_time(tokens)
        && tokens.iter().any(|t| TIME_PROPOSAL_WORDS.contains(&t))
    {
        // A time offered: "How does Thursday at 2 PM work for you?", "Are you free Friday?"
        return Some(StepAction::Meet);
    }
    // "You know" is a filler, not the rep being spoken to.
    let speaks_to_rep = (0..tokens.len()).any(|i| {
        matches!(tokens.get(i), "you" | "your")
            && (i + 1 >= tokens.len() || tokens.get(i + 1) != "know")
    });
    if !by_rep && !speaks_to_rep {
        return None;
    }
    let conditional = tokens.iter().any(|t| CONDITIONS.contains(&t));
    let mut frames: Vec<usize> = LEXICON
        .step_frames
        .find(tokens)
        .map(|f| f.position)
        .collect();
    if !conditional {
        frames.extend(LEXICON.conditional_frames.find(tokens).map(|f| f.position));
    }
    if frames.is_empty() {
        return None;
    }
    LEXICON
        .step_actions
        .find(tokens)
        .filter(|a| {
            frames
                .iter()
                .any(|&f| a.position > f && a.position - f <= FRAME_REACH)
        })
        .map(|a| *a.payload)
        .min_by_key(|action| action_precedence(*action))
}

fn action_precedence(action: StepAction) -> usize {
    STEP_ACTION_CUES
        .iter()
        .position(|(a, _)| *a == action)
        .unwrap_or(usize::MAX)
}

struct Step {
    finding: NextStepFinding,
    action: StepAction,
}

fn find_steps(scene: &Scene<'_>) -> Vec<Step> {
    let utterances = scene.utterances();
    let closing_from = utterances.len() * 3 / 5;
    let mut steps: Vec<Step> = Vec::new();
    for (index, u) in utterances.iter().enumerate().skip(closing_from) {
        let said = scene.sentences_of(index);
        // One step an utterance: its first.
        let first = said.iter().enumerate().find_map(|(k, sentence)| {
            step_action(sentence, scene.is_rep(u)).map(|action| (k, sentence, action))
        });
        if let Some((k, sentence, action)) = first {
            // The sentence after a mention may fix its time: "Does Tuesday work?" "Tuesday
            // works." The next utterance is read only when this one has no sentence after.
            let short_and_dated = |s: &Sentence<'_>| {
                s.tokens.len() <= SHORT_REPLY_WORDS && has_concrete_time(&s.tokens)
            };
            let dated = has_concrete_time(&sentence.tokens)
                || match said.get(k + 1) {
                    Some(next) => short_and_dated(next),
                    None => {
                        (index + 1 < utterances.len())
                            && scene
                                .sentences_of(index + 1)
                                .first()
                                .is_some_and(short_and_dated)
                    }
                };
            let finding = NextStepFinding {
                utterance: index,
                at_ms: u.start_ms,
                quote: sentence.text.to_owned(),
                dated,
            };
            match steps.iter_mut().find(|s| s.action == action) {
                Some(earlier)
                    if dated
                        && !earlier.finding.dated
                        && index - earlier.finding.utterance <= FIXED_WITHIN =>
                {
                    earlier.finding = finding
                }
                Some(_) => {}
                None => steps.push(Step { finding, action }),
            }
        }
    }
    steps.sort_by_key(|s| (s.finding.utterance, s.finding.at_ms));
    steps
}

fn dated_goal(priority: u8, findings: &mut Findings) {
    findings.propose_goal(
        priority,
        "End every call with a next step that has a date".into(),
        GoalMetric::DatedNextSteps,
        GoalTarget::AtLeast(1.0),
    );
}

/// The score, and the next steps found, in the order said.
pub(super) fn score<I: IdGenerator>(
    scene: &Scene<'_>,
    ids: &I,
    findings: &mut Findings,
) -> (Scored, Vec<NextStepFinding>) {
    let utterances = scene.utterances();
    let steps: Vec<NextStepFinding> = find_steps(scene).into_iter().map(|s| s.finding).collect();
    for step in &steps {
        let (kind, note) = if step.dated {
            (
                HighlightKind::NextStep,
                "A next step with a time was agreed.",
            )
        } else {
            (
                HighlightKind::WeakClose,
                "A next step was mentioned but no date or time was fixed.",
            )
        };
        findings.highlight_quote(
            ids,
            kind,
            &utterances[step.utterance],
            &step.quote,
            note.into(),
        );
    }
    let first_dated = steps.iter().find(|s| s.dated);
    let (score, shown) = match (first_dated, steps.first()) {
        (Some(dated), _) => (
            DATED_SCORE,
            evidence(
                format!(
                    "a next step with a concrete time was agreed: \"{}\"",
                    dated.quote
                ),
                scene.at(&utterances[dated.utterance]),
            ),
        ),
        (None, Some(undated)) => {
            let at = scene.at(&utterances[undated.utterance]);
            findings.suggest_at(
                55,
                "Close with a dated next step: propose a day and time and send the invite before hanging up.".into(),
                at,
                &undated.quote,
            );
            dated_goal(55, findings);
            (
                UNDATED_SCORE,
                evidence(
                    format!(
                        "a next step was mentioned without a date or time: \"{}\"",
                        undated.quote
                    ),
                    at,
                ),
            )
        }
        (None, None) => {
            let last_rep_line = utterances.iter().rev().find(|u| scene.is_rep(u));
            if let Some(last) = last_rep_line {
                findings.highlight(
                    ids,
                    HighlightKind::WeakClose,
                    last,
                    "The call ended without any agreed next step.".into(),
                );
            }
            findings.suggest_citing(scene, 20, "The call ended without a next step. Before the end, propose one concrete action with a date. Your last line".into(), last_rep_line);
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
        steps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_plain;

    fn steps_of(text: &str) -> Vec<(usize, bool, String)> {
        let transcript = parse_plain(text).unwrap();
        let scene = Scene::new(&transcript, Some(0));
        find_steps(&scene)
            .into_iter()
            .map(|s| (s.finding.utterance, s.finding.dated, s.finding.quote))
            .collect()
    }

    const OPENING: &str =
        "Rita: Hello there.\nCole: Hi.\nRita: Thanks for your time.\nCole: Sure.\n";

    #[test]
    fn promises_proposals_and_requests_are_steps_with_their_dates() {
        let found = steps_of(&format!(
            "{OPENING}Rita: I'll email you the quote this evening.\nCole: Great. Can someone call me back tomorrow afternoon?\nRita: Let's schedule the install for next Tuesday.\nCole: Give me a call on the 12th.\n"
        ));
        assert_eq!(
            found,
            [
                (4, true, "I'll email you the quote this evening.".to_owned()),
                (
                    5,
                    true,
                    "Can someone call me back tomorrow afternoon?".to_owned()
                ),
                (
                    6,
                    true,
                    "Let's schedule the install for next Tuesday.".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_later_call_request_with_an_ordinal_date_is_the_same_call() {
        let found = steps_of(&format!(
            "{OPENING}Rita: Someone will call you back.\nCole: Okay, thanks.\nRita: Bye now.\nCole: Give me a call on the 12th.\n"
        ));
        assert_eq!(found, [(7, true, "Give me a call on the 12th.".to_owned())]);
    }

    #[test]
    fn questions_past_actions_and_in_call_actions_are_not_steps() {
        let found = steps_of(&format!(
            "{OPENING}Rita: Do you pop in and out of the meeting room often?\nCole: I sent you the form last week.\nRita: I'll share my screen now.\nCole: Shall we discuss the next steps?\n"
        ));
        assert_eq!(found, []);
        let found = steps_of(&format!(
            "{OPENING}Cole: I'm going to book my exam for October.\nRita: We can connect it to your CRM.\nCole: I'd sign up if it were cheaper.\nCole: Did you email me the invoice?\n"
        ));
        assert_eq!(found, []);
    }

    #[test]
    fn a_suggested_session_with_its_time_is_a_dated_step() {
        let found = steps_of(&format!(
            "{OPENING}Rita: Here is what I suggest as a next step: a short session with you on Tuesday at 2pm. Does that work?\nCole: Tuesday works.\n"
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (4, true));
    }

    #[test]
    fn a_time_offered_or_a_goodbye_with_a_day_is_a_step() {
        let found = steps_of(&format!(
            "{OPENING}Rita: Are you free Thursday at 2?\nCole: Yes.\nRita: I’ll follow up with the recap.\nCole: Talk to you Thursday.\n"
        ));
        assert_eq!(
            found,
            [
                (4, true, "Are you free Thursday at 2?".to_owned()),
                // Dated by the short reply: "Talk to you Thursday." (itself a restated meeting).
                (6, true, "I’ll follow up with the recap.".to_owned()),
            ]
        );
    }

    #[test]
    fn a_restated_step_is_one_step_and_moves_to_its_date() {
        let found = steps_of(&format!(
            "{OPENING}{OPENING}Rita: I can come by for a valuation visit.\nCole: Sounds good.\nRita: How does Thursday at 2 PM work for you?\nCole: I'll send you the papers.\nRita: And I'll send that link again.\n"
        ));
        assert_eq!(
            found,
            [
                (
                    10,
                    true,
                    "How does Thursday at 2 PM work for you?".to_owned()
                ),
                (11, false, "I'll send you the papers.".to_owned()),
            ]
        );
    }

    #[test]
    fn only_the_close_of_the_call_counts() {
        let found = steps_of(
            "Rita: I'll send you the agenda first.\nCole: Fine.\nRita: So, about your process.\nCole: It's manual.\n",
        );
        assert_eq!(found, []);
    }
}
