//! The save of a call's move together with its audit event, in one transaction (both are
//! written or neither), so no call changes status without its event and no event tells of a
//! move that lost its race.

use super::DynamoTable;
use super::audit::audit_item;
use super::calls::call_item;
use super::table::Unversioned;
use super::transact::{Transacted, TxWrite};
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
        let writes = vec![
            TxWrite::PutVersioned {
                item: call_item(&next)?,
                read: u64::from(call.version),
                unversioned: Unversioned::AtZero,
            },
            TxWrite::Create(audit_item(event)?),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => {
                call.version = next.version;
                Ok(())
            }
            // Either condition: the call changed since it was read, or this very move (its
            // event's id derives from it) was written already, which changed the call too.
            Transacted::Cancelled { .. } => Err(StoreError::StaleTransition {
                expected: call.status,
            }),
        }
    }
}
