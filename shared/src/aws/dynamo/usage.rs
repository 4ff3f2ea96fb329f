//! Usage events: pk `T#{tenant}#USAGE#{user}`, sk `{at_ns:020}#{call}#{view}`, in the expiry
//! index at 13 months (the reaper deletes them then) and with the TTL attribute as a backstop.
//! Reads skip expired events themselves, so none is served between expiry and deletion.

use time::OffsetDateTime;

use super::items::{attr, s};
use super::retention::index_expiry;
use super::{DynamoTable, attr_names as a, from_json_item, json_item, store_err};
use crate::domain::usage::UsageEvent;
use crate::ids::{TenantId, UserId};
use crate::ports::{ExpiringRecords, StoreError, UsageLog};

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
        limit: usize,
    ) -> Result<Vec<UsageEvent>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .filter_expression("#exp > :now")
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#exp", a::EXPIRES_AT)
            .expression_attribute_values(":pk", s(pk(tenant, user)))
            .expression_attribute_values(":now", attr::number(now.unix_timestamp()))
            .scan_index_forward(false)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(store_err)?.items.unwrap_or_default() {
                events.push(from_json_item(&item)?);
                if events.len() >= limit {
                    return Ok(events);
                }
            }
        }
        Ok(events)
    }
}
