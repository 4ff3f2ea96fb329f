//! Workspace administrators: one record per admin in the tenant partition.
//!
//! The admin record shares the user's `gsi1` partition with their team memberships, so one
//! query answers everything the API needs to know about a caller. Removing an admin is a
//! transaction that also checks another admin's record, and DynamoDB serializes transactions
//! on the same items: two admins removing each other at once cannot both succeed.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, keys, s};
use super::layout::{
    ADMIN_GSI_SK, ADMIN_PREFIX, admin_sk, tenant_pk, user_gsi, user_registry_item,
};
use super::table::{build_err, store_err};
use super::teams::membership_from;
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

/// Whether the first item of a cancelled two-item transaction is the one whose condition failed.
fn first_condition_failed(
    error: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
) -> bool {
    match error {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t
            .cancellation_reasons()
            .first()
            .and_then(|r| r.code())
            .is_some_and(|code| code == "ConditionalCheckFailed"),
        _ => false,
    }
}

fn exists_condition() -> &'static str {
    "attribute_exists(#pk)"
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
        let put = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(admin_item(tenant, user)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?;
        let voucher = ConditionCheck::builder()
            .table_name(&self.table.name)
            .set_key(Some(keys(tenant_pk(tenant), admin_sk(by))))
            .condition_expression(exists_condition())
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?;
        let result = self
            .table
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(voucher)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                match first_condition_failed(se.err()) {
                    // The user is an admin already (the voucher's check may have held).
                    true => Ok(false),
                    false => Err(StoreError::Conflict),
                }
            }
            Err(e) => Err(store_err(e)),
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
        let delete = Delete::builder()
            .table_name(&self.table.name)
            .set_key(Some(keys(tenant_pk(tenant), admin_sk(user))))
            .condition_expression(exists_condition())
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?;
        let keeper = ConditionCheck::builder()
            .table_name(&self.table.name)
            .set_key(Some(keys(tenant_pk(tenant), admin_sk(remaining))))
            .condition_expression(exists_condition())
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(build_err)?;
        let result = self
            .table
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().condition_check(keeper).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                Err(if first_condition_failed(se.err()) {
                    StoreError::NotFound
                } else {
                    StoreError::Conflict
                })
            }
            Err(e) => Err(store_err(e)),
        }
    }
}
