//! Retention reaper, run hourly by EventBridge Scheduler (and by hand for a dry run:
//! `{"dry_run": true}`, or `"detail": {"dry_run": true}` in a scheduled event). It sweeps every
//! tenant through [`Reaper::run`], stops 20 s before its deadline (the next run continues), and
//! writes CloudWatch embedded metrics: calls deleted per index, object versions and table items
//! deleted, and the lateness of the most overdue item.
//!
//! It also takes billing's events, on a bus of their own whose resource policy admits only the
//! billing principal (template: `BillingEventBus`), source `callcoach.billing`:
//! - detail-type `Account State Changed`, detail `{"tenant_id", "state": "active" |
//!   "cancelled" | "suspended", "at": RFC 3339}`, routed to [`change_account_state`] (cut-offs
//!   run from receipt; an `at` far from it is refused);
//! - detail-type `Workspace Provisioned`, detail `{"tenant_id", "admin_user_id"}`: sign-up
//!   creates the workspace and its first admin ([`provision`]), and cannot name an admin of a
//!   workspace that exists. An operator invokes `{"provision": {"tenant_id",
//!   "admin_user_id"}}` directly, which may also add an admin to an existing workspace.
//!
//! An operator sets a workspace's own quotas: `{"set_quotas": {"tenant_id", "quotas":
//! {"calls_per_day", "upload_bytes_per_month", "llm_tokens_per_month",
//! "workspace_exports_per_day" (optional)} | null}}`.
//!
//! And the breach-scoping query of the runbook (P11), invoked by an operator (IAM
//! `lambda:InvokeFunction`; API Gateway does not reach this function):
//! `{"breach_scope": {"from": RFC 3339, "to": RFC 3339, "categories": ["transcripts", ...],
//! "after": "tenant"}}` (`categories` and `after` optional) answers [`scope_breach`]'s report.

use std::collections::BTreeSet;
use std::time::Duration;

use callcoach_shared::crypto::{DataCategory, DataKeyStore};
use callcoach_shared::domain::retention::AccountState;
use callcoach_shared::ids::TenantId;
use callcoach_shared::ports::{
    AdminRepository, AuditLog, BlobStore, CallRepository, Clock, ExportJobRepository, QuotaStore,
    ReceiptBook, ReceiptSigner, RetentionStore, StoreError, TeamRepository, TenantRepository,
};
use callcoach_shared::telemetry::{Metric, emit_metrics};
use callcoach_shared::usecases::breach::{BreachQuery, scope_breach};
use callcoach_shared::usecases::lifecycle::change_account_state;
use callcoach_shared::usecases::reaper::{ReapReport, Reaper};
use callcoach_shared::usecases::workspace::{Change, Provisioner, provision, update_workspace};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use tracing::info;

/// Time kept back for the last batch and the report: a tenant's batch deletes object versions
/// and items and writes metrics, longer than one queue record ([`DEFAULT_TIME_MARGIN`]).
///
/// [`DEFAULT_TIME_MARGIN`]: callcoach_shared::lambda::DEFAULT_TIME_MARGIN
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

pub struct Deps<S, B, C, R> {
    pub store: S,
    pub blobs: B,
    pub clock: C,
    /// Signs deletion receipts (KMS `Sign` with the key `RECEIPTS_KEY_ID` names).
    pub signer: R,
}

callcoach_shared::bound_alias! {
    /// What the reaper's events need of the table.
    pub trait ReaperStore = RetentionStore
        + QuotaStore
        + ExportJobRepository
        + TenantRepository
        + TeamRepository
        + AdminRepository
        + CallRepository
        + AuditLog
        + DataKeyStore
        + ReceiptBook
}

/// Whether the invocation has more than [`DEADLINE_MARGIN`] left.
fn time_left(context: &lambda_runtime::Context) -> impl Fn() -> bool + use<> {
    callcoach_shared::lambda::Deadline::of(context).has_time(DEADLINE_MARGIN)
}

/// A dry run is asked for with `dry_run: true` at the top level or in `detail`.
pub fn wants_dry_run(event: &Value) -> bool {
    [&event["dry_run"], &event["detail"]["dry_run"]]
        .into_iter()
        .any(|v| v.as_bool() == Some(true))
}

pub async fn handle<S: ReaperStore, B: BlobStore, C: Clock, R: ReceiptSigner>(
    deps: &Deps<S, B, C, R>,
    event: LambdaEvent<Value>,
) -> Result<ReapReport, Error> {
    let dry_run = wants_dry_run(&event.payload);
    let has_time = time_left(&event.context);
    let reaper = Reaper {
        store: &deps.store,
        blobs: &deps.blobs,
        clock: &deps.clock,
        signer: &deps.signer,
    };
    let report = reaper.run(None, dry_run, has_time).await?;
    info!(
        dry_run,
        finished = report.finished,
        tenants = report.tenants,
        "reaper run done"
    );
    if !dry_run {
        emit(&report, deps.clock.now().unix_timestamp() * 1000);
    }
    Ok(report)
}

pub const BILLING_SOURCE: &str = "callcoach.billing";
pub const LIFECYCLE_DETAIL_TYPE: &str = "Account State Changed";
pub const PROVISIONED_DETAIL_TYPE: &str = "Workspace Provisioned";

