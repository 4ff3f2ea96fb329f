//! What an analysis found, in the terms labels use.

use serde::Serialize;

use crate::domain::analysis::{Analysis, HighlightKind, ObjectionType};
use crate::domain::transcript::Transcript;

/// The note of the weak-close highlight the next-step coach adds when the call had no next step
/// at all (it marks the rep's last line, not a next step).
const NO_NEXT_STEP_NOTE: &str = "without any agreed next step";

/// An objection the coach reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundObjection {
    /// Index into the transcript's utterances; `None` when the quote is nowhere in it.
    pub utterance: Option<usize>,
    /// `None` when the coach's type is not in the labels' taxonomy.
    pub kind: Option<ObjectionType>,
    pub quote: String,
}

/// A next step the coach reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundNextStep {
    /// Index into the transcript's utterances; `None` when the quote is nowhere in it.
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
    pub rep_questions: u32,
}

/// The utterance a highlight points at. Its quote is a substring (usually the start) of the
/// utterance, so the quote decides; the time breaks ties between utterances with the same words
/// and places a quote the transcript does not contain.
fn utterance_of(transcript: &Transcript, at_ms: u64, quote: &str) -> Option<usize> {
    let utterances = &transcript.utterances;
    let quoted = utterances
        .iter()
        .enumerate()
        .filter(|(_, u)| !quote.is_empty() && u.text.contains(quote))
        .min_by_key(|(index, u)| {
            (
                !u.text.starts_with(quote),
                u.start_ms.abs_diff(at_ms),
                *index,
            )
        })
        .map(|(index, _)| index);
    quoted.or_else(|| {
        transcript
            .has_times()
            .then(|| utterances.iter().rposition(|u| u.start_ms <= at_ms))
            .flatten()
    })
}

/// The one place that reads an analysis for the eval. Today the analysis has no explicit lists,
/// so objections and next steps come from its highlights (objection highlights with their type;
/// next-step highlights are dated, weak closes are undated next steps unless they mark a call
/// without one), placed by quote and time. When the analysis carries `objections` and
/// `next_steps` lists with utterance indexes, read those here instead.
pub fn findings(analysis: &Analysis, transcript: &Transcript) -> Findings {
    let mut objections = Vec::new();
    let mut next_steps = Vec::new();
    for highlight in &analysis.highlights {
        let utterance = utterance_of(transcript, highlight.at_ms, &highlight.quote);
        let quote = highlight.quote.clone();
        match &highlight.kind {
            HighlightKind::Objection { objection } => {
                objections.push(FoundObjection {
                    utterance,
                    kind: Some(*objection),
                    quote,
                });
            }
            HighlightKind::NextStep => next_steps.push(FoundNextStep {
                utterance,
                dated: true,
                quote,
            }),
            HighlightKind::WeakClose if !highlight.note.contains(NO_NEXT_STEP_NOTE) => next_steps
                .push(FoundNextStep {
                    utterance,
                    dated: false,
                    quote,
                }),
            HighlightKind::WeakClose | HighlightKind::StrongMoment => {}
        }
    }
    Findings {
        objections,
        next_steps,
        rep_speaker: analysis
            .metrics
            .rep_speaker
            .and_then(|index| transcript.speakers.get(index))
            .map(|speaker| speaker.label.clone()),
        rep_questions: analysis.metrics.rep_questions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analysis::Highlight;
    use crate::domain::playbook::Playbook;
    use crate::ids::TenantId;
    use crate::parse::parse_plain;
    use crate::ports::IdGenerator;
    use crate::scoring::{ScoringRequest, deterministic_analysis};
    use crate::system::RandomIds;
    use time::OffsetDateTime;

    fn highlight(kind: HighlightKind, quote: &str, note: &str) -> Highlight {
        Highlight {
            highlight_id: RandomIds.mint(),
            kind,
            at_ms: 0,
            quote: quote.into(),
            note: note.into(),
        }
    }

    #[test]
    fn highlights_become_findings_on_the_utterance_they_quote() {
        let transcript = parse_plain(
            "Dana: Okay.\nSam: Okay.\nSam: It is too expensive for us.\nDana: I'll send the proposal Friday.\nSam: Thanks.\n",
        )
        .unwrap();
        let mut analysis = deterministic_analysis(
            ScoringRequest {
                tenant_id: &TenantId::parse("t").unwrap(),
                call_id: &RandomIds.mint(),
                transcript_version: 1,
                transcript: &transcript,
                playbook: &Playbook::default(),
                call_type: crate::domain::call::CallType::Other,
                rep_override: Some("Dana"),
                rep_name: None,
            },
            &RandomIds,
            OffsetDateTime::UNIX_EPOCH,
        );
        analysis.highlights = vec![
            highlight(
                HighlightKind::Objection {
                    objection: ObjectionType::StatusQuo,
                },
                "It is too expensive",
                "",
            ),
            highlight(
                HighlightKind::NextStep,
                "I'll send the proposal Friday.",
                "",
            ),
            highlight(
                HighlightKind::WeakClose,
                "Thanks.",
                "A next step was mentioned.",
            ),
            highlight(
                HighlightKind::WeakClose,
                "Okay.",
                "The call ended without any agreed next step.",
            ),
            highlight(HighlightKind::StrongMoment, "Okay.", ""),
            highlight(HighlightKind::NextStep, "words nobody said", ""),
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
        assert_eq!(steps, [(Some(3), true), (Some(4), false), (None, true)]);
        assert_eq!(found.rep_speaker.as_deref(), Some("Dana"));
        assert_eq!(found.rep_questions, 7);
    }

    #[test]
    fn same_words_twice_are_told_apart_by_time() {
        let mut transcript = parse_plain("Dana: Okay.\nSam: Okay.\nDana: Okay.\n").unwrap();
        for (index, u) in transcript.utterances.iter_mut().enumerate() {
            u.start_ms = index as u64 * 1000;
        }
        transcript.timing = crate::domain::transcript::Timing::Utterances;
        assert_eq!(utterance_of(&transcript, 1000, "Okay."), Some(1));
        assert_eq!(utterance_of(&transcript, 2500, "Okay."), Some(2));
        assert_eq!(utterance_of(&transcript, 1500, "not said"), Some(1));
    }
}
