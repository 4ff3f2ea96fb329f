//! Rep progress records, one per rep in a partition of their own: ciphertext and a version
//! number for optimistic concurrency (two calls of one rep may be scored at once).

use super::DynamoTable;
use super::attr_names as a;
use super::items::{ItemExt, attr, keys, s};
use super::layout::{PROGRESS_SK, progress_pk};
use crate::ids::{TenantId, UserId};
use crate::ports::{ProgressRepository, StoreError};

impl ProgressRepository for DynamoTable {
    async fn get_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let Some(item) = self
            .table
            .get_item(progress_pk(tenant, rep), PROGRESS_SK.into())
            .await?
        else {
            return Ok(None);
        };
        let ciphertext = item
            .opt_b(a::CIPHERTEXT)
            .ok_or_else(|| StoreError::Corrupt("progress without ciphertext".into()))?
            .to_vec();
        Ok(Some((item.req_u64(a::VERSION)?, ciphertext)))
    }

    async fn put_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
        expected: u64,
        ciphertext: &[u8],
    ) -> Result<(), StoreError> {
        let mut item = keys(progress_pk(tenant, rep), PROGRESS_SK.into());
        item.insert(a::ENTITY.into(), s("progress"));
        item.insert(a::CIPHERTEXT.into(), attr::bytes(ciphertext));
        item.insert(a::VERSION.into(), attr::number(expected + 1));
        self.table.put_at_version(item, expected).await
    }
}
