//! Audit events: pk `T#{tenant}#AUDIT`, sk `{at_ns:020}#{event_id}`, kept two years (TTL, and
//! the reaper, which deletes exactly). Written with a condition so an event is never replaced.

use std::collections::BTreeMap;

use super::items::{ItemExt, attr, s};
use super::retention::index_expiry;
use super::{
    DynamoTable, attr_names as a, from_json_item, is_conditional_failure, json_item, store_err,
};
use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::ids::TenantId;
use crate::ports::{AuditLog, Cursor, CursorError, ExpiringRecords, Page, PageRequest, StoreError};

fn pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#AUDIT")
}

impl AuditLog for DynamoTable {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
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
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", a::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(store_err(e)),
        }
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
        let partition = pk(tenant);
        let start = match &page.cursor {
            Some(cursor) => {
                let position = cursor.decode(tenant)?;
                if position.get(a::PK) != Some(&partition)
                    || position.len() != 2
                    || !position.contains_key(a::SK)
                {
                    return Err(StoreError::InvalidCursor(CursorError::Invalid));
                }
                Some(position.into_iter().map(|(k, v)| (k, s(v))).collect())
            }
            None => None,
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_values(":pk", s(&partition))
            .scan_index_forward(false)
            .limit(i32::from(page.limit()))
            .set_exclusive_start_key(start);
        request = match range {
            Some((low, high)) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#sk", a::SK)
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(high)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let out = request.send().await.map_err(store_err)?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_json_item)
            .collect::<Result<Vec<AuditEvent>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(key) => Some(Cursor::encode(
                tenant,
                BTreeMap::from([
                    (a::PK.to_owned(), key.req_s(a::PK)?.to_owned()),
                    (a::SK.to_owned(), key.req_s(a::SK)?.to_owned()),
                ]),
            )),
            None => None,
        };
        Ok(Page { items, next })
    }
}
