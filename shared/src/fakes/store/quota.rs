//! Quota counters.

use time::OffsetDateTime;

use super::InMemoryStore;
use crate::ids::TenantId;
use crate::ports::StoreError;

impl crate::ports::QuotaStore for InMemoryStore {
    async fn add_within_limit(
        &self,
        tenant: &TenantId,
        meter: &str,
        period: &str,
        amount: u64,
        limit: u64,
        _expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        let used = s
            .quota_counters
            .entry((tenant.clone(), format!("{meter}#{period}")))
            .or_default();
        if amount > limit || *used > limit - amount {
            return Ok(false);
        }
        *used += amount;
        Ok(true)
    }
    async fn give_back(
        &self,
        tenant: &TenantId,
        meter: &str,
        period: &str,
        amount: u64,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(used) = s
            .quota_counters
            .get_mut(&(tenant.clone(), format!("{meter}#{period}")))
        {
            *used = used.saturating_sub(amount);
        }
        Ok(())
    }
    async fn delete_quota_counters(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.quota_counters.len();
        s.quota_counters.retain(|(t, _), _| t != tenant);
        Ok(before - s.quota_counters.len())
    }
}
