//! The readable coaching report printed by the CLI and the demo.

use std::fmt::Write;

use crate::domain::analysis::{Analysis, GoalTarget, HighlightKind, MetricValue};

/// `m:ss` (or `h:mm:ss`) for a position in the call.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn show(value: &MetricValue, format: impl Fn(f64) -> String) -> String {
    match value {
        MetricValue::Available { value } => format(*value),
        MetricValue::Unavailable { reason } => format!("n/a ({reason})"),
    }
}

fn bar(score: u8) -> String {
    let filled = usize::from(score) / 10;
    format!("{}{}", "#".repeat(filled), ".".repeat(10 - filled))
}

pub fn render(analysis: &Analysis) -> String {
    let m = &analysis.metrics;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "COACHING REPORT  overall {}/100  [{}]",
        analysis.overall_score,
        bar(analysis.overall_score)
    );
    let _ = writeln!(
        out,
        "scored by {} (rubric {}){}",
        analysis.provenance.provider,
        analysis.provenance.rubric_version,
        if analysis.provenance.degraded {
            ", degraded fallback"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "\nSummary\n  {}", analysis.summary);

    let _ = writeln!(out, "\nScores");
    for s in &analysis.scores {
        let _ = writeln!(
            out,
            "  {:<20} {:>3}  [{}]",
            s.dimension,
            s.score,
            bar(s.score)
        );
        for e in &s.evidence {
            let at = e
                .at_ms
                .map(|ms| format!(" @{}", clock(ms)))
                .unwrap_or_default();
            let _ = writeln!(out, "      - {}{at}", e.description);
        }
    }

    let rep = m
        .rep_speaker
        .and_then(|r| m.speakers.get(r))
        .map_or("unknown", |s| s.speaker.as_str());
    let _ = writeln!(out, "\nConversation (rep: {rep}, {})", m.rep_rule);
    if analysis.rep_is_unsure() {
        let _ = writeln!(
            out,
            "  The rep speaker is unsure: no advice or goals for this call; set the call's rep speaker to get them."
        );
    }
    let minutes = |v: f64| format!("{:.1} min", v / 60_000.0);
    let seconds = |v: f64| format!("{:.0} s", v / 1000.0);
    let rows: [(&str, String); 11] = [
        ("duration", show(&m.duration_ms, minutes)),
        (
            "rep talk ratio",
            show(&m.rep_talk_ratio, |v| format!("{:.0}%", v * 100.0)),
        ),
        (
            "rep questions",
            format!(
                "{} ({})",
                m.rep_questions,
                show(&m.rep_questions_per_hour, |v| format!("{v:.0}/hour"))
            ),
        ),
        (
            "longest rep monologue",
            show(&m.longest_rep_monologue_ms, seconds),
        ),
        (
            "longest customer story",
            show(&m.longest_customer_story_ms, seconds),
        ),
        (
            "interactivity",
            show(&m.interactivity_switches_per_minute, |v| {
                format!("{v:.1} switches/min")
            }),
        ),
        ("patience", show(&m.patience_ms, |v| format!("{v:.0} ms"))),
        (
            "rep speaking speed",
            show(&m.rep_words_per_minute, |v| format!("{v:.0} wpm")),
        ),
        (
            "interruptions",
            show(&m.interruptions, |v| {
                format!("{v:.0} (backchannels: {})", m.backchannels)
            }),
        ),
        (
            "rep filler words",
            format!(
                "{} ({})",
                m.rep_filler_words,
                show(&m.rep_filler_words_per_minute, |v| format!("{v:.1}/min"))
            ),
        ),
        ("silence", show(&m.silence_ms, seconds)),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<24} {value}");
    }
    for s in &m.speakers {
        let _ = writeln!(
            out,
            "  speaker {:<16} talk {:<10} words {:<6} questions {}",
            s.speaker,
            show(&s.talk_share, |v| format!("{:.0}%", v * 100.0)),
            s.words,
            s.questions
        );
    }
    for t in &m.trackers {
        let at: Vec<String> = t.at_ms.iter().take(5).map(|ms| clock(*ms)).collect();
        let _ = writeln!(
            out,
            "  tracker {:<16} {} hits {}",
            t.tracker,
            t.count,
            at.join(" ")
        );
    }

    let _ = writeln!(out, "\nHighlights");
    if analysis.highlights.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for h in &analysis.highlights {
        let kind = match &h.kind {
            HighlightKind::Objection { objection: o } => format!("objection: {}", o.label()),
            HighlightKind::WeakClose => "weak close".into(),
            HighlightKind::NextStep => "next step".into(),
            HighlightKind::StrongMoment => "strong moment".into(),
        };
        let _ = writeln!(
            out,
            "  [{}] {kind}\n      \"{}\"\n      {}",
            clock(h.at_ms),
            h.quote,
            h.note
        );
    }

    let _ = writeln!(out, "\nSuggestions");
    for (i, s) in analysis.suggestions.iter().enumerate() {
        let _ = writeln!(out, "  {}. {s}", i + 1);
    }
    let _ = writeln!(out, "\nMicro-goals for the next calls");
    if analysis.micro_goals.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for g in &analysis.micro_goals {
        let target = match g.target {
            GoalTarget::AtLeast(v) => format!("{} >= {v}", g.metric),
            GoalTarget::AtMost(v) => format!("{} <= {v}", g.metric),
        };
        let _ = writeln!(out, "  - {} ({target})", g.description);
    }
    out
}
