//! What the retention reaper reads and deletes.

use time::OffsetDateTime;

use super::InMemoryStore;
use crate::domain::call::CallStatus;
use crate::ids::{CallId, TenantId, UserId};
use crate::ports::StoreError;

impl crate::ports::RetentionStore for InMemoryStore {
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut ids: Vec<_> = self.state().tenants.keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }
    async fn reaper_resume_point(&self) -> Result<Option<TenantId>, StoreError> {
        Ok(self.state().reaper_resume_point.clone())
    }
    async fn set_reaper_resume_point(
        &self,
        stopped_in: Option<&TenantId>,
    ) -> Result<(), StoreError> {
        self.state().reaper_resume_point = stopped_in.cloned();
        Ok(())
    }

    async fn due_calls(
        &self,
        tenant: &TenantId,
        index: crate::ports::AgeIndex,
        not_after: OffsetDateTime,
        after: Option<&crate::ports::DueCall>,
        limit: usize,
    ) -> Result<Vec<crate::ports::DueCall>, StoreError> {
        use crate::ports::AgeIndex;
        let s = self.state();
        // The calls marked for this index (their recordings, or items left behind a purge).
        let marked = s
            .age_marks
            .iter()
            .filter(|((t, _, mark), _)| t == tenant && mark.index() == index)
            .map(|((_, call, _), at)| crate::ports::DueCall {
                call_id: call.clone(),
                since: *at,
            });
        let mut due: Vec<crate::ports::DueCall> = match index {
            AgeIndex::Recordings => marked.collect(),
            AgeIndex::Calls | AgeIndex::Deleted => s
                .calls
                .values()
                .filter(|c| &c.tenant_id == tenant)
                .filter(|c| (c.status == CallStatus::Deleted) == (index == AgeIndex::Deleted))
                .map(|c| crate::ports::DueCall {
                    call_id: c.call_id.clone(),
                    since: if index == AgeIndex::Deleted {
                        c.updated_at
                    } else {
                        c.created_at
                    },
                })
                .chain(marked)
                .collect(),
            AgeIndex::Waiting => s
                .calls
                .values()
                .filter(|c| &c.tenant_id == tenant)
                .filter_map(|c| {
                    Some(crate::ports::DueCall {
                        call_id: c.call_id.clone(),
                        since: c.waiting_since()?,
                    })
                })
                .collect(),
        };
        // Whole seconds, as the table's index keeps them.
        due.retain(|d| d.since.unix_timestamp() <= not_after.unix_timestamp());
        let key = |d: &crate::ports::DueCall| (d.since.unix_timestamp(), d.call_id.clone());
        due.sort_by_key(key);
        if let Some(after) = after {
            due.retain(|d| key(d) > key(after));
        }
        due.truncate(limit);
        Ok(due)
    }

    async fn mark_aging(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: crate::ports::AgeMark,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.state()
            .age_marks
            .insert((tenant.clone(), call.clone(), mark), at);
        Ok(())
    }

    async fn clear_aging_mark(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: crate::ports::AgeMark,
    ) -> Result<(), StoreError> {
        self.state()
            .age_marks
            .remove(&(tenant.clone(), call.clone(), mark));
        Ok(())
    }

    async fn delete_call_items(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> Result<usize, StoreError> {
        let mut s = self.state();
        let key = (tenant.clone(), call.clone());
        let before = s.documents.len();
        s.documents
            .retain(|(t, c, _, _), _| !(t == tenant && c == call));
        let mut count = before - s.documents.len();
        let before = s.idempotency.len();
        s.idempotency
            .retain(|(t, c, _), _| !(t == tenant && c.as_ref() == Some(call)));
        count += before - s.idempotency.len();
        let before = s.age_marks.len();
        s.age_marks
            .retain(|(t, c, _), _| !(t == tenant && c == call));
        count += before - s.age_marks.len();
        count += usize::from(s.calls.remove(&key).is_some());
        Ok(count)
    }

    async fn known_users(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .state()
            .known_users
            .iter()
            .filter(|(t, _)| t == tenant)
            .map(|(_, u)| u.clone())
            .collect())
    }

    async fn delete_user_records(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.usage.len();
        s.usage
            .retain(|e| !(&e.tenant_id == tenant && &e.user_id == user));
        let key = (tenant.clone(), user.clone());
        Ok(before - s.usage.len()
            + usize::from(s.progress.remove(&key).is_some())
            + usize::from(s.admins.remove(&key))
            + usize::from(s.known_users.remove(&key)))
    }

    async fn delete_expired(
        &self,
        tenant: &TenantId,
        kind: crate::ports::ExpiringRecords,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<usize, StoreError> {
        use crate::ports::ExpiringRecords;
        let mut s = self.state();
        // Whole seconds, as the table's index keeps them.
        let due = |expires: OffsetDateTime| expires.unix_timestamp() <= now.unix_timestamp();
        let mut budget = limit;
        let mut take = |expires: OffsetDateTime| {
            let go = budget > 0 && due(expires);
            budget -= usize::from(go);
            !go
        };
        let before = (s.usage.len(), s.audit.len() + s.receipts.filed.len());
        match kind {
            ExpiringRecords::Usage => s
                .usage
                .retain(|e| &e.tenant_id != tenant || take(e.expires_at())),
            ExpiringRecords::Audit => s
                .audit
                .retain(|e| &e.tenant_id != tenant || take(e.expires_at())),
            ExpiringRecords::Receipts => s.receipts.filed.retain(|r| {
                &r.receipt.tenant_id != tenant
                    || take(r.receipt.issued_at + crate::domain::receipt::RECEIPT_RETENTION)
            }),
        }
        Ok(before.0 - s.usage.len() + before.1 - s.audit.len() - s.receipts.filed.len())
    }
}
