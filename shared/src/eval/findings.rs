//! What an analysis found, in the terms labels use.

use serde::Serialize;

use crate::domain::analysis::{Analysis, ObjectionType};
use crate::domain::transcript::Transcript;

/// An objection the coach reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundObjection {
    /// Index into the transcript's utterances.
    pub utterance: Option<usize>,
    /// `None` when the coach's type is not in the labels' taxonomy.
    pub kind: Option<ObjectionType>,
    pub quote: String,
}

/// A next step the coach reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundNextStep {
    /// Index into the transcript's utterances.
    pub utterance: Option<usize>,
    pub dated: bool,
    pub quote: String,
}

/// Everything the scorer compares with the labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    pub objections: Vec<FoundObjection>,
    pub next_steps: Vec<FoundNextStep>,
    /// The label of the speaker the coach took for the rep.
    pub rep_speaker: Option<String>,
    /// Whether the coach said it was unsure of the rep.
    pub rep_unsure: bool,
    pub rep_questions: u32,
}

/// The one place that reads an analysis for the eval: its `objections` and `next_steps`
/// lists (each with its utterance index) and its rep speaker.
pub fn findings(analysis: &Analysis, transcript: &Transcript) -> Findings {
    let in_range =
        |utterance: usize| (utterance < transcript.utterances.len()).then_some(utterance);
    Findings {
        objections: analysis
            .objections
            .iter()
            .map(|o| FoundObjection {
                utterance: in_range(o.utterance),
                kind: Some(o.kind),
                quote: o.quote.clone(),
            })
            .collect(),
        next_steps: analysis
            .next_steps
            .iter()
            .map(|s| FoundNextStep {
                utterance: in_range(s.utterance),
                dated: s.dated,
                quote: s.quote.clone(),
            })
            .collect(),
        rep_speaker: analysis
            .metrics
            .rep_speaker
            .and_then(|index| transcript.speakers.get(index))
            .map(|speaker| speaker.label.clone()),
        rep_unsure: analysis.rep.as_ref().is_some_and(|r| r.unsure),
        rep_questions: analysis.metrics.rep_questions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analysis::{NextStepFinding, ObjectionFinding};
    use crate::parse::parse_plain;

    #[test]
    fn the_lists_become_findings_on_their_utterances() {
        let transcript = parse_plain(
            "Dana: Okay.\nSam: Okay.\nSam: It is too expensive for us.\nDana: I'll send the proposal Friday.\nSam: Thanks.\n",
        )
        .unwrap();
        let mut analysis = crate::scoring::analysis_with_rep(&transcript, "Dana");
        analysis.objections = vec![ObjectionFinding {
            utterance: 2,
            at_ms: 0,
            kind: ObjectionType::StatusQuo,
            quote: "It is too expensive".into(),
            handled: false,
        }];
        analysis.next_steps = vec![
            NextStepFinding {
                utterance: 3,
                at_ms: 0,
                quote: "I'll send the proposal Friday.".into(),
                dated: true,
            },
            NextStepFinding {
                utterance: 9,
                at_ms: 0,
                quote: "beyond the end".into(),
                dated: false,
            },
        ];
        analysis.metrics.rep_questions = 7;
        let found = findings(&analysis, &transcript);
        assert_eq!(
            found.objections,
            [FoundObjection {
                utterance: Some(2),
                kind: Some(ObjectionType::StatusQuo),
                quote: "It is too expensive".into()
            }]
        );
        let steps: Vec<_> = found
            .next_steps
            .iter()
            .map(|s| (s.utterance, s.dated))
            .collect();
        assert_eq!(steps, [(Some(3), true), (None, false)]);
        assert_eq!(found.rep_speaker.as_deref(), Some("Dana"));
        assert!(!found.rep_unsure);
        assert_eq!(found.rep_questions, 7);
    }
}
