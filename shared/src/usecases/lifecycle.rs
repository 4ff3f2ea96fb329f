//! Account lifecycle (billing lives elsewhere and tells us): active, cancelled (locked; grace
//! period to re-activate or export, then destroyed), suspended for non-payment (destroyed 120
//! days after the first failed payment), re-activated before the cut-off with nothing lost.
//! Every change writes one audit event whose id derives from the change, so a redelivered
//! billing event is recorded once.
//!
//! Cut-offs run from when callcoach received the change, never from the time the sender put
//! in the event: an event is only as trustworthy as its sender, and a forged `at` in the past
//! must not make the next reaper run destroy a workspace. An `at` further than
//! [`MAX_EVENT_AGE`] before receipt or [`MAX_EVENT_LEAD`] after it is refused.

use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::domain::org::Tenant;
use crate::domain::retention::AccountState;
use crate::ids::TenantId;
use crate::ports::{AuditLog, StoreError, TenantRepository};
use crate::usecases::audit_trail::record_once;
use crate::usecases::workspace::{Change, update_workspace};

/// EventBridge retries a failed delivery for up to a day; an older event is not believed (an
/// hour of margin over the retries).
pub const MAX_EVENT_AGE: time::Duration = time::Duration::hours(25);
/// Clocks differ a little; an event from further in the future is not believed.
pub const MAX_EVENT_LEAD: time::Duration = time::Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("the event's time is too far from when it was received; it is not applied")]
    ImplausibleTime,
    #[error("no such workspace")]
    UnknownTenant,
    #[error("the workspace was destroyed or is past its cut-off; it cannot change state")]
    PastCutoff,
    #[error("workspaces are deleted by their owners and destroyed by the retention reaper")]
    NotAllowed,
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// Moves a workspace to `next`, received at `now`; `at` (when billing says it happened)
/// orders billing's changes: one not newer than the last applied (a redelivery, or an older
/// event arriving late) changes nothing.
pub async fn change_account_state<S: TenantRepository + AuditLog>(
    store: &S,
    tenant_id: &TenantId,
    next: AccountState,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Tenant, LifecycleError> {
    if at < now - MAX_EVENT_AGE || at > now + MAX_EVENT_LEAD {
        return Err(LifecycleError::ImplausibleTime);
    }
    if matches!(next, AccountState::Destroyed | AccountState::Deleted) {
        return Err(LifecycleError::NotAllowed);
    }
    let tenant = update_workspace(store, tenant_id, |tenant| {
        let due = tenant.destruction_due();
        if tenant.state.is_gone() || due.is_some_and(|due| due <= now) {
            return Err(LifecycleError::PastCutoff);
        }
        if tenant.billing_event_at.is_some_and(|last| last >= at) {
            return Ok(Change::Keep(tenant.clone()));
        }
        if tenant.state != next {
            tenant.state = next;
            tenant.state_since = (next != AccountState::Active).then_some(now);
        }
        tenant.billing_event_at = Some(at);
        Ok(Change::Write(tenant.clone()))
    })
    .await
    .map_err(|e| match e {
        LifecycleError::Store(StoreError::NotFound) => LifecycleError::UnknownTenant,
        other => other,
    })?;
    // Stamped with the sender's `at` (checked to be within a day of receipt): the audit
    // trail's key holds the time, so a redelivery received later is the same event.
    let action = format!("account.{}", next.as_str());
    let at_text = at.unix_timestamp().to_string();
    let event = AuditEvent::by_system("billing", tenant_id, &action, "workspace", &[&at_text], at);
    record_once(store, &event).await?;
    Ok(tenant)
}
