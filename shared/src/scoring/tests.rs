//! Golden tests: small transcripts whose every metric was worked out by hand (see comments).

use time::macros::datetime;

use super::*;
use crate::domain::analysis::{
    GoalTarget, HighlightKind, MetricValue, ObjectionType, UNSURE_REP_SUGGESTION,
};
use crate::domain::call::CallType;
use crate::domain::playbook::{ObjectionHandling, Playbook, Tracker};
use crate::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance, Word};
use crate::ids::{CallId, MintedId, TenantId};
use crate::system::RandomIds;

/// Words spread evenly: word i starts at start + i * ((end - start) / n).
fn utterance(speaker: usize, start: u64, end: u64, text: &str, timed_words: bool) -> Utterance {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let step = (end - start) / parts.len() as u64;
    let words = if timed_words {
        parts
            .iter()
            .enumerate()
            .map(|(i, w)| Word {
                text: (*w).into(),
                start_ms: start + i as u64 * step,
                end_ms: start + (i as u64 + 1) * step,
                confidence: Some(0.9),
            })
            .collect()
    } else {
        Vec::new()
    };
    Utterance {
        speaker,
        start_ms: start,
        end_ms: end,
        text: text.into(),
        words,
    }
}

fn two_speakers(timing: Timing, utterances: Vec<Utterance>) -> Transcript {
    Transcript {
        schema_version: 1,
        source_format: SourceFormat::Deepgram,
        timing,
        speakers: vec![
            Speaker {
                label: "speaker 0".into(),
                name: Some("Dana".into()),
            },
            Speaker {
                label: "speaker 1".into(),
                name: Some("Sam".into()),
            },
        ],
        utterances,
    }
}

/// Dana (rep) and Sam (customer), one minute, word timings.
fn golden_call(timing: Timing) -> Transcript {
    let w = timing == Timing::Words;
    two_speakers(
        timing,
        vec![
            utterance(
                0,
                0,
                10_000,
                "Hi Sam, thanks for joining. What made you look at this now?",
                w,
            ),
            utterance(
                1,
                11_000,
                31_000,
                "Um, our reps spend hours on notes. The budget is tight this year.",
                w,
            ),
            utterance(0, 30_500, 31_000, "Mm-hm.", w),
            utterance(
                0,
                32_000,
                50_000,
                "How many hours a week? Who else decides? We can send you a proposal. Does Tuesday at 2pm work?",
                w,
            ),
            utterance(1, 49_000, 60_000, "Tuesday works.", w),
        ],
    )
}

fn trackers() -> Vec<Tracker> {
    vec![Tracker {
        name: "commercials".into(),
        phrases: vec!["budget".into(), "proposal".into()],
    }]
}

fn value(v: &MetricValue) -> f64 {
    v.value()
        .unwrap_or_else(|| panic!("expected a value, got {v:?}"))
}

fn dana() -> RepChoice {
    RepChoice {
        speaker: Some(0),
        rule: "test",
        confidence: 1.0,
    }
}

