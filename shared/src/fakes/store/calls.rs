//! Calls and their listings.

use std::collections::BTreeMap;

use super::InMemoryStore;
use crate::domain::call::Call;
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{CallRepository, Cursor, Page, PageRequest, StoreError};

impl CallRepository for InMemoryStore {
    async fn create_call(&self, call: &Call) -> Result<(), StoreError> {
        let mut s = self.state();
        let key = (call.tenant_id.clone(), call.call_id.clone());
        if s.calls.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        s.calls.insert(key, call.clone());
        Ok(())
    }
    async fn get_call(&self, tenant: &TenantId, call: &CallId) -> Result<Option<Call>, StoreError> {
        Ok(self
            .state()
            .calls
            .get(&(tenant.clone(), call.clone()))
            .cloned())
    }
    async fn save_call(&self, call: &mut Call) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(write) = s.call_interleaving.take()
            && let Some(stored) = s
                .calls
                .get_mut(&(call.tenant_id.clone(), call.call_id.clone()))
        {
            write(stored);
            stored.version += 1;
        }
        // As DynamoDB answers: a missing call fails the condition like a changed one.
        let stored = s
            .calls
            .get_mut(&(call.tenant_id.clone(), call.call_id.clone()))
            .ok_or(StoreError::StaleTransition {
                expected: call.status,
            })?;
        if stored.version != call.version {
            return Err(StoreError::StaleTransition {
                expected: call.status,
            });
        }
        call.version += 1;
        *stored = call.clone();
        Ok(())
    }
    async fn save_moved(
        &self,
        call: &mut Call,
        event: &crate::domain::audit::AuditEvent,
    ) -> Result<(), StoreError> {
        // One transaction, as on DynamoDB: the event first refuses, then the call's save.
        if self
            .state()
            .audit
            .iter()
            .any(|e| e.event_id == event.event_id)
        {
            return Err(StoreError::StaleTransition {
                expected: call.status,
            });
        }
        self.save_call(call).await?;
        self.state().audit.push(event.clone());
        Ok(())
    }
    async fn list_team_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        self.calls_page(tenant, &format!("team/{team}"), page, |c| {
            &c.team_id == team
        })
    }

    async fn list_rep_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        rep: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        self.calls_page(tenant, &format!("team/{team}/rep/{rep}"), page, |c| {
            &c.team_id == team && &c.rep_id == rep
        })
    }
}

impl InMemoryStore {
    /// A page of the calls `pick` selects, newest first; the cursor names the listing, so one
    /// listing's cursor is refused by another, as the table's are.
    fn calls_page(
        &self,
        tenant: &TenantId,
        listing: &str,
        page: &PageRequest,
        pick: impl Fn(&Call) -> bool,
    ) -> Result<Page<Call>, StoreError> {
        let after = match &page.cursor {
            Some(c) => {
                let position = c.decode(tenant)?;
                if position.get("listing").map(String::as_str) != Some(listing) {
                    return Err(StoreError::InvalidCursor(
                        crate::ports::CursorError::Invalid,
                    ));
                }
                Some(position.get("after").cloned().unwrap_or_default())
            }
            None => None,
        };
        let mut calls: Vec<Call> = self
            .state()
            .calls
            .values()
            .filter(|c| &c.tenant_id == tenant && pick(c))
            .cloned()
            .collect();
        let sort_key = |c: &Call| format!("{}#{}", c.created_at.unix_timestamp_nanos(), c.call_id);
        calls.sort_by_key(|c| std::cmp::Reverse(sort_key(c)));
        let mut items: Vec<Call> = calls
            .into_iter()
            .filter(|c| after.as_ref().is_none_or(|a| &sort_key(c) < a))
            .take(page.limit() as usize + 1)
            .collect();
        let next = if items.len() > page.limit() as usize {
            items.pop();
            items.last().map(|last| {
                Cursor::encode(
                    tenant,
                    BTreeMap::from([
                        ("after".to_owned(), sort_key(last)),
                        ("listing".to_owned(), listing.to_owned()),
                    ]),
                )
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

impl InMemoryStore {
    /// Every call of a tenant, whatever its team or state.
    pub fn calls_of_tenant(&self, tenant: &TenantId) -> Vec<Call> {
        self.state()
            .calls
            .values()
            .filter(|c| &c.tenant_id == tenant)
            .cloned()
            .collect()
    }
}
