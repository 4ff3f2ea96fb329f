//! The deterministic coach: the default when no LLM is configured and the last-resort fallback.
//!
//! Scores 0-100 per dimension from the metrics against target ranges and from what was said
//! (objections, next steps, playbook phrases); every score lists its evidence. Same input, same
//! output (ids aside).

use crate::domain::analysis::{
    DimensionScore, Evidence, GoalTarget, Highlight, HighlightKind, Metrics, MicroGoal,
    ObjectionType,
};
use crate::domain::call::CallType;
use crate::domain::playbook::Playbook;
use crate::domain::transcript::{Transcript, Utterance};
use crate::ports::IdGenerator;

use super::text::{TokenList, is_backchannel, phrase_positions};

pub const RUBRIC_VERSION: &str = "deterministic-1";

/// Longest quote kept in a highlight (cut at a word boundary, still a substring of the text).
const MAX_QUOTE_CHARS: usize = 220;
const MONOLOGUE_LIMIT_MS: f64 = 90_000.0;
const TALK_RATIO_RANGE: (f64, f64) = (0.40, 0.60);
const FILLERS_PER_MINUTE_LIMIT: f64 = 3.0;
const PATIENCE_FLOOR_MS: f64 = 600.0;

/// Everything the coach writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Coaching {
    pub overall_score: u8,
    pub scores: Vec<DimensionScore>,
    pub highlights: Vec<Highlight>,
    pub suggestions: Vec<String>,
    pub micro_goals: Vec<MicroGoal>,
    pub summary: String,
}

/// Discovery question targets by call type (Gong Labs: 11-14 on discovery calls).
pub fn question_target(call_type: CallType) -> (u32, u32) {
    match call_type {
        CallType::Discovery => (11, 14),
        CallType::Demo => (6, 12),
        CallType::FollowUp | CallType::Other => (5, 10),
    }
}

const OBJECTION_PHRASES: &[(ObjectionType, &[&str])] = &[
    (
        ObjectionType::Budget,
        &[
            "budget",
            "no money",
            "can't afford",
            "cannot afford",
            "funding",
            "spend is frozen",
            "frozen",
        ],
    ),
    (
        ObjectionType::Price,
        &[
            "too expensive",
            "expensive",
            "costs too much",
            "cost too much",
            "too pricey",
            "cheaper",
            "price is high",
            "pricing is high",
            "discount",
        ],
    ),
    (
        ObjectionType::Timing,
        &[
            "not a priority",
            "not right now",
            "next quarter",
            "next year",
            "bad time",
            "too busy",
            "revisit",
            "not the right time",
        ],
    ),
    (
        ObjectionType::Authority,
        &[
            "check with",
            "my boss",
            "run it by",
            "decision maker",
            "sign off",
            "approval",
            "procurement",
            "legal review",
            "the committee",
        ],
    ),
    (
        ObjectionType::Competitor,
        &[
            "already use",
            "already using",
            "competitor",
            "currently using",
            "another vendor",
            "switching cost",
        ],
    ),
    (
        ObjectionType::StatusQuo,
        &[
            "happy with",
            "works fine",
            "what we have",
            "don't need",
            "do not need",
            "spreadsheet",
            "current process",
            "not broken",
        ],
    ),
];

/// Words that show a reply speaks to an objection of this kind.
fn topic_words(kind: ObjectionType) -> &'static [&'static str] {
    match kind {
        ObjectionType::Price => &[
            "price",
            "pricing",
            "cost",
            "costs",
            "value",
            "roi",
            "return",
            "invest",
            "investment",
            "seat",
        ],
        ObjectionType::Budget => &[
            "budget", "cost", "roi", "value", "invest", "fiscal", "quarter", "pay",
        ],
        ObjectionType::Timing => &[
            "timeline", "priority", "when", "quarter", "date", "deadline",
        ],
        ObjectionType::Authority => &[
            "who",
            "decision",
            "involve",
            "approve",
            "approval",
            "stakeholders",
        ],
        ObjectionType::Competitor => &[
            "compare",
            "comparison",
            "difference",
            "different",
            "import",
            "migrate",
            "switch",
        ],
        ObjectionType::StatusQuo => &["cost", "today", "currently", "change", "risk", "impact"],
    }
}

