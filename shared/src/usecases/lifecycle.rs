//! Account lifecycle (billing lives elsewhere and tells us): active, cancelled (locked; grace
//! period to re-activate or export, then destroyed), suspended for non-payment (destroyed 120
//! days after the first failed payment), re-activated before the cut-off with nothing lost.
//! Every change writes one audit event whose id derives from the change, so a redelivered
//! billing event is recorded once.

use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::domain::org::Tenant;
use crate::domain::retention::{AccountState, destruction_due};
use crate::ids::TenantId;
use crate::ports::{AuditLog, StoreError, TenantRepository};
use crate::usecases::audit_trail::record_once;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no such workspace")]
    UnknownTenant,
    #[error("the workspace was destroyed or is past its cut-off; it cannot change state")]
    PastCutoff,
    #[error("workspaces are deleted by their owners and destroyed by the retention reaper")]
    NotAllowed,
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// Moves a workspace to `next` as of `at` (when billing says it happened), checked at `now`.
pub async fn change_account_state<S: TenantRepository + AuditLog>(
    store: &S,
    tenant_id: &TenantId,
    next: AccountState,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Tenant, LifecycleError> {
    let mut tenant = store
        .get_tenant(tenant_id)
        .await?
        .ok_or(LifecycleError::UnknownTenant)?;
    if matches!(next, AccountState::Destroyed | AccountState::Deleted) {
        return Err(LifecycleError::NotAllowed);
    }
    let due = destruction_due(tenant.state, tenant.state_since, &tenant.retention);
    if tenant.state.is_gone() || due.is_some_and(|due| due <= now) {
        return Err(LifecycleError::PastCutoff);
    }
    if tenant.state != next {
        tenant.state = next;
        tenant.state_since = (next != AccountState::Active).then_some(at);
        store.update_tenant(&tenant).await?;
    }
    let action = format!("account.{}", next.as_str());
    let at_text = at.unix_timestamp().to_string();
    let event = AuditEvent::by_system("billing", tenant_id, &action, "workspace", &[&at_text], at);
    record_once(store, &event).await?;
    Ok(tenant)
}
