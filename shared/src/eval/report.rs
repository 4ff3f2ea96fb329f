//! The eval's readable report: one line a figure with a column a group, then one line a call.

use std::fmt::Write;

use super::score::{CallResult, Comparison, Detection, Group, Item, Share};

/// How one figure is read from a group.
type Figure = fn(&Group) -> Cell;

/// The figures, in the order they are printed, each read from a group.
const FIGURES: &[(&str, Figure)] = &[
    ("objection precision", |g| precision(&g.objections)),
    ("objection recall", |g| recall(&g.objections)),
    ("objection F1", |g| Cell::value(g.objections.f1)),
    ("objection type accuracy", |g| accuracy(&g.objections)),
    ("next-step precision", |g| precision(&g.next_steps)),
    ("next-step recall", |g| recall(&g.next_steps)),
    ("next-step F1", |g| Cell::value(g.next_steps.f1)),
    ("next-step dated accuracy", |g| accuracy(&g.next_steps)),
    ("rep speaker accuracy", |g| share(&g.rep_speaker)),
    ("rep speaker unsure", |g| share(&g.rep_unsure)),
    ("rep questions close", |g| share(&g.rep_questions_close)),
];

/// The names of the printed figure lines, for checks that the report is complete.
pub fn figure_names() -> impl Iterator<Item = &'static str> {
    FIGURES.iter().map(|(name, _)| *name)
}

struct Cell(String);

impl Cell {
    fn value(value: Option<f64>) -> Cell {
        Cell(value.map_or_else(|| "n/a".into(), |v| format!("{v:.2}")))
    }

    fn of(value: Option<f64>, part: usize, whole: usize) -> Cell {
        let Cell(shown) = Cell::value(value);
        Cell(format!("{shown} {part}/{whole}"))
    }
}

fn precision(d: &Detection) -> Cell {
    Cell::of(d.precision, d.tally.matched, d.tally.found)
}

fn recall(d: &Detection) -> Cell {
    Cell::of(d.recall, d.tally.matched, d.tally.labelled)
}

/// Among matched pairs: type for objections, dated for next steps.
fn accuracy(d: &Detection) -> Cell {
    Cell::of(d.accuracy, d.tally.agreeing, d.tally.matched)
}

fn share(share: &Share) -> Cell {
    Cell::of(share.share, share.count, share.of)
}

fn place(item: &Item) -> String {
    match item.utterance {
        Some(line) => format!("{line} {}", item.attribute),
        None => format!("? {}", item.attribute),
    }
}

fn list(label: &str, items: impl Iterator<Item = String>) -> Option<String> {
    let items: Vec<String> = items.collect();
    (!items.is_empty()).then(|| format!("{label} {}", items.join(", ")))
}

/// "objections 1/2 matched, missed 14 timing, false alarms 3 price, 40 price, wrong 8 price
/// (label budget)".
fn comparison(name: &str, wrong: &str, comparison: &Comparison) -> String {
    let tally = comparison.tally();
    let mut parts = vec![format!(
        "{name} {}/{} matched",
        tally.matched, tally.labelled
    )];
    parts.extend(list("missed", comparison.missed.iter().map(place)));
    parts.extend(list(
        "false alarms",
        comparison.false_alarms.iter().map(place),
    ));
    parts.extend(list(
        wrong,
        comparison
            .matched
            .iter()
            .filter(|m| !m.agrees())
            .map(|m| format!("{} (label {})", place(&m.found), place(&m.label))),
    ));
    parts.join(", ")
}

