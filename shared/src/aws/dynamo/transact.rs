//! Writes that land together or not at all (TransactWriteItems). Each entity file says what
//! it writes; how a write and its condition are spelled for DynamoDB is said here once.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::attr_names as a;
use super::items::Item;
use super::table::{Table, Unversioned, build_err, store_err, versioned_condition};
use crate::ports::StoreError;

const ABSENT: &str = "attribute_not_exists(#pk)";
const PRESENT: &str = "attribute_exists(#pk)";

/// A request on the item under `keys` that holds only while `$condition` (on that item's
/// existence) does. (Delete and ConditionCheck share these fields but no builder type.)
macro_rules! on_item {
    ($table:expr, $builder:expr, $keys:expr, $condition:expr) => {
        $builder
            .table_name(&$table.name)
            .set_key(Some($keys))
            .condition_expression($condition)
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?
    };
}

/// One write of a transaction.
pub(super) enum TxWrite {
    /// Puts the item, whatever is stored under its key.
    Put(Item),
    /// Puts the item only if none has its key.
    Create(Item),
    /// Puts the item (carrying `version = read + 1`) only while the stored one is at `read`.
    PutVersioned {
        item: Item,
        read: u64,
        unversioned: Unversioned,
    },
    /// Deletes the item under these keys, which must exist.
    DeleteExisting(Item),
    /// Writes nothing, but the item under these keys must exist.
    Exists(Item),
    /// Writes nothing, but no item may be stored under these keys.
    Absent(Item),
}

/// How a transaction that DynamoDB answered ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transacted {
    Written,
    /// Nothing was written because a condition failed; `first_failed` says whether the first
    /// write's was one of them.
    Cancelled {
        first_failed: bool,
    },
}

impl Table {
    /// Writes all of `writes` or none of them.
    pub(super) async fn transact(&self, writes: Vec<TxWrite>) -> Result<Transacted, StoreError> {
        let items = writes
            .into_iter()
            .map(|write| self.transact_item(write))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transacted::Written),
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                Ok(Transacted::Cancelled {
                    first_failed: first_condition_failed(se.err()),
                })
            }
            Err(e) => Err(store_err(e)),
        }
    }

    fn transact_item(&self, write: TxWrite) -> Result<TransactWriteItem, StoreError> {
        let item = TransactWriteItem::builder();
        let built = match write {
            TxWrite::Put(record) => item.put(self.put_request(record).build().map_err(build_err)?),
            TxWrite::Create(record) => item.put(
                self.put_request(record)
                    .condition_expression(ABSENT)
                    .expression_attribute_names("#pk", a::PK)
                    .build()
                    .map_err(build_err)?,
            ),
            TxWrite::PutVersioned {
                item: record,
                read,
                unversioned,
            } => {
                let (unchanged, values) = versioned_condition(read, unversioned);
                let mut put = self
                    .put_request(record)
                    .condition_expression(unchanged)
                    .expression_attribute_names("#pk", a::PK)
                    .expression_attribute_names("#v", a::VERSION);
                for (placeholder, value) in values {
                    put = put.expression_attribute_values(placeholder, value);
                }
                item.put(put.build().map_err(build_err)?)
            }
            TxWrite::DeleteExisting(keys) => {
                item.delete(on_item!(self, Delete::builder(), keys, PRESENT))
            }
            TxWrite::Exists(keys) => {
                item.condition_check(on_item!(self, ConditionCheck::builder(), keys, PRESENT))
            }
            TxWrite::Absent(keys) => {
                item.condition_check(on_item!(self, ConditionCheck::builder(), keys, ABSENT))
            }
        };
        Ok(built.build())
    }

    fn put_request(&self, item: Item) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        Put::builder().table_name(&self.name).set_item(Some(item))
    }
}

/// Whether the first write of a cancelled transaction is one whose condition failed.
fn first_condition_failed(error: &TransactWriteItemsError) -> bool {
    match error {
        TransactWriteItemsError::TransactionCanceledException(t) => t
            .cancellation_reasons()
            .first()
            .and_then(|r| r.code())
            .is_some_and(|code| code == "ConditionalCheckFailed"),
        _ => false,
    }
}
