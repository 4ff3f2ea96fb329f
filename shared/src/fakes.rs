//! In-memory fakes of the ports, for unit tests of use cases (feature `fakes`).
//! Adapters are tested against the local AWS stand-in instead.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use time::OffsetDateTime;

use crate::crypto::{
    DataCategory, DataKeyStore, GeneratedDataKey, KeyManagement, KeyManagementError,
    PlaintextDataKey, WrappedDataKey,
};
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::{Membership, Team, Tenant, WorkspaceRoles};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::messages::PipelineMessage;
use crate::ports::{
    AdminRepository, BlobError, BlobStore, CallRepository, Claim, Clock, Cursor, DocumentKind,
    DocumentRepository, IdempotencyKey, IdempotencyStore, Page, PageRequest, PartedUpload,
    PresignedRequest, Queue, QueueError, StoreError, StoredDocument, TeamRepository,
    TenantRepository, UploadedPart,
};

/// Log lines written while a test runs, as JSON: [`CapturedLogs::during`] installs a
/// subscriber for the current thread (a `#[tokio::test]` runs on one).
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Captures every level until the guard drops.
    pub fn during(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Captures for the whole process (tasks on other threads too) at the levels `filter`
    /// names (`EnvFilter` syntax). Once per test binary.
    pub fn install_globally(&self, filter: &str) {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_current_span(true)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn at(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
    pub fn set(&self, now: OffsetDateTime) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

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
    idempotency: HashMap<(TenantId, Option<CallId>, String), IdempotencyEntry>,
    audit: Vec<crate::domain::audit::AuditEvent>,
    progress: HashMap<(TenantId, UserId), (u64, Vec<u8>)>,
    playbooks: HashMap<(TenantId, TeamId), crate::domain::playbook::Playbook>,
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

impl TenantRepository for InMemoryStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.tenants.contains_key(&tenant.tenant_id) {
            return Err(StoreError::AlreadyExists);
        }
        s.tenants.insert(tenant.tenant_id.clone(), tenant.clone());
        Ok(())
    }
    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.state().tenants.get(tenant).cloned())
    }
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(write) = s.tenant_interleaving.take()
            && let Some(stored) = s.tenants.get_mut(&tenant.tenant_id)
        {
            write(stored);
            stored.version += 1;
        }
        match s.tenants.get_mut(&tenant.tenant_id) {
            Some(stored) if stored.version == tenant.version => {
                *stored = Tenant {
                    version: tenant.version + 1,
                    ..tenant.clone()
                };
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

impl TeamRepository for InMemoryStore {
    async fn create_team(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let mut s = self.state();
        let key = (team.tenant_id.clone(), team.team_id.clone());
        if s.teams.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        s.teams.insert(key, team.clone());
        s.known_users
            .insert((owner.tenant_id.clone(), owner.user_id.clone()));
        s.memberships.insert(
            (
                owner.tenant_id.clone(),
                owner.team_id.clone(),
                owner.user_id.clone(),
            ),
            owner.clone(),
        );
        Ok(())
    }
    async fn get_team(&self, tenant: &TenantId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        Ok(self
            .state()
            .teams
            .get(&(tenant.clone(), team.clone()))
            .cloned())
    }
    async fn put_membership(&self, m: &Membership) -> Result<(), StoreError> {
        let mut s = self.state();
        s.known_users
            .insert((m.tenant_id.clone(), m.user_id.clone()));
        s.memberships.insert(
            (m.tenant_id.clone(), m.team_id.clone(), m.user_id.clone()),
            m.clone(),
        );
        Ok(())
    }
    async fn remove_membership(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        self.state()
            .memberships
            .remove(&(tenant.clone(), team.clone(), user.clone()));
        Ok(())
    }
    async fn memberships_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Vec<Membership>, StoreError> {
        Ok(self
            .state()
            .memberships
            .values()
            .filter(|m| &m.tenant_id == tenant && &m.user_id == user)
            .cloned()
            .collect())
    }
    async fn members_of_team(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Vec<Membership>, StoreError> {
        Ok(self
            .state()
            .memberships
            .values()
            .filter(|m| &m.tenant_id == tenant && &m.team_id == team)
            .cloned()
            .collect())
    }
    async fn teams_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Team>, StoreError> {
        Ok(self
            .state()
            .teams
            .values()
            .filter(|t| &t.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn delete_team_records(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.memberships.len();
        s.memberships
            .retain(|(t, g, _), _| !(t == tenant && g == team));
        let key = (tenant.clone(), team.clone());
        Ok(before - s.memberships.len()
            + usize::from(s.playbooks.remove(&key).is_some())
            + usize::from(s.teams.remove(&key).is_some()))
    }
}

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
        Ok(before - s.export_jobs.len())
    }
}

impl AdminRepository for InMemoryStore {
    async fn workspace_roles(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<WorkspaceRoles, StoreError> {
        let s = self.state();
        Ok(WorkspaceRoles {
            admin: s.admins.contains(&(tenant.clone(), user.clone())),
            memberships: s
                .memberships
                .values()
                .filter(|m| &m.tenant_id == tenant && &m.user_id == user)
                .cloned()
                .collect(),
        })
    }
    async fn admins(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .state()
            .admins
            .iter()
            .filter(|(t, _)| t == tenant)
            .map(|(_, u)| u.clone())
            .collect())
    }
    async fn add_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        vouched_by: Option<&UserId>,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        if vouched_by.is_some_and(|by| !s.admins.contains(&(tenant.clone(), by.clone()))) {
            return Err(StoreError::Conflict);
        }
        let key = (tenant.clone(), user.clone());
        s.known_users.insert(key.clone());
        Ok(s.admins.insert(key))
    }
    async fn remove_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        remaining: &UserId,
    ) -> Result<(), StoreError> {
        // One lock for the check and the removal: as atomic as the table's transaction.
        let mut s = self.state();
        let key = (tenant.clone(), user.clone());
        if !s.admins.contains(&key) {
            return Err(StoreError::NotFound);
        }
        if remaining == user || !s.admins.contains(&(tenant.clone(), remaining.clone())) {
            return Err(StoreError::Conflict);
        }
        s.admins.remove(&key);
        Ok(())
    }
}

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

impl DocumentRepository for InMemoryStore {
    async fn put_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        document: &StoredDocument,
    ) -> Result<(), StoreError> {
        let key = (tenant.clone(), call.clone(), kind, version);
        let mut s = self.state();
        s.document_revisions.remove(&key);
        s.documents.insert(key, document.clone());
        Ok(())
    }
    async fn get_document_revision(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<(u64, StoredDocument)>, StoreError> {
        let key = (tenant.clone(), call.clone(), kind, version);
        let s = self.state();
        Ok(s.documents.get(&key).map(|document| {
            (
                s.document_revisions.get(&key).copied().unwrap_or(0),
                document.clone(),
            )
        }))
    }
    async fn put_document_at_revision(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        ciphertext: &[u8],
        read_revision: u64,
    ) -> Result<(), StoreError> {
        let key = (tenant.clone(), call.clone(), kind, version);
        let mut s = self.state();
        if s.document_revisions.get(&key).copied().unwrap_or(0) != read_revision {
            return Err(StoreError::Conflict);
        }
        s.document_revisions.insert(key.clone(), read_revision + 1);
        s.documents
            .insert(key, StoredDocument::Inline(ciphertext.to_vec()));
        Ok(())
    }
    async fn get_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self
            .state()
            .documents
            .get(&(tenant.clone(), call.clone(), kind, version))
            .cloned())
    }
}

