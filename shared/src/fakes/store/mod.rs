//! One in-memory store implementing every repository port (DynamoDB), one file per port.

mod audit;
mod calls;
mod documents;
mod exports;
mod idempotency;
mod keys;
mod org;
mod quota;
mod receipts;
mod retention;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::crypto::{DataCategory, WrappedDataKey};
use crate::domain::call::Call;
use crate::domain::org::{Membership, Team, Tenant};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{Cursor, DocumentKind, Page, PageRequest, StoreError, StoredDocument};
use idempotency::IdempotencyEntry;

/// A change to a stored workspace record, made by "another process" (see
/// [`InMemoryStore::interleave_next_tenant_write`]).
type TenantWrite = Box<dyn FnOnce(&mut Tenant) + Send>;
/// The same for a call item (see [`InMemoryStore::interleave_next_call_write`]).
type CallWrite = Box<dyn FnOnce(&mut Call) + Send>;

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, Tenant>,
    teams: HashMap<(TenantId, TeamId), Team>,
    memberships: BTreeMap<(TenantId, TeamId, UserId), Membership>,
    calls: HashMap<(TenantId, CallId), Call>,
    documents: HashMap<(TenantId, CallId, DocumentKind, u32), StoredDocument>,
    /// Revisions of documents written by revision (absent: 0).
    document_revisions: HashMap<(TenantId, CallId, DocumentKind, u32), u64>,
    data_keys: BTreeMap<(TenantId, DataCategory, u32), (WrappedDataKey, u64)>,
    /// Workspaces whose keys were shredded: none is created for them again.
    shredded: std::collections::BTreeSet<TenantId>,
    idempotency: HashMap<(TenantId, Option<CallId>, String), IdempotencyEntry>,
    audit: Vec<crate::domain::audit::AuditEvent>,
    progress: HashMap<(TenantId, UserId), (u64, Vec<u8>)>,
    playbooks: HashMap<(TenantId, TeamId), Vec<u8>>,
    age_marks: HashMap<(TenantId, CallId, crate::ports::AgeMark), OffsetDateTime>,
    usage: Vec<crate::domain::usage::UsageEvent>,
    known_users: std::collections::BTreeSet<(TenantId, UserId)>,
    admins: std::collections::BTreeSet<(TenantId, UserId)>,
    /// A write another process lands on a workspace record between someone's read and write.
    tenant_interleaving: Option<TenantWrite>,
    call_interleaving: Option<CallWrite>,
    reaper_resume_point: Option<TenantId>,
    quota_counters: BTreeMap<(TenantId, String), u64>,
    export_jobs: BTreeMap<(TenantId, crate::ids::ExportId), crate::usecases::export_job::ExportJob>,
    exports_withdrawn: BTreeMap<TenantId, time::OffsetDateTime>,
    receipts: receipts::Book,
}

/// One in-memory store implementing every repository port.
/// Clones share their state, as processes share a table: a cipher built over a clone keeps
/// its data keys where the store's other users (and a workspace deletion) find them.
#[derive(Default, Clone)]
pub struct InMemoryStore(std::sync::Arc<Mutex<State>>);

impl InMemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    /// Just before the next workspace-record write is checked, `write` changes the stored
    /// record as another process's write would (its version moves on): the race between a
    /// read and a write, made to happen.
    pub fn interleave_next_tenant_write(&self, write: impl FnOnce(&mut Tenant) + Send + 'static) {
        self.state().tenant_interleaving = Some(Box::new(write));
    }

    /// Just before the next call save is checked, `write` changes the stored call as another
    /// process's write would (its version moves on).
    pub fn interleave_next_call_write(&self, write: impl FnOnce(&mut Call) + Send + 'static) {
        self.state().call_interleaving = Some(Box::new(write));
    }
}

/// One page of `items` (already in order), the cursor counting what came before.
fn page_of<T>(tenant: &TenantId, items: Vec<T>, page: &PageRequest) -> Result<Page<T>, StoreError> {
    let skip: usize = match &page.cursor {
        Some(c) => c
            .decode(tenant)?
            .get("skip")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        None => 0,
    };
    let total = items.len();
    let items: Vec<T> = items
        .into_iter()
        .skip(skip)
        .take(page.limit() as usize)
        .collect();
    let next = (skip + items.len() < total).then(|| {
        Cursor::encode(
            tenant,
            BTreeMap::from([("skip".to_owned(), (skip + items.len()).to_string())]),
        )
    });
    Ok(Page { items, next })
}
