//! The match rule of the eval README and the figures it yields, per call and pooled.

use serde::Serialize;

use super::EvalError;
use super::findings::Findings;
use super::labels::{CallLabels, LabelCallType};
use super::source::LineMap;

/// An objection or a next step on a line of the call file, with the attribute that must agree
/// once matched: an objection's type, or `dated` / `undated` for a next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// `None` for a finding the analysis could not place.
    pub utterance: Option<usize>,
    pub attribute: String,
}

/// A finding paired with a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    pub found: Item,
    pub label: Item,
}

impl Matched {
    pub fn agrees(&self) -> bool {
        self.found.attribute == self.label.attribute
    }
}

/// How one call's findings of one sort compare with its labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub matched: Vec<Matched>,
    pub missed: Vec<Item>,
    pub false_alarms: Vec<Item>,
}

impl Comparison {
    pub fn tally(&self) -> Tally {
        Tally {
            found: self.matched.len() + self.false_alarms.len(),
            labelled: self.matched.len() + self.missed.len(),
            matched: self.matched.len(),
            agreeing: self.matched.iter().filter(|m| m.agrees()).count(),
        }
    }
}

/// Pairs findings with labels one-to-one, a finding counting for a label at most one utterance
/// away, and makes as many pairs as possible. Findings are taken in file order, each pairing
/// with the earliest free label in reach (which never loses a pair, as every reach is the same
/// width); among free labels on that same line, one that agrees is preferred.
pub fn compare(found: &[Item], labels: &[Item]) -> Comparison {
    let mut by_line: Vec<usize> = (0..found.len()).collect();
    by_line.sort_by_key(|&f| found[f].utterance);
    let mut label_order: Vec<usize> = (0..labels.len()).collect();
    label_order.sort_by_key(|&l| labels[l].utterance);
    let mut label_taken = vec![false; labels.len()];
    let mut comparison = Comparison::default();
    for f in by_line {
        let Some(line) = found[f].utterance else {
            comparison.false_alarms.push(found[f].clone());
            continue;
        };
        let in_reach = |l: &usize| {
            !label_taken[*l]
                && labels[*l]
                    .utterance
                    .is_some_and(|label_line| label_line.abs_diff(line) <= 1)
        };
        let earliest = label_order.iter().copied().find(in_reach);
        let chosen = earliest.map(|first| {
            label_order
                .iter()
                .copied()
                .filter(in_reach)
                .filter(|&l| labels[l].utterance == labels[first].utterance)
                .find(|&l| labels[l].attribute == found[f].attribute)
                .unwrap_or(first)
        });
        match chosen {
            Some(l) => {
                label_taken[l] = true;
                comparison.matched.push(Matched {
                    found: found[f].clone(),
                    label: labels[l].clone(),
                });
            }
            None => comparison.false_alarms.push(found[f].clone()),
        }
    }
    comparison.missed = label_order
        .into_iter()
        .filter(|&l| !label_taken[l])
        .map(|l| labels[l].clone())
        .collect();
    comparison
}

/// Counts behind precision, recall, F1 and the accuracy of the agreeing attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub found: usize,
    pub labelled: usize,
    pub matched: usize,
    /// Matched pairs whose attribute agrees (type, or dated).
    pub agreeing: usize,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, other: Tally) -> Tally {
        Tally {
            found: self.found + other.found,
            labelled: self.labelled + other.labelled,
            matched: self.matched + other.matched,
            agreeing: self.agreeing + other.agreeing,
        }
    }
}

impl Tally {
    /// `None` when nothing was found.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.matched, self.found)
    }

    /// `None` when nothing was labelled.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.matched, self.labelled)
    }

    /// 0 when labels exist and nothing was found; `None` only when there is neither.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.matched, self.found + self.labelled)
    }

    /// Among matched pairs only, so a missed objection does not also count as a wrong type.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.agreeing, self.matched)
    }
}

/// Whether a rep question count is close to the label: within 25% of it, or within 2.
pub fn questions_close(found: u32, labelled: u32) -> bool {
    let difference = found.abs_diff(labelled);
    difference <= 2 || f64::from(difference) <= 0.25 * f64::from(labelled)
}

