//! Audit events: in the tenant's audit partition by time, kept two years (TTL, and the reaper,
//! which deletes exactly through the expiry index). Written with a condition so an event is
//! never replaced.

use time::OffsetDateTime;

use super::DynamoTable;
use super::items::{Item, json_item};
use super::layout::{audit_pk, audit_range, audit_sk, index_expiry};
use super::paging::Listing;
use crate::domain::audit::AuditEvent;
use crate::ids::TenantId;
use crate::ports::{AuditLog, ExpiringRecords, Page, PageRequest, StoreError};

/// The stored item of `event`, with its expiry.
pub(super) fn audit_item(event: &AuditEvent) -> Result<Item, StoreError> {
    let sk = audit_sk(event.at, &event.event_id);
    let mut item = json_item("audit", audit_pk(&event.tenant_id), sk.clone(), event)?;
    index_expiry(
        &mut item,
        &event.tenant_id,
        ExpiringRecords::Audit,
        event.expires_at(),
        &sk,
    );
    Ok(item)
}

impl AuditLog for DynamoTable {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.table.put_new(audit_item(event)?).await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.audit_page(tenant, None, page).await
    }

    async fn list_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.audit_page(tenant, Some(audit_range(from, to)), page)
            .await
    }
}

impl DynamoTable {
    /// One page of a tenant's events, newest first, within the sort key range when given.
    async fn audit_page(
        &self,
        tenant: &TenantId,
        range: Option<(String, String)>,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let listing = Listing {
            sk_range: range,
            ..Listing::partition(audit_pk(tenant))
        };
        self.table.json_page(tenant, &listing, page).await
    }
}