#[test]
fn golden_metrics_with_word_timings() {
    let m = compute_metrics(&golden_call(Timing::Words), &dana(), &trackers());
    // Talk: Dana 10,000 + 500 + 18,000 = 28,500; Sam 20,000 + 11,000 = 31,000.
    assert_eq!(value(&m.speakers[0].talk_time_ms), 28_500.0);
    assert_eq!(value(&m.speakers[1].talk_time_ms), 31_000.0);
    assert!((value(&m.rep_talk_ratio) - 28_500.0 / 59_500.0).abs() < 1e-9);
    // Words: Dana 12 + 1 + 19 = 32, Sam 13 + 2 = 15; speed 32 / 0.475 min.
    assert_eq!((m.speakers[0].words, m.speakers[1].words), (32, 15));
    assert!((value(&m.rep_words_per_minute) - 32.0 / 0.475).abs() < 1e-9);
    // Questions: 1 + 3; per hour of a one-minute call: 240.
    assert_eq!(m.rep_questions, 4);
    assert_eq!(value(&m.rep_questions_per_hour), 240.0);
    // Floor turns: Dana, Sam, (Mm-hm is a backchannel), Dana, Sam: 3 switches in 1 minute.
    assert_eq!(m.backchannels, 1);
    assert_eq!(value(&m.interactivity_switches_per_minute), 3.0);
    // Dana's longest turn 18 s; Sam's 20 s.
    assert_eq!(value(&m.longest_rep_monologue_ms), 18_000.0);
    assert_eq!(value(&m.longest_customer_story_ms), 20_000.0);
    // Dana starts 32,000 after Sam ended at 31,000.
    assert_eq!(value(&m.patience_ms), 1_000.0);
    // Sam starts at 49,000, 1,000 ms before Dana ends: one interruption, by Sam. The overlapping
    // "Mm-hm." is a backchannel, not an interruption.
    assert_eq!(value(&m.interruptions), 1.0);
    assert_eq!(value(&m.speakers[1].interruptions), 1.0);
    assert_eq!(value(&m.speakers[0].interruptions), 0.0);
    // Fillers: Sam's "Um" (not the rep's).
    assert_eq!((m.rep_filler_words, m.speakers[1].filler_words), (0, 1));
    // Gaps 10,000-11,000 and 31,000-32,000.
    assert_eq!(value(&m.silence_ms), 2_000.0);
    assert_eq!(value(&m.duration_ms), 60_000.0);
    // "budget" is word 8 of 13 in 11,000-31,000 (step 1,538); "proposal." word 13 of 19 in
    // 32,000-50,000 (step 947).
    assert_eq!(m.trackers[0].count, 2);
    assert_eq!(m.trackers[0].at_ms, [11_000 + 8 * 1_538, 32_000 + 13 * 947]);
}

#[test]
fn cue_timed_transcripts_report_interruptions_unavailable() {
    let m = compute_metrics(&golden_call(Timing::Utterances), &dana(), &trackers());
    assert!(matches!(m.interruptions, MetricValue::Unavailable { .. }));
    assert!(matches!(
        m.speakers[1].interruptions,
        MetricValue::Unavailable { .. }
    ));
    // Everything utterance-timed is still there; trackers fall back to utterance starts.
    assert!((value(&m.rep_talk_ratio) - 28_500.0 / 59_500.0).abs() < 1e-9);
    assert_eq!(value(&m.patience_ms), 1_000.0);
    assert_eq!(m.trackers[0].at_ms, [11_000, 32_000]);
}

#[test]
fn untimed_transcripts_report_time_metrics_unavailable_never_invented() {
    let mut t = golden_call(Timing::None);
    for u in &mut t.utterances {
        (u.start_ms, u.end_ms) = (0, 0);
    }
    let m = compute_metrics(&t, &dana(), &trackers());
    for v in [
        &m.rep_talk_ratio,
        &m.duration_ms,
        &m.patience_ms,
        &m.silence_ms,
        &m.rep_words_per_minute,
        &m.longest_customer_story_ms,
        &m.interactivity_switches_per_minute,
        &m.rep_questions_per_hour,
    ] {
        assert!(matches!(v, MetricValue::Unavailable { .. }), "{v:?}");
    }
    assert_eq!(m.rep_questions, 4);
    assert_eq!(m.trackers[0].count, 2);
    assert!(m.trackers[0].at_ms.is_empty());
}

#[test]
fn rep_rule_override_then_name_then_agent_then_first_speaker() {
    let t = golden_call(Timing::Words);
    assert_eq!(
        choose_rep(&t, Some("speaker 1"), Some("Dana")).speaker,
        Some(1)
    );
    assert_eq!(choose_rep(&t, None, Some("sam smith")).speaker, Some(1));
    assert_eq!(
        choose_rep(&t, None, None),
        RepChoice {
            speaker: Some(0),
            rule: "the first speaker (default rule)",
            confidence: 0.4,
        }
    );
    let mut tca = t.clone();
    tca.speakers[1].label = "AGENT".into();
    assert_eq!(choose_rep(&tca, None, None).speaker, Some(1));
}

