//! Idempotency records, as the Lambda Powertools utility defines them.

use std::future::Future;

use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{CallId, TenantId};

/// What taking an idempotency record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation owns the work now.
    Acquired,
    /// The same work completed before: do nothing, report success.
    AlreadyDone,
    /// Another invocation is doing it (or crashed less than the in-progress expiry ago):
    /// retry later.
    InProgress,
    /// The key was used with a different payload: an error, with no side effects.
    PayloadMismatch,
}

/// One unit of work to deduplicate.
#[derive(Debug, Clone)]
pub struct IdempotencyKey<'a> {
    pub tenant: &'a TenantId,
    /// The call the work belongs to: its record then lives with the call's items and goes in
    /// the call's cascade (a deleted call leaves no record behind).
    pub call: Option<&'a CallId>,
    pub key: &'a str,
    /// A hash of the payload; the same key with another hash is refused.
    pub payload_hash: &'a str,
}

/// Who claims a record, and for how long the claim and the record hold.
#[derive(Debug, Clone, Copy)]
pub struct ClaimLease<'a> {
    /// A token of this claim alone.
    pub owner: &'a str,
    pub now: OffsetDateTime,
    /// Until when the work may run before another delivery may take it over.
    pub in_progress_until: OffsetDateTime,
    /// When the record goes (TTL deletes late: past it, the record counts as absent).
    pub expires_at: OffsetDateTime,
}

pub trait IdempotencyStore: Send + Sync {
    /// Takes the record for the lease's owner unless a live one exists. Records past their
    /// expiry and in-progress records past their in-progress deadline count as absent.
    fn claim(
        &self,
        key: &IdempotencyKey<'_>,
        lease: ClaimLease<'_>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Marks the work done, only while `owner` still holds the record in progress: false (and
    /// nothing written) when another claim took it over or it is gone, so a late finisher
    /// never creates a record without hash or expiry.
    fn complete(
        &self,
        key: &IdempotencyKey<'_>,
        owner: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes the record after a failure, so a retry runs the work again; only while `owner`
    /// holds it in progress (a loser cannot wipe the winner's record).
    fn release(
        &self,
        key: &IdempotencyKey<'_>,
        owner: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
