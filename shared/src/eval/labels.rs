//! Hand labels of calls, in the `labels.json` layout of the shared labelled set
//! (`../shared/testdata/eval/README.md`, beside the repository).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::EvalError;
use crate::domain::analysis::ObjectionType;

/// The kinds of call a label can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelCallType {
    Discovery,
    Demo,
    FollowUp,
    Support,
    ColdCall,
    Retention,
    Other,
}

impl LabelCallType {
    /// The wire name, as labels and reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Demo => "demo",
            Self::FollowUp => "follow-up",
            Self::Support => "support",
            Self::ColdCall => "cold-call",
            Self::Retention => "retention",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectionLabel {
    /// 0-based line of the call file.
    pub utterance: usize,
    #[serde(rename = "type")]
    pub kind: ObjectionType,
    #[serde(default)]
    pub quote: String,
    #[serde(default)]
    pub handled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextStepLabel {
    /// 0-based line of the call file.
    pub utterance: usize,
    pub dated: bool,
    #[serde(default)]
    pub quote: String,
}

/// One labelled call. Fields the scorer does not read (`source`, `speakers`, ...) are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallLabels {
    /// Names the call's files: `<id>.txt` and, optionally, `<id>.json`.
    pub id: String,
    /// `real` or `synthetic` when the labeller said so; reported as its own group.
    #[serde(default)]
    pub kind: Option<String>,
    /// The speaker label of the salesperson, as the call file spells it.
    pub rep_speaker: String,
    pub call_type: LabelCallType,
    #[serde(default)]
    pub objections: Vec<ObjectionLabel>,
    #[serde(default)]
    pub next_steps: Vec<NextStepLabel>,
    pub rep_questions: u32,
    #[serde(default)]
    pub notes: String,
}

/// Reads a labels file: a JSON array of calls with unique ids that are safe as file names.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<CallLabels>, EvalError> {
    let calls: Vec<CallLabels> =
        serde_json::from_slice(bytes).map_err(|error| EvalError::Labels(error.to_string()))?;
    if calls.is_empty() {
        return Err(EvalError::Labels("the file labels no calls".into()));
    }
    let mut seen = HashSet::new();
    for call in &calls {
        // The id becomes a file name inside the calls folder: never a path out of it.
        let safe = !call.id.is_empty()
            && call.id != "."
            && call.id != ".."
            && !call.id.contains(['/', '\\', '\0']);
        if !safe {
            return Err(EvalError::Labels(format!(
                "call id {:?} cannot name a file",
                call.id
            )));
        }
        if !seen.insert(call.id.as_str()) {
            return Err(EvalError::Labels(format!(
                "call id {:?} is labelled twice",
                call.id
            )));
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_layout_and_ignores_extra_fields() {
        let calls = parse_labels(
            br#"[{"id": "a", "kind": "real", "source": {"repo": "x"}, "rep_speaker": "agent",
                 "call_type": "cold-call", "rep_questions": 3, "notes": "",
                 "objections": [{"utterance": 4, "type": "status_quo", "quote": "q", "handled": false}],
                 "next_steps": [{"utterance": 9, "dated": true, "quote": "Tuesday"}]}]"#,
        )
        .unwrap();
        assert_eq!(calls[0].call_type, LabelCallType::ColdCall);
        assert_eq!(calls[0].objections[0].kind, ObjectionType::StatusQuo);
        assert_eq!(calls[0].next_steps[0].utterance, 9);
        let unknown_type = parse_labels(
            br#"[{"id": "a", "kind": "real", "rep_speaker": "agent", "call_type": "demo",
                 "rep_questions": 0, "notes": "", "next_steps": [],
                 "objections": [{"utterance": 1, "type": "weather"}]}]"#,
        );
        let error = unknown_type.unwrap_err().to_string();
        assert!(error.contains("weather"), "{error}");
    }

    #[test]
    fn refuses_bad_labels_with_a_reason() {
        let cases: [(&[u8], &str); 5] = [
            (b"[{", "EOF"),
            (b"[]", "no calls"),
            (
                br#"[{"id": "a", "rep_speaker": "r", "call_type": "webinar", "rep_questions": 1}]"#,
                "unknown variant",
            ),
            (
                br#"[{"id": "../x", "rep_speaker": "r", "call_type": "demo", "rep_questions": 1}]"#,
                "cannot name a file",
            ),
            (
                br#"[{"id": "a", "rep_speaker": "r", "call_type": "demo", "rep_questions": 1},
                     {"id": "a", "rep_speaker": "r", "call_type": "demo", "rep_questions": 1}]"#,
                "labelled twice",
            ),
        ];
        for (input, reason) in cases {
            let error = parse_labels(input).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
    }
}