/// Role labels, introductions and `unknown` lines, the way real exports mark them.
#[test]
fn rep_rule_reads_role_labels_introductions_and_skips_unknown_speakers() {
    let chosen = |text: &str| {
        let t = crate::parse::parse_plain(text).unwrap();
        let rep = choose_rep(&t, None, None);
        (rep.speaker.map(|i| t.speakers[i].label.clone()), rep.rule)
    };
    let (rep, rule) =
        chosen("unknown: hello?\nprospect: Hi, is this about the course?\nagent: Yes, it is.\n");
    assert_eq!(rep.as_deref(), Some("agent"));
    assert_eq!(rule, "the speaker's role label");
    let (rep, _) = chosen("Caller: Hi, my internet is down.\nMaria: I can help with that.\n");
    assert_eq!(
        rep.as_deref(),
        Some("Maria"),
        "the one speaker facing the caller"
    );
    let (rep, rule) = chosen(
        "Speaker A: Hello.\nSpeaker B: Hi, this is Jo from Northwind Heating.\nSpeaker A: Come in.\n",
    );
    assert_eq!(rep.as_deref(), Some("Speaker B"));
    assert_eq!(rule, "the speaker who introduced themselves as the seller");
    let (rep, _) =
        chosen("Dana (VP Sales): We are looking.\nAna (Team Lead): Happy to show you.\n");
    assert_eq!(
        rep.as_deref(),
        Some("Dana (VP Sales)"),
        "titles are not roles: the default"
    );
    let (rep, _) = chosen("Kim: Hello.\nJo (Sales): Thanks for your time.\n");
    assert_eq!(
        rep.as_deref(),
        Some("Jo (Sales)"),
        "a role in parentheses counts"
    );
    let (rep, rule) = chosen("unknown: (noise)\nLee: Good morning.\nKim: Morning.\n");
    assert_eq!(
        rep.as_deref(),
        Some("Lee"),
        "unknown lines do not open the call"
    );
    assert_eq!(rule, "the first speaker (default rule)");
}

fn analysis_of(
    t: &Transcript,
    playbook: &Playbook,
    call_type: CallType,
) -> crate::domain::analysis::Analysis {
    deterministic_analysis(
        ScoringRequest {
            tenant_id: &TenantId::parse("acme").unwrap(),
            call_id: &CallId::from_random([1; 16]),
            transcript_version: 1,
            transcript: t,
            playbook,
            call_type,
            rep_override: None,
            rep_name: Some("Dana"),
        },
        &RandomIds,
        datetime!(2026-11-01 0:00 UTC),
    )
}

/// The analysis's score of `dimension`; the golden tests check several by name.
fn score_of<'a>(
    a: &'a crate::domain::analysis::Analysis,
    dimension: &str,
) -> &'a crate::domain::analysis::DimensionScore {
    a.scores.iter().find(|s| s.dimension == dimension).unwrap()
}

#[test]
fn coach_finds_objection_next_step_and_scores_with_evidence() {
    let t = golden_call(Timing::Words);
    let a = analysis_of(&t, &Playbook::default(), CallType::Discovery);
    let objections: Vec<_> = a
        .highlights
        .iter()
        .filter_map(|h| match h.kind {
            HighlightKind::Objection { objection } => Some(objection),
            _ => None,
        })
        .collect();
    assert_eq!(objections, [ObjectionType::Budget]);
    assert!(
        a.highlights
            .iter()
            .any(|h| h.kind == HighlightKind::NextStep && h.at_ms == 32_000)
    );
    assert!(
        !a.highlights
            .iter()
            .any(|h| h.kind == HighlightKind::WeakClose)
    );
    // 4 questions against a discovery target of 11: 36.
    let discovery = score_of(&a, "discovery");
    assert_eq!(discovery.score, 36);
    assert!(discovery.evidence[0].description.contains("4 questions"));
    // The budget objection was answered with questions: 40 + 60.
    assert_eq!(score_of(&a, "objection_handling").score, 100);
    assert!(
        a.micro_goals
            .iter()
            .any(|g| g.metric == "rep_questions" && g.target == GoalTarget::AtLeast(11.0))
    );
    for s in &a.scores {
        assert!(s.score <= 100 && !s.evidence.is_empty(), "{s:?}");
    }
    assert!((3..=5).contains(&a.suggestions.len()));
    assert!((1..=3).contains(&a.micro_goals.len()));
    for h in &a.highlights {
        assert!(
            t.utterances.iter().any(|u| u.text.contains(&h.quote)),
            "quote not in transcript: {}",
            h.quote
        );
        assert!(h.at_ms <= t.duration_ms());
    }
    assert!(a.summary.contains("budget is tight"));
}

