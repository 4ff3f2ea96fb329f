//! Ports: what use cases need from the outside world. Adapters (AWS) and in-memory fakes
//! implement them; no AWS type appears in a signature here.

mod blobs;
mod errors;
mod idempotency;
mod page;
mod retention;

use std::future::Future;

pub use blobs::{BlobStore, PartedUpload, PresignedRequest, UploadedPart};
pub use errors::{BackendError, BlobError, QueueError, StoreError};
pub use idempotency::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore};
pub use page::{Cursor, CursorError, MAX_PAGE_SIZE, Page, PageRequest};
pub use retention::{AgeIndex, AgeMark, DueCall, ExpiringRecords, RetentionStore};
use time::OffsetDateTime;

use crate::domain::call::Call;
use crate::domain::org::{Membership, Team, Tenant, WorkspaceRoles};
use crate::ids::{CallId, MintedId, TeamId, TenantId, UserId};
use crate::messages::PipelineMessage;

/// The current time; a port so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// Source of fresh, unguessable ids.
pub trait IdGenerator: Send + Sync {
    fn mint<T: MintedId>(&self) -> T;
}

pub trait TenantRepository: Send + Sync {
    /// Creates the tenant; `AlreadyExists` if it is there.
    fn create_tenant(&self, tenant: &Tenant)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_tenant(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<Tenant>, StoreError>> + Send;
    /// Stores `tenant` as version `tenant.version + 1`, only if the stored record is still at
    /// `tenant.version` (the one it was read at): `Conflict` when another write came first or
    /// there is no such tenant, and nothing is written. Read, change and write again through
    /// [`crate::usecases::workspace::update_workspace`].
    fn update_tenant(&self, tenant: &Tenant)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait TeamRepository: Send + Sync {
    /// Creates the team and its first owner together, or neither.
    fn create_team(
        &self,
        team: &Team,
        owner: &Membership,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_team(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> impl Future<Output = Result<Option<Team>, StoreError>> + Send;
    /// Adds or replaces a member's role.
    fn put_membership(
        &self,
        membership: &Membership,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn remove_membership(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        user: &UserId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn memberships_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;
    fn members_of_team(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;
    /// Every team of the workspace.
    fn teams_of_tenant(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<Team>, StoreError>> + Send;
    /// Deletes the team's memberships, playbook and the team itself (last, so an interrupted
    /// deletion is found again). Returns how many items went.
    fn delete_team_records(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Workspace administrators: a role held in a record of its own, never implied by a team role.
/// A workspace always keeps at least one admin.
pub trait AdminRepository: Send + Sync {
    /// Whether `user` is an admin, and their team memberships, in one read.
    fn workspace_roles(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> impl Future<Output = Result<WorkspaceRoles, StoreError>> + Send;
    /// Every admin of the workspace.
    fn admins(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;
    /// Makes `user` an admin (and a known user of the workspace); `Ok(false)` when they were
    /// one already. With `vouched_by`, atomically only while that admin's record is there
    /// (`Conflict` otherwise); without, as provisioning does.
    fn add_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        vouched_by: Option<&UserId>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Takes `user`'s admin role away, atomically only while `remaining` (another admin) keeps
    /// theirs, so two admins removing each other at once cannot leave the workspace without
    /// one: `NotFound` when `user` is no admin, `Conflict` when `remaining` is none.
    fn remove_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        remaining: &UserId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait CallRepository: Send + Sync {
    fn create_call(&self, call: &Call) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_call(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> impl Future<Output = Result<Option<Call>, StoreError>> + Send;
    /// A conditional save: stores `call` only if the stored call is still at `call.version`
    /// (nobody wrote it since it was read), then counts the copy up to the stored version;
    /// otherwise `StaleTransition`, and nothing is written. Change calls through
    /// [`crate::usecases::call_lifecycle::CallLifecycle::update`], which reads again and retries.
    fn save_call(&self, call: &mut Call) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`Self::save_call`] of a call that changed status, with `event` (the move's audit
    /// event) written in the same transaction: both or neither. `StaleTransition` also when
    /// the event exists already (this very move was written, which changed the call too).
    fn save_moved(
        &self,
        call: &mut Call,
        event: &crate::domain::audit::AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A team's calls, newest first.
    fn list_team_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Call>, StoreError>> + Send;
    /// One rep's calls in a team, newest first (a query by rep: a page never holds, or has to
    /// skip, anyone else's calls). Cursors of one listing are refused by the others.
    fn list_rep_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        rep: &UserId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Call>, StoreError>> + Send;
}

/// Which derived document of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Transcript,
    Analysis,
    /// Every practice response the call's rep wrote, one document per call (version
    /// [`crate::usecases::practice::PRACTICE_SLOT`]), changed by revision.
    Practice,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Transcript => "transcript",
            DocumentKind::Analysis => "analysis",
            DocumentKind::Practice => "practice",
        }
    }
}

/// Where an encrypted document's bytes live: in the item, or in the blob store when too large
/// for a DynamoDB item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredDocument {
    Inline(Vec<u8>),
    Blob { key: String },
}

/// Which document: one kind and version of one call's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentAddress<'a> {
    pub tenant: &'a TenantId,
    pub call: &'a CallId,
    pub kind: DocumentKind,
    pub version: u32,
}

/// Versioned, already-encrypted documents of a call.
pub trait DocumentRepository: Send + Sync {
    fn put_document(
        &self,
        at: DocumentAddress<'_>,
        document: &StoredDocument,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_document(
        &self,
        at: DocumentAddress<'_>,
    ) -> impl Future<Output = Result<Option<StoredDocument>, StoreError>> + Send;
    /// The newest stored version of the call's documents of `kind`, with its version number:
    /// a read can fetch it together with the call instead of after it.
    fn newest_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
    ) -> impl Future<Output = Result<Option<(u32, StoredDocument)>, StoreError>> + Send;
    /// A document with the revision it was last written at (0: written without one), for a
    /// read, change and write.
    fn get_document_revision(
        &self,
        at: DocumentAddress<'_>,
    ) -> impl Future<Output = Result<Option<(u64, StoredDocument)>, StoreError>> + Send;
    /// Writes an inline document only while it is still at `read_revision` (0: absent, or
    /// written without a revision): `Conflict` when another writer got there first.
    fn put_document_at_revision(
        &self,
        at: DocumentAddress<'_>,
        ciphertext: &[u8],
        read_revision: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Usage events: views of calls, kept 13 months (table TTL; reads skip expired events).
pub trait UsageLog: Send + Sync {
    fn record_view(
        &self,
        event: &crate::domain::usage::UsageEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A user's unexpired views, newest first, a page at a time (a page may hold fewer than
    /// its limit when expired events were skipped; only `next: None` ends the list).
    fn views_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: OffsetDateTime,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<crate::domain::usage::UsageEvent>, StoreError>> + Send;
}

/// The append-only audit trail (privacy promise P8). Events are kept two years.
pub trait AuditLog: Send + Sync {
    /// Appends an event; an event id is never overwritten.
    fn append(
        &self,
        event: &crate::domain::audit::AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A tenant's events, newest first.
    fn list(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<crate::domain::audit::AuditEvent>, StoreError>> + Send;
    /// A tenant's events from `from` to `to` (both included), newest first; reads only those.
    fn list_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<crate::domain::audit::AuditEvent>, StoreError>> + Send;
}

/// A rep's progress record, already encrypted, with a version for optimistic concurrency.
pub trait ProgressRepository: Send + Sync {
    /// `(version, ciphertext)`, or `None` when the rep has no record yet.
    fn get_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
    ) -> impl Future<Output = Result<Option<(u64, Vec<u8>)>, StoreError>> + Send;
    /// Stores version `expected + 1` only if the stored version is still `expected` (0: none);
    /// otherwise `Conflict`, and nothing is written.
    fn put_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
        expected: u64,
        ciphertext: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Team playbooks. Team configuration, not personal data: stored as a table item, encrypted at
/// rest by the table's customer-managed key, so the scoring worker needs no notes key.
/// Team playbooks as stored: sealed under the tenant's `metadata` data key. Read and write
/// them through [`crate::usecases::playbooks`].
pub trait PlaybookRepository: Send + Sync {
    fn get_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    fn put_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        sealed: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One quota counter: a workspace's count of one meter in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCounter<'a> {
    pub tenant: &'a TenantId,
    pub meter: &'a str,
    pub period: &'a str,
}

/// An addition to a counter that must keep it within `limit`; the counter may go once
/// `expires_at` (the end of its period) has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundedAdd {
    pub amount: u64,
    pub limit: u64,
    pub expires_at: OffsetDateTime,
}

/// Quota counters ([`crate::usecases::quota`]): one per workspace, meter and period.
pub trait QuotaStore: Send + Sync {
    /// Adds to the counter, atomically and only if its total stays within the limit; false
    /// (nothing added) otherwise.
    fn add_within_limit(
        &self,
        counter: QuotaCounter<'_>,
        add: BoundedAdd,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Takes `amount` back off the counter (a spend whose request then failed).
    fn give_back(
        &self,
        counter: QuotaCounter<'_>,
        amount: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes every counter of the workspace (its destruction); how many went.
    fn delete_quota_counters(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Workspace export jobs ([`crate::usecases::export_job`]): ids, states and counts, never
/// content; one partition per workspace.
pub trait ExportJobRepository: Send + Sync {
    /// Records a new job; `AlreadyExists` if its id is taken.
    fn create_export_job(
        &self,
        job: &crate::usecases::export_job::ExportJob,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores `job` as version `job.version + 1`, only if the stored record is still at
    /// `job.version`: `Conflict` when another delivery changed it first or it went with its
    /// workspace, and nothing is written.
    fn update_export_job(
        &self,
        job: &crate::usecases::export_job::ExportJob,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_export_job(
        &self,
        tenant: &TenantId,
        export: &crate::ids::ExportId,
    ) -> impl Future<Output = Result<Option<crate::usecases::export_job::ExportJob>, StoreError>> + Send;
    /// Deletes every job record of the workspace (its destruction); how many went.
    fn delete_export_jobs(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Notes that a deletion withdraws the workspace's bundles at `at` (each note replaces the last),
    /// so that an export running meanwhile withdraws its own ([`crate::usecases::export`]).
    fn note_exports_withdrawn(
        &self,
        tenant: &TenantId,
        at: time::OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn exports_withdrawn_at(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<time::OffsetDateTime>, StoreError>> + Send;
}

/// Deletion receipts and the tickets of deletions not yet purged, kept apart from the data
/// they speak of: ids, counts and times only, for two years, also after the workspace is
/// destroyed.
pub trait ReceiptBook: Send + Sync {
    /// Writes a ticket with the calls its request moved to `deleted`.
    fn open_ticket(
        &self,
        ticket: &crate::domain::receipt::DeletionTicket,
        calls: &[CallId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every open ticket of the tenant with its calls.
    fn open_tickets(
        &self,
        tenant: &TenantId,
    ) -> impl Future<
        Output = Result<Vec<(crate::domain::receipt::DeletionTicket, Vec<CallId>)>, StoreError>,
    > + Send;
    /// Notes what the reaper's purge of a deleted call removed, for its ticket's receipt.
    fn record_purge(
        &self,
        tenant: &TenantId,
        call: &CallId,
        removed: &crate::domain::receipt::Removed,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The purges noted of these calls (those not noted are missing from the answer).
    fn purges_of(
        &self,
        tenant: &TenantId,
        calls: &[CallId],
    ) -> impl Future<
        Output = Result<
            std::collections::BTreeMap<CallId, crate::domain::receipt::Removed>,
            StoreError,
        >,
    > + Send;
    /// Files a signed receipt; filing one whose id is filed already changes nothing.
    fn file_receipt(
        &self,
        receipt: &crate::domain::receipt::SignedReceipt,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Drops a ticket, its call entries and their purge notes (its receipt is filed).
    fn close_ticket(
        &self,
        tenant: &TenantId,
        ticket: &crate::ids::ReceiptId,
        calls: &[CallId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Drops every ticket and purge note of the tenant (its destruction's receipt covers them);
    /// how many items went.
    fn discard_tickets(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// The tenant's receipts, newest first.
    fn list_receipts(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<crate::domain::receipt::SignedReceipt>, StoreError>> + Send;
    fn get_receipt(
        &self,
        tenant: &TenantId,
        receipt: &crate::ids::ReceiptId,
    ) -> impl Future<Output = Result<Option<crate::domain::receipt::SignedReceipt>, StoreError>> + Send;
}

/// The pipeline's message queue.
/// Signs deletion receipts with the deployment's asymmetric key (KMS `Sign` in AWS); whoever
/// holds its public key verifies them offline ([`crate::domain::receipt::verify`]).
pub trait ReceiptSigner: Send + Sync {
    /// The signature over `message` (at most 4 KB: a receipt's canonical JSON).
    fn sign(
        &self,
        message: &[u8],
    ) -> impl Future<Output = Result<crate::domain::receipt::ReceiptSignature, BackendError>> + Send;
    /// The public key, DER SubjectPublicKeyInfo.
    fn public_key(&self) -> impl Future<Output = Result<Vec<u8>, BackendError>> + Send;
}

pub trait Queue: Send + Sync {
    fn send(
        &self,
        message: &PipelineMessage,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
    /// Sends all messages; fails if any one could not be sent.
    fn send_batch(
        &self,
        messages: &[PipelineMessage],
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// Everything the pipeline's use cases keep in the table, under one name (the DynamoDB table
/// and the in-memory store implement all of it).
pub trait PipelineStore:
    CallRepository
    + TenantRepository
    + QuotaStore
    + AuditLog
    + DocumentRepository
    + IdempotencyStore
    + ProgressRepository
    + PlaybookRepository
    + RetentionStore
{
}

impl<T> PipelineStore for T where
    T: CallRepository
        + TenantRepository
        + QuotaStore
        + AuditLog
        + DocumentRepository
        + IdempotencyStore
        + ProgressRepository
        + PlaybookRepository
        + RetentionStore
{
}

/// Names a bundle of bounds once: the trait and the blanket impl that gives it to every type
/// meeting them, from one list (`bound_alias!(pub trait ApiStore = A + B + 'static;)`).
#[macro_export]
macro_rules! bound_alias {
    ($(#[$meta:meta])* $vis:vis trait $name:ident = $($bound:tt)+) => {
        $(#[$meta])*
        $vis trait $name: $($bound)+ {}

        impl<T: $($bound)+> $name for T {}
    };
}
