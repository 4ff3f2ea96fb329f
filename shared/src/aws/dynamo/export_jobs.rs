//! Workspace export jobs ([`crate::usecases::export_job`]): one item per job in the tenant's
//! exports partition, the job as a JSON body (ids, states, counts), its `version` for
//! conditional updates, and `expires_at` (TTL) with its bundle.

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, attr, from_json_item, json_item};
use super::layout::{export_job_sk, export_jobs_pk};
use super::table::Unversioned;
use crate::ids::{ExportId, TenantId};
use crate::ports::{ExportJobRepository, StoreError};
use crate::usecases::export_job::ExportJob;

fn job_item(job: &ExportJob) -> Result<Item, StoreError> {
    let mut item = json_item(
        "export_job",
        export_jobs_pk(&job.tenant_id),
        export_job_sk(&job.export_id),
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
        self.table.put_new(job_item(job)?).await
    }

    async fn update_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let next = ExportJob {
            version: job.version + 1,
            ..job.clone()
        };
        self.table
            .put_versioned(
                job_item(&next)?,
                u64::from(job.version),
                Unversioned::Conflicts,
            )
            .await
    }

    async fn get_export_job(
        &self,
        tenant: &TenantId,
        export: &ExportId,
    ) -> Result<Option<ExportJob>, StoreError> {
        self.table
            .get_item(export_jobs_pk(tenant), export_job_sk(export))
            .await?
            .map(|item| from_json_item(&item))
            .transpose()
    }

    async fn delete_export_jobs(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        self.table.delete_partition(&export_jobs_pk(tenant)).await
    }
}
