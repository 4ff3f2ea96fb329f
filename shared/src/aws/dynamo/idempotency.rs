//! Idempotency records in the table: in the call's partition when the work belongs to a call,
//! so the call's cascade removes them; otherwise in a partition of their own.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, attr, keys, s};
use super::layout::idempotency_location;
use super::table::unless_refused;
use crate::ports::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore, StoreError};

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

fn record_keys(key: &IdempotencyKey<'_>) -> Item {
    let (pk, sk) = idempotency_location(key);
    keys(pk, sk)
}

fn epoch_ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

impl IdempotencyStore for DynamoTable {
    async fn claim(
        &self,
        key: &IdempotencyKey<'_>,
        lease: ClaimLease<'_>,
    ) -> Result<Claim, StoreError> {
        let ClaimLease {
            owner,
            now,
            in_progress_until,
            expires_at,
        } = lease;
        let mut item = record_keys(key);
        item.insert(a::ENTITY.into(), s("idempotency"));
        item.insert(a::OWNER.into(), s(owner));
        item.insert(a::STATUS.into(), s(IN_PROGRESS));
        item.insert(a::PAYLOAD_HASH.into(), s(key.payload_hash));
        item.insert(
            a::IN_PROGRESS_UNTIL.into(),
            attr::number(epoch_ms(in_progress_until)),
        );
        item.insert(
            a::EXPIRES_AT.into(),
            attr::number(expires_at.unix_timestamp()),
        );
        let result = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR #exp < :now_s OR (#st = :in_progress AND #ipu < :now_ms)",
            )
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#exp", a::EXPIRES_AT)
            .expression_attribute_names("#st", a::STATUS)
            .expression_attribute_names("#ipu", a::IN_PROGRESS_UNTIL)
            .expression_attribute_values(":now_s", attr::number(now.unix_timestamp()))
            .expression_attribute_values(":now_ms", attr::number(epoch_ms(now)))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        match unless_refused(result)? {
            Some(_) => Ok(Claim::Acquired),
            None => {
                let (pk, sk) = idempotency_location(key);
                let Some(existing) = self.table.get_item(pk, sk).await? else {
                    // Released between our write and this read: let the caller retry.
                    return Ok(Claim::InProgress);
                };
                let status = existing.req_s(a::STATUS)?;
                Ok(if existing.req_s(a::PAYLOAD_HASH)? != key.payload_hash {
                    Claim::PayloadMismatch
                } else if status == IN_PROGRESS && existing.req_s(a::OWNER)? == owner {
                    // Our own claim: the first attempt landed, its answer was lost, and the
                    // SDK's retry met it (found by the chaos run: the job then waited out its
                    // own lease as "in progress").
                    Claim::Acquired
                } else if status == COMPLETED {
                    Claim::AlreadyDone
                } else {
                    Claim::InProgress
                })
            }
        }
    }

    async fn complete(&self, key: &IdempotencyKey<'_>, owner: &str) -> Result<bool, StoreError> {
        let result = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .set_key(Some(record_keys(key)))
            .update_expression("SET #st = :done")
            .condition_expression("#owner = :owner AND #st = :in_progress")
            .expression_attribute_names("#st", a::STATUS)
            .expression_attribute_names("#owner", a::OWNER)
            .expression_attribute_values(":done", s(COMPLETED))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .return_values(ReturnValue::None)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Completed by us already: a retry of this update, whose first answer was lost.
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    UpdateItemError::ConditionalCheckFailedException(refusal)
                        if refusal.item().is_some_and(|old| {
                            old.get(a::OWNER).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(owner)
                                && old.get(a::STATUS).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(COMPLETED)
                        })
                ) =>
            {
                Ok(true)
            }
            other => Ok(unless_refused(other)?.is_some()),
        }
    }

    async fn release(&self, key: &IdempotencyKey<'_>, owner: &str) -> Result<(), StoreError> {
        let result = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(record_keys(key)))
            .condition_expression("#owner = :owner AND #st = :in_progress")
            .expression_attribute_names("#st", a::STATUS)
            .expression_attribute_names("#owner", a::OWNER)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        // Refused: not ours (any more) or gone, nothing to release.
        unless_refused(result).map(drop)
    }
}
