//! Workspace administrators: one record per admin in the tenant partition.
//!
//! The admin record shares the user's `gsi1` partition with their team memberships, so one
//! query answers everything the API needs to know about a caller. Removing an admin is a
//! transaction that also checks another admin's record, and DynamoDB serializes transactions
//! on the same items: two admins removing each other at once cannot both succeed.

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, keys, s};
use super::layout::{
    ADMIN_GSI_SK, ADMIN_PREFIX, admin_sk, tenant_pk, user_gsi, user_registry_item,
};
use super::teams::membership_from;
use super::transact::{Transacted, TxWrite};
use crate::domain::org::WorkspaceRoles;
use crate::ids::{TenantId, UserId};
use crate::ports::{AdminRepository, StoreError};

const ADMIN_ENTITY: &str = "admin";

fn admin_item(tenant: &TenantId, user: &UserId) -> Item {
    let mut item = keys(tenant_pk(tenant), admin_sk(user));
    item.insert(a::ENTITY.into(), s(ADMIN_ENTITY));
    item.insert(a::GSI1_PK.into(), s(user_gsi(tenant, user)));
    item.insert(a::GSI1_SK.into(), s(ADMIN_GSI_SK));
    item.insert(a::USER.into(), s(user.as_str()));
    item
}

impl AdminRepository for DynamoTable {
    async fn workspace_roles(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<WorkspaceRoles, StoreError> {
        let mut roles = WorkspaceRoles::default();
        for item in self.user_items(tenant, user).await? {
            if item.req_s(a::ENTITY)? == ADMIN_ENTITY {
                roles.admin = true;
            } else {
                roles.memberships.push(membership_from(tenant, &item)?);
            }
        }
        Ok(roles)
    }

    async fn admins(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        self.table
            .query_partition(&tenant_pk(tenant), Some(ADMIN_PREFIX))
            .await?
            .iter()
            .map(|item| {
                UserId::parse(item.req_s(a::USER)?)
                    .map_err(|_| StoreError::Corrupt("admin record".into()))
            })
            .collect()
    }

    async fn add_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        vouched_by: Option<&UserId>,
    ) -> Result<bool, StoreError> {
        // The registry first: every admin is found by a destruction.
        self.table.put(user_registry_item(tenant, user)).await?;
        let Some(by) = vouched_by else {
            return match self.table.put_new(admin_item(tenant, user)).await {
                Ok(()) => Ok(true),
                Err(StoreError::AlreadyExists) => Ok(false),
                Err(e) => Err(e),
            };
        };
        if by == user {
            // Naming yourself: you are an admin already, or you are not one to name anyone.
            return self
                .admins(tenant)
                .await
                .map(|admins| admins.contains(by))
                .and_then(|is| {
                    if is {
                        Ok(false)
                    } else {
                        Err(StoreError::Conflict)
                    }
                });
        }
        let writes = vec![
            TxWrite::Create(admin_item(tenant, user)),
            TxWrite::Exists(keys(tenant_pk(tenant), admin_sk(by))),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => Ok(true),
            // The user is an admin already (the voucher's check may have held).
            Transacted::Cancelled { first_failed: true } => Ok(false),
            Transacted::Cancelled {
                first_failed: false,
            } => Err(StoreError::Conflict),
        }
    }

    async fn remove_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        remaining: &UserId,
    ) -> Result<(), StoreError> {
        if remaining == user {
            return Err(StoreError::Conflict);
        }
        let writes = vec![
            TxWrite::DeleteExisting(keys(tenant_pk(tenant), admin_sk(user))),
            TxWrite::Exists(keys(tenant_pk(tenant), admin_sk(remaining))),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => Ok(()),
            Transacted::Cancelled { first_failed: true } => Err(StoreError::NotFound),
            Transacted::Cancelled {
                first_failed: false,
            } => Err(StoreError::Conflict),
        }
    }
}