impl DataKeyStore for InMemoryStore {
    async fn latest_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .values()
            .filter(|(k, _)| &k.tenant == tenant && k.category == category)
            .map(|(k, _)| k.clone())
            .max_by_key(|k| k.version))
    }
    async fn get_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .get(&(tenant.clone(), category, version))
            .map(|(k, _)| k.clone()))
    }
    async fn insert_data_key(&self, key: &WrappedDataKey) -> Result<(), StoreError> {
        let mut s = self.state();
        let id = (key.tenant.clone(), key.category, key.version);
        if s.data_keys.contains_key(&id) {
            return Err(StoreError::AlreadyExists);
        }
        s.data_keys.insert(id, (key.clone(), 0));
        Ok(())
    }
    async fn reserve_encryptions(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
        count: u64,
    ) -> Result<u64, StoreError> {
        let mut s = self.state();
        let (_, reserved) = s
            .data_keys
            .get_mut(&(tenant.clone(), category, version))
            .ok_or(StoreError::NotFound)?;
        *reserved += count;
        Ok(*reserved)
    }
    async fn destroy_data_keys(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.data_keys.len();
        s.data_keys.retain(|(t, _, _), _| t != tenant);
        Ok(before - s.data_keys.len())
    }
    async fn list_data_keys(&self, tenant: &TenantId) -> Result<Vec<WrappedDataKey>, StoreError> {
        Ok(self
            .state()
            .data_keys
            .values()
            .filter(|(k, _)| &k.tenant == tenant)
            .map(|(k, _)| k.clone())
            .collect())
    }
}

