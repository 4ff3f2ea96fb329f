//! Conditional call writes: the plain save, and the save of a move together with its audit
//! event in one transaction (both are written or neither), so no call changes status without
//! its event and no event tells of a move that lost its race.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::audit::audit_item;
use super::items::attr;
use super::{DynamoTable, attr_names as a, call_item, is_conditional_failure, store_err};
use crate::aws::backend;
use crate::domain::audit::AuditEvent;
use crate::domain::call::Call;
use crate::ports::StoreError;

/// The stored call is still the one read: same version (calls written before versions were
/// counted have no attribute and are version 0).
const UNCHANGED_SINCE_READ: &str =
    "attribute_exists(#pk) AND (#v = :read OR (attribute_not_exists(#v) AND :read = :zero))";

impl DynamoTable {
    pub(super) async fn save_call_unchanged(&self, call: &mut Call) -> Result<(), StoreError> {
        let next = next_version(call);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(call_item(&next)?))
            .condition_expression(UNCHANGED_SINCE_READ)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#v", a::VERSION)
            .expression_attribute_values(":read", attr::number(call.version))
            .expression_attribute_values(":zero", attr::number(0))
            .send()
            .await;
        match result {
            Ok(_) => {
                call.version = next.version;
                Ok(())
            }
            Err(e) if is_conditional_failure(&e) => Err(stale(call)),
            Err(e) => Err(store_err(e)),
        }
    }

    pub(super) async fn save_call_with_event(
        &self,
        call: &mut Call,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let next = next_version(call);
        let build = |e| StoreError::Backend(backend(e));
        let save = Put::builder()
            .table_name(&self.table)
            .set_item(Some(call_item(&next)?))
            .condition_expression(UNCHANGED_SINCE_READ)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#v", a::VERSION)
            .expression_attribute_values(":read", attr::number(call.version))
            .expression_attribute_values(":zero", attr::number(0))
            .build()
            .map_err(build)?;
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(audit_item(event)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(save).build())
            .transact_items(TransactWriteItem::builder().put(record).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                call.version = next.version;
                Ok(())
            }
            // Either condition: the call changed since it was read, or this very move (its
            // event's id derives from it) was written already, which also changed the call.
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                Err(stale(call))
            }
            Err(e) => Err(store_err(e)),
        }
    }
}

fn next_version(call: &Call) -> Call {
    Call {
        version: call.version + 1,
        ..call.clone()
    }
}

fn stale(call: &Call) -> StoreError {
    StoreError::StaleTransition {
        expected: call.status,
    }
}
