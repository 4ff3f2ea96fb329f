//! Workspace export jobs ([`crate::usecases::export_job`]): `pk = T#{t}#EXPORTS`,
//! `sk = {export id}`, the job as a JSON body (ids, states, counts), its `version` for
//! conditional updates, and `expires_at` (TTL) with its bundle.

use super::items::{Item, attr};
use super::{DynamoTable, attr_names as a, from_json_item, json_item};
use crate::ids::{ExportId, TenantId};
use crate::ports::{ExportJobRepository, StoreError};
use crate::usecases::export_job::ExportJob;

fn pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#EXPORTS")
}

fn job_item(job: &ExportJob) -> Result<Item, StoreError> {
    let mut item = json_item(
        "export_job",
        pk(&job.tenant_id),
        job.export_id.as_str().to_owned(),
        job,
    )?;
    item.insert(a::VERSION.into(), attr::number(job.version));
    item.insert(
        a::EXPIRES_AT.into(),
        attr::number(job.expires_at().unix_timestamp()),
    );
    Ok(item)
}

impl ExportJobRepository for DynamoTable {
    async fn create_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        self.put_new(job_item(job)?).await
    }

    async fn update_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let next = ExportJob {
            version: job.version + 1,
            ..job.clone()
        };
        self.put_versioned(job_item(&next)?, job.version).await
    }

    async fn get_export_job(
        &self,
        tenant: &TenantId,
        export: &ExportId,
    ) -> Result<Option<ExportJob>, StoreError> {
        self.get_item(pk(tenant), export.as_str().to_owned())
            .await?
            .map(|item| from_json_item(&item))
            .transpose()
    }

    async fn delete_export_jobs(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        self.delete_partition(&pk(tenant)).await
    }
}