/// A key service that wraps data keys with a local master key per KMS key id and binds the
/// encryption context as associated data, like KMS does. Counts its requests.
#[derive(Default)]
pub struct FakeKeyManagement {
    requests: AtomicUsize,
}

impl FakeKeyManagement {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn master(kms_key_id: &str) -> LessSafeKey {
        let mut bytes = [7u8; 32];
        for (i, b) in kms_key_id.bytes().enumerate() {
            bytes[i % 32] ^= b;
        }
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).unwrap())
    }

    fn context_aad(context: &BTreeMap<String, String>) -> Vec<u8> {
        serde_json::to_vec(context).unwrap()
    }
}

fn fake_kms_error(message: &str) -> KeyManagementError {
    KeyManagementError::Rejected(message.to_owned().into())
}

impl KeyManagement for FakeKeyManagement {
    async fn generate_data_key(
        &self,
        kms_key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<GeneratedDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut key).unwrap();
        getrandom::fill(&mut nonce).unwrap();
        let mut wrapped = key.to_vec();
        Self::master(kms_key_id)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::context_aad(context)),
                &mut wrapped,
            )
            .map_err(|_| fake_kms_error("seal"))?;
        wrapped.extend_from_slice(&nonce);
        Ok(GeneratedDataKey {
            plaintext: PlaintextDataKey::from_slice(&key).unwrap(),
            wrapped,
        })
    }

    async fn decrypt_data_key(
        &self,
        kms_key_id: &str,
        wrapped: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<PlaintextDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if wrapped.len() < 12 {
            return Err(fake_kms_error("short"));
        }
        let (body, nonce) = wrapped.split_at(wrapped.len() - 12);
        let mut body = body.to_vec();
        let plain = Self::master(kms_key_id)
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).unwrap(),
                Aad::from(Self::context_aad(context)),
                &mut body,
            )
            .map_err(|_| fake_kms_error("InvalidCiphertextException"))?;
        PlaintextDataKey::from_slice(plain).ok_or(KeyManagementError::BadKeyLength)
    }
}

/// Blobs in a map, with S3's part-by-part writes (parts are held apart until completed).
#[derive(Default)]
pub struct InMemoryBlobStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    parted: Mutex<PartedState>,
}

#[derive(Default)]
struct PartedState {
    next_upload: u64,
    /// upload id -> (key, parts by number)
    open: BTreeMap<String, (String, BTreeMap<u32, Vec<u8>>)>,
    /// Sizes of every part accepted, in the order they came.
    part_sizes: Vec<usize>,
    /// `put_part` fails for this part number (a store outage mid-write).
    fail_part: Option<u32>,
    /// `purge_prefix` fails for prefixes starting with this (one tenant's objects).
    fail_purges_under: Option<String>,
    /// `put` fails for keys starting with this.
    fail_puts_under: Option<String>,
    /// `put` takes this long (a slow network).
    put_delay: Option<std::time::Duration>,
}

impl InMemoryBlobStore {
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
    /// Sizes of the parts accepted so far, in order.
    pub fn part_sizes(&self) -> Vec<usize> {
        self.parted.lock().unwrap().part_sizes.clone()
    }
    /// Uploads started and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.parted.lock().unwrap().open.len()
    }
    /// Makes `put_part` fail for this part number from now on.
    pub fn fail_part(&self, number: u32) {
        self.parted.lock().unwrap().fail_part = Some(number);
    }
    /// Makes `purge_prefix` fail, from now on, for prefixes that start with `prefix`.
    pub fn fail_purges_under(&self, prefix: &str) {
        self.parted.lock().unwrap().fail_purges_under = Some(prefix.to_owned());
    }
    /// Makes every `put` take `delay` from now on.
    pub fn delay_puts(&self, delay: std::time::Duration) {
        self.parted.lock().unwrap().put_delay = Some(delay);
    }
    /// Makes `put` fail for keys under `prefix` (an outage), or no longer with `None`.
    pub fn fail_puts_under(&self, prefix: Option<&str>) {
        self.parted.lock().unwrap().fail_puts_under = prefix.map(str::to_owned);
    }
}

