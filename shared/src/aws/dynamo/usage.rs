//! Usage events: in the user's usage partition by time, in the expiry index at 13 months (the
//! reaper deletes them then) and with the TTL attribute as a backstop. Reads skip expired
//! events themselves, so none is served between expiry and deletion.

use time::OffsetDateTime;

use super::DynamoTable;
use super::items::json_item;
use super::layout::{index_expiry, usage_expiry_unique, usage_pk, usage_sk};
use super::paging::Listing;
use crate::domain::usage::UsageEvent;
use crate::ids::{TenantId, UserId};
use crate::ports::{ExpiringRecords, Page, PageRequest, StoreError, UsageLog};

impl UsageLog for DynamoTable {
    async fn record_view(&self, event: &UsageEvent) -> Result<(), StoreError> {
        let sk = usage_sk(event.at, &event.call_id, event.view.as_str());
        let pk = usage_pk(&event.tenant_id, &event.user_id);
        let mut item = json_item("usage", pk, sk.clone(), event)?;
        index_expiry(
            &mut item,
            &event.tenant_id,
            ExpiringRecords::Usage,
            event.expires_at(),
            &usage_expiry_unique(&event.user_id, &sk),
        );
        self.table.put(item).await
    }

    async fn views_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<UsageEvent>, StoreError> {
        let listing = Listing {
            unexpired_at: Some(now),
            ..Listing::partition(usage_pk(tenant, user))
        };
        self.table.json_page(tenant, &listing, page).await
    }
}
