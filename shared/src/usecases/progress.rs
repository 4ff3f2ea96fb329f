//! Keeping a rep's progress record: encrypted under the insights key domain, updated with
//! optimistic concurrency.

use crate::access::ProgressScope;
use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::analysis::Analysis;
use crate::domain::call::CallStatus;
use crate::domain::progress::RepProgress;
use crate::ids::{GoalId, TeamId, TenantId, UserId};
use crate::ports::{CallRepository, ProgressRepository, StoreError};

/// Attempts before giving up when other writers keep winning.
const MAX_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the progress record does not decode")]
    Decode(#[source] crate::json_fault::JsonFault),
}

impl ProgressError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ProgressError::Store(e) => e.is_retryable(),
            ProgressError::Crypto(e) => e.is_retryable(),
            ProgressError::Decode(_) => false,
        }
    }
}

fn item(rep: &UserId) -> String {
    format!("progress/{rep}")
}

/// What a rep's progress record is encrypted bound to (the insights key domain, `item` from
/// [`item`]), the same for writing and reading, so a record opens only where it was written.
fn binding<'a>(tenant: &'a TenantId, item: &'a str) -> Binding<'a> {
    Binding {
        tenant,
        category: DataCategory::Insights,
        item,
    }
}

async fn load<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
) -> Result<Option<(u64, RepProgress)>, ProgressError> {
    let Some((version, ciphertext)) = store.get_progress(tenant, rep).await? else {
        return Ok(None);
    };
    let item = item(rep);
    let plaintext = envelope
        .decrypt(binding(tenant, &item), &ciphertext)
        .await?;
    let progress =
        serde_json::from_slice(&plaintext).map_err(|e| ProgressError::Decode(e.into()))?;
    Ok(Some((version, progress)))
}

pub async fn load_progress<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
) -> Result<Option<RepProgress>, ProgressError> {
    Ok(load(store, envelope, tenant, rep).await?.map(|(_, p)| p))
}

/// Adds a scored call of `team` to its rep's progress.
pub async fn record_progress<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    rep: &UserId,
    team: &TeamId,
    analysis: &Analysis,
) -> Result<(), ProgressError> {
    update_progress(store, envelope, &analysis.tenant_id, rep, |progress| {
        progress.record(analysis, team);
        true
    })
    .await
    .map(|_| ())
}

/// The rep's progress without the entries of calls that are gone or deleted: a call deleted
/// through the API leaves at once ([`forget_call_progress`]); one the reaper expired or
/// purged leaves here, the next time the record is read or a call of the rep is scored, and
/// is never shown or exported meanwhile. The record is rewritten when entries went.
pub async fn load_live_progress<S, E>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
) -> Result<Option<RepProgress>, ProgressError>
where
    S: ProgressRepository + CallRepository,
    E: Envelope,
{
    let Some(progress) = load_progress(store, envelope, tenant, rep).await? else {
        return Ok(None);
    };
    let mut gone = Vec::new();
    for entry in &progress.entries {
        let live = store
            .get_call(tenant, &entry.call_id)
            .await?
            .is_some_and(|c| c.status != CallStatus::Deleted);
        if !live {
            gone.push(entry.call_id.clone());
        }
    }
    if gone.is_empty() {
        return Ok(Some(progress));
    }
    let pruned = update_progress(store, envelope, tenant, rep, |progress| {
        // Every call forgotten, not only up to the first that had an entry.
        let forgotten = gone
            .iter()
            .filter(|call| progress.forget_call(call))
            .count();
        forgotten > 0
    })
    .await?;
    Ok(Some(pruned))
}

/// The rep's live progress ([`load_live_progress`]) as `scope` shows it: all of it, or only the
/// calls of some teams. Before the rep's first scored call, an empty record.
pub async fn progress_in_scope<S, E>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
    scope: &ProgressScope,
) -> Result<RepProgress, ProgressError>
where
    S: ProgressRepository + CallRepository,
    E: Envelope,
{
    let progress = load_live_progress(store, envelope, tenant, rep)
        .await?
        .unwrap_or_else(|| RepProgress::new(tenant.clone(), rep.clone()));
    Ok(match scope {
        ProgressScope::Everything => progress,
        ProgressScope::Teams(teams) => progress.seen_from(teams),
    })
}

/// Marks one of the rep's current micro-goals complete; `None` when it is not one of them (and
/// nothing was written).
pub async fn complete_goal<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
    goal: &GoalId,
) -> Result<Option<RepProgress>, ProgressError> {
    let mut found = false;
    let progress = update_progress(store, envelope, tenant, rep, |progress| {
        found = progress.complete_goal(goal);
        found
    })
    .await?;
    Ok(found.then_some(progress))
}

/// Drops a deleted or expired call's entry from its rep's progress (nothing is written when
/// there is none).
pub async fn forget_call_progress<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
    call: &crate::ids::CallId,
) -> Result<(), ProgressError> {
    update_progress(store, envelope, tenant, rep, |progress| {
        progress.forget_call(call)
    })
    .await
    .map(|_| ())
}

/// Applies `change` to the rep's progress with optimistic concurrency (reloading and
/// re-applying when another writer won). `change` returns false to write nothing.
/// Returns the record as written, or as read when nothing was written.
pub async fn update_progress<S: ProgressRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    rep: &UserId,
    mut change: impl FnMut(&mut RepProgress) -> bool,
) -> Result<RepProgress, ProgressError> {
    for _ in 0..MAX_ATTEMPTS {
        let (version, mut progress) = load(store, envelope, tenant, rep)
            .await?
            .unwrap_or_else(|| (0, RepProgress::new(tenant.clone(), rep.clone())));
        if !change(&mut progress) {
            return Ok(progress);
        }
        let plaintext =
            serde_json::to_vec(&progress).map_err(|e| ProgressError::Decode(e.into()))?;
        let item = item(rep);
        let ciphertext = envelope.encrypt(binding(tenant, &item), &plaintext).await?;
        match store.put_progress(tenant, rep, version, &ciphertext).await {
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
            Ok(()) => return Ok(progress),
        }
    }
    Err(ProgressError::Store(StoreError::Conflict))
}
