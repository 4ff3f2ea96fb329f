//! Running a piece of work at most once per idempotency key.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::ports::{Claim, ClaimLease, IdempotencyKey, IdempotencyStore, StoreError};

/// How long an idempotency record is kept: a day.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

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

/// A token naming one claim (128 random bits, hex).
fn claim_token() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    // The system's random source does not fail on the platforms we run on; a zero token
    // would still only be compared with itself.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    let owner = claim_token();
    match store
        .claim(
            record,
            ClaimLease {
                owner: &owner,
                now,
                in_progress_until: now + in_progress_timeout,
                expires_at: now + keep_for,
            },
        )
        .await?
    {
        Claim::Acquired => {}
        Claim::InProgress => return Ok(Once::InProgress),
        other => return Ok(Once::Skipped(other)),
    }
    match work.await {
        Ok(value) => {
            if !store.complete(record, &owner).await? {
                // Ran past its in-progress expiry and another claim took over: both ran, and
                // the other one's record stands.
                tracing::warn!("the work outlived its claim; another invocation holds it now");
            }
            Ok(Once::Ran(value))
        }
        Err(error) => {
            if let Err(release) = store.release(record, &owner).await {
                tracing::warn!(error = %release, "could not release the idempotency record");
            }
            Err(error)
        }
    }
}