#[test]
fn weak_close_and_unanswered_objection_use_the_playbook() {
    let t = two_speakers(
        Timing::Utterances,
        vec![
            utterance(0, 0, 5_000, "Let me walk you through the product.", false),
            utterance(
                1,
                6_000,
                9_000,
                "Honestly it looks too expensive for us.",
                false,
            ),
            utterance(
                0,
                9_500,
                12_000,
                "Moving on. I will send the deck later.",
                false,
            ),
        ],
    );
    let playbook = Playbook {
        objection_handling: vec![ObjectionHandling {
            objection: ObjectionType::Price,
            response: "Anchor on the cost of manual notes.".into(),
        }],
        ..Playbook::default()
    };
    let a = analysis_of(&t, &playbook, CallType::Demo);
    let weak = a
        .highlights
        .iter()
        .find(|h| h.kind == HighlightKind::WeakClose)
        .expect("weak close");
    assert_eq!(weak.at_ms, 9_500);
    let price = a
        .highlights
        .iter()
        .find(|h| {
            matches!(
                h.kind,
                HighlightKind::Objection {
                    objection: ObjectionType::Price
                }
            )
        })
        .unwrap();
    assert!(price.note.contains("Anchor on the cost"));
    assert!(a.suggestions.iter().any(|s| s.contains("dated next step")));
    assert_eq!(score_of(&a, "objection_handling").score, 40);
    assert_eq!(score_of(&a, "next_steps").score, 55);
}

#[test]
fn report_renders_every_section() {
    let a = analysis_of(
        &golden_call(Timing::Words),
        &Playbook {
            trackers: trackers(),
            ..Playbook::default()
        },
        CallType::Discovery,
    );
    let text = report::render(&a);
    for section in [
        "COACHING REPORT",
        "Scores",
        "Conversation (rep: Dana",
        "Highlights",
        "[0:11] objection: budget",
        "Suggestions",
        "Micro-goals",
        "tracker commercials",
    ] {
        assert!(text.contains(section), "missing {section:?} in\n{text}");
    }
    assert_eq!(report::clock(3_725_000), "1:02:05");
}

/// A call whose diarization put both people on one speaker: no talk-share coaching.
#[test]
fn a_conversation_on_one_speaker_has_no_talk_ratio_and_no_talk_coaching() {
    let lines = [
        "Hi, thanks for calling, how can I help you today?",
        "Yes, I want to change my plan. Can you do that for me?",
        "Sure, I can do that. Does Tuesday work for the switch?",
        "Yes, Tuesday works. Thanks.",
    ];
    let utterances = lines
        .iter()
        .enumerate()
        .map(|(i, text)| utterance(0, i as u64 * 10_000, i as u64 * 10_000 + 9_000, text, false))
        .collect();
    let t = two_speakers(Timing::Utterances, utterances);
    let a = analysis_of(&t, &Playbook::default(), CallType::Other);
    match &a.metrics.rep_talk_ratio {
        MetricValue::Unavailable { reason } => assert!(reason.contains("one speaker"), "{reason}"),
        other => panic!("talk ratio should be unavailable, got {other:?}"),
    }
    assert!(a.metrics.longest_rep_monologue_ms.value().is_none());
    assert!(
        a.suggestions.iter().all(|s| !s.contains("talked")),
        "{:?}",
        a.suggestions
    );

    // The same words on two speakers are a conversation with a talk ratio.
    let mut two = t.clone();
    for (i, u) in two.utterances.iter_mut().enumerate() {
        u.speaker = i % 2;
    }
    let b = analysis_of(&two, &Playbook::default(), CallType::Other);
    assert!(b.metrics.rep_talk_ratio.value().is_some());
}

