//! Quota counters ([`crate::usecases::quota`]): one item per meter and period in the tenant's
//! quota partition, attribute `used`, and `expires_at` (TTL) after the period. An add is one conditional
//! `UpdateItem`: DynamoDB applies it atomically, so concurrent requests never pass a limit
//! together.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

use super::DynamoTable;
use super::attr_names as a;
use super::items::{attr, keys};
use super::layout::{quota_pk, quota_sk};
use super::table::unless_refused;
use crate::ids::TenantId;
use crate::ports::{BoundedAdd, QuotaCounter, QuotaStore, StoreError};

const USED: &str = "used";

impl QuotaStore for DynamoTable {
    async fn add_within_limit(
        &self,
        counter: QuotaCounter<'_>,
        add: BoundedAdd,
    ) -> Result<bool, StoreError> {
        let BoundedAdd {
            amount,
            limit,
            expires_at,
        } = add;
        let Some(room) = limit.checked_sub(amount) else {
            return Ok(false);
        };
        let result = self
            .counter_update(counter)
            .update_expression("ADD #used :n SET #exp = :exp")
            .condition_expression("attribute_not_exists(#used) OR #used <= :room")
            .expression_attribute_names("#exp", a::EXPIRES_AT)
            .expression_attribute_values(":n", attr::number(amount))
            .expression_attribute_values(":room", attr::number(room))
            .expression_attribute_values(":exp", attr::number(expires_at.unix_timestamp()))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    async fn give_back(&self, counter: QuotaCounter<'_>, amount: u64) -> Result<(), StoreError> {
        let result = self
            .counter_update(counter)
            .update_expression("SET #used = #used - :n")
            .condition_expression("#used >= :n")
            .expression_attribute_values(":n", attr::number(amount))
            .send()
            .await;
        // Refused: nothing (or less) to give back, the counter expired or was deleted meanwhile.
        unless_refused(result).map(drop)
    }

    async fn delete_quota_counters(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        self.table.delete_partition(&quota_pk(tenant)).await
    }
}

impl DynamoTable {
    /// An update of one meter's counter in one period.
    fn counter_update(&self, counter: QuotaCounter<'_>) -> UpdateItemFluentBuilder {
        let sk = quota_sk(counter.meter, counter.period);
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .set_key(Some(keys(quota_pk(counter.tenant), sk)))
            .expression_attribute_names("#used", USED)
    }
}
