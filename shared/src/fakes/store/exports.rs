//! Export jobs.

use super::InMemoryStore;
use crate::ids::TenantId;
use crate::ports::StoreError;

impl crate::ports::ExportJobRepository for InMemoryStore {
    async fn create_export_job(
        &self,
        job: &crate::usecases::export_job::ExportJob,
    ) -> Result<(), StoreError> {
        let key = (job.tenant_id.clone(), job.export_id.clone());
        let mut s = self.state();
        if s.export_jobs.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        s.export_jobs.insert(key, job.clone());
        Ok(())
    }
    async fn update_export_job(
        &self,
        job: &crate::usecases::export_job::ExportJob,
    ) -> Result<(), StoreError> {
        let key = (job.tenant_id.clone(), job.export_id.clone());
        let mut s = self.state();
        match s.export_jobs.get(&key) {
            Some(stored) if stored.version == job.version => {
                let mut next = job.clone();
                next.version += 1;
                s.export_jobs.insert(key, next);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
    async fn get_export_job(
        &self,
        tenant: &TenantId,
        export: &crate::ids::ExportId,
    ) -> Result<Option<crate::usecases::export_job::ExportJob>, StoreError> {
        Ok(self
            .state()
            .export_jobs
            .get(&(tenant.clone(), export.clone()))
            .cloned())
    }
    async fn delete_export_jobs(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.export_jobs.len();
        s.export_jobs.retain(|(t, _), _| t != tenant);
        s.exports_withdrawn.remove(tenant);
        Ok(before - s.export_jobs.len())
    }
    async fn note_exports_withdrawn(
        &self,
        tenant: &TenantId,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.state().exports_withdrawn.insert(tenant.clone(), at);
        Ok(())
    }
    async fn exports_withdrawn_at(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        Ok(self.state().exports_withdrawn.get(tenant).copied())
    }
}
