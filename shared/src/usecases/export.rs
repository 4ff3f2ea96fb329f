//! Export (privacy promise P5): one JSON bundle of what the requester may take with them,
//! written to `exports/{tenant}/{export}.json` and handed out through a short-lived link.
//!
//! Bundle schema `callcoach.export.v1`:
//! ```text
//! { "schema", "tenant_id", "scope": "user" | "workspace", "requested_by", "created_at",
//!   "calls": [ { "call": {...metadata}, "transcript": {...} | null, "analysis": {...} | null,
//!                "practice_responses": [...] } ],
//!   "progress": [ { "rep_id", "progress": {...} } ],      // goals and their results live here
//!   "playbooks": [ { "team_id", "playbook": {...} } ],   // workspace scope only
//!   "retention": {...} | null,                           // workspace scope only
//!   "audit_events": [ ... ],                             // user: the requester's own
//!   "usage_events": [ ... ],                             // the requester's own views
//!   "counts": { "calls", "transcripts", "analyses", "highlights", "practice_responses", "goals",
//!               "audit_events", "usage_events" } }
//! ```
//! Scope `user`: the requester's own calls (as the rep) in every team they belong to, their
//! progress and their own audit events. Scope `workspace` (owners): every call, progress of
//! every rep, playbook and audit event of the teams the requester owns, and the workspace's
//! retention settings. The bundle is written one call at a time as serialized bytes, never as
//! a tree of every entity. It expires with the bucket's `exports/` lifecycle rule (3 days).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::crypto::Envelope;
use crate::domain::analysis::{Analysis, PracticeResponse};
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::ids::{ExportId, TeamId, TenantId, UserId};
use crate::ports::{
    AuditLog, BlobError, BlobStore, CallRepository, DocumentKind, DocumentRepository, PageRequest,
    PlaybookRepository, ProgressRepository, StoreError, TeamRepository, TenantRepository, UsageLog,
};
use crate::usecases::documents::{DocumentError, DocumentVault};
use crate::usecases::progress::{ProgressError, load_progress};

pub const EXPORT_SCHEMA: &str = "callcoach.export.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportScope {
    User,
    Workspace,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ExportCounts {
    pub calls: u64,
    pub transcripts: u64,
    pub analyses: u64,
    pub highlights: u64,
    pub practice_responses: u64,
    pub goals: u64,
    pub audit_events: u64,
    pub usage_events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("a document could not be read")]
    Document(#[from] DocumentError),
    #[error("progress could not be read")]
    Progress(#[from] ProgressError),
    #[error("the bundle could not be written")]
    Blob(#[from] BlobError),
    #[error("the bundle could not be encoded")]
    Encode(#[from] serde_json::Error),
}

/// What to export; `teams` are those the requester's role lets them export from.
pub struct ExportRequest<'a> {
    pub tenant: &'a TenantId,
    pub requester: &'a UserId,
    pub scope: ExportScope,
    pub teams: Vec<TeamId>,
    pub export_id: &'a ExportId,
    pub now: OffsetDateTime,
}

pub fn export_key(tenant: &TenantId, export: &ExportId) -> String {
    format!("exports/{tenant}/{export}.json")
}

/// Appends `"name":value` pieces of one JSON object as it is built.
struct BundleWriter {
    out: Vec<u8>,
    first_in_list: bool,
}

impl BundleWriter {
    fn field<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), serde_json::Error> {
        self.out
            .extend_from_slice(serde_json::to_string(name)?.as_bytes());
        self.out.push(b':');
        serde_json::to_writer(&mut self.out, value)?;
        self.out.push(b',');
        Ok(())
    }
    fn open_list(&mut self, name: &str) -> Result<(), serde_json::Error> {
        self.out
            .extend_from_slice(serde_json::to_string(name)?.as_bytes());
        self.out.extend_from_slice(b":[");
        self.first_in_list = true;
        Ok(())
    }
    fn item<T: Serialize>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        if !self.first_in_list {
            self.out.push(b',');
        }
        self.first_in_list = false;
        serde_json::to_writer(&mut self.out, value)
    }
    fn close_list(&mut self) {
        self.out.extend_from_slice(b"],");
    }
}

