//! Usage events: pk `T#{tenant}#USAGE#{user}`, sk `{at_ns:020}#{call}#{view}`, in the expiry
//! index at 13 months (the reaper deletes them then) and with the TTL attribute as a backstop.
//! Reads skip expired events themselves, so none is served between expiry and deletion.

use time::OffsetDateTime;

use super::items::attr;
use super::retention::index_expiry;
use super::{DynamoTable, PartitionQuery, attr_names as a, json_item};
use crate::domain::usage::UsageEvent;
use crate::ids::{TenantId, UserId};
use crate::ports::{ExpiringRecords, Page, PageRequest, StoreError, UsageLog};

pub(super) fn pk(tenant: &TenantId, user: &UserId) -> String {
    format!("T#{tenant}#USAGE#{user}")
}

impl UsageLog for DynamoTable {
    async fn record_view(&self, event: &UsageEvent) -> Result<(), StoreError> {
        let sk = format!(
            "{:020}#{}#{}",
            event.at.unix_timestamp_nanos().max(0),
            event.call_id,
            event.view
        );
        let pk = pk(&event.tenant_id, &event.user_id);
        let mut item = json_item("usage", pk.clone(), sk.clone(), event)?;
        item.insert(
            a::EXPIRES_AT.into(),
            attr::number(event.expires_at().unix_timestamp()),
        );
        // The expiry entry names the user too: events of two users may share a sort key.
        index_expiry(
            &mut item,
            &event.tenant_id,
            ExpiringRecords::Usage,
            event.expires_at(),
            &format!("{}#{sk}", event.user_id),
        );
        self.put(item).await
    }

    async fn views_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<UsageEvent>, StoreError> {
        let query = PartitionQuery {
            partition: pk(tenant, user),
            sk_range: None,
            unexpired_at: Some(now),
        };
        self.json_page(tenant, &query, page).await
    }
}
