//! Quota counters.

use super::InMemoryStore;
use crate::ids::TenantId;
use crate::ports::{BoundedAdd, QuotaCounter, StoreError};

fn counter_key(counter: QuotaCounter<'_>) -> (TenantId, String) {
    let QuotaCounter {
        tenant,
        meter,
        period,
    } = counter;
    (tenant.clone(), format!("{meter}#{period}"))
}

impl crate::ports::QuotaStore for InMemoryStore {
    async fn add_within_limit(
        &self,
        counter: QuotaCounter<'_>,
        add: BoundedAdd,
    ) -> Result<bool, StoreError> {
        let BoundedAdd { amount, limit, .. } = add;
        let mut s = self.state();
        let used = s.quota_counters.entry(counter_key(counter)).or_default();
        if amount > limit || *used > limit - amount {
            return Ok(false);
        }
        *used += amount;
        Ok(true)
    }
    async fn give_back(&self, counter: QuotaCounter<'_>, amount: u64) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(used) = s.quota_counters.get_mut(&counter_key(counter)) {
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