impl BlobStore for InMemoryBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), BlobError> {
        let (failing, delay) = {
            let parted = self.parted.lock().unwrap();
            (parted.fail_puts_under.clone(), parted.put_delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if failing.is_some_and(|f| key.starts_with(&f)) {
            return Err(BlobError::Backend("the object store is unavailable".into()));
        }
        self.objects.lock().unwrap().insert(key.to_owned(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn get_prefix(&self, key: &str, len: u64) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(key)
            .map(|b| b[..b.len().min(len as usize)].to_vec()))
    }
    async fn delete(&self, keys: &[String]) -> Result<(), BlobError> {
        let mut map = self.objects.lock().unwrap();
        for key in keys {
            map.remove(key);
        }
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        _expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!("memory://{key}"),
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("content-length".into(), content_length.to_string()),
            ],
        })
    }
    async fn presign_get(
        &self,
        key: &str,
        _expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        Ok(PresignedRequest {
            method: "GET".into(),
            url: format!("memory://{key}"),
            headers: vec![],
        })
    }
    async fn purge_prefix(&self, prefix: &str) -> Result<usize, BlobError> {
        let failing = self.parted.lock().unwrap().fail_purges_under.clone();
        if failing.is_some_and(|f| prefix.starts_with(&f)) {
            return Err(BlobError::Backend("the object store is unavailable".into()));
        }
        let mut objects = self.objects.lock().unwrap();
        let before = objects.len();
        objects.retain(|key, _| !key.starts_with(prefix));
        Ok(before - objects.len())
    }
    async fn start_parts(&self, key: &str, _content_type: &str) -> Result<PartedUpload, BlobError> {
        let mut parted = self.parted.lock().unwrap();
        parted.next_upload += 1;
        let upload_id = format!("upload-{}", parted.next_upload);
        parted
            .open
            .insert(upload_id.clone(), (key.to_owned(), BTreeMap::new()));
        Ok(PartedUpload {
            key: key.to_owned(),
            upload_id,
        })
    }
    async fn put_part(
        &self,
        upload: &PartedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<UploadedPart, BlobError> {
        let mut parted = self.parted.lock().unwrap();
        if parted.fail_part == Some(number) {
            return Err(BlobError::Backend("injected part failure".into()));
        }
        let size = bytes.len();
        let Some((_, parts)) = parted.open.get_mut(&upload.upload_id) else {
            return Err(BlobError::Backend("NoSuchUpload".into()));
        };
        parts.insert(number, bytes);
        parted.part_sizes.push(size);
        Ok(UploadedPart {
            number,
            tag: format!("{}-{number}", upload.upload_id),
        })
    }
    async fn complete_parts(
        &self,
        upload: &PartedUpload,
        parts: &[UploadedPart],
    ) -> Result<(), BlobError> {
        let Some((key, mut sent)) = self.parted.lock().unwrap().open.remove(&upload.upload_id)
        else {
            return Err(BlobError::Backend("NoSuchUpload".into()));
        };
        let mut object = Vec::new();
        for part in parts {
            let bytes = sent
                .remove(&part.number)
                .ok_or_else(|| BlobError::Backend("InvalidPart".into()))?;
            object.extend(bytes);
        }
        self.objects.lock().unwrap().insert(key, object);
        Ok(())
    }
    async fn abort_parts(&self, upload: &PartedUpload) -> Result<(), BlobError> {
        self.parted.lock().unwrap().open.remove(&upload.upload_id);
        Ok(())
    }
    async fn abort_unfinished(&self, prefix: &str) -> Result<(), BlobError> {
        self.parted
            .lock()
            .unwrap()
            .open
            .retain(|_, (key, _)| !key.starts_with(prefix));
        Ok(())
    }
}

/// Messages collected in order.
#[derive(Default)]
pub struct InMemoryQueue(Mutex<Vec<PipelineMessage>>);

