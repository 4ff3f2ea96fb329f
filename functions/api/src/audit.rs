//! The audit layer: every mutating request (POST, PUT, PATCH, DELETE) writes one audit event
//! after it is answered: who, tenant, action (method and route template), object (the path:
//! ids only), outcome, request id, time. Never a body. Requests without a verified identity
//! have no tenant to file the event under; they are refused before any handler runs.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::audit::{AuditEvent, Outcome};
use callcoach_shared::ports::{AuditLog, Clock, IdGenerator};
use callcoach_shared::telemetry::emit_count;

use crate::extract::verified_identity;
use crate::{Api, Ports};

fn mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

pub async fn audit_mutations<P: Ports>(
    State(api): State<Arc<Api<P>>>,
    request: Request,
    next: Next,
) -> Response {
    if !mutating(request.method()) {
        return next.run(request).await;
    }
    let identity = verified_identity(request.extensions(), &api.settings.tenant_claim);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", |m| m.as_str())
        .to_owned();
    let action = format!("{} {route}", request.method());
    let object = request.uri().path().to_owned();
    let response = next.run(request).await;
    let Some((tenant, user, request_id)) = identity else {
        return response;
    };
    let status = response.status();
    let outcome = if status.is_success() {
        Outcome::Success
    } else if matches!(status.as_u16(), 401 | 403 | 404) {
        Outcome::Denied
    } else {
        Outcome::Failed
    };
    let event = AuditEvent {
        schema_version: SCHEMA_VERSION,
        event_id: api.ports.ids().mint(),
        tenant_id: tenant,
        actor: Some(user),
        actor_kind: "user".into(),
        action,
        object,
        outcome,
        request_id: Some(request_id),
        at: api.ports.clock().now(),
    };
    record(&api, &event).await;
    response
}

/// Appends `event`. The request it records is made and answered either way; a lost audit
/// event is alarmed on, not hidden.
pub(crate) async fn record<P: Ports>(api: &Api<P>, event: &AuditEvent) {
    if let Err(error) = api.ports.store().append(event).await {
        tracing::error!(error = %callcoach_shared::telemetry::Chain(&error), "audit event not written");
        emit_count("api", "AuditWriteFailed", 1);
    }
}
