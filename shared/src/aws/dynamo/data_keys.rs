//! The table of wrapped data keys.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, attr, keys, s};
use super::layout::{
    SHREDDED_SK, data_key_prefix, data_key_sk, keys_pk, parse_data_key, shredded_pk,
};
use super::table::{Table, unless_refused};
use super::transact::{Transacted, TxWrite};
use crate::crypto::{DataCategory, DataKeyStore, WrappedDataKey};
use crate::ids::TenantId;
use crate::ports::StoreError;

/// The wrapped data keys, in a table of their own whose point-in-time recovery keeps one day
/// (the main table keeps 35): when a workspace is shredded, the backups of its keys are gone a
/// day later, and every backup of its data is unreadable from then. The main table's backups
/// stay usable for disaster recovery, since keys are only ever added, except by shredding.
#[derive(Debug, Clone)]
pub struct DynamoKeyTable {
    table: Table,
}

impl DynamoKeyTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }
}

fn data_key_from(item: &Item) -> Result<WrappedDataKey, StoreError> {
    let corrupt = || StoreError::Corrupt("data key item".into());
    let (tenant, category, version) =
        parse_data_key(item.req_s(a::PK)?, item.req_s(a::SK)?).ok_or_else(corrupt)?;
    Ok(WrappedDataKey {
        tenant,
        category,
        version,
        kms_key_id: item.req_s(a::KMS_KEY_ID)?.to_owned(),
        wrapped: item.opt_b(a::WRAPPED_KEY).ok_or_else(corrupt)?.to_vec(),
        created_at: item.req_time(a::CREATED_AT)?,
    })
}

impl DataKeyStore for DynamoKeyTable {
    async fn latest_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        self.table
            .last_with_prefix(&keys_pk(tenant), &data_key_prefix(category))
            .await?
            .as_ref()
            .map(data_key_from)
            .transpose()
    }

    async fn get_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        self.table
            .get_item(keys_pk(tenant), data_key_sk(category, version))
            .await?
            .as_ref()
            .map(data_key_from)
            .transpose()
    }

    async fn insert_data_key(&self, key: &WrappedDataKey) -> Result<(), StoreError> {
        let mut item = keys(keys_pk(&key.tenant), data_key_sk(key.category, key.version));
        item.insert(a::ENTITY.into(), s("data_key"));
        item.insert(a::KMS_KEY_ID.into(), s(&key.kms_key_id));
        item.insert(a::WRAPPED_KEY.into(), attr::bytes(&key.wrapped));
        item.insert(a::CREATED_AT.into(), attr::time(key.created_at));
        item.insert(a::RESERVED.into(), attr::number(0));
        // Together with the check that the workspace was never shredded: a process that was
        // already encrypting when it was cannot give it a new key.
        let writes = vec![
            TxWrite::Create(item),
            TxWrite::Absent(keys(shredded_pk(&key.tenant), SHREDDED_SK.into())),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => Ok(()),
            Transacted::Cancelled { first_failed: true } => Err(StoreError::AlreadyExists),
            // The mark's check failed, or the transaction met another writer's (two processes
            // creating the same version): only the mark itself tells them apart.
            Transacted::Cancelled {
                first_failed: false,
            } => {
                let marked = self
                    .table
                    .get_item(shredded_pk(&key.tenant), SHREDDED_SK.into())
                    .await?
                    .is_some();
                Err(if marked {
                    StoreError::NotFound
                } else {
                    StoreError::AlreadyExists
                })
            }
        }
    }

    async fn reserve_encryptions(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
        count: u64,
    ) -> Result<u64, StoreError> {
        let result = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .set_key(Some(keys(keys_pk(tenant), data_key_sk(category, version))))
            .update_expression("ADD #r :n")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#r", a::RESERVED)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_values(":n", attr::number(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match unless_refused(result)? {
            Some(out) => out.attributes.unwrap_or_default().req_u64(a::RESERVED),
            None => Err(StoreError::NotFound),
        }
    }

    async fn destroy_data_keys(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        // The mark first: from here on no key is created, so none outlives the deletion below.
        let mut mark = keys(shredded_pk(tenant), SHREDDED_SK.into());
        mark.insert(a::ENTITY.into(), s("shredded"));
        self.table.put(mark).await?;
        self.table.delete_partition(&keys_pk(tenant)).await
    }

    async fn list_data_keys(&self, tenant: &TenantId) -> Result<Vec<WrappedDataKey>, StoreError> {
        self.table
            .query_partition(&keys_pk(tenant), None)
            .await?
            .iter()
            .map(data_key_from)
            .collect()
    }
}

/// The use cases that destroy a workspace reach its keys through the main store.
impl DataKeyStore for DynamoTable {
    fn latest_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> impl Future<Output = Result<Option<WrappedDataKey>, StoreError>> + Send {
        self.keys.latest_data_key(tenant, category)
    }
    fn get_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> impl Future<Output = Result<Option<WrappedDataKey>, StoreError>> + Send {
        self.keys.get_data_key(tenant, category, version)
    }
    fn insert_data_key(
        &self,
        key: &WrappedDataKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.keys.insert_data_key(key)
    }
    fn reserve_encryptions(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
        count: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.keys
            .reserve_encryptions(tenant, category, version, count)
    }
    fn destroy_data_keys(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.keys.destroy_data_keys(tenant)
    }
    fn list_data_keys(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<WrappedDataKey>, StoreError>> + Send {
        self.keys.list_data_keys(tenant)
    }
}
