//! The age indexes and what the retention reaper needs from the table.

use std::future::Future;

use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{CallId, TenantId, UserId};

/// The age indexes. Each is partitioned per tenant and sorted by the moment its items start to
/// age, so a sweep reads only what is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeIndex {
    /// Live calls by creation time (transcripts and coaching age from there).
    Calls,
    /// Calls whose upload was transcribed, by transcription time (raw uploads age from there).
    Recordings,
    /// Calls deleted by a user, by deletion time (purged on the next run).
    Deleted,
    /// Calls in a state that waits for the pipeline (`uploaded`, `transcribing`, `transcribed`,
    /// `scoring`), by when they entered it: the call item itself is in this index while it
    /// waits (kept by the store from the call's status, so no move can forget it), and the
    /// sweep retries or fails every call past its state's deadline.
    Waiting,
}

impl AgeIndex {
    /// The indexes the retention reaper sweeps, in its order.
    pub const RETENTION: [AgeIndex; 3] = [AgeIndex::Deleted, AgeIndex::Calls, AgeIndex::Recordings];

    pub fn as_str(self) -> &'static str {
        match self {
            AgeIndex::Calls => "calls",
            AgeIndex::Recordings => "recordings",
            AgeIndex::Deleted => "deleted",
            AgeIndex::Waiting => "waiting",
        }
    }
}

/// The indexes whose entries are small marks beside the call (the call item itself is in
/// `calls` or `deleted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeMark {
    Recording,
    /// Written for a call found deleted or purged right after documents were written for it
    /// (a worker that ran while the call was deleted): the written items may have missed the
    /// purge, so the mark, in `deleted`, makes the next reaper run purge the call again.
    Orphan,
}

impl AgeMark {
    pub fn index(self) -> AgeIndex {
        match self {
            AgeMark::Recording => AgeIndex::Recordings,
            AgeMark::Orphan => AgeIndex::Deleted,
        }
    }
}

/// A call that an age index says has aged past a cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCall {
    pub call_id: CallId,
    /// When it started to age (created, transcribed or deleted).
    pub since: OffsetDateTime,
}

/// What the retention reaper needs from the table.
pub trait RetentionStore: Send + Sync {
    /// Every tenant id, in order (the reaper's scheduled run walks them).
    fn tenant_ids(&self) -> impl Future<Output = Result<Vec<TenantId>, StoreError>> + Send;
    /// The tenant the last scheduled run stopped in at its deadline, if it stopped.
    fn reaper_resume_point(
        &self,
    ) -> impl Future<Output = Result<Option<TenantId>, StoreError>> + Send;
    /// Records where a scheduled run stopped (`None`: it got through every tenant).
    fn set_reaper_resume_point(
        &self,
        stopped_in: Option<&TenantId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Up to `limit` calls of `index` that started aging at or before `not_after` (whole
    /// seconds), oldest first, continuing after `after` when given.
    fn due_calls(
        &self,
        tenant: &TenantId,
        index: AgeIndex,
        not_after: OffsetDateTime,
        after: Option<&DueCall>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueCall>, StoreError>> + Send;
    /// Puts the call into a marked index from `at`: its upload was transcribed (the raw
    /// upload ages) or its upload went to a provider (the transcription deadline runs).
    fn mark_aging(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: AgeMark,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes the call out of a marked index; a missing mark is not an error.
    fn clear_aging_mark(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: AgeMark,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes every table item of the call (documents, marks, the call itself last, so an
    /// interrupted purge is found again). Returns how many items were deleted.
    fn delete_call_items(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Every user the workspace has known (written with their first membership, kept until
    /// the user's records are deleted), so no one's records are missed by a destruction.
    fn known_users(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;
    /// Deletes a user's personal records: rep progress, usage events, their admin record, the
    /// registry entry. (Callers keep the workspace's last admin: see [`AdminRepository`].)
    fn delete_user_records(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Deletes up to `limit` records of `kind` whose own retention ended at or before `now`,
    /// oldest first; returns how many went (fewer than `limit`: nothing more is due).
    fn delete_expired(
        &self,
        tenant: &TenantId,
        kind: ExpiringRecords,
        now: OffsetDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Records with a retention clock of their own, indexed by expiry and deleted by the reaper
/// to the second (DynamoDB TTL is only a late backstop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiringRecords {
    /// Usage events: 13 months.
    Usage,
    /// Audit events: 2 years.
    Audit,
    /// Deletion receipts: 2 years, like the audit trail they go with.
    Receipts,
}

impl ExpiringRecords {
    pub const ALL: [ExpiringRecords; 3] = [
        ExpiringRecords::Usage,
        ExpiringRecords::Audit,
        ExpiringRecords::Receipts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExpiringRecords::Usage => "usage_events",
            ExpiringRecords::Audit => "audit_events",
            ExpiringRecords::Receipts => "receipts",
        }
    }
}
