//! Idempotency claims.

use time::OffsetDateTime;

use super::InMemoryStore;
use crate::ports::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore, StoreError};

#[derive(Clone)]
pub(super) struct IdempotencyEntry {
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
        lease: ClaimLease<'_>,
    ) -> Result<Claim, StoreError> {
        let now = lease.now;
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
                owner: lease.owner.to_owned(),
                completed: false,
                in_progress_until: lease.in_progress_until,
                expires_at: lease.expires_at,
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
