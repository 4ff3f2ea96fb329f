//! The save of a call's move together with its audit event, in one transaction (both are
//! written or neither), so no call changes status without its event and no event tells of a
//! move that lost its race.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::DynamoTable;
use super::attr_names as a;
use super::audit::audit_item;
use super::calls::call_item;
use super::table::{Unversioned, build_err, store_err, versioned_condition};
use crate::domain::audit::AuditEvent;
use crate::domain::call::Call;
use crate::ports::StoreError;

impl DynamoTable {
    pub(super) async fn save_call_with_event(
        &self,
        call: &mut Call,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let next = Call {
            version: call.version + 1,
            ..call.clone()
        };
        let (unchanged, values) = versioned_condition(u64::from(call.version), Unversioned::AtZero);
        let mut save = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(call_item(&next)?))
            .condition_expression(unchanged)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#v", a::VERSION);
        for (placeholder, value) in values {
            save = save.expression_attribute_values(placeholder, value);
        }
        let record = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(audit_item(event)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?;
        let result = self
            .table
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(save.build().map_err(build_err)?)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(record).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                call.version = next.version;
                Ok(())
            }
            // Either condition: the call changed since it was read, or this very move (its
            // event's id derives from it) was written already, which changed the call too.
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                Err(StoreError::StaleTransition {
                    expected: call.status,
                })
            }
            Err(e) => Err(store_err(e)),
        }
    }
}