fn call_line(call: &CallResult) -> String {
    let kind = call
        .kind
        .as_deref()
        .map(|k| format!(", {k}"))
        .unwrap_or_default();
    let rep = call.rep_speaker.as_deref().unwrap_or("none");
    let mut parts = vec![
        comparison("objections", "wrong type", &call.objections),
        comparison("next steps", "wrong dated", &call.next_steps),
        format!(
            "rep speaker {rep:?} {}{} (label {:?})",
            if call.rep_speaker_right {
                "right"
            } else {
                "wrong"
            },
            if call.rep_unsure { ", unsure" } else { "" },
            call.rep_speaker_label
        ),
        format!(
            "rep questions {} {} (label {})",
            call.rep_questions,
            if call.rep_questions_close {
                "close"
            } else {
                "far"
            },
            call.rep_questions_label
        ),
    ];
    if call.parsed_utterances != call.lines {
        parts.push(format!(
            "parser read {} lines as {} utterances",
            call.lines, call.parsed_utterances
        ));
    }
    if call.timed {
        parts.push("timed".into());
    }
    format!(
        "{} [{}{kind}]: {}",
        call.id,
        call.call_type.as_str(),
        parts.join("; ")
    )
}

/// The report as printed by `callcoach eval`.
pub fn render(report: &super::score::Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "EVAL  {} labelled calls; pooled over each group's calls (counts: matched/found, matched/labelled, right/of)",
        report.calls.len()
    );
    let rows: Vec<(&str, Vec<String>)> = FIGURES
        .iter()
        .map(|(name, read)| (*name, report.groups.iter().map(|g| read(g).0).collect()))
        .collect();
    let headers: Vec<String> = report
        .groups
        .iter()
        .map(|g| format!("{} ({})", g.name, g.calls))
        .collect();
    let name_width = FIGURES.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(column, header)| {
            rows.iter()
                .map(|(_, cells)| cells[column].len())
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = format!("{:name_width$}", "");
    for (header, width) in headers.iter().zip(&widths) {
        let _ = write!(line, "  {header:>width$}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for (name, cells) in &rows {
        let mut line = format!("{name:name_width$}");
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(line, "  {cell:>width$}");
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\nPER CALL  (utterance = 0-based line of the call file; ? = a finding the analysis could not place)"
    );
    for call in &report.calls {
        let _ = writeln!(out, "{}", call_line(call));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::labels::LabelCallType;
    use super::super::score::{Report, compare};
    use super::*;

    fn item(utterance: usize, attribute: &str) -> Item {
        Item {
            utterance: Some(utterance),
            attribute: attribute.into(),
        }
    }

    #[test]
    fn prints_every_figure_and_each_call_with_its_misses() {
        let call = CallResult {
            id: "call-1".into(),
            call_type: LabelCallType::Demo,
            kind: None,
            lines: 12,
            parsed_utterances: 9,
            timed: true,
            objections: compare(
                &[item(3, "price"), item(8, "price")],
                &[item(8, "budget"), item(14, "timing")],
            ),
            next_steps: compare(&[], &[]),
            rep_speaker: Some("Speaker A".into()),
            rep_speaker_label: "Speaker B".into(),
            rep_speaker_right: false,
            rep_unsure: true,
            rep_questions: 4,
            rep_questions_label: 5,
            rep_questions_close: true,
        };
        let text = render(&Report::new(vec![call]));
        for name in figure_names() {
            assert!(text.lines().any(|l| l.starts_with(name)), "{name}:\n{text}");
        }
        let squeezed: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for figure in [
            "all (1) demo (1)",
            "objection precision 0.50 1/2 0.50 1/2",
            "objection type accuracy 0.00 0/1 0.00 0/1",
            "next-step F1 n/a n/a",
            "rep questions close 1.00 1/1 1.00 1/1",
            "rep speaker unsure 1.00 1/1 1.00 1/1",
        ] {
            assert!(squeezed.iter().any(|l| l == figure), "{figure}:\n{text}");
        }
        assert!(
            text.contains(
                "call-1 [demo]: objections 1/2 matched, missed 14 timing, false alarms 3 price, \
                 wrong type 8 price (label 8 budget); next steps 0/0 matched; \
                 rep speaker \"Speaker A\" wrong, unsure (label \"Speaker B\"); \
                 rep questions 4 close (label 5); parser read 12 lines as 9 utterances; timed"
            ),
            "{text}"
        );
    }
}
