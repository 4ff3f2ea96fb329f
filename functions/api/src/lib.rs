//! HTTP API behind API Gateway (HTTP API with a JWT authorizer), as an axum router run by
//! lambda_http.
//!
//! Identity: tenant and user come only from the claims API Gateway verified (`sub`, and the
//! tenant claim named by `TENANT_CLAIM`); roles come from our membership records
//! ([`callcoach_shared::access`]). Anything the caller may not see answers exactly like what does
//! not exist: the same 404 body, byte for byte. Errors are problem+json.

mod audit;
mod cursors;
mod deployed;
pub mod entry;
pub mod error;
pub mod extract;
pub mod jobs;
mod routes;

pub use deployed::DeployedPorts;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use callcoach_shared::crypto::DataKeyStore;
use callcoach_shared::crypto::Envelope;
use callcoach_shared::ports::{
    AdminRepository, AuditLog, BlobStore, CallRepository, Clock, DocumentRepository,
    ExportJobRepository, IdGenerator, PlaybookRepository, ProgressRepository, Queue, QuotaStore,
    ReceiptBook, RetentionStore, TeamRepository, TenantRepository, UsageLog,
};

callcoach_shared::bound_alias! {
    /// Everything the API keeps in the table, under one name.
    pub trait ApiStore = CallRepository
        + TeamRepository
        + AdminRepository
        + TenantRepository
        + DocumentRepository
        + AuditLog
        + ProgressRepository
        + PlaybookRepository
        + UsageLog
        + RetentionStore
        + QuotaStore
        + ExportJobRepository
        + DataKeyStore
        + ReceiptBook
        + 'static
}

/// The ports the API works through; the deployment's adapters or the tests' fakes.
pub trait Ports: Send + Sync + 'static {
    type Store: ApiStore;
    type Blobs: BlobStore + 'static;
    type Envelope: Envelope + 'static;
    type Queue: Queue + 'static;
    type Clock: Clock + 'static;
    type Ids: IdGenerator + 'static;
    fn store(&self) -> &Self::Store;
    fn blobs(&self) -> &Self::Blobs;
    fn envelope(&self) -> &Self::Envelope;
    fn queue(&self) -> &Self::Queue;
    /// The export-jobs queue (this function's own background work).
    fn jobs(&self) -> &Self::Queue;
    fn clock(&self) -> &Self::Clock;
    fn ids(&self) -> &Self::Ids;
}

/// The concrete bundle of ports.
pub struct Adapters<S, B, E, Q, C, I> {
    pub store: S,
    pub blobs: B,
    pub envelope: E,
    pub queue: Q,
    /// Where workspace export jobs go.
    pub jobs: Q,
    pub clock: C,
    pub ids: I,
}

impl<S, B, E, Q, C, I> Ports for Adapters<S, B, E, Q, C, I>
where
    S: ApiStore,
    B: BlobStore + 'static,
    E: Envelope + 'static,
    Q: Queue + 'static,
    C: Clock + 'static,
    I: IdGenerator + 'static,
{
    type Store = S;
    type Blobs = B;
    type Envelope = E;
    type Queue = Q;
    type Clock = C;
    type Ids = I;
    fn store(&self) -> &S {
        &self.store
    }
    fn blobs(&self) -> &B {
        &self.blobs
    }
    fn envelope(&self) -> &E {
        &self.envelope
    }
    fn queue(&self) -> &Q {
        &self.queue
    }
    fn jobs(&self) -> &Q {
        &self.jobs
    }
    fn clock(&self) -> &C {
        &self.clock
    }
    fn ids(&self) -> &I {
        &self.ids
    }
}

/// Settings read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Name of the verified claim carrying the tenant id.
    pub tenant_claim: String,
    /// How long a requested workspace deletion waits before the keys are shredded (an admin
    /// may cancel meanwhile); zero shreds at once.
    pub deletion_grace: time::Duration,
    /// The deployment's quotas (`QUOTA_*`); a workspace may have its own.
    pub quotas: callcoach_shared::usecases::quota::Quotas,
    /// How long one HTTP request may take ([`REQUEST_BUDGET`]).
    pub request_budget: std::time::Duration,
}

/// The grace period of a workspace deletion when `WORKSPACE_DELETION_GRACE_HOURS` is unset.
pub const DEFAULT_DELETION_GRACE_HOURS: u32 = 72;
/// The longest grace period: 7 days.
pub const MAX_DELETION_GRACE_HOURS: u32 = 7 * 24;

impl Settings {
    /// From `TENANT_CLAIM` and `WORKSPACE_DELETION_GRACE_HOURS` (0 to 168).
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, callcoach_shared::config::ConfigError> {
        let hours = callcoach_shared::config::bounded(
            lookup,
            "WORKSPACE_DELETION_GRACE_HOURS",
            0..=MAX_DELETION_GRACE_HOURS,
            DEFAULT_DELETION_GRACE_HOURS,
        )?;
        Ok(Self {
            tenant_claim: lookup("TENANT_CLAIM")
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| Settings::default().tenant_claim),
            deletion_grace: time::Duration::hours(i64::from(hours)),
            quotas: callcoach_shared::usecases::quota::Quotas::from_lookup(lookup)?,
            request_budget: REQUEST_BUDGET,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tenant_claim: "custom:tenant_id".into(),
            deletion_grace: time::Duration::hours(i64::from(DEFAULT_DELETION_GRACE_HOURS)),
            quotas: callcoach_shared::usecases::quota::Quotas::default(),
            request_budget: REQUEST_BUDGET,
        }
    }
}

pub struct Api<P> {
    pub ports: P,
    pub settings: Settings,
}