/// One labelled call, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallResult {
    pub id: String,
    pub call_type: LabelCallType,
    pub kind: Option<String>,
    /// The call file's lines, and the utterances the parser read from them.
    pub lines: usize,
    pub parsed_utterances: usize,
    /// Whether times from the call's `.json` were used.
    pub timed: bool,
    pub objections: Comparison,
    pub next_steps: Comparison,
    pub rep_speaker: Option<String>,
    pub rep_speaker_label: String,
    pub rep_speaker_right: bool,
    /// Whether the coach said it was unsure of the rep (and so gave no advice).
    pub rep_unsure: bool,
    pub rep_questions: u32,
    pub rep_questions_label: u32,
    pub rep_questions_close: bool,
}

fn dated_name(dated: bool) -> &'static str {
    if dated { "dated" } else { "undated" }
}

/// Compares one call's findings (at transcript utterances) with its labels (at file lines).
pub fn score_call(
    labels: &CallLabels,
    findings: &Findings,
    lines: &LineMap,
    timed: bool,
) -> Result<CallResult, EvalError> {
    let label_lines = labels
        .objections
        .iter()
        .map(|o| ("an objection", o.utterance))
        .chain(
            labels
                .next_steps
                .iter()
                .map(|s| ("a next step", s.utterance)),
        );
    for (what, utterance) in label_lines {
        if utterance >= lines.lines() {
            return Err(EvalError::LabelOutOfRange {
                what,
                utterance,
                lines: lines.lines(),
            });
        }
    }
    let line_of = |utterance: Option<usize>| utterance.and_then(|u| lines.line_of(u));
    let item = |utterance, attribute: &str| Item {
        utterance,
        attribute: attribute.to_owned(),
    };
    let found_objections: Vec<Item> = findings
        .objections
        .iter()
        .map(|o| {
            item(
                line_of(o.utterance),
                o.kind.map_or("unknown", |k| k.label()),
            )
        })
        .collect();
    let labelled_objections: Vec<Item> = labels
        .objections
        .iter()
        .map(|o| item(Some(o.utterance), o.kind.label()))
        .collect();
    let found_steps: Vec<Item> = findings
        .next_steps
        .iter()
        .map(|s| item(line_of(s.utterance), dated_name(s.dated)))
        .collect();
    let labelled_steps: Vec<Item> = labels
        .next_steps
        .iter()
        .map(|s| item(Some(s.utterance), dated_name(s.dated)))
        .collect();
    Ok(CallResult {
        id: labels.id.clone(),
        call_type: labels.call_type,
        kind: labels.kind.clone(),
        lines: lines.lines(),
        parsed_utterances: lines.utterances(),
        timed,
        objections: compare(&found_objections, &labelled_objections),
        next_steps: compare(&found_steps, &labelled_steps),
        rep_speaker: findings.rep_speaker.clone(),
        rep_speaker_label: labels.rep_speaker.clone(),
        rep_speaker_right: findings.rep_speaker.as_deref().map(str::trim)
            == Some(labels.rep_speaker.trim()),
        rep_unsure: findings.rep_unsure,
        rep_questions: findings.rep_questions,
        rep_questions_label: labels.rep_questions,
        rep_questions_close: questions_close(findings.rep_questions, labels.rep_questions),
    })
}

/// A share of calls, with its counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    pub count: usize,
    pub of: usize,
    pub share: Option<f64>,
}

impl Share {
    fn new(count: usize, of: usize) -> Self {
        Share {
            count,
            of,
            share: ratio(count, of),
        }
    }
}

/// Detection figures with the counts they come from. `accuracy` is the objection type
/// accuracy, or the dated accuracy of next steps, among matched ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    #[serde(flatten)]
    pub tally: Tally,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub accuracy: Option<f64>,
}

impl From<Tally> for Detection {
    fn from(tally: Tally) -> Self {
        Detection {
            tally,
            precision: tally.precision(),
            recall: tally.recall(),
            f1: tally.f1(),
            accuracy: tally.accuracy(),
        }
    }
}