/// Writes the bundle and returns its key and counts.
pub async fn write_export<S, B, E>(
    store: &S,
    blobs: &B,
    envelope: &E,
    request: &ExportRequest<'_>,
) -> Result<(String, ExportCounts), ExportError>
where
    S: CallRepository
        + DocumentRepository
        + ProgressRepository
        + PlaybookRepository
        + AuditLog
        + TenantRepository
        + TeamRepository
        + UsageLog,
    B: BlobStore,
    E: Envelope,
{
    let tenant = request.tenant;
    let vault = DocumentVault {
        repository: store,
        blobs,
        envelope,
    };
    let mut counts = ExportCounts::default();
    let mut bundle = BundleWriter {
        out: b"{".to_vec(),
        first_in_list: true,
    };
    bundle.field("schema", &EXPORT_SCHEMA)?;
    bundle.field("tenant_id", tenant)?;
    bundle.field("scope", &request.scope)?;
    bundle.field("requested_by", request.requester)?;
    bundle.field(
        "created_at",
        &request
            .now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    )?;

    let wanted = |call: &Call| {
        call.status != CallStatus::Deleted
            && (request.scope == ExportScope::Workspace || &call.rep_id == request.requester)
    };
    let mut reps = BTreeSet::new();
    bundle.open_list("calls")?;
    for team in &request.teams {
        let mut page = PageRequest::first(100).expect("100 is a valid page size");
        loop {
            let listed = store.list_team_calls(tenant, team, &page).await?;
            for call in listed.items.iter().filter(|c| wanted(c)) {
                let (transcript, analysis) = if call.transcript_version > 0 {
                    let version = call.transcript_version;
                    let transcript: Option<Transcript> = vault
                        .get(tenant, &call.call_id, DocumentKind::Transcript, version)
                        .await?;
                    let analysis: Option<Analysis> = vault
                        .get(tenant, &call.call_id, DocumentKind::Analysis, version)
                        .await?;
                    (transcript, analysis)
                } else {
                    (None, None)
                };
                let mut practice: Vec<PracticeResponse> = Vec::new();
                counts.calls += 1;
                counts.transcripts += u64::from(transcript.is_some());
                if let Some(a) = &analysis {
                    counts.analyses += 1;
                    counts.highlights += a.highlights.len() as u64;
                    for index in 0..a.highlights.len() as u32 {
                        let written: Option<Vec<PracticeResponse>> = vault
                            .get(tenant, &call.call_id, DocumentKind::Practice, index)
                            .await?;
                        practice.extend(written.unwrap_or_default());
                    }
                }
                counts.practice_responses += practice.len() as u64;
                reps.insert(call.rep_id.clone());
                bundle.item(&json!({
                    "call": call_metadata(call),
                    "transcript": transcript,
                    "analysis": analysis,
                    "practice_responses": practice,
                }))?;
            }
            match listed.next {
                Some(next) => page = PageRequest::new(100, Some(next)).expect("valid page"),
                None => break,
            }
        }
    }
    bundle.close_list();

    if request.scope == ExportScope::User {
        reps = BTreeSet::from([request.requester.clone()]);
    }
    bundle.open_list("progress")?;
    for rep in &reps {
        if let Some(progress) = load_progress(store, envelope, tenant, rep).await? {
            counts.goals += progress.current_goals.len() as u64;
            bundle.item(&json!({"rep_id": rep, "progress": progress}))?;
        }
    }
    bundle.close_list();

    bundle.open_list("playbooks")?;
    let mut retention = Value::Null;
    if request.scope == ExportScope::Workspace {
        for team in &request.teams {
            if let Some(playbook) = store.get_playbook(tenant, team).await? {
                bundle.item(&json!({"team_id": team, "playbook": playbook}))?;
            }
        }
        if let Some(workspace) = store.get_tenant(tenant).await? {
            retention = json!({"policy": workspace.retention, "legal_hold": workspace.legal_hold});
        }
    }
    bundle.close_list();
    bundle.field("retention", &retention)?;

    bundle.open_list("audit_events")?;
    let mut page = PageRequest::first(100).expect("100 is a valid page size");
    loop {
        let listed = store.list(tenant, &page).await?;
        for event in &listed.items {
            let mine = event.actor.as_ref() == Some(request.requester);
            if request.scope == ExportScope::Workspace || mine {
                counts.audit_events += 1;
                bundle.item(event)?;
            }
        }
        match listed.next {
            Some(next) => page = PageRequest::new(100, Some(next)).expect("valid page"),
            None => break,
        }
    }
    bundle.close_list();

    // Usage is personal: the requester's own views, whatever the scope.
    let views = store
        .views_of_user(tenant, request.requester, request.now, 10_000)
        .await?;
    counts.usage_events = views.len() as u64;
    bundle.field("usage_events", &views)?;
    bundle.field("counts", &counts)?;
    // Replace the trailing comma with the closing brace.
    bundle.out.pop();
    bundle.out.push(b'}');

    let key = export_key(tenant, request.export_id);
    blobs.put(&key, bundle.out, "application/json").await?;
    Ok((key, counts))
}

/// The call's metadata as the API shows it: no storage keys or job secrets.
fn call_metadata(call: &Call) -> Value {
    json!({
        "call_id": call.call_id,
        "team_id": call.team_id,
        "rep_id": call.rep_id,
        "title": call.title,
        "call_type": call.call_type,
        "company_domain": call.company_domain,
        "buyer_persona": call.buyer_persona,
        "status": call.status,
        "failure_reason": call.failure_reason,
        "rep_speaker": call.rep_speaker,
        "legal_hold": call.legal_hold,
        "created_at": call.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}
