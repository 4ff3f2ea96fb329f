//! The workspace: its retention and legal hold, its deletion, its admins. Admins only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::domain::org::{DeletionRequest, Tenant};
use callcoach_shared::domain::retention::{CALL_WINDOW_CHOICES, RECORDING_WINDOW_CHOICES};
use callcoach_shared::ports::{AdminRepository, Clock, TenantRepository};
use callcoach_shared::usecases::deletion;
use callcoach_shared::usecases::export::Withdrawal;
use callcoach_shared::usecases::workspace::{self, RetentionChange, RetentionRefusal};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, rfc3339, user_id};
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};
use crate::{Api, Ports};

/// The workspace record (written by provisioning).
async fn workspace<P: Ports>(api: &Api<P>, who: &Authenticated) -> Result<Tenant, ApiError> {
    api.ports
        .store()
        .get_tenant(&who.tenant)
        .await?
        .ok_or(ApiError::NotFound)
}

fn retention_view(tenant: &Tenant) -> Value {
    json!({
        "transcripts_days": tenant.retention.transcripts_days,
        "recordings_days_after_transcription": tenant.retention.recordings_days_after_transcription,
        "legal_hold": tenant.legal_hold,
    })
}

/// `GET /v1/workspace/retention`: the workspace's retention settings and legal hold.
pub async fn get_retention<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(retention_view(&workspace(&api, &who).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRetention {
    /// `null` keeps calls for the account's life.
    #[serde(default, deserialize_with = "present")]
    transcripts_days: Option<Option<u32>>,
    recordings_days_after_transcription: Option<u32>,
    legal_hold: Option<bool>,
}

/// Tells a field that is present (even as `null`) from one left out.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// `PUT /v1/workspace/retention`: changes the workspace's retention (bounded choices) and legal
/// hold; the next reaper run applies it to existing data. Fields left out keep their value.
pub async fn put_retention<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<SetRetention>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let change = RetentionChange {
        transcripts_days: body.transcripts_days,
        recordings_days_after_transcription: body.recordings_days_after_transcription,
        legal_hold: body.legal_hold,
    };
    change.check().map_err(|refusal| {
        ApiError::BadRequest(match refusal {
            RetentionRefusal::CallWindow => {
                format!("transcripts_days: one of {CALL_WINDOW_CHOICES:?} or null")
            }
            RetentionRefusal::RecordingWindow => {
                format!("recordings_days_after_transcription: one of {RECORDING_WINDOW_CHOICES:?}")
            }
        })
    })?;
    let tenant = workspace::change_retention(api.ports.store(), &who.tenant, &change).await?;
    Ok(Json(retention_view(&tenant)))
}

fn deletion_view(pending: &DeletionRequest) -> Value {
    json!({
        "state": "deletion_pending",
        "requested_by": pending.requested_by,
        "requested_at": rfc3339(pending.requested_at),
        "shred_at": rfc3339(pending.shred_at),
        "grace_hours": (pending.shred_at - pending.requested_at).whole_hours(),
    })
}

/// `DELETE /v1/workspace`: the first of two steps. The workspace locks at once (410 for
/// everyone) and its data keys are shredded when the grace period ends (the reaper then
/// purges it), unless an admin cancels first; with no grace period they are shredded in this
/// request. Also while the workspace is cancelled or suspended.
pub async fn delete_workspace<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let done = deletion::request_workspace_deletion(
        api.ports.store(),
        &who.tenant,
        &who.caller.user,
        api.ports.clock().now(),
        api.settings.deletion_grace,
    )
    .await?;
    // Asked again while pending, it withdraws again: nothing is left to a failed attempt.
    super::exports::withdraw(&api, &who.tenant, Withdrawal::Everything).await?;
    let body = match done {
        deletion::WorkspaceDeletion::Pending(pending) => deletion_view(&pending),
        deletion::WorkspaceDeletion::Shredded => json!({"state": "shredded", "grace_hours": 0}),
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// `GET /v1/workspace/deletion`: the pending deletion (404 when none is pending).
pub async fn workspace_deletion<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let pending = workspace(&api, &who).await?.deletion;
    pending
        .as_ref()
        .map(|p| Json(deletion_view(p)))
        .ok_or(ApiError::NotFound)
}

/// `DELETE /v1/workspace/deletion`: an admin cancels a pending deletion before its grace
/// period ends (409 after); the workspace is served again as it was.
pub async fn cancel_workspace_deletion<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<StatusCode, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    deletion::cancel_workspace_deletion(api.ports.store(), &who.tenant, api.ports.clock().now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/workspace/admins`: the workspace's admins.
pub async fn list_admins<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let admins = api.ports.store().admins(&who.tenant).await?;
    let items: Vec<Value> = admins.iter().map(|a| json!({"user_id": a})).collect();
    Ok(Json(json!({ "items": items })))
}

/// `PUT /v1/workspace/admins/{user_id}`: makes a user an admin (idempotent).
pub async fn put_admin<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = user_id(raw)?;
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let added =
        workspace::add_admin(api.ports.store(), &who.tenant, &who.caller.user, &user).await?;
    Ok(Json(
        json!({"user_id": user, "admin": true, "added": added}),
    ))
}

/// `DELETE /v1/workspace/admins/{user_id}`: takes a user's admin role away, yourself
/// included; the last admin cannot leave (409).
pub async fn remove_admin<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = user_id(raw)?;
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    workspace::remove_admin(api.ports.store(), &who.tenant, &who.caller.user, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
