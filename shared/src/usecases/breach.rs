//! Breach scoping (privacy promise P11): which workspaces and which data categories an
//! incident in a time window may have touched, as one query an operator runs within the 72
//! hours (the retention reaper function takes it as an event; see the README's runbook).
//!
//! A workspace is in scope when, during the window, it held data of an asked-for category: a
//! data key of that category existed (created at or before the window's end; keys are only
//! destroyed with the whole workspace). With no category named, a workspace whose audit trail
//! shows activity in the window is in scope too. A workspace deleted or destroyed after the
//! window began is in scope with its categories unknown: its key inventory went with it.
//!
//! The report holds ids, category names, key versions, action names and counts, never
//! content. Every workspace in scope gets one `breach.scoped` audit event per window (a
//! re-run records nothing new). The walk stops before the deadline and says where to resume.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::crypto::{DataCategory, DataKeyStore};
use crate::domain::audit::AuditEvent;
use crate::domain::org::Tenant;
use crate::ids::{TenantId, UserId};
use crate::ports::{AuditLog, PageRequest, RetentionStore, StoreError, TenantRepository};
use crate::usecases::audit_trail::record_once;

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("the window ends before it starts")]
    EmptyWindow,
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// What the operator asks.
#[derive(Debug, Clone)]
pub struct BreachQuery {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    /// The categories whose key or storage was exposed; empty: every category.
    pub categories: BTreeSet<DataCategory>,
    /// Resume a walk the deadline cut short: tenants after this one.
    pub after: Option<TenantId>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CategoryExposure {
    pub category: DataCategory,
    /// Key versions that existed during the window.
    pub key_versions: Vec<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub held_since: OffsetDateTime,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TenantExposure {
    pub tenant_id: TenantId,
    pub state: &'static str,
    /// Empty with `categories_unknown` for a workspace shredded since the window began.
    pub categories: Vec<CategoryExposure>,
    pub categories_unknown: bool,
    /// Audit events in the window, by action.
    pub actions: BTreeMap<String, u64>,
    /// Users who acted in the window (whom to notify first).
    pub actors: BTreeSet<UserId>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BreachScope {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub categories: Vec<DataCategory>,
    pub tenants_checked: usize,
    pub affected: Vec<TenantExposure>,
    /// `false` when the deadline came first: run again with `after: resume_after`.
    pub finished: bool,
    pub resume_after: Option<TenantId>,
}

const SCOPED_ACTION: &str = "breach.scoped";

/// Audit page size: a window's events are read, counted and dropped page by page.
const AUDIT_PAGE: u16 = 100;

/// Walks every workspace (in id order) while `has_time()`.
pub async fn scope_breach<S>(
    store: &S,
    query: &BreachQuery,
    now: OffsetDateTime,
    has_time: impl Fn() -> bool,
) -> Result<BreachScope, BreachError>
where
    S: RetentionStore + TenantRepository + DataKeyStore + AuditLog,
{
    if query.to < query.from {
        return Err(BreachError::EmptyWindow);
    }
    let mut tenants = store.tenant_ids().await?;
    tenants.sort();
    if let Some(after) = &query.after {
        tenants.retain(|t| t > after);
    }
    let mut scope = BreachScope {
        from: query.from,
        to: query.to,
        categories: query.categories.iter().copied().collect(),
        tenants_checked: 0,
        affected: Vec::new(),
        finished: true,
        resume_after: None,
    };
    for tenant_id in tenants {
        if !has_time() {
            scope.finished = false;
            break;
        }
        let Some(tenant) = store.get_tenant(&tenant_id).await? else {
            continue;
        };
        if let Some(exposure) = exposure_of(store, &tenant, query).await? {
            let window = format!(
                "{}..{}",
                query.from.unix_timestamp_nanos(),
                query.to.unix_timestamp_nanos()
            );
            let categories: Vec<&str> = query.categories.iter().map(|c| c.as_str()).collect();
            let event = AuditEvent::by_system(
                "compliance",
                &tenant_id,
                SCOPED_ACTION,
                &window,
                &categories,
                now,
            );
            record_once(store, &event).await?;
            scope.affected.push(exposure);
        }
        scope.tenants_checked += 1;
        scope.resume_after = Some(tenant_id);
    }
    if scope.finished {
        scope.resume_after = None;
    }
    Ok(scope)
}

async fn exposure_of<S>(
    store: &S,
    tenant: &Tenant,
    query: &BreachQuery,
) -> Result<Option<TenantExposure>, BreachError>
where
    S: DataKeyStore + AuditLog,
{
    let asked = |c: DataCategory| query.categories.is_empty() || query.categories.contains(&c);
    let mut held: BTreeMap<DataCategory, CategoryExposure> = BTreeMap::new();
    for key in store.list_data_keys(&tenant.tenant_id).await? {
        if key.created_at > query.to || !asked(key.category) {
            continue;
        }
        let entry = held.entry(key.category).or_insert(CategoryExposure {
            category: key.category,
            key_versions: Vec::new(),
            held_since: key.created_at,
        });
        entry.key_versions.push(key.version);
        entry.held_since = entry.held_since.min(key.created_at);
    }
    let shredded_in_window = tenant.state.is_gone()
        && tenant.state_since.is_some_and(|since| since >= query.from)
        && held.is_empty();

    let mut actions = BTreeMap::new();
    let mut actors = BTreeSet::new();
    let mut page = PageRequest::first(AUDIT_PAGE).expect("a valid page size");
    loop {
        let listed = store
            .list_between(&tenant.tenant_id, query.from, query.to, &page)
            .await?;
        // The scoping's own events would otherwise count as activity on a re-run.
        for event in listed
            .items
            .into_iter()
            .filter(|e| e.action != SCOPED_ACTION)
        {
            *actions.entry(event.action).or_insert(0) += 1;
            actors.extend(event.actor);
        }
        match listed.next {
            Some(next) => page = PageRequest::new(AUDIT_PAGE, Some(next)).expect("valid page"),
            None => break,
        }
    }
    let active_in_window = query.categories.is_empty() && !actions.is_empty();
    if held.is_empty() && !shredded_in_window && !active_in_window {
        return Ok(None);
    }
    Ok(Some(TenantExposure {
        tenant_id: tenant.tenant_id.clone(),
        state: tenant.state.as_str(),
        categories: held.into_values().collect(),
        categories_unknown: shredded_in_window,
        actions,
        actors,
    }))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use time::macros::datetime;

    use super::*;
    use crate::domain::retention::AccountState;
    use crate::fakes::InMemoryStore;
    use crate::fakes::kit::seed::{seed_data_key, seed_user_action};

    const FROM: OffsetDateTime = datetime!(2026-02-01 0:00 UTC);
    const TO: OffsetDateTime = datetime!(2026-02-03 0:00 UTC);
    const NOW: OffsetDateTime = datetime!(2026-02-04 9:00 UTC);

    async fn workspace(store: &InMemoryStore, name: &str, state: AccountState) -> TenantId {
        let tenant_id = TenantId::parse(name).unwrap();
        store
            .create_tenant(&Tenant {
                state,
                state_since: (state != AccountState::Active).then_some(TO),
                ..Tenant::active(tenant_id.clone(), name, datetime!(2026-01-01 0:00 UTC))
            })
            .await
            .unwrap();
        tenant_id
    }

    fn query(categories: &[DataCategory]) -> BreachQuery {
        BreachQuery {
            from: FROM,
            to: TO,
            categories: categories.iter().copied().collect(),
            after: None,
        }
    }

    /// a: transcripts before the window (v1) and during it (v2), insights only after it,
    /// activity inside and outside the window. b: keys only after the window. c: no keys,
    /// activity in the window. d: deleted during the window (keys shredded). e: deleted
    /// before the window.
    async fn seeded() -> InMemoryStore {
        use DataCategory::{Insights, Transcripts};
        let store = InMemoryStore::default();
        let a = workspace(&store, "a-corp", AccountState::Active).await;
        let b = workspace(&store, "b-corp", AccountState::Active).await;
        let c = workspace(&store, "c-corp", AccountState::Active).await;
        for (tenant, category, version, at) in [
            (&a, Transcripts, 1, datetime!(2026-01-10 0:00 UTC)),
            (&a, Transcripts, 2, datetime!(2026-02-02 0:00 UTC)),
            (&a, Insights, 1, datetime!(2026-03-01 0:00 UTC)),
            (&b, Transcripts, 1, datetime!(2026-02-03 0:00:01 UTC)),
        ] {
            seed_data_key(&store, tenant, category, version, at).await;
        }
        for (tenant, user, action, at) in [
            (&a, "u1", "call.created", datetime!(2026-02-01 0:00 UTC)),
            (&a, "u2", "call.read", datetime!(2026-02-02 12:00 UTC)),
            (&a, "u2", "call.read", TO),
            (&a, "u3", "call.read", datetime!(2026-02-03 0:00:01 UTC)),
            (&c, "u9", "team.created", datetime!(2026-02-02 0:00 UTC)),
        ] {
            seed_user_action(&store, tenant, user, action, at).await;
        }
        workspace(&store, "d-corp", AccountState::Deleted).await;
        let e = workspace(&store, "e-corp", AccountState::Destroyed).await;
        store
            .update_tenant(&Tenant {
                state_since: Some(datetime!(2026-01-15 0:00 UTC)),
                ..store.get_tenant(&e).await.unwrap().unwrap()
            })
            .await
            .unwrap();
        store
    }

    fn ids(scope: &BreachScope) -> Vec<&str> {
        scope
            .affected
            .iter()
            .map(|t| t.tenant_id.as_str())
            .collect()
    }

    #[tokio::test]
    async fn a_window_lists_the_workspaces_and_categories_it_touched() {
        let store = seeded().await;
        let scope = scope_breach(&store, &query(&[]), NOW, || true)
            .await
            .unwrap();
        assert!(scope.finished);
        assert_eq!(scope.tenants_checked, 5);
        assert_eq!(ids(&scope), vec!["a-corp", "c-corp", "d-corp"]);

        let a = &scope.affected[0];
        assert_eq!(a.categories.len(), 1, "insights came after the window");
        assert_eq!(a.categories[0].category, DataCategory::Transcripts);
        assert_eq!(a.categories[0].key_versions, vec![1, 2]);
        assert_eq!(a.categories[0].held_since, datetime!(2026-01-10 0:00 UTC));
        // Both ends of the window count; a second after it does not.
        assert_eq!(
            a.actions,
            BTreeMap::from([("call.created".into(), 1), ("call.read".into(), 2)])
        );
        let actors: Vec<&str> = a.actors.iter().map(|u| u.as_str()).collect();
        assert_eq!(actors, vec!["u1", "u2"]);

        let c = &scope.affected[1];
        assert!(c.categories.is_empty() && !c.categories_unknown);
        let d = &scope.affected[2];
        assert!(d.categories_unknown, "shredded since the window began");
    }

    #[tokio::test]
    async fn naming_a_category_keeps_only_workspaces_that_held_it() {
        let store = seeded().await;
        let transcripts = scope_breach(&store, &query(&[DataCategory::Transcripts]), NOW, || true)
            .await
            .unwrap();
        assert_eq!(ids(&transcripts), vec!["a-corp", "d-corp"]);
        let insights = scope_breach(&store, &query(&[DataCategory::Insights]), NOW, || true)
            .await
            .unwrap();
        assert_eq!(ids(&insights), vec!["d-corp"]);
    }

    #[tokio::test]
    async fn each_workspace_in_scope_records_the_scoping_once() {
        let store = seeded().await;
        let first = scope_breach(&store, &query(&[]), NOW, || true)
            .await
            .unwrap();
        let again = scope_breach(&store, &query(&[]), NOW, || true)
            .await
            .unwrap();
        assert_eq!(first, again, "a re-run reports the same");
        let scoped: Vec<String> = store
            .audit_events()
            .into_iter()
            .filter(|e| e.action == "breach.scoped")
            .map(|e| e.tenant_id.to_string())
            .collect();
        assert_eq!(scoped, vec!["a-corp", "c-corp", "d-corp"]);
    }

    #[tokio::test]
    async fn a_walk_cut_short_by_the_deadline_resumes_where_it_stopped() {
        let store = seeded().await;
        let budget = Cell::new(2);
        let has_time = || {
            budget.set(budget.get() - 1);
            budget.get() >= 0
        };
        let first = scope_breach(&store, &query(&[]), NOW, has_time)
            .await
            .unwrap();
        assert!(!first.finished);
        assert_eq!(first.tenants_checked, 2);
        let resume = first.resume_after.clone().unwrap();
        assert_eq!(resume.as_str(), "b-corp");
        let rest = BreachQuery {
            after: Some(resume),
            ..query(&[])
        };
        let second = scope_breach(&store, &rest, NOW, || true).await.unwrap();
        assert!(second.finished && second.resume_after.is_none());
        assert_eq!(second.tenants_checked, 3);
        assert_eq!(ids(&first), vec!["a-corp"]);
        assert_eq!(ids(&second), vec!["c-corp", "d-corp"]);
    }

    #[tokio::test]
    async fn a_window_ending_before_it_starts_is_refused() {
        let store = seeded().await;
        let backwards = BreachQuery {
            from: TO,
            to: FROM,
            ..query(&[])
        };
        let refused = scope_breach(&store, &backwards, NOW, || true).await;
        assert!(matches!(refused, Err(BreachError::EmptyWindow)));
        assert!(
            store
                .audit_events()
                .iter()
                .all(|e| e.action != "breach.scoped")
        );
    }
}
