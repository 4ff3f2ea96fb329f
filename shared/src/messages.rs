//! Typed messages between pipeline stages (carried as JSON on SQS).

use serde::{Deserialize, Serialize};

use crate::ids::{CallId, ExportId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PipelineMessage {
    /// Score one stored transcript version of a call.
    ScoreCall {
        tenant_id: TenantId,
        call_id: CallId,
        transcript_version: u32,
    },
    /// Write one workspace export bundle (the api function's export-jobs queue).
    ExportWorkspace {
        tenant_id: TenantId,
        export_id: ExportId,
    },
}

impl PipelineMessage {
    pub fn tenant_id(&self) -> &TenantId {
        match self {
            PipelineMessage::ScoreCall { tenant_id, .. }
            | PipelineMessage::ExportWorkspace { tenant_id, .. } => tenant_id,
        }
    }
}

/// Why a queue message is not a job this version can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Not a JSON object with a `type`: no delivery, and no later version, can run it.
    Poison,
    /// A job whose shape this version does not know (a newer producer during a deploy, say):
    /// worth another delivery, and dead-lettered after the queue's receives if it stays so.
    UnknownShape,
}

impl PipelineMessage {
    /// Reads a queue message's body.
    pub fn read(body: Option<&str>) -> Result<Self, Unreadable> {
        let value: serde_json::Value = body
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or(Unreadable::Poison)?;
        if !value.get("type").is_some_and(serde_json::Value::is_string) {
            return Err(Unreadable::Poison);
        }
        serde_json::from_value(value).map_err(|_| Unreadable::UnknownShape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_a_job_poison_or_a_shape_of_another_version() {
        let job = r#"{"type":"export_workspace","tenant_id":"acme","export_id":"exp_0123456789abcdef0123456789abcdef"}"#;
        assert!(matches!(
            PipelineMessage::read(Some(job)),
            Ok(PipelineMessage::ExportWorkspace { .. })
        ));
        for poison in [
            None,
            Some("not json"),
            Some("[1]"),
            Some(r#"{"kind":"x"}"#),
            Some(r#"{"type":7}"#),
        ] {
            assert_eq!(
                PipelineMessage::read(poison),
                Err(Unreadable::Poison),
                "{poison:?}"
            );
        }
        for newer in [
            r#"{"type":"score_call"}"#,
            r#"{"type":"summarise_call","call_id":"c"}"#,
        ] {
            assert_eq!(
                PipelineMessage::read(Some(newer)),
                Err(Unreadable::UnknownShape),
                "{newer}"
            );
        }
    }
}
