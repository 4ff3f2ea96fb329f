//! Route handlers, one module per resource: parse the request, check access in one call to
//! [`Caller`](callcoach_shared::access::Caller), run the use case, shape the answer. Each
//! module keeps its request types, their validation and its views beside its handlers; the
//! rules are the use cases' (`callcoach_shared::usecases`).

mod audit;
mod call_changes;
mod call_documents;
mod calls;
mod exports;
mod people;
mod prep;
mod progress;
mod receipts;
mod teams;
mod workspace;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use callcoach_shared::ids::{CallId, TeamId, UserId};
use callcoach_shared::usecases::documents::DocumentVault;
use callcoach_shared::usecases::quota::Quotas;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::{Api, Ports};

pub use audit::list_audit;
pub use call_changes::{delete_call, rescore_call, set_legal_hold, set_rep_speaker};
pub use call_documents::{get_analysis, get_transcript};
pub use calls::{create_call, get_call, list_calls};
pub use exports::{create_export, get_export};
pub use people::{delete_user, list_members, put_member, remove_member};
pub use prep::{complete_goal, list_practice, prep_card, write_practice};
pub use progress::rep_progress;
pub use receipts::{get_receipt, list_receipts};
pub use teams::{create_team, delete_team, get_playbook, put_playbook};
pub use workspace::{
    cancel_workspace_deletion, delete_workspace, get_retention, list_admins, put_admin,
    put_retention, remove_admin, workspace_deletion,
};

type ApiState<P> = State<Arc<Api<P>>>;

/// Items a listing page holds when the request names no limit.
const DEFAULT_PAGE_SIZE: u16 = 20;

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A required text field: 1 to `max` characters once trimmed, no control characters.
fn text_field(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let length = value.trim().chars().count();
    if length == 0 || length > max || value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{name}: must be 1 to {max} characters, no control characters"
        )));
    }
    Ok(())
}

/// Ids in a path or naming what a request reads: malformed ones do not exist (the one 404).
fn team_id(raw: &str) -> Result<TeamId, ApiError> {
    TeamId::parse(raw).map_err(|_| ApiError::NotFound)
}

fn call_id(raw: &str) -> Result<CallId, ApiError> {
    CallId::parse(raw).map_err(|_| ApiError::NotFound)
}

fn user_id(raw: String) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|_| ApiError::NotFound)
}

/// A user id in a body or query, where a malformed one is the request's fault (400).
fn user_field(name: &str, raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|_| ApiError::BadRequest(format!("{name}: not a valid user id")))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The one way handlers reach the call documents (transcripts, analyses, practice answers).
fn vault<P: Ports>(api: &Api<P>) -> DocumentVault<'_, P::Store, P::Blobs, P::Envelope> {
    DocumentVault {
        repository: api.ports.store(),
        blobs: api.ports.blobs(),
        envelope: api.ports.envelope(),
    }
}

/// The quotas the caller's workspace works under.
fn quotas<P: Ports>(api: &Api<P>, who: &Authenticated) -> Quotas {
    Quotas::of_workspace(who.workspace.as_ref(), api.settings.quotas)
}