/// A rep chosen by the default rule is reported as unsure, in the analysis and the report.
#[test]
fn a_rep_chosen_by_default_is_reported_as_unsure() {
    let t =
        crate::parse::parse_plain("Ann: Hello.\nBo: Hello.\nAnn: Fine day.\nBo: It is.\n").unwrap();
    let a = analysis_of(&t, &Playbook::default(), CallType::Other);
    let rep = a.rep.as_ref().unwrap();
    assert!(rep.unsure && rep.confidence < 0.5, "{rep:?}");
    assert_eq!(rep.label.as_deref(), Some("Ann"));
    assert!(report::render(&a).contains("The rep speaker is unsure"));
    // No advice or goals for someone who may not be the rep.
    assert_eq!(a.suggestions, [UNSURE_REP_SUGGESTION]);
    assert!(a.micro_goals.is_empty());
    let playbook = Playbook::default();
    let named = deterministic_analysis(
        ScoringRequest {
            tenant_id: &TenantId::parse("acme").unwrap(),
            call_id: &CallId::from_random([1; 16]),
            transcript_version: 1,
            transcript: &t,
            playbook: &playbook,
            call_type: CallType::Other,
            rep_override: Some("Bo"),
            rep_name: None,
        },
        &RandomIds,
        datetime!(2026-11-01 0:00 UTC),
    );
    assert!(!named.rep.unwrap().unsure);
    assert!(named.suggestions.len() >= 3 && !named.micro_goals.is_empty());
}

/// Every piece of advice points at the moment it is about: a time and a quote from the call.
#[test]
fn each_suggestion_cites_a_time_and_a_quote_from_the_call() {
    let monologue = "Um, so let me walk you through the platform, you know, it has dashboards, \
        um, reports, alerts and, you know, integrations with everything you use today.";
    let t = two_speakers(
        Timing::Utterances,
        vec![
            utterance(0, 0, 120_000, monologue, false),
            utterance(
                1,
                121_000,
                140_000,
                "Honestly our problem is slow onboarding of new hires.",
                false,
            ),
            utterance(
                0,
                139_000,
                200_000,
                "Um, right, and, you know, we also do forecasting and territory planning.",
                false,
            ),
            utterance(
                1,
                201_000,
                210_000,
                "I see, and what about the cost of all this for us?",
                false,
            ),
            utterance(
                0,
                209_500,
                260_000,
                "Um, you know, it depends on seats, we can talk about that later on.",
                false,
            ),
            utterance(1, 261_000, 265_000, "Okay.", false),
        ],
    );
    let playbook = Playbook {
        value_propositions: vec!["Cut ramp time for new hires with weekly coaching".into()],
        ..Playbook::default()
    };
    let a = analysis_of(&t, &playbook, CallType::Discovery);
    let advice: Vec<&String> = a
        .suggestions
        .iter()
        .filter(|s| !s.starts_with("Keep"))
        .collect();
    assert!(advice.len() >= 3, "{:?}", a.suggestions);
    for s in advice {
        let (_, cited) = s
            .rsplit_once("(at ")
            .unwrap_or_else(|| panic!("no time: {s}"));
        let said = cited
            .split_once('"')
            .map(|(_, q)| q.trim_end_matches("\")"))
            .unwrap();
        assert!(
            t.utterances.iter().any(|u| u.text.contains(said)),
            "{said:?} is not from the call"
        );
    }
    // Talking too much quotes the longest stretch; the playbook, the customer's problem.
    assert!(
        a.suggestions
            .iter()
            .any(|s| s.contains("You talked") && s.contains("walk you through"))
    );
    assert!(
        a.suggestions
            .iter()
            .any(|s| s.contains("value propositions") && s.contains("slow onboarding"))
    );
}