const NEXT_STEP_PHRASES: &[&str] = &[
    "next step",
    "next steps",
    "follow up",
    "follow-up",
    "send over",
    "send you",
    "schedule",
    "calendar invite",
    "book a",
    "set up a",
    "meet again",
    "circle back",
    "trial",
    "proposal",
    "pilot",
    "get a time",
    "invite",
];

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "tomorrow",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

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

/// The text, or its beginning cut at the last sentence end (else word) within the limit. Always
/// a substring of `text`, so quotes can be checked against the transcript.
fn quote(text: &str) -> String {
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

fn plural(count: u32, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

fn contains_phrase(toks: &TokenList, phrase: &TokenList) -> bool {
    phrase_positions(toks, phrase).next().is_some()
}

fn tokenized(phrases: &[&str]) -> Vec<TokenList> {
    phrases.iter().map(|p| TokenList::from_text(p)).collect()
}

/// The phrase lists, tokenized once per process.
struct Lexicon {
    objections: Vec<(ObjectionType, Vec<TokenList>)>,
    next_steps: Vec<TokenList>,
}

static LEXICON: std::sync::LazyLock<Lexicon> = std::sync::LazyLock::new(|| Lexicon {
    objections: OBJECTION_PHRASES
        .iter()
        .map(|(kind, phrases)| (*kind, tokenized(phrases)))
        .collect(),
    next_steps: tokenized(NEXT_STEP_PHRASES),
});

fn clamp_score(value: f64) -> u8 {
    value.round().clamp(0.0, 100.0) as u8
}

fn evidence(description: String, at_ms: Option<u64>) -> Evidence {
    Evidence { description, at_ms }
}

struct Scene<'a> {
    transcript: &'a Transcript,
    tokens: Vec<TokenList>,
    rep: Option<usize>,
    timed: bool,
}

impl Scene<'_> {
    fn at(&self, u: &Utterance) -> Option<u64> {
        self.timed.then_some(u.start_ms)
    }
    fn is_rep(&self, u: &Utterance) -> bool {
        Some(u.speaker) == self.rep
    }
}

struct ObjectionFound {
    kind: ObjectionType,
    utterance: usize,
    handled: bool,
}

fn find_objections(scene: &Scene<'_>) -> Vec<ObjectionFound> {
    let utterances = &scene.transcript.utterances;
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

fn objection_name(kind: ObjectionType) -> &'static str {
    match kind {
        ObjectionType::Price => "price",
        ObjectionType::Budget => "budget",
        ObjectionType::Timing => "timing",
        ObjectionType::Authority => "authority",
        ObjectionType::Competitor => "competitor",
        ObjectionType::StatusQuo => "status quo",
    }
}

/// The deterministic coach. `ids` mints highlight and goal ids.
/// The scored dimensions, in order, and their weights in the overall score.
pub const DIMENSIONS: [&str; 5] = [
    "discovery",
    "listening",
    "objection_handling",
    "next_steps",
    "playbook_adherence",
];
pub const DIMENSION_WEIGHTS: [f64; 5] = [0.25, 0.25, 0.15, 0.20, 0.15];

/// The weighted overall score of dimension scores given in [`DIMENSIONS`] order.
pub fn overall_score(scores: &[DimensionScore]) -> u8 {
    clamp_score(
        scores
            .iter()
            .zip(DIMENSION_WEIGHTS)
            .map(|(s, w)| f64::from(s.score) * w)
            .sum(),
    )
}

