//! Request extractors: the verified caller, strict JSON bodies and query strings.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use callcoach_shared::access::Caller;
use callcoach_shared::domain::org::Tenant;
use callcoach_shared::domain::retention::AccountState;
use callcoach_shared::ids::{TenantId, UserId};
use callcoach_shared::ports::{AdminRepository, TenantRepository};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::{Api, Ports};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Deepest JSON nesting accepted.
pub const MAX_JSON_DEPTH: usize = 16;

/// The caller: tenant and user from the claims API Gateway's JWT authorizer verified, and the
/// memberships (roles) from our own records.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub tenant: TenantId,
    pub caller: Caller,
    pub request_id: String,
    /// The workspace record as read for this request (`None` before provisioning).
    pub workspace: Option<Tenant>,
}

/// Tenant, user and request id from the claims API Gateway's JWT authorizer verified, if the
/// request carries valid ones.
pub fn verified_identity(
    extensions: &axum::http::Extensions,
    tenant_claim: &str,
) -> Option<(TenantId, UserId, String)> {
    let Some(RequestContext::ApiGatewayV2(context)) = extensions.request_context_ref() else {
        return None;
    };
    let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
    let user = UserId::parse(claims.get("sub")?.as_str()).ok()?;
    let tenant = TenantId::parse(claims.get(tenant_claim)?.as_str()).ok()?;
    Some((tenant, user, context.request_id.clone().unwrap_or_default()))
}

/// Where an admin looks at or cancels a pending workspace deletion: the one place a workspace
/// whose deletion is pending still answers.
pub const DELETION_PATH: &str = "/v1/workspace/deletion";

/// Where deletion receipts are read: answered also for a deleted or destroyed workspace.
pub const RECEIPTS_PATH: &str = "/v1/receipts";

/// Requests a locked workspace refuses: every mutating method but asking for an export and
/// deleting the workspace (or cancelling that).
fn changes_something(parts: &Parts) -> bool {
    use axum::http::Method;
    matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && !matches!(
        parts.uri.path(),
        "/v1/exports" | "/v1/workspace" | DELETION_PATH
    )
}

impl<P: Ports> FromRequestParts<Arc<Api<P>>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api<P>>) -> Result<Self, ApiError> {
        let (tenant, user, request_id) =
            verified_identity(&parts.extensions, &api.settings.tenant_claim)
                .ok_or(ApiError::Unauthorized)?;
        // The workspace is read on every request: a deleted workspace serves nothing from the
        // moment of its deletion, not even metadata, while its items wait for the reaper. The
        // two reads go together, so a request waits for one round trip, not two.
        let store = api.ports.store();
        let (workspace, roles) = tokio::try_join!(
            store.get_tenant(&tenant),
            store.workspace_roles(&tenant, &user)
        )?;
        let caller = Caller::new(user, roles);
        if let Some(workspace) = &workspace {
            // While a deletion is pending, its admins may still look at it, cancel it, or ask
            // again (which answers the pending deletion).
            let admin_on_its_deletion = caller.can_manage_workspace()
                && !workspace.state.is_gone()
                && (parts.uri.path() == DELETION_PATH
                    || (parts.uri.path() == "/v1/workspace"
                        && parts.method == axum::http::Method::DELETE));
            // Receipts outlive what they speak of; who may read them is the route's to say.
            let reading_receipts = parts.method == axum::http::Method::GET
                && (parts.uri.path() == RECEIPTS_PATH
                    || parts.uri.path().starts_with(&format!("{RECEIPTS_PATH}/")));
            if workspace.is_closed() && !admin_on_its_deletion && !reading_receipts {
                return Err(ApiError::Gone);
            }
            if changes_something(parts) && workspace.state != AccountState::Active {
                return Err(ApiError::Locked);
            }
        }
        Ok(Authenticated {
            tenant,
            caller,
            request_id,
            workspace,
        })
    }
}

fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A query string of a type that denies unknown fields: 400 naming what is wrong with it.
pub struct StrictQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(query)| StrictQuery(query))
            .map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))
    }
}

/// A JSON body: at most [`MAX_BODY_BYTES`] (413), nesting at most [`MAX_JSON_DEPTH`] (400), and
/// types that deny unknown fields (400 naming the field).
pub struct StrictJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let declared = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
            return Err(ApiError::PayloadTooLarge);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if json_depth(&bytes) > MAX_JSON_DEPTH {
            return Err(ApiError::BadRequest(format!(
                "body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        serde_json::from_slice(&bytes).map(StrictJson).map_err(|e| {
            // serde names the field ("unknown field `role`", "missing field `title`").
            let message = e.to_string();
            let message = message.split(" at line").next().unwrap_or(&message);
            ApiError::BadRequest(format!("body: {message}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::json_depth;

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[{"b":"[[[{{{"}]}"#), 3);
        assert_eq!(json_depth(br#""\"{""#), 0);
    }
}
