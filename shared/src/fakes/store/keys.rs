//! Wrapped data keys.

use super::InMemoryStore;
use crate::crypto::{DataCategory, DataKeyStore, WrappedDataKey};
use crate::ids::TenantId;
use crate::ports::StoreError;

impl DataKeyStore for InMemoryStore {
    async fn latest_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .values()
            .filter(|(k, _)| &k.tenant == tenant && k.category == category)
            .map(|(k, _)| k.clone())
            .max_by_key(|k| k.version))
    }
    async fn get_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .get(&(tenant.clone(), category, version))
            .map(|(k, _)| k.clone()))
    }
    async fn insert_data_key(&self, key: &WrappedDataKey) -> Result<(), StoreError> {
        let mut s = self.state();
        let id = (key.tenant.clone(), key.category, key.version);
        if s.data_keys.contains_key(&id) {
            return Err(StoreError::AlreadyExists);
        }
        if s.shredded.contains(&key.tenant) {
            return Err(StoreError::NotFound);
        }
        s.data_keys.insert(id, (key.clone(), 0));
        Ok(())
    }
    async fn reserve_encryptions(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
        count: u64,
    ) -> Result<u64, StoreError> {
        let mut s = self.state();
        let (_, reserved) = s
            .data_keys
            .get_mut(&(tenant.clone(), category, version))
            .ok_or(StoreError::NotFound)?;
        *reserved += count;
        Ok(*reserved)
    }
    async fn destroy_data_keys(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let mut s = self.state();
        s.shredded.insert(tenant.clone());
        let before = s.data_keys.len();
        s.data_keys.retain(|(t, _, _), _| t != tenant);
        Ok(before - s.data_keys.len())
    }
    async fn list_data_keys(&self, tenant: &TenantId) -> Result<Vec<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .values()
            .filter(|(k, _)| &k.tenant == tenant)
            .map(|(k, _)| k.clone())
            .collect())
    }
}
