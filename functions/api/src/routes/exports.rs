//! Exports: a user's own data at once, the whole workspace as a background job.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callcoach_shared::crypto::bundle::{BUNDLE_FORMAT, BundleKey};
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::audit::{AuditEvent, Outcome};
use callcoach_shared::ids::{ExportId, TenantId};
use callcoach_shared::ports::{BlobStore, Clock, ExportJobRepository, IdGenerator};
use callcoach_shared::usecases::export::{
    EXPORT_PART_SIZE, ExportRequest, ExportScope, Withdrawal, withdraw_bundles, write_export,
};
use callcoach_shared::usecases::export_job::{
    ExportJob, ExportState, open_bundle_key, queue_workspace_export,
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ApiState, quotas, rfc3339};
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictJson};
use crate::{Api, Ports};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestExport {
    scope: ExportScope,
}

/// How long an export's download link works.
pub const EXPORT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// `POST /v1/exports`. `user`: anyone, for their own data, written now and answered with a
/// short-lived download link and the key that opens the sealed bundle (201). `workspace`:
/// admins, for every team of the workspace, as a background job: the answer is 202 with the
/// job's status resource, which gives the link and the key once the bundle is ready (a workspace's bundle can take longer than an HTTP request may). A few
/// workspace exports a day; past that, 429.
pub async fn create_export<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictJson(body): StrictJson<RequestExport>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let export_id: ExportId = api.ports.ids().mint();
    let now = api.ports.clock().now();
    match body.scope {
        ExportScope::User => {}
        ExportScope::Workspace if who.caller.can_manage_workspace() => {
            let job = queue_workspace_export(
                api.ports.store(),
                api.ports.jobs(),
                &who.tenant,
                &who.caller.user,
                &quotas(&api, &who),
                export_id,
                now,
            )
            .await?;
            return Ok((StatusCode::ACCEPTED, Json(export_job_view(&job, None))));
        }
        ExportScope::Workspace => return Err(ApiError::NotFound),
    }
    let request = ExportRequest {
        tenant: &who.tenant,
        requester: &who.caller.user,
        scope: body.scope,
        teams: who.caller.teams().map(|(team, _)| team.clone()).collect(),
        export_id: &export_id,
        now,
        part_size: EXPORT_PART_SIZE,
    };
    let written = write_export(
        api.ports.store(),
        api.ports.blobs(),
        api.ports.envelope(),
        &request,
    )
    .await?;
    let (url, expires_at) = download_link(&api, &written.key, now).await?;
    // The bundle's key is in this answer only: nothing of ours keeps it.
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "export_id": export_id,
            "download_url": url,
            "expires_at": rfc3339(expires_at),
            "bundle_key": written.bundle_key.to_base64(),
            "bundle_format": BUNDLE_FORMAT,
            "counts": written.counts,
        })),
    ))
}

/// Withdraws the bundles that may hold what a deletion is about to remove (see
/// [`withdraw_bundles`]), at the api's clock.
pub async fn withdraw<P: Ports>(
    api: &Api<P>,
    tenant: &TenantId,
    withdrawal: Withdrawal<'_>,
) -> Result<(), ApiError> {
    let now = api.ports.clock().now();
    withdraw_bundles(
        api.ports.store(),
        api.ports.blobs(),
        tenant,
        withdrawal,
        now,
    )
    .await?;
    Ok(())
}

/// Runs a deletion between two withdrawals of the bundles that may hold its data: before it, so
/// a retried request withdraws again; after it, so an export that began before the data was
/// gone (and may have read it) finds a note later than its start, or has its landed bundle
/// purged, whichever way the two interleave.
pub async fn withdrawn_around<P: Ports, T, E>(
    api: &Api<P>,
    tenant: &TenantId,
    withdrawal: Withdrawal<'_>,
    deletion: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    withdraw(api, tenant, withdrawal).await?;
    let done = deletion.await?;
    withdraw(api, tenant, withdrawal).await?;
    Ok(done)
}

/// A fresh presigned link to an export bundle, and when it stops working.
async fn download_link<P: Ports>(
    api: &Api<P>,
    key: &str,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), ApiError> {
    let link = api
        .ports
        .blobs()
        .presign_get(key, EXPORT_LINK_LIFETIME)
        .await?;
    Ok((link.url, now + EXPORT_LINK_LIFETIME))
}

/// A ready bundle's link, when it stops working, and the key that opens it.
struct Download {
    url: String,
    expires_at: OffsetDateTime,
    bundle_key: BundleKey,
}

fn export_job_view(job: &ExportJob, link: Option<Download>) -> Value {
    let mut view = json!({
        "export_id": job.export_id,
        "scope": job.scope,
        "state": job.state,
        "requested_by": job.requested_by,
        "requested_at": rfc3339(job.requested_at),
        "status_url": format!("/v1/exports/{}", job.export_id),
    });
    if let Some(at) = job.finished_at {
        view["finished_at"] = json!(rfc3339(at));
    }
    if let Some(counts) = &job.counts {
        view["counts"] = json!(counts);
    }
    if let Some(failure) = job.failure {
        view["failure"] = json!(failure);
    }
    if let Some(download) = link {
        view["download_url"] = json!(download.url);
        view["expires_at"] = json!(rfc3339(download.expires_at));
        view["bundle_key"] = json!(download.bundle_key.to_base64());
        view["bundle_format"] = json!(BUNDLE_FORMAT);
    }
    view
}

/// `GET /v1/exports/{export_id}`: a workspace export job's status: admins of the workspace
/// only (the bundle holds all of it), any of them, since admins are peers. Once ready, each
/// look answers a fresh 15-minute link and writes an audit event (`export.link_issued`: who,
/// which export) and gives the bundle's key, which the record keeps sealed under the tenant's
/// keys; after the bundle's lifetime the job is gone (404). A bundle a deletion withdrew
/// answers `withdrawn`, with no link.
pub async fn get_export<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(export): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let export = ExportId::parse(&export).map_err(|_| ApiError::NotFound)?;
    let now = api.ports.clock().now();
    let job = api
        .ports
        .store()
        .get_export_job(&who.tenant, &export)
        .await?
        .filter(|job| job.expires_at() > now)
        .ok_or(ApiError::NotFound)?;
    let mut withdrawn = false;
    let link = match (&job.state, &job.key) {
        // A deletion since may have withdrawn the bundle: then there is nothing to link to.
        (ExportState::Ready, Some(key)) if api.ports.blobs().list(key).await?.is_empty() => {
            withdrawn = true;
            None
        }
        (ExportState::Ready, Some(key)) => {
            let bundle_key = open_bundle_key(api.ports.envelope(), &job)
                .await?
                .ok_or(ApiError::NotFound)?;
            let (url, expires_at) = download_link(&api, key, now).await?;
            Some(Download {
                url,
                expires_at,
                bundle_key,
            })
        }
        _ => None,
    };
    if link.is_some() {
        let event = AuditEvent {
            schema_version: SCHEMA_VERSION,
            event_id: api.ports.ids().mint(),
            tenant_id: who.tenant.clone(),
            actor: Some(who.caller.user.clone()),
            actor_kind: "user".into(),
            action: "export.link_issued".into(),
            object: format!("/v1/exports/{}", job.export_id),
            outcome: Outcome::Success,
            request_id: Some(who.request_id.clone()),
            at: now,
        };
        crate::audit::record(&api, &event).await;
    }
    let mut view = export_job_view(&job, link);
    if withdrawn {
        view["state"] = json!("withdrawn");
    }
    Ok(Json(view))
}
