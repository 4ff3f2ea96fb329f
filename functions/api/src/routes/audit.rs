//! The workspace's audit trail.

use axum::Json;
use axum::extract::State;
use callcoach_shared::ports::{AuditLog, PageRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, DEFAULT_PAGE_SIZE};
use crate::error::ApiError;
use crate::extract::{Authenticated, StrictQuery};
use crate::{Ports, cursors};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAudit {
    limit: Option<u16>,
    cursor: Option<String>,
}

/// `GET /v1/audit`: the workspace's audit trail, newest first: admins only (team owners read
/// none of it).
pub async fn list_audit<P: Ports>(
    State(api): ApiState<P>,
    who: Authenticated,
    StrictQuery(query): StrictQuery<ListAudit>,
) -> Result<Json<Value>, ApiError> {
    if !who.caller.can_manage_workspace() {
        return Err(ApiError::NotFound);
    }
    let envelope = api.ports.envelope();
    let cursor = cursors::open(envelope, &who.tenant, "audit", query.cursor.as_deref()).await?;
    let page = PageRequest::new(query.limit.unwrap_or(DEFAULT_PAGE_SIZE), cursor)
        .map_err(|e| ApiError::BadRequest(format!("limit: {e}")))?;
    let result = AuditLog::list(api.ports.store(), &who.tenant, &page).await?;
    let next = cursors::seal(envelope, &who.tenant, "audit", result.next.as_ref()).await?;
    Ok(Json(json!({"items": result.items, "next_cursor": next})))
}