/// Which calls a group pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    All,
    CallType,
    Kind,
}

/// Figures pooled over a group of calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub by: GroupBy,
    pub name: String,
    pub calls: usize,
    pub objections: Detection,
    pub next_steps: Detection,
    pub rep_speaker: Share,
    /// Calls where the coach was unsure of the rep and held its advice back.
    pub rep_unsure: Share,
    pub rep_questions_close: Share,
}

impl Group {
    fn pool<'a>(by: GroupBy, name: &str, calls: impl Iterator<Item = &'a CallResult>) -> Self {
        let (mut objections, mut next_steps) = (Tally::default(), Tally::default());
        let (mut count, mut rep_right, mut unsure, mut questions_close) = (0, 0, 0, 0);
        for call in calls {
            count += 1;
            objections = objections + call.objections.tally();
            next_steps = next_steps + call.next_steps.tally();
            rep_right += usize::from(call.rep_speaker_right);
            unsure += usize::from(call.rep_unsure);
            questions_close += usize::from(call.rep_questions_close);
        }
        Group {
            by,
            name: name.to_owned(),
            calls: count,
            objections: objections.into(),
            next_steps: next_steps.into(),
            rep_speaker: Share::new(rep_right, count),
            rep_unsure: Share::new(unsure, count),
            rep_questions_close: Share::new(questions_close, count),
        }
    }
}

/// Everything the eval prints: pooled figures, per call type and kind, and each call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub groups: Vec<Group>,
    pub calls: Vec<CallResult>,
}

impl Report {
    pub fn new(calls: Vec<CallResult>) -> Self {
        let mut groups = vec![Group::pool(GroupBy::All, "all", calls.iter())];
        let mut call_types: Vec<LabelCallType> = calls.iter().map(|c| c.call_type).collect();
        call_types.sort();
        call_types.dedup();
        for call_type in call_types {
            let members = calls.iter().filter(|c| c.call_type == call_type);
            groups.push(Group::pool(GroupBy::CallType, call_type.as_str(), members));
        }
        let mut kinds: Vec<&str> = calls.iter().filter_map(|c| c.kind.as_deref()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            let members = calls.iter().filter(|c| c.kind.as_deref() == Some(kind));
            groups.push(Group::pool(GroupBy::Kind, kind, members));
        }
        Report { groups, calls }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &[(usize, &str)]) -> Vec<Item> {
        list.iter()
            .map(|&(utterance, attribute)| Item {
                utterance: Some(utterance),
                attribute: attribute.into(),
            })
            .collect()
    }

    fn lines_of(list: &[Item]) -> Vec<Option<usize>> {
        list.iter().map(|i| i.utterance).collect()
    }

    #[test]
    fn a_finding_counts_within_one_utterance_and_not_two() {
        let c = compare(
            &items(&[(4, "price"), (11, "price")]),
            &items(&[(5, "price"), (9, "price")]),
        );
        assert_eq!(c.matched.len(), 1);
        assert_eq!(c.matched[0].label.utterance, Some(5));
        assert_eq!(lines_of(&c.missed), [Some(9)]);
        assert_eq!(lines_of(&c.false_alarms), [Some(11)]);
    }

    #[test]
    fn matching_is_one_to_one_and_finds_the_most_pairs() {
        // Two findings next to one label: one pair, one false alarm, never two matches.
        let c = compare(
            &items(&[(3, "price"), (4, "price")]),
            &items(&[(3, "price")]),
        );
        assert_eq!(
            c.tally(),
            Tally {
                found: 2,
                labelled: 1,
                matched: 1,
                agreeing: 1
            }
        );
        // Nearest-first would pair 6 with 6 and strand 5; the sweep pairs both.
        let c = compare(
            &items(&[(6, "timing"), (7, "timing")]),
            &items(&[(5, "timing"), (6, "timing")]),
        );
        assert_eq!(c.tally().matched, 2);
        assert!(c.missed.is_empty() && c.false_alarms.is_empty());
    }

