//! The audit trail and the usage log.

use time::OffsetDateTime;

use super::{InMemoryStore, page_of};
use crate::ids::{TenantId, UserId};
use crate::ports::{Page, PageRequest, StoreError};

impl InMemoryStore {
    /// A tenant's events passing `keep`, newest first, one page of them.
    fn audit_page(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
        keep: impl Fn(&crate::domain::audit::AuditEvent) -> bool,
    ) -> Result<Page<crate::domain::audit::AuditEvent>, StoreError> {
        let mut events: Vec<_> = self
            .state()
            .audit
            .iter()
            .filter(|e| &e.tenant_id == tenant && keep(e))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse((e.at, e.event_id.clone())));
        page_of(tenant, events, page)
    }
}

impl InMemoryStore {
    /// Every audit event, for tests.
    pub fn audit_events(&self) -> Vec<crate::domain::audit::AuditEvent> {
        self.state().audit.clone()
    }
}

impl crate::ports::AuditLog for InMemoryStore {
    async fn append(&self, event: &crate::domain::audit::AuditEvent) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.audit.iter().any(|e| e.event_id == event.event_id) {
            return Err(StoreError::AlreadyExists);
        }
        state.audit.push(event.clone());
        Ok(())
    }
    async fn list(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<crate::domain::audit::AuditEvent>, StoreError> {
        self.audit_page(tenant, page, |_| true)
    }
    async fn list_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<crate::domain::audit::AuditEvent>, StoreError> {
        self.audit_page(tenant, page, |e| e.at >= from && e.at <= to)
    }
}

impl crate::ports::UsageLog for InMemoryStore {
    async fn record_view(
        &self,
        event: &crate::domain::usage::UsageEvent,
    ) -> Result<(), StoreError> {
        self.state().usage.push(event.clone());
        Ok(())
    }

    async fn views_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<crate::domain::usage::UsageEvent>, StoreError> {
        let mut views: Vec<_> = self
            .state()
            .usage
            .iter()
            .filter(|e| &e.tenant_id == tenant && &e.user_id == user && e.expires_at() > now)
            .cloned()
            .collect();
        views.sort_by_key(|e| std::cmp::Reverse(e.at));
        page_of(tenant, views, page)
    }
}