impl InMemoryQueue {
    pub fn messages(&self) -> Vec<PipelineMessage> {
        self.0.lock().unwrap().clone()
    }
    /// The messages sent so far, taken off the queue (as a consumer receives and deletes them).
    pub fn take(&self) -> Vec<PipelineMessage> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Queue for InMemoryQueue {
    async fn send(&self, message: &PipelineMessage) -> Result<(), QueueError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
    async fn send_batch(&self, messages: &[PipelineMessage]) -> Result<(), QueueError> {
        self.0.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}

#[derive(Clone)]
struct IdempotencyEntry {
    hash: String,
    owner: String,
    completed: bool,
    in_progress_until: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl IdempotencyStore for InMemoryStore {
    async fn claim(
        &self,
        key: &IdempotencyKey<'_>,
        owner: &str,
        now: OffsetDateTime,
        in_progress_until: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let mut state = self.state();
        let id = (key.tenant.clone(), key.call.cloned(), key.key.to_owned());
        if let Some(existing) = state.idempotency.get(&id) {
            // Same expiry rules as the table: past `expires_at`, or in progress past its
            // deadline, counts as absent.
            let live = existing.expires_at > now
                && (existing.completed || existing.in_progress_until > now);
            if live {
                return Ok(if existing.hash != key.payload_hash {
                    Claim::PayloadMismatch
                } else if existing.completed {
                    Claim::AlreadyDone
                } else {
                    Claim::InProgress
                });
            }
        }
        state.idempotency.insert(
            id,
            IdempotencyEntry {
                hash: key.payload_hash.to_owned(),
                owner: owner.to_owned(),
                completed: false,
                in_progress_until,
                expires_at,
            },
        );
        Ok(Claim::Acquired)
    }
    async fn complete(&self, key: &IdempotencyKey<'_>, owner: &str) -> Result<bool, StoreError> {
        let mut state = self.state();
        let id = (key.tenant.clone(), key.call.cloned(), key.key.to_owned());
        match state.idempotency.get_mut(&id) {
            Some(e) if e.owner == owner && !e.completed => {
                e.completed = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn release(&self, key: &IdempotencyKey<'_>, owner: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        let id = (key.tenant.clone(), key.call.cloned(), key.key.to_owned());
        if state
            .idempotency
            .get(&id)
            .is_some_and(|e| e.owner == owner && !e.completed)
        {
            state.idempotency.remove(&id);
        }
        Ok(())
    }
}

/// An envelope cipher over the fakes, with every category configured: the usual test setup.
pub fn fake_cipher<C: Clock>(
    clock: C,
) -> crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, C> {
    fake_cipher_over(InMemoryStore::default(), clock)
}

/// A cipher keeping its wrapped data keys in `store` (a clone of the test's store).
/// The envelope cipher of the use-case tests: fake KMS, keys in the in-memory store.
pub type FakeCipher = crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, ManualClock>;

pub fn fake_cipher_over<C: Clock>(
    store: InMemoryStore,
    clock: C,
) -> crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, C> {
    crate::crypto::EnvelopeCipher::new(
        FakeKeyManagement::default(),
        store,
        clock,
        crate::crypto::CategoryKeys::new(
            DataCategory::ALL.map(|c| (c, format!("fake-key-{}", c.as_str()))),
        ),
        crate::crypto::CachePolicy::default(),
    )
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

impl InMemoryStore {
    /// Every audit event, for tests.
    /// Every call of a tenant, whatever its team or state.
    pub fn calls_of_tenant(&self, tenant: &TenantId) -> Vec<Call> {
        self.state()
            .calls
            .values()
            .filter(|c| &c.tenant_id == tenant)
            .cloned()
            .collect()
    }

    pub fn audit_events(&self) -> Vec<crate::domain::audit::AuditEvent> {
        self.state().audit.clone()
    }
}

impl crate::ports::ProgressRepository for InMemoryStore {
    async fn get_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .state()
            .progress
            .get(&(tenant.clone(), rep.clone()))
            .cloned())
    }
    async fn put_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
        expected: u64,
        ciphertext: &[u8],
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = (tenant.clone(), rep.clone());
        let current = state.progress.get(&key).map_or(0, |(v, _)| *v);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        state
            .progress
            .insert(key, (expected + 1, ciphertext.to_vec()));
        Ok(())
    }
}

impl crate::ports::PlaybookRepository for InMemoryStore {
    async fn get_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Option<crate::domain::playbook::Playbook>, StoreError> {
        Ok(self
            .state()
            .playbooks
            .get(&(tenant.clone(), team.clone()))
            .cloned())
    }
    async fn put_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        playbook: &crate::domain::playbook::Playbook,
    ) -> Result<(), StoreError> {
        self.state()
            .playbooks
            .insert((tenant.clone(), team.clone()), playbook.clone());
        Ok(())
    }
}

/// One spoken turn for [`deepgram_result`]: speaker number, start and end seconds, text.
pub type SpokenTurn<'a> = (u32, f64, f64, &'a str);

/// A Deepgram pre-recorded result (the body of a callback) in the documented shape: metadata
/// with the request id, one channel, and diarized utterances with word timings spread evenly
/// over each turn.
pub fn deepgram_result(request_id: &str, turns: &[SpokenTurn<'_>]) -> serde_json::Value {
    use serde_json::json;
    let mut all_words = Vec::new();
    let utterances: Vec<_> = turns
        .iter()
        .map(|&(speaker, start, end, text)| {
            let tokens: Vec<&str> = text.split_whitespace().collect();
            let step = (end - start) / tokens.len().max(1) as f64;
            let words: Vec<_> = tokens
                .iter()
                .enumerate()
                .map(|(i, token)| {
                    let bare: String = token
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == '\'')
                        .collect();
                    json!({
                        "word": bare.to_lowercase(),
                        "punctuated_word": token,
                        "start": start + step * i as f64,
                        "end": start + step * (i + 1) as f64,
                        "confidence": 0.97,
                        "speaker": speaker,
                        "speaker_confidence": 0.9,
                    })
                })
                .collect();
            all_words.extend(words.iter().cloned());
            json!({
                "start": start, "end": end, "confidence": 0.95, "channel": 0,
                "transcript": text, "words": words, "speaker": speaker,
                "id": format!("{request_id}-{start}"),
            })
        })
        .collect();
    let duration = turns.iter().map(|t| t.2).fold(0.0, f64::max);
    let transcript: Vec<&str> = turns.iter().map(|t| t.3).collect();
    json!({
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": "0".repeat(64),
            "created": "2026-11-01T09:00:00.000Z",
            "duration": duration,
            "channels": 1,
            "models": ["fake-model"],
        },
        "results": {
            "channels": [{"alternatives": [{
                "transcript": transcript.join(" "),
                "confidence": 0.95,
                "words": all_words,
            }]}],
            "utterances": utterances,
        }
    })
}

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
        let mut due: Vec<crate::ports::DueCall> = match index {
            AgeIndex::Recordings => s
                .age_marks
                .iter()
                .filter(|((t, _, mark), _)| t == tenant && mark.index() == index)
                .map(|((_, call, _), at)| crate::ports::DueCall {
                    call_id: call.clone(),
                    since: *at,
                })
                .collect(),
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
                .chain(
                    s.age_marks
                        .iter()
                        .filter(|((t, _, mark), _)| t == tenant && mark.index() == index)
                        .map(|((_, call, _), at)| crate::ports::DueCall {
                            call_id: call.clone(),
                            since: *at,
                        }),
                )
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
        let before = (s.usage.len(), s.audit.len());
        match kind {
            ExpiringRecords::Usage => s
                .usage
                .retain(|e| &e.tenant_id != tenant || take(e.expires_at())),
            ExpiringRecords::Audit => s
                .audit
                .retain(|e| &e.tenant_id != tenant || take(e.expires_at())),
        }
        Ok(before.0 - s.usage.len() + before.1 - s.audit.len())
    }
}

