//! Audit events: pk `T#{tenant}#AUDIT`, sk `{at_ns:020}#{event_id}`, kept two years (TTL, and
//! the reaper, which deletes exactly). Written with a condition so an event is never replaced.

use super::items::{Item, attr};
use super::retention::index_expiry;
use super::{DynamoTable, PartitionQuery, attr_names as a, json_item};
use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::ids::TenantId;
use crate::ports::{AuditLog, ExpiringRecords, Page, PageRequest, StoreError};

fn pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#AUDIT")
}

/// The stored item of `event`, with its expiry.
pub(super) fn audit_item(event: &AuditEvent) -> Result<Item, StoreError> {
    let sk = format!(
        "{:020}#{}",
        event.at.unix_timestamp_nanos().max(0),
        event.event_id
    );
    let mut item = json_item("audit", pk(&event.tenant_id), sk.clone(), event)?;
    item.insert(
        a::EXPIRES_AT.into(),
        attr::number(event.expires_at().unix_timestamp()),
    );
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
        self.put_new(audit_item(event)?).await
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
        // Sort keys start with the zero-padded nanosecond time; '~' sorts after every id.
        let low = format!("{:020}#", from.unix_timestamp_nanos().max(0));
        let high = format!("{:020}#~", to.unix_timestamp_nanos().max(0));
        self.audit_page(tenant, Some((low, high)), page).await
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
        let query = PartitionQuery {
            partition: pk(tenant),
            sk_range: range,
            unexpired_at: None,
        };
        self.json_page(tenant, &query, page).await
    }
}
