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
use time::OffsetDateTime;

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

    async fn note_exports_withdrawn(
        &self,
        tenant: &TenantId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut item = json_item(
            "exports_withdrawn",
            export_jobs_pk(tenant),
            WITHDRAWN_SK.into(),
            &Withdrawn { at },
        )?;
        item.insert(
            a::EXPIRES_AT.into(),
            attr::number((at + WITHDRAWN_NOTE_LIFETIME).unix_timestamp()),
        );
        self.table.put(item).await
    }

    async fn exports_withdrawn_at(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let item = self
            .table
            .get_item(export_jobs_pk(tenant), WITHDRAWN_SK.into())
            .await?;
        Ok(item
            .map(|item| from_json_item::<Withdrawn>(&item))
            .transpose()?
            .map(|w| w.at))
    }
}

/// The withdrawal note's sort key: no export id has this shape (ids start `exp_`).
const WITHDRAWN_SK: &str = "WITHDRAWN";
/// A note matters only to exports that were running when it was written, and none runs
/// longer than an invocation (300 s); a day is ample before the TTL takes it.
const WITHDRAWN_NOTE_LIFETIME: time::Duration = time::Duration::days(1);

#[derive(serde::Serialize, serde::Deserialize)]
struct Withdrawn {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}