/// Amazon Transcribe's job states as a test sets them.
#[derive(Default)]
pub struct FakeTranscribeJobs(Mutex<HashMap<String, crate::usecases::transcribe::JobState>>);

impl FakeTranscribeJobs {
    pub fn set(&self, job: &str, state: crate::usecases::transcribe::JobState) {
        self.0.lock().unwrap().insert(job.to_owned(), state);
    }
}

impl crate::usecases::transcribe::TranscribeJobs for FakeTranscribeJobs {
    async fn state(
        &self,
        job: &str,
    ) -> Result<crate::usecases::transcribe::JobState, crate::ports::BackendError> {
        self.0
            .lock()
            .unwrap()
            .get(job)
            .copied()
            .ok_or_else(|| "no such job".into())
    }

    async fn finished(&self) -> Result<Vec<String>, crate::ports::BackendError> {
        let mut names: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| **s != crate::usecases::transcribe::JobState::Running)
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// An Amazon Transcribe batch job's output in the documented shape: items with times, speaker
/// labels on each pronunciation, and trailing punctuation as its own item.
pub fn transcribe_output(job_name: &str, turns: &[SpokenTurn<'_>]) -> serde_json::Value {
    use serde_json::json;
    let mut items = Vec::new();
    for &(speaker, start, end, text) in turns {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let step = (end - start) / tokens.len().max(1) as f64;
        for (i, token) in tokens.iter().enumerate() {
            let word: String = token
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect();
            let from = start + step * i as f64;
            items.push(json!({
                "type": "pronunciation",
                "start_time": format!("{from:.3}"),
                "end_time": format!("{:.3}", from + step),
                "alternatives": [{"confidence": "0.98", "content": word}],
                "speaker_label": format!("spk_{speaker}"),
            }));
            if let Some(mark) = token
                .chars()
                .last()
                .filter(|c| matches!(c, '.' | ',' | '?' | '!'))
            {
                items.push(json!({
                    "type": "punctuation",
                    "alternatives": [{"confidence": "0.0", "content": mark.to_string()}],
                }));
            }
        }
    }
    let transcript: Vec<&str> = turns.iter().map(|t| t.3).collect();
    json!({
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "transcripts": [{"transcript": transcript.join(" ")}],
            "speaker_labels": {"speakers": 2, "segments": []},
            "items": items,
        },
    })
}

/// A discovery call by rep `rep` in a fresh team, for tests that need any call.
pub fn sample_new_call() -> crate::usecases::calls::NewCall {
    use crate::ports::IdGenerator;
    crate::usecases::calls::NewCall {
        team_id: crate::system::RandomIds.mint(),
        rep_id: UserId::parse("rep").expect("a valid user id"),
        title: "t".into(),
        call_type: crate::domain::call::CallType::Discovery,
        company_domain: None,
        buyer_persona: None,
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

/// A transcribed call to seed: its transcript has `utterances` lines, each carrying `marker`
/// (a canary or a size filler).
pub struct CallSeed<'a> {
    pub tenant: &'a TenantId,
    pub team: &'a TeamId,
    pub rep: &'a UserId,
    pub utterances: usize,
    pub marker: &'a str,
}

/// Seeds a transcribed call. Generic over the ports, so it seeds moto as well as fakes.
pub async fn seed_transcribed_call<S, B, E>(
    store: &S,
    blobs: &B,
    envelope: &E,
    seed: CallSeed<'_>,
) -> Call
where
    S: CallRepository + DocumentRepository,
    B: BlobStore,
    E: crate::crypto::Envelope,
{
    use crate::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance};
    use crate::usecases::calls::{NewCall, create_call};
    use crate::usecases::documents::DocumentVault;

    let clock = crate::system::SystemClock;
    let CallSeed {
        tenant,
        team,
        rep,
        utterances,
        marker,
    } = seed;
    let new = NewCall {
        team_id: team.clone(),
        rep_id: rep.clone(),
        title: "seeded".into(),
        call_type: crate::domain::call::CallType::Discovery,
        company_domain: None,
        buyer_persona: None,
    };
    let mut call = create_call(store, &clock, &crate::system::RandomIds, tenant, new)
        .await
        .expect("the seeded call is created");
    let speakers = ["rep", "buyer"].map(|label| Speaker {
        label: label.into(),
        name: None,
    });
    let transcript = Transcript {
        schema_version: crate::domain::SCHEMA_VERSION,
        source_format: SourceFormat::WebVtt,
        timing: Timing::Utterances,
        speakers: speakers.to_vec(),
        utterances: (0..utterances as u64)
            .map(|i| Utterance {
                speaker: (i % 2) as usize,
                start_ms: i * 4_000,
                end_ms: i * 4_000 + 3_500,
                text: format!("line {i}: {marker}"),
                words: Vec::new(),
            })
            .collect(),
    };
    let vault = DocumentVault {
        repository: store,
        blobs,
        envelope,
    };
    vault
        .put_transcript(tenant, &call.call_id, 1, &transcript)
        .await
        .expect("the seeded transcript is stored");
    call.transcript_version = 1;
    call.status = CallStatus::Transcribed;
    store
        .save_call(&mut call)
        .await
        .expect("the seeded call moves to transcribed");
    call
}
