//! The LLM's objections and next steps, added to the analysis's lists beside the rubric's.
//!
//! The model answers with highlights whose quotes were already checked against the text it
//! was sent. Here each objection or next-step highlight is placed on the utterance whose own
//! words hold its quote (case and spacing aside; at its time when several do) and listed
//! there unless the rubric listed one on that utterance already. An objection counts only on
//! the customer's side; whether it was handled is judged by the rubric's rule, a step's date
//! by its words. A quote found in no utterance (a name the prompt replaced, say) is not
//! listed. The anchoring of scores to the rubric does not touch these lists, so what the
//! rubric missed and the model found is kept.

use crate::domain::analysis::{Analysis, HighlightKind, NextStepFinding, ObjectionFinding};
use crate::domain::transcript::Transcript;

use super::next_steps::has_concrete_time;
use super::objections::answered;
use super::scene::Scene;
use crate::scoring::text::TokenList;

fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The utterance whose words hold `quote`, the one starting at `at_ms` first.
fn utterance_of(transcript: &Transcript, at_ms: u64, quote: &str) -> Option<usize> {
    let quote = normalised(quote);
    if quote.is_empty() {
        return None;
    }
    transcript
        .utterances
        .iter()
        .enumerate()
        .filter(|(_, u)| normalised(&u.text).contains(&quote))
        .min_by_key(|(_, u)| u.start_ms.abs_diff(at_ms))
        .map(|(index, _)| index)
}

/// Adds the model's objections and next steps to `analysis`'s lists (see the module doc).
pub fn list_model_findings(analysis: &mut Analysis, transcript: &Transcript) {
    let scene = Scene::new(transcript, analysis.metrics.rep_speaker);
    for highlight in &analysis.highlights {
        let Some(index) = utterance_of(transcript, highlight.at_ms, &highlight.quote) else {
            continue;
        };
        let u = &transcript.utterances[index];
        let quote = highlight.quote.trim().to_owned();
        match highlight.kind {
            HighlightKind::Objection { objection } => {
                let listed = analysis.objections.iter().any(|o| o.utterance == index);
                if !listed && scene.rep.is_some() && !scene.is_rep(u) {
                    analysis.objections.push(ObjectionFinding {
                        utterance: index,
                        at_ms: u.start_ms,
                        kind: objection,
                        quote,
                        handled: answered(&scene, index),
                    });
                }
            }
            HighlightKind::NextStep => {
                if !analysis.next_steps.iter().any(|s| s.utterance == index) {
                    analysis.next_steps.push(NextStepFinding {
                        utterance: index,
                        at_ms: u.start_ms,
                        dated: has_concrete_time(&TokenList::from_text(&quote)),
                        quote,
                    });
                }
            }
            HighlightKind::WeakClose | HighlightKind::StrongMoment => {}
        }
    }
    analysis.objections.sort_by_key(|o| o.utterance);
    analysis.next_steps.sort_by_key(|s| s.utterance);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analysis::{Highlight, ObjectionType};
    use crate::parse::parse_plain;
    use crate::ports::IdGenerator;
    use crate::system::RandomIds;

    fn model_says(kind: HighlightKind, quote: &str) -> Highlight {
        Highlight {
            highlight_id: RandomIds.mint(),
            kind,
            at_ms: 0,
            quote: quote.into(),
            note: "from the model".into(),
        }
    }

    #[test]
    fn the_models_findings_join_the_lists_when_their_quotes_are_in_the_call() {
        let transcript = parse_plain(
            "Dana: Here is the install plan.\nSam: The noise of the old unit bothers us a lot.\nDana: What if we put it in the attic?\nSam: We can't afford that.\nDana: I understand. Let's pick a date.\nSam: Send over the papers Friday.\n",
        )
        .unwrap();
        let mut analysis = crate::scoring::analysis_with_rep(&transcript, "Dana");
        let rubric: Vec<usize> = analysis.objections.iter().map(|o| o.utterance).collect();
        assert_eq!(rubric, [3], "the rubric finds only the budget objection");
        let other = HighlightKind::Objection {
            objection: ObjectionType::Other,
        };
        analysis.highlights = vec![
            model_says(other.clone(), "the  NOISE of the old unit"),
            model_says(other.clone(), "What if we put it"),
            model_says(other.clone(), "words nobody said"),
            model_says(
                HighlightKind::Objection {
                    objection: ObjectionType::Price,
                },
                "We can't afford that.",
            ),
            model_says(HighlightKind::NextStep, "Send over the papers Friday."),
        ];
        list_model_findings(&mut analysis, &transcript);
        let objections: Vec<_> = analysis
            .objections
            .iter()
            .map(|o| (o.utterance, o.kind, o.handled))
            .collect();
        // The noise concern is added (answered with "What if ..."); the rep's own line and a
        // quote from nowhere are not; the rubric's budget objection stays as it was.
        assert_eq!(
            objections,
            [
                (1, ObjectionType::Other, true),
                (3, ObjectionType::Budget, true)
            ]
        );
        let steps: Vec<_> = analysis
            .next_steps
            .iter()
            .map(|s| (s.utterance, s.dated))
            .collect();
        assert!(steps.contains(&(5, true)), "{steps:?}");
        assert_eq!(steps.iter().filter(|(u, _)| *u == 5).count(), 1);
    }
}