    #[test]
    fn among_labels_on_one_line_the_agreeing_one_is_paired() {
        let c = compare(
            &items(&[(8, "budget")]),
            &items(&[(8, "price"), (8, "budget")]),
        );
        assert!(c.matched[0].agrees());
        assert_eq!(c.missed, items(&[(8, "price")]));
    }

    #[test]
    fn an_unplaced_finding_is_a_false_alarm() {
        let unplaced = Item {
            utterance: None,
            attribute: "price".into(),
        };
        let c = compare(std::slice::from_ref(&unplaced), &items(&[(0, "price")]));
        assert_eq!(c.false_alarms, [unplaced]);
        assert_eq!(c.tally().matched, 0);
    }

    #[test]
    fn figures_with_nothing_found_or_nothing_labelled() {
        let none_found = Tally {
            found: 0,
            labelled: 3,
            matched: 0,
            agreeing: 0,
        };
        assert_eq!(
            (none_found.precision(), none_found.recall(), none_found.f1()),
            (None, Some(0.0), Some(0.0))
        );
        let empty = Tally::default();
        assert_eq!((empty.f1(), empty.accuracy()), (None, None));
        let some = Tally {
            found: 4,
            labelled: 2,
            matched: 2,
            agreeing: 1,
        };
        assert_eq!(some.precision(), Some(0.5));
        assert_eq!(some.recall(), Some(1.0));
        assert!((some.f1().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn type_accuracy_counts_only_matched_pairs() {
        let c = compare(
            &items(&[(2, "price"), (10, "timing"), (20, "need")]),
            &items(&[(2, "budget"), (10, "timing"), (30, "trust")]),
        );
        let tally = c.tally();
        assert_eq!((tally.matched, tally.agreeing), (2, 1));
        assert_eq!(tally.accuracy(), Some(0.5));
    }

    #[test]
    fn question_counts_are_close_within_a_quarter_or_two() {
        assert!(questions_close(0, 2));
        assert!(!questions_close(0, 3));
        assert!(questions_close(15, 20));
        assert!(!questions_close(14, 20));
        assert!(questions_close(25, 20));
        assert!(!questions_close(26, 20));
        assert!(questions_close(3, 1));
        assert!(!questions_close(4, 1));
    }

    fn call(
        call_type: LabelCallType,
        kind: &str,
        rep_right: bool,
        objections: Comparison,
    ) -> CallResult {
        CallResult {
            id: "c".into(),
            call_type,
            kind: Some(kind.into()),
            lines: 10,
            parsed_utterances: 10,
            timed: false,
            objections,
            next_steps: Comparison::default(),
            rep_speaker: Some(if rep_right { "agent" } else { "prospect" }.into()),
            rep_speaker_label: "agent".into(),
            rep_speaker_right: rep_right,
            rep_unsure: !rep_right,
            rep_questions: 10,
            rep_questions_label: 30,
            rep_questions_close: false,
        }
    }

    #[test]
    fn figures_pool_over_all_calls_and_per_group() {
        let hit = compare(&items(&[(1, "price")]), &items(&[(1, "price")]));
        let miss = compare(&[], &items(&[(1, "price"), (5, "timing")]));
        let report = Report::new(vec![
            call(LabelCallType::Demo, "real", true, hit),
            call(LabelCallType::Discovery, "real", false, miss.clone()),
            call(LabelCallType::Demo, "synthetic", true, miss),
        ]);
        let names: Vec<_> = report.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["all", "discovery", "demo", "real", "synthetic"]);
        let all = &report.groups[0];
        assert_eq!(
            all.objections.tally,
            Tally {
                found: 1,
                labelled: 5,
                matched: 1,
                agreeing: 1
            }
        );
        // Pooled, not averaged per call: 2 * 1 / (1 + 5).
        assert!((all.objections.f1.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((all.rep_speaker.count, all.rep_speaker.of), (2, 3));
        assert_eq!(all.rep_questions_close.count, 0);
        let demo = &report.groups[2];
        assert_eq!((demo.calls, demo.objections.tally.labelled), (2, 3));
    }
}
