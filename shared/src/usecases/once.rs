//! Running a piece of work at most once per idempotency key.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::ports::{Claim, IdempotencyKey, IdempotencyStore, StoreError};

/// What [`run_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<T> {
    /// The work ran now and completed.
    Ran(T),
    /// The work was not run: done before, or the key came with another payload.
    Skipped(Claim),
    /// Another invocation holds the key (or crashed less than the in-progress timeout ago).
    InProgress,
}

/// Claims the record, runs `work`, then completes the record, or releases it when the work
/// fails so that a retry runs it again (the Lambda Powertools rules).
pub async fn run_once<S, T, E, F>(
    store: &S,
    record: &IdempotencyKey<'_>,
    now: OffsetDateTime,
    in_progress_timeout: Duration,
    keep_for: Duration,
    work: F,
) -> Result<Once<T>, E>
where
    S: IdempotencyStore,
    E: From<StoreError>,
    F: Future<Output = Result<T, E>>,
{
    match store
        .claim(record, now, now + in_progress_timeout, now + keep_for)
        .await?
    {
        Claim::Acquired => {}
        Claim::InProgress => return Ok(Once::InProgress),
        other => return Ok(Once::Skipped(other)),
    }
    match work.await {
        Ok(value) => {
            store.complete(record).await?;
            Ok(Once::Ran(value))
        }
        Err(error) => {
            if let Err(release) = store.release(record).await {
                tracing::warn!(error = %release, "could not release the idempotency record");
            }
            Err(error)
        }
    }
}
