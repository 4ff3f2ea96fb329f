//! A call's documents: its current transcript and analysis, inline or, when too large for an
//! answer, as a short-lived link.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use callcoach_shared::crypto::bundle::{BUNDLE_FORMAT, BundleKey, seal_bundle};
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::Call;
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::domain::usage::UsageView;
use callcoach_shared::keys::document_view_key;
use callcoach_shared::ports::{BlobStore, Clock, DocumentKind};
use callcoach_shared::usecases::export::SEALED_BUNDLE_CONTENT_TYPE;
use serde_json::json;

use super::calls::{record_view, visible_call_with};
use super::{ApiState, rfc3339, vault};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::{Api, Ports};

/// Answers above this many bytes of JSON go out as a link: Lambda answers at most 6 MB, and
/// API Gateway's envelope escapes every quote of the body (a document's JSON is full of them).
pub const INLINE_DOCUMENT_LIMIT: usize = 2_500_000;
/// How long the link to a large document works.
pub const DOCUMENT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The call's current analysis, decrypted; 404 while it has none.
pub(super) async fn load_analysis<P: Ports>(
    api: &Api<P>,
    call: &Call,
) -> Result<Analysis, ApiError> {
    vault(api)
        .current(call, DocumentKind::Analysis)
        .await?
        .ok_or(ApiError::NotFound)
}

/// A document as the answer's body, or, when too large for one, a short-lived link to it:
/// `{"too_large": true, "bytes", "download_url", "expires_at", "bundle_key", "bundle_format"}`.
/// The linked copy sits under the call's export prefix sealed like an export bundle, under a
/// key that is in this answer only (gone after three days and with the call's purge).
async fn document_answer<P: Ports, T: serde::Serialize>(
    api: &Api<P>,
    call: &Call,
    kind: DocumentKind,
    document: &T,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(document)?;
    if body.len() <= INLINE_DOCUMENT_LIMIT {
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    let bytes = body.len();
    let key = document_view_key(
        &call.tenant_id,
        &call.call_id,
        kind,
        call.transcript_version,
    );
    let bundle_key = BundleKey::generate()?;
    let sealed = seal_bundle(&bundle_key, &body)?;
    drop(body);
    let blobs = api.ports.blobs();
    blobs.put(&key, sealed, SEALED_BUNDLE_CONTENT_TYPE).await?;
    let link = blobs.presign_get(&key, DOCUMENT_LINK_LIFETIME).await?;
    let expires_at = api.ports.clock().now() + DOCUMENT_LINK_LIFETIME;
    Ok(Json(json!({
        "too_large": true,
        "bytes": bytes,
        "download_url": link.url,
        "expires_at": rfc3339(expires_at),
        "bundle_key": bundle_key.to_base64(),
        "bundle_format": BUNDLE_FORMAT,
    }))
    .into_response())
}

/// `GET /v1/calls/{call_id}/transcript`: whoever may see the call.
pub async fn get_transcript<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let (call, transcript) =
        visible_call_with::<P, Transcript>(&api, &who, &raw, DocumentKind::Transcript).await?;
    let transcript = transcript.ok_or(ApiError::NotFound)?;
    record_view(&api, &who, &call, UsageView::Transcript).await;
    document_answer(&api, &call, DocumentKind::Transcript, &transcript).await
}

/// `GET /v1/calls/{call_id}/analysis`: whoever may see the call.
pub async fn get_analysis<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let (call, analysis) =
        visible_call_with::<P, Analysis>(&api, &who, &raw, DocumentKind::Analysis).await?;
    let analysis = analysis.ok_or(ApiError::NotFound)?;
    record_view(&api, &who, &call, UsageView::Analysis).await;
    document_answer(&api, &call, DocumentKind::Analysis, &analysis).await
}