pub fn coach<I: IdGenerator>(
    transcript: &Transcript,
    metrics: &Metrics,
    playbook: &Playbook,
    call_type: CallType,
    ids: &I,
) -> Coaching {
    let scene = Scene {
        transcript,
        tokens: transcript
            .utterances
            .iter()
            .map(|u| TokenList::from_text(&u.text))
            .collect(),
        rep: metrics.rep_speaker,
        timed: transcript.has_times(),
    };
    let utterances = &transcript.utterances;
    let mut highlights = Vec::new();
    let mut suggestions: Vec<(u8, String)> = Vec::new();
    let mut goals: Vec<(u8, String, &'static str, GoalTarget)> = Vec::new();

    // Discovery: questions against the call type's target.
    let (q_low, q_high) = question_target(call_type);
    let questions = metrics.rep_questions;
    let discovery = if questions >= q_low {
        100.0
    } else {
        100.0 * f64::from(questions) / f64::from(q_low)
    };
    let discovery_evidence = vec![evidence(
        format!(
            "the rep asked {} (target {q_low}-{q_high} for this call type)",
            plural(questions, "question")
        ),
        None,
    )];
    if questions < q_low {
        suggestions.push((clamp_score(discovery), format!(
            "Ask more discovery questions: {questions} this call against a target of {q_low}-{q_high}. Prepare three open questions about the customer's process and its cost before the call."
        )));
        goals.push((
            clamp_score(discovery),
            format!("Ask at least {q_low} questions"),
            "rep_questions",
            GoalTarget::AtLeast(f64::from(q_low)),
        ));
    }

    // Listening: talk ratio, longest monologue, patience, interruptions.
    let mut listening_parts = Vec::new();
    let mut listening_evidence = Vec::new();
    if let Some(ratio) = metrics.rep_talk_ratio.value() {
        let (low, high) = TALK_RATIO_RANGE;
        let part = if ratio > high {
            100.0 - (ratio - high) * 250.0
        } else if ratio < low {
            100.0 - (low - ratio) * 150.0
        } else {
            100.0
        };
        listening_parts.push(part);
        listening_evidence.push(evidence(
            format!(
                "rep talk ratio {:.0}% (target {:.0}-{:.0}%)",
                ratio * 100.0,
                low * 100.0,
                high * 100.0
            ),
            None,
        ));
        if ratio > high {
            suggestions.push((clamp_score(part), format!(
                "You talked {:.0}% of the time. Aim for {:.0}-{:.0}%: after each answer, ask a follow-up question before presenting.",
                ratio * 100.0, low * 100.0, high * 100.0
            )));
            goals.push((
                clamp_score(part),
                "Talk no more than 60% of the call".into(),
                "rep_talk_ratio",
                GoalTarget::AtMost(high),
            ));
        }
    }
    if let Some(monologue) = metrics.longest_rep_monologue_ms.value() {
        let part = if monologue <= MONOLOGUE_LIMIT_MS {
            100.0
        } else {
            100.0 - (monologue - MONOLOGUE_LIMIT_MS) / 1000.0
        };
        listening_parts.push(part);
        listening_evidence.push(evidence(
            format!(
                "longest rep monologue {:.0} s (target under 90 s)",
                monologue / 1000.0
            ),
            None,
        ));
        if monologue > MONOLOGUE_LIMIT_MS {
            suggestions.push((clamp_score(part), format!(
                "Your longest monologue ran {:.0} s. Check in with a question every 60-90 s so the customer stays in the conversation.",
                monologue / 1000.0
            )));
            goals.push((
                clamp_score(part),
                "Keep monologues under 90 s".into(),
                "longest_rep_monologue_ms",
                GoalTarget::AtMost(MONOLOGUE_LIMIT_MS),
            ));
        }
    }
    if let Some(patience) = metrics.patience_ms.value() {
        let part = if patience >= PATIENCE_FLOOR_MS {
            100.0
        } else {
            60.0 + 40.0 * patience / PATIENCE_FLOOR_MS
        };
        listening_parts.push(part);
        listening_evidence.push(evidence(format!("mean pause before responding {patience:.0} ms (target at least {PATIENCE_FLOOR_MS:.0} ms)"), None));
        if patience < PATIENCE_FLOOR_MS {
            suggestions.push((clamp_score(part), "Leave a short pause before you answer: it signals you heard the customer and often draws out more detail.".into()));
        }
    }
    if let Some(interruptions) = metrics
        .rep_speaker
        .and_then(|r| metrics.speakers.get(r))
        .and_then(|s| s.interruptions.value())
    {
        let part = 100.0 - 15.0 * interruptions;
        listening_parts.push(part);
        listening_evidence.push(evidence(
            format!("the rep interrupted {interruptions:.0} times"),
            None,
        ));
        if interruptions >= 2.0 {
            suggestions.push((clamp_score(part), format!("You interrupted the customer {interruptions:.0} times. Let them finish; note your point and come back to it.")));
        }
    }
    if let Some(fillers) = metrics.rep_filler_words_per_minute.value()
        && fillers > FILLERS_PER_MINUTE_LIMIT
    {
        suggestions.push((70, format!("Cut filler words: {fillers:.1} per minute (\"um\", \"you know\"). A brief silence sounds more confident.")));
        goals.push((
            70,
            "Use at most 3 filler words per minute".into(),
            "rep_filler_words_per_minute",
            GoalTarget::AtMost(FILLERS_PER_MINUTE_LIMIT),
        ));
    }
    let listening = if listening_parts.is_empty() {
        listening_evidence.push(evidence(
            "no timing in this transcript: listening is judged on questions only".into(),
            None,
        ));
        discovery.min(80.0)
    } else {
        listening_parts.iter().sum::<f64>() / listening_parts.len() as f64
    };

    // Objection handling.
    let objections = find_objections(&scene);
    let mut objection_evidence = Vec::new();
    for o in &objections {
        let u = &utterances[o.utterance];
        let name = objection_name(o.kind);
        objection_evidence.push(evidence(
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
        highlights.push(Highlight {
            highlight_id: ids.mint(),
            kind: HighlightKind::Objection { objection: o.kind },
            at_ms: u.start_ms,
            quote: quote(&u.text),
            note: match (o.handled, response) {
                (true, _) => format!(
                    "The customer raised {} objection and the rep engaged with it.",
                    with_article(name)
                ),
                (false, Some(r)) => format!("Unanswered {name} objection. Playbook response: {r}"),
                (false, None) => {
                    format!("Unanswered {name} objection: ask what is behind it before answering.")
                }
            },
        });
        if !o.handled {
            let advice = response.map_or_else(
                || "ask a clarifying question (\"What would need to be true for this to work?\") before answering".to_owned(),
                |r| format!("use the playbook response: {r}"),
            );
            suggestions.push((40, format!("When the customer raised {name}, {advice}.")));
        }
    }
    let objection_score = if objections.is_empty() {
        objection_evidence.push(evidence(
            "no objections were raised in this call".into(),
            None,
        ));
        80.0
    } else {
        let handled = objections.iter().filter(|o| o.handled).count() as f64;
        40.0 + 60.0 * handled / objections.len() as f64
    };

    // Next steps: only the closing part of the call counts (its last 40% of utterances). A
    // mention is dated when a concrete time is in its sentence or the sentence after it (which
    // may open the next utterance: "Does Tuesday work?" "Tuesday works."). The last dated
    // mention wins; else the last mention is a weak close.
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
    let next_step = dated.or(undated).map(|i| (i, &utterances[i]));
    let (next_score, next_evidence) = match next_step {
        Some((i, u)) if Some(i) == dated => {
            highlights.push(Highlight {
                highlight_id: ids.mint(),
                kind: HighlightKind::NextStep,
                at_ms: u.start_ms,
                quote: quote(&u.text),
                note: "A next step with a time was agreed.".into(),
            });
            (
                100.0,
                evidence(
                    "a next step with a concrete time was agreed".into(),
                    scene.at(u),
                ),
            )
        }
        Some((_, u)) => {
            highlights.push(Highlight {
                highlight_id: ids.mint(),
                kind: HighlightKind::WeakClose,
                at_ms: u.start_ms,
                quote: quote(&u.text),
                note: "A next step was mentioned but no date or time was fixed.".into(),
            });
            suggestions.push((55, "Close with a dated next step: propose a day and time and send the invite before hanging up.".into()));
            goals.push((
                55,
                "End every call with a next step that has a date".into(),
                "dated_next_steps",
                GoalTarget::AtLeast(1.0),
            ));
            (
                55.0,
                evidence(
                    "a next step was mentioned without a date or time".into(),
                    scene.at(u),
                ),
            )
        }
        None => {
            if let Some(last) = utterances.iter().rev().find(|u| scene.is_rep(u)) {
                highlights.push(Highlight {
                    highlight_id: ids.mint(),
                    kind: HighlightKind::WeakClose,
                    at_ms: last.start_ms,
                    quote: quote(&last.text),
                    note: "The call ended without any agreed next step.".into(),
                });
            }
            suggestions.push((20, "The call ended without a next step. Before the end, propose one concrete action with a date.".into()));
            goals.push((
                20,
                "End every call with a next step that has a date".into(),
                "dated_next_steps",
                GoalTarget::AtLeast(1.0),
            ));
            (20.0, evidence("no next step was discussed".into(), None))
        }
    };

    // Strong moments: a rep question that got the customer talking for 30 s or more.
    if scene.timed {
        let mut best: Option<(u64, usize)> = None;
        for (i, pair) in utterances.windows(2).enumerate() {
            let (question, answer) = (&pair[0], &pair[1]);
            if scene.is_rep(question) && question.text.contains('?') && !scene.is_rep(answer) {
                let length = answer.end_ms - answer.start_ms;
                if length >= 30_000 && best.is_none_or(|(l, _)| length > l) {
                    best = Some((length, i));
                }
            }
        }
        if let Some((length, i)) = best {
            let u = &utterances[i];
            highlights.push(Highlight {
                highlight_id: ids.mint(),
                kind: HighlightKind::StrongMoment,
                at_ms: u.start_ms,
                quote: quote(&u.text),
                note: format!(
                    "This question got the customer talking for {} s.",
                    length / 1000
                ),
            });
        }
    }

    // Playbook adherence: value propositions and trackers mentioned by the rep.
    let rep_tokens: Vec<&TokenList> = utterances
        .iter()
        .zip(&scene.tokens)
        .filter(|(u, _)| scene.is_rep(u))
        .map(|(_, t)| t)
        .collect();
    let mut playbook_evidence = Vec::new();
    let mut playbook_parts = Vec::new();
    for proposition in &playbook.value_propositions {
        let all_words = TokenList::from_text(proposition);
        let key_words: Vec<&str> = all_words.iter().filter(|w| w.len() > 4).collect();
        let mentioned = !key_words.is_empty()
            && rep_tokens.iter().any(|toks| {
                key_words.iter().filter(|k| toks.contains(k)).count() * 2 >= key_words.len().min(4)
            });
        playbook_parts.push(if mentioned { 100.0 } else { 0.0 });
        playbook_evidence.push(evidence(
            format!(
                "value proposition {}: \"{}\"",
                if mentioned { "covered" } else { "not covered" },
                quote(proposition)
            ),
            None,
        ));
    }
    for hit in &metrics.trackers {
        playbook_evidence.push(evidence(
            format!("tracker \"{}\" mentioned {} times", hit.tracker, hit.count),
            hit.at_ms.first().copied(),
        ));
    }
    let playbook_score = if playbook_parts.is_empty() {
        playbook_evidence.push(evidence(
            "no value propositions in the playbook".into(),
            None,
        ));
        70.0
    } else {
        playbook_parts.iter().sum::<f64>() / playbook_parts.len() as f64
    };
    if playbook_score < 50.0 && !playbook.value_propositions.is_empty() {
        suggestions.push((clamp_score(playbook_score), "Work your value propositions into the call: tie each one to a problem the customer described.".into()));
    }

    let scores = vec![
        DimensionScore {
            dimension: "discovery".into(),
            score: clamp_score(discovery),
            evidence: discovery_evidence,
        },
        DimensionScore {
            dimension: "listening".into(),
            score: clamp_score(listening),
            evidence: listening_evidence,
        },
        DimensionScore {
            dimension: "objection_handling".into(),
            score: clamp_score(objection_score),
            evidence: objection_evidence,
        },
        DimensionScore {
            dimension: "next_steps".into(),
            score: clamp_score(next_score),
            evidence: vec![next_evidence],
        },
        DimensionScore {
            dimension: "playbook_adherence".into(),
            score: clamp_score(playbook_score),
            evidence: playbook_evidence,
        },
    ];
    let overall = overall_score(&scores);

    // 3-5 suggestions, weakest areas first; strengths fill in when few problems were found.
    suggestions.sort_by_key(|(score, _)| *score);
    let mut suggestions: Vec<String> = suggestions.into_iter().map(|(_, s)| s).collect();
    suggestions.dedup();
    for keep in [
        "Keep opening with the customer's agenda: confirm time, goals and who else should be involved.",
        "Keep summarising what you heard before you present: it shows you listened and catches misunderstandings.",
        "Keep asking about impact: how much time or money the problem costs makes the business case.",
    ] {
        if suggestions.len() >= 3 {
            break;
        }
        suggestions.push(keep.to_owned());
    }
    suggestions.truncate(5);

    goals.sort_by_key(|(score, ..)| *score);
    let mut micro_goals: Vec<MicroGoal> = Vec::new();
    for (_, description, metric, target) in goals {
        if micro_goals.iter().all(|g| g.metric != metric) && micro_goals.len() < 3 {
            micro_goals.push(MicroGoal {
                goal_id: ids.mint(),
                description,
                metric: metric.into(),
                target,
            });
        }
    }
    if micro_goals.is_empty() {
        micro_goals.push(MicroGoal {
            goal_id: ids.mint(),
            description: format!("Ask at least {q_high} questions"),
            metric: "rep_questions".into(),
            target: GoalTarget::AtLeast(f64::from(q_high)),
        });
    }

    highlights.sort_by_key(|h| h.at_ms);
    Coaching {
        overall_score: overall,
        summary: summarize(&scene, metrics, &objections, next_step.map(|(_, u)| u)),
        scores,
        highlights,
        suggestions,
        micro_goals,
    }
}

const PAIN_WORDS: &[&str] = &[
    "problem",
    "challenge",
    "struggle",
    "pain",
    "issue",
    "hours",
    "manual",
    "slow",
    "frustrating",
    "costly",
    "losing",
];

/// An extractive summary: one framing sentence of facts, then sentences quoted from the call.
fn summarize(
    scene: &Scene<'_>,
    metrics: &Metrics,
    objections: &[ObjectionFound],
    next_step: Option<&Utterance>,
) -> String {
    let utterances = &scene.transcript.utterances;
    let minutes = metrics
        .duration_ms
        .value()
        .map(|ms| format!("{:.0}-minute ", ms / 60_000.0))
        .unwrap_or_default();
    let mut parts = vec![format!(
        "A {minutes}conversation between {} speakers.",
        scene.transcript.speakers.len()
    )];
    if let Some(pain) = utterances
        .iter()
        .zip(&scene.tokens)
        .find(|(u, toks)| !scene.is_rep(u) && toks.iter().any(|t| PAIN_WORDS.contains(&t)))
    {
        parts.push(format!("Customer: \"{}\"", quote(&pain.0.text)));
    }
    if let Some(o) = objections.first() {
        parts.push(format!(
            "Objection: \"{}\"",
            quote(&utterances[o.utterance].text)
        ));
    }
    if let Some(step) = next_step {
        parts.push(format!("Next step: \"{}\"", quote(&step.text)));
    }
    parts.join(" ")
}

/// The value of a goal's metric in an analysis, for checking goals on later calls.
pub fn goal_metric_value(metric: &str, metrics: &Metrics, highlights: &[Highlight]) -> Option<f64> {
    match metric {
        "rep_questions" => Some(f64::from(metrics.rep_questions)),
        "rep_talk_ratio" => metrics.rep_talk_ratio.value(),
        "longest_rep_monologue_ms" => metrics.longest_rep_monologue_ms.value(),
        "rep_filler_words_per_minute" => metrics.rep_filler_words_per_minute.value(),
        "patience_ms" => metrics.patience_ms.value(),
        "dated_next_steps" => Some(
            highlights
                .iter()
                .filter(|h| h.kind == HighlightKind::NextStep)
                .count() as f64,
        ),
        _ => None,
    }
}
