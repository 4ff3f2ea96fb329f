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
