//! Deletion receipts: signed statements of what each deletion removed, kept two years, also
//! once the workspace is destroyed. Their cursors are the store's own, not sealed: they must
//! open after the workspace's keys are shredded, and hold only an issue time and a receipt id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use callcoach_shared::ids::ReceiptId;
use callcoach_shared::ports::{Cursor, PageRequest, ReceiptBook};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, DEFAULT_PAGE_SIZE};
use crate::Ports;
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListReceipts {
    limit: Option<u16>,
    cursor: Option<String>,
}

/// `GET /v1/receipts`: the workspace's deletion receipts, newest first.
pub async fn list_receipts<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictQuery(query): StrictQuery<ListReceipts>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_read_receipts(who.workspace.as_ref()) {
        return Err(ApiError::NotFound);
    }
    let page = PageRequest::new(
        query.limit.unwrap_or(DEFAULT_PAGE_SIZE),
        query.cursor.map(Cursor::from_client),
    )
    .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let found = api.ports.store().list_receipts(&who.tenant, &page).await?;
    Ok(Json(json!({
        "items": found.items,
        "next_cursor": found.next.map(Cursor::into_string),
    })))
}

/// `GET /v1/receipts/{receipt_id}`: one receipt as a file to keep; `callcoach verify-receipt`
/// checks it offline against the deployment's public key.
pub async fn get_receipt<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !who.caller.can_read_receipts(who.workspace.as_ref()) {
        return Err(ApiError::NotFound);
    }
    let id = ReceiptId::parse(raw).map_err(|_| ApiError::NotFound)?;
    let receipt = api
        .ports
        .store()
        .get_receipt(&who.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let file = serde_json::to_vec_pretty(&receipt).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let disposition = format!("attachment; filename=\"{id}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file,
    ))
}
