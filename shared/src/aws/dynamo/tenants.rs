//! Tenants: one item in the tenant partition, listed for the reaper through `gsi1`.

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, attr, from_json_item, json_item};
use super::layout::{TENANT_SK, register_tenant, tenant_pk};
use super::table::Unversioned;
use crate::domain::org::Tenant;
use crate::ids::TenantId;
use crate::ports::{StoreError, TenantRepository};

fn tenant_item(tenant: &Tenant) -> Result<Item, StoreError> {
    let mut item = json_item(
        "tenant",
        tenant_pk(&tenant.tenant_id),
        TENANT_SK.into(),
        tenant,
    )?;
    register_tenant(&mut item, &tenant.tenant_id);
    Ok(item)
}

impl TenantRepository for DynamoTable {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.table.put_new(tenant_item(tenant)?).await
    }

    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.table
            .get_item(tenant_pk(tenant), TENANT_SK.into())
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let next = Tenant {
            version: tenant.version + 1,
            ..tenant.clone()
        };
        let mut item = tenant_item(&next)?;
        item.insert(a::VERSION.into(), attr::number(next.version));
        self.table
            .put_versioned(item, tenant.version, Unversioned::AtZero)
            .await
    }
}