/// Every route the API serves, as (method, path): the OpenAPI check and the audit check walk it.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("POST", "/v1/teams"),
    ("GET", "/v1/teams/{team_id}/members"),
    ("PUT", "/v1/teams/{team_id}/members/{user_id}"),
    ("DELETE", "/v1/teams/{team_id}/members/{user_id}"),
    ("POST", "/v1/calls"),
    ("GET", "/v1/calls"),
    ("GET", "/v1/calls/{call_id}"),
    ("GET", "/v1/calls/{call_id}/transcript"),
    ("GET", "/v1/calls/{call_id}/analysis"),
    ("PUT", "/v1/calls/{call_id}/rep-speaker"),
    ("POST", "/v1/calls/{call_id}/rescore"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/reps/{user_id}/progress"),
    ("GET", "/v1/teams/{team_id}/playbook"),
    ("PUT", "/v1/teams/{team_id}/playbook"),
    ("DELETE", "/v1/calls/{call_id}"),
    ("PUT", "/v1/calls/{call_id}/legal-hold"),
    ("GET", "/v1/workspace/retention"),
    ("PUT", "/v1/workspace/retention"),
    ("POST", "/v1/exports"),
    ("GET", "/v1/exports/{export_id}"),
    ("GET", "/v1/prep-cards"),
    ("POST", "/v1/calls/{call_id}/practice"),
    ("GET", "/v1/calls/{call_id}/practice"),
    ("POST", "/v1/reps/{user_id}/goals/{goal_id}/complete"),
    ("DELETE", "/v1/teams/{team_id}"),
    ("DELETE", "/v1/users/{user_id}"),
    ("DELETE", "/v1/workspace"),
    ("GET", "/v1/workspace/deletion"),
    ("DELETE", "/v1/workspace/deletion"),
    ("GET", "/v1/workspace/admins"),
    ("PUT", "/v1/workspace/admins/{user_id}"),
    ("DELETE", "/v1/workspace/admins/{user_id}"),
    ("GET", "/v1/receipts"),
    ("GET", "/v1/receipts/{receipt_id}"),
];

/// How long a request may take by default: API Gateway stops waiting at 30 s, and the
/// function's own timeout is longer (it also runs export jobs), so a stuck request is ended
/// here rather than holding one of the reserved executions for minutes.
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(29);

async fn within_gateway_wait<P: Ports>(
    axum::extract::State(api): axum::extract::State<Arc<Api<P>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(api.settings.request_budget, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => error::ApiError::TimedOut.into_response(),
    }
}

pub fn router<P: Ports>(api: Arc<Api<P>>) -> Router {
    Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/teams", axum::routing::post(routes::create_team::<P>))
        .route(
            "/v1/teams/{team_id}",
            axum::routing::delete(routes::delete_team::<P>),
        )
        .route(
            "/v1/users/{user_id}",
            axum::routing::delete(routes::delete_user::<P>),
        )
        .route(
            "/v1/workspace",
            axum::routing::delete(routes::delete_workspace::<P>),
        )
        .route(
            "/v1/workspace/deletion",
            get(routes::workspace_deletion::<P>).delete(routes::cancel_workspace_deletion::<P>),
        )
        .route("/v1/workspace/admins", get(routes::list_admins::<P>))
        .route(
            "/v1/workspace/admins/{user_id}",
            put(routes::put_admin::<P>).delete(routes::remove_admin::<P>),
        )
        .route(
            "/v1/teams/{team_id}/members",
            get(routes::list_members::<P>),
        )
        .route(
            "/v1/teams/{team_id}/members/{user_id}",
            put(routes::put_member::<P>).delete(routes::remove_member::<P>),
        )
        .route(
            "/v1/calls",
            axum::routing::post(routes::create_call::<P>).get(routes::list_calls::<P>),
        )
        .route(
            "/v1/calls/{call_id}",
            get(routes::get_call::<P>).delete(routes::delete_call::<P>),
        )
        .route(
            "/v1/calls/{call_id}/legal-hold",
            put(routes::set_legal_hold::<P>),
        )
        .route(
            "/v1/exports",
            axum::routing::post(routes::create_export::<P>),
        )
        .route("/v1/exports/{export_id}", get(routes::get_export::<P>))
        .route("/v1/prep-cards", get(routes::prep_card::<P>))
        .route(
            "/v1/reps/{user_id}/goals/{goal_id}/complete",
            axum::routing::post(routes::complete_goal::<P>),
        )
        .route(
            "/v1/calls/{call_id}/practice",
            get(routes::list_practice::<P>).post(routes::write_practice::<P>),
        )
        .route(
            "/v1/workspace/retention",
            get(routes::get_retention::<P>).put(routes::put_retention::<P>),
        )
        .route(
            "/v1/calls/{call_id}/transcript",
            get(routes::get_transcript::<P>),
        )
        .route(
            "/v1/calls/{call_id}/analysis",
            get(routes::get_analysis::<P>),
        )
        .route(
            "/v1/calls/{call_id}/rep-speaker",
            put(routes::set_rep_speaker::<P>),
        )
        .route(
            "/v1/calls/{call_id}/rescore",
            post(routes::rescore_call::<P>),
        )
        .route("/v1/audit", get(routes::list_audit::<P>))
        .route("/v1/receipts", get(routes::list_receipts::<P>))
        .route("/v1/receipts/{receipt_id}", get(routes::get_receipt::<P>))
        .route(
            "/v1/reps/{user_id}/progress",
            get(routes::rep_progress::<P>),
        )
        .route(
            "/v1/teams/{team_id}/playbook",
            get(routes::get_playbook::<P>).put(routes::put_playbook::<P>),
        )
        .fallback(routes::not_found)
        // Inside the audit layer, so a request cut off is still audited (as failed).
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&api),
            within_gateway_wait::<P>,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&api),
            audit::audit_mutations::<P>,
        ))
        .with_state(api)
}
