//! Measuring the deterministic coach against hand-labelled calls (`callcoach eval`).
//!
//! Labels and the match rule are those of the shared labelled set beside the repository
//! (`../shared/testdata/eval/README.md`): a found objection or next step counts when it is
//! within one utterance (file line) of a label, one-to-one; figures are pooled over calls.
//! No I/O here: the caller reads the files.

mod findings;
mod labels;
mod report;
mod score;
mod source;

pub use findings::{Findings, FoundNextStep, FoundObjection, findings};
pub use labels::{CallLabels, LabelCallType, NextStepLabel, ObjectionLabel, parse_labels};
pub use report::{figure_names, render};
pub use score::{
    CallResult, Comparison, Detection, Group, GroupBy, Item, Matched, Report, Share, Tally,
    compare, questions_close, score_call,
};
pub use source::{LineMap, apply_times};

use time::OffsetDateTime;

use crate::domain::call::CallType;
use crate::domain::playbook::Playbook;
use crate::domain::transcript::SourceFormat;
use crate::ids::{CallId, TenantId};
use crate::parse::{ParseError, parse_transcript};
use crate::ports::IdGenerator;
use crate::scoring::{ScoringRequest, deterministic_analysis};
use crate::system::RandomIds;

/// Why a labelled call cannot be scored. Labels are the user's own file, so their messages may
/// quote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("the labels are not valid: {0}")]
    Labels(String),
    #[error("the call file is not a transcript callcoach can read: {0}")]
    Transcript(ParseError),
    #[error("the call file is not \"Speaker: text\" lines (labels count its lines)")]
    NotLines,
    #[error("the times file does not fit the call: {0}")]
    Times(String),
    #[error("{what} is labelled at utterance {utterance}, but the call file has {lines} lines")]
    LabelOutOfRange {
        what: &'static str,
        utterance: usize,
        lines: usize,
    },
}

/// The coach's own call type for a labelled one: the kinds it has no rubric for score as other.
fn coach_call_type(call_type: LabelCallType) -> CallType {
    match call_type {
        LabelCallType::Discovery => CallType::Discovery,
        LabelCallType::Demo => CallType::Demo,
        LabelCallType::FollowUp => CallType::FollowUp,
        LabelCallType::Support
        | LabelCallType::ColdCall
        | LabelCallType::Retention
        | LabelCallType::Other => CallType::Other,
    }
}

/// Analyses one labelled call as `callcoach analyze` would (same parser, the deterministic coach,
/// no rep name given) and compares the findings with its labels. `times_json` is the optional
/// `<id>.json` beside the call file.
pub fn evaluate_call(
    labels: &CallLabels,
    call_file: &[u8],
    times_json: Option<&[u8]>,
) -> Result<CallResult, EvalError> {
    let mut transcript = parse_transcript(call_file).map_err(EvalError::Transcript)?;
    let text = std::str::from_utf8(call_file).map_err(|_| EvalError::NotLines)?;
    if transcript.source_format != SourceFormat::PlainText {
        return Err(EvalError::NotLines);
    }
    let lines = LineMap::new(text, &transcript);
    if let Some(times) = times_json {
        apply_times(&mut transcript, &lines, times)?;
    }
    // A constant of safe characters: parsing it cannot fail.
    let tenant_id = TenantId::parse("eval").expect("\"eval\" is a valid tenant id");
    let call_id: CallId = RandomIds.mint();
    let analysis = deterministic_analysis(
        ScoringRequest {
            tenant_id: &tenant_id,
            call_id: &call_id,
            transcript_version: 1,
            transcript: &transcript,
            playbook: &Playbook::default(),
            call_type: coach_call_type(labels.call_type),
            rep_override: None,
            rep_name: None,
        },
        &RandomIds,
        OffsetDateTime::UNIX_EPOCH,
    );
    let found = findings(&analysis, &transcript);
    score_call(labels, &found, &lines, times_json.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(json: &str) -> CallLabels {
        parse_labels(json.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn a_call_is_read_analysed_and_compared() {
        let call = labels(
            r#"[{"id": "a", "rep_speaker": "Dana", "call_type": "demo", "rep_questions": 1,
                 "objections": [{"utterance": 1, "type": "other"}], "next_steps": []}]"#,
        );
        let result =
            evaluate_call(&call, b"Dana: Hello Sam, how are you?\nSam: Fine.\n", None).unwrap();
        assert_eq!(
            (result.lines, result.parsed_utterances, result.timed),
            (2, 2, false)
        );
        assert_eq!(result.objections.tally().labelled, 1);
        assert_eq!(result.rep_speaker_label, "Dana");
    }

    #[test]
    fn unreadable_calls_and_labels_past_the_end_are_errors() {
        let call = labels(
            r#"[{"id": "a", "rep_speaker": "Dana", "call_type": "demo", "rep_questions": 0,
                 "next_steps": [{"utterance": 5, "dated": false}]}]"#,
        );
        assert_eq!(
            evaluate_call(&call, b"Dana: Hi.\nSam: Hi.\n", None),
            Err(EvalError::LabelOutOfRange {
                what: "a next step",
                utterance: 5,
                lines: 2
            })
        );
        assert_eq!(
            evaluate_call(&call, b"", None),
            Err(EvalError::Transcript(ParseError::Empty))
        );
        let vtt = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nDana: Hi.\n";
        assert_eq!(evaluate_call(&call, vtt, None), Err(EvalError::NotLines));
        assert!(matches!(
            evaluate_call(&call, b"Dana: Hi.\nSam: Hi.\n", Some(b"{}")),
            Err(EvalError::Times(_))
        ));
    }
}