/// An operator gives a workspace limits of its own (`null`: the deployment's again).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SetQuotas {
    tenant_id: TenantId,
    quotas: Option<callcoach_shared::usecases::quota::Quotas>,
}

/// A workspace and its first admin, from sign-up (or an operator).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionRequest {
    tenant_id: TenantId,
    admin_user_id: callcoach_shared::ids::UserId,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleDetail {
    tenant_id: TenantId,
    state: AccountState,
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BreachScopeRequest {
    #[serde(with = "time::serde::rfc3339")]
    from: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    to: time::OffsetDateTime,
    #[serde(default)]
    categories: BTreeSet<DataCategory>,
    after: Option<TenantId>,
}

/// Every event the function takes: a billing lifecycle event, a breach-scoping query, or a
/// schedule (sweep).
pub async fn handle_event<S: ReaperStore, B: BlobStore, C: Clock, R: ReceiptSigner>(
    deps: &Deps<S, B, C, R>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let payload = &event.payload;
    if let Some(request) = payload.get("breach_scope") {
        let request: BreachScopeRequest = serde_json::from_value(request.clone())?;
        let query = BreachQuery {
            from: request.from,
            to: request.to,
            categories: request.categories,
            after: request.after,
        };
        let has_time = time_left(&event.context);
        let scope = scope_breach(&deps.store, &query, deps.clock.now(), has_time).await?;
        // Counts only: the report itself goes to the operator who asked.
        info!(
            tenants_checked = scope.tenants_checked,
            affected = scope.affected.len(),
            finished = scope.finished,
            "breach scoped"
        );
        return Ok(serde_json::to_value(scope)?);
    }
    if let Some(request) = payload.get("set_quotas") {
        let request: SetQuotas = serde_json::from_value(request.clone())?;
        let quotas = update_workspace(&deps.store, &request.tenant_id, |tenant| {
            if tenant.is_closed() {
                return Err(StoreError::NotFound);
            }
            tenant.quotas = request.quotas;
            Ok(Change::Write(tenant.quotas))
        })
        .await?;
        info!(tenant = %request.tenant_id, own_limits = quotas.is_some(), "workspace quotas set");
        return Ok(serde_json::json!({"tenant_id": request.tenant_id, "quotas": quotas}));
    }
    let from_billing = payload["source"] == BILLING_SOURCE;
    let provision_request = match payload.get("provision") {
        Some(request) => Some((request.clone(), Provisioner::Operator)),
        None if from_billing && payload["detail-type"] == PROVISIONED_DETAIL_TYPE => {
            Some((payload["detail"].clone(), Provisioner::SignUp))
        }
        None => None,
    };
    if let Some((request, by)) = provision_request {
        let request: ProvisionRequest = serde_json::from_value(request)?;
        let done = provision(
            &deps.store,
            &request.tenant_id,
            &request.admin_user_id,
            deps.clock.now(),
            by,
        )
        .await?;
        info!(tenant = %request.tenant_id, created = done.workspace_created, admin_added = done.admin_added, "workspace provisioned");
        return Ok(serde_json::to_value(done)?);
    }
    if from_billing && payload["detail-type"] == LIFECYCLE_DETAIL_TYPE {
        let detail: LifecycleDetail = serde_json::from_value(payload["detail"].clone())?;
        let tenant = change_account_state(
            &deps.store,
            &detail.tenant_id,
            detail.state,
            detail.at,
            deps.clock.now(),
        )
        .await?;
        info!(tenant = %tenant.tenant_id, state = tenant.state.as_str(), "account state changed");
        return Ok(serde_json::json!({"tenant_id": tenant.tenant_id, "state": tenant.state}));
    }
    Ok(serde_json::to_value(handle(deps, event).await?)?)
}

fn emit(report: &ReapReport, timestamp_ms: i64) {
    let dimensions = [("Function", "retention-reaper")];
    let mut metrics: Vec<Metric<'_>> = report
        .calls
        .iter()
        .map(|(index, count)| Metric {
            name: match *index {
                "calls" => "ExpiredCallsDeleted",
                "recordings" => "RecordingsDeleted",
                _ => "DeletedCallsPurged",
            },
            value: *count as f64,
            unit: "Count",
        })
        .collect();
    metrics.extend(report.records.iter().map(|(kind, count)| Metric {
        name: match *kind {
            "usage_events" => "UsageEventsExpired",
            _ => "AuditEventsExpired",
        },
        value: *count as f64,
        unit: "Count",
    }));
    let totals = [
        ("ObjectVersionsDeleted", report.object_versions),
        ("TableItemsDeleted", report.table_items),
        ("TenantsFailed", report.failed_tenants),
        ("AccountsDestroyed", report.accounts_destroyed),
    ];
    metrics.extend(totals.into_iter().map(|(name, count)| Metric {
        name,
        value: count as f64,
        unit: "Count",
    }));
    if let Some(lateness) = report.oldest_lateness_seconds {
        metrics.push(Metric {
            name: "OldestDeletionLateness",
            value: lateness as f64,
            unit: "Seconds",
        });
    }
    emit_metrics(timestamp_ms, &dimensions, &metrics);
}
