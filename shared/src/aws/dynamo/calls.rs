//! Calls: one item per call in its own partition, in both call listings (`gsi1` by team,
//! `gsi2` by rep), in an age index by its status, and in the waiting index while it waits.

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, attr, from_json_item, json_item, s};
use super::layout::{
    CALL_SK, call_order_key, call_pk, index_call, index_waiting, rep_calls_gsi, team_calls_gsi,
};
use super::paging::{GSI1, GSI2, IndexKeys, Listing};
use super::table::Unversioned;
use crate::domain::call::{Call, CallStatus};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{AgeIndex, CallRepository, Page, PageRequest, StoreError};

pub(super) fn call_item(call: &Call) -> Result<Item, StoreError> {
    let mut item = json_item(
        "call",
        call_pk(&call.tenant_id, &call.call_id),
        CALL_SK.into(),
        call,
    )?;
    item.insert(a::STATUS.into(), s(call.status.as_str()));
    item.insert(a::VERSION.into(), attr::number(call.version));
    let order = call_order_key(call.created_at, &call.call_id);
    item.insert(
        a::GSI1_PK.into(),
        s(team_calls_gsi(&call.tenant_id, &call.team_id)),
    );
    item.insert(a::GSI1_SK.into(), s(&order));
    item.insert(
        a::GSI2_PK.into(),
        s(rep_calls_gsi(&call.tenant_id, &call.team_id, &call.rep_id)),
    );
    item.insert(a::GSI2_SK.into(), s(order));
    let (index, since) = if call.status == CallStatus::Deleted {
        (AgeIndex::Deleted, call.updated_at)
    } else {
        (AgeIndex::Calls, call.created_at)
    };
    index_call(&mut item, &call.tenant_id, &call.call_id, index, since);
    if let Some(since) = call.waiting_since() {
        index_waiting(&mut item, &call.tenant_id, &call.call_id, since);
    }
    Ok(item)
}

impl DynamoTable {
    /// One page of an index partition of calls, newest first.
    async fn list_calls(
        &self,
        tenant: &TenantId,
        index: IndexKeys,
        partition: String,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        let listing = Listing {
            index: Some(index),
            ..Listing::partition(partition)
        };
        self.table.json_page(tenant, &listing, page).await
    }
}

impl CallRepository for DynamoTable {
    async fn create_call(&self, call: &Call) -> Result<(), StoreError> {
        self.table.put_new(call_item(call)?).await
    }

    async fn get_call(&self, tenant: &TenantId, call: &CallId) -> Result<Option<Call>, StoreError> {
        self.table
            .get_item(call_pk(tenant, call), CALL_SK.into())
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn save_call(&self, call: &mut Call) -> Result<(), StoreError> {
        let next = Call {
            version: call.version + 1,
            ..call.clone()
        };
        match self
            .table
            .put_versioned(
                call_item(&next)?,
                u64::from(call.version),
                Unversioned::AtZero,
            )
            .await
        {
            Ok(()) => {
                call.version = next.version;
                Ok(())
            }
            Err(StoreError::Conflict) => Err(StoreError::StaleTransition {
                expected: call.status,
            }),
            Err(e) => Err(e),
        }
    }

    async fn save_moved(
        &self,
        call: &mut Call,
        event: &crate::domain::audit::AuditEvent,
    ) -> Result<(), StoreError> {
        self.save_call_with_event(call, event).await
    }

    async fn list_team_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        self.list_calls(tenant, GSI1, team_calls_gsi(tenant, team), page)
            .await
    }

    async fn list_rep_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        rep: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        self.list_calls(tenant, GSI2, rep_calls_gsi(tenant, team, rep), page)
            .await
    }
}
