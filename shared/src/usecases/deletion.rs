//! Deleting a call's owner, a team or a whole workspace (privacy promise P6).
//!
//! Every deletion makes the data unreadable at once and leaves the physical purge to the
//! retention reaper's next run: calls move to `deleted` (the API answers 404 for them from
//! that moment, and the reaper purges their items and object versions on its next hourly run);
//! a deleted workspace also loses its wrapped data keys at once, so every ciphertext of it,
//! backups included, stays unreadable. A legal hold anywhere in the scope refuses the
//! deletion before anything changes. Each step is idempotent: a retried request finishes
//! what an interrupted one started.

use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use crate::crypto::DataKeyStore;
use crate::domain::audit::AuditEvent;
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::DeletionRequest;
use crate::domain::org::Role;
use crate::domain::receipt::{Subject, SubjectKind};
use crate::domain::retention::AccountState;
use crate::ids::{CallId, ReceiptId, TeamId, TenantId, UserId};
use crate::ports::{
    AdminRepository, AgeIndex, AuditLog, CallRepository, DueCall, PageRequest, ReceiptBook,
    RetentionStore, StoreError, TeamRepository, TenantRepository,
};
use crate::usecases::audit_trail::record_once;
use crate::usecases::call_lifecycle::{CallLifecycle, Mover};
use crate::usecases::receipts::{self, Asked, open_ticket};
use crate::usecases::teams::team_ids;
use crate::usecases::workspace::{Change, update_workspace};

/// How many entries one index read takes.
const PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("a legal hold covers data in this scope; lift it before deleting")]
    LegalHold,
    #[error("no such workspace, team or user")]
    NotFound,
    #[error("the call kept changing while it was being deleted")]
    Contended,
    #[error("the workspace's grace period is over; its deletion is final")]
    Final,
    #[error("the user is the last owner of a team; name another owner first")]
    LastOwner,
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// What one deletion covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Calls moved to `deleted` by this request (a retry counts only the ones it moved).
    pub calls: usize,
    /// Other table items removed at once (memberships, playbook, progress, usage events).
    pub records: usize,
    /// The receipt the reaper signs once it has purged the calls.
    pub receipt: ReceiptId,
}

/// Walks the entries of some age indexes that started aging by `not_after`, a page at a
/// time, oldest first within each index. Entries deleted during the walk are not met again.
pub struct IndexWalk<'a, S> {
    store: &'a S,
    tenant: &'a TenantId,
    indexes: std::slice::Iter<'a, AgeIndex>,
    current: Option<AgeIndex>,
    not_after: OffsetDateTime,
    after: Option<DueCall>,
}

impl<'a, S: RetentionStore> IndexWalk<'a, S> {
    pub fn new(
        store: &'a S,
        tenant: &'a TenantId,
        indexes: &'a [AgeIndex],
        not_after: OffsetDateTime,
    ) -> Self {
        let mut indexes = indexes.iter();
        let current = indexes.next().copied();
        Self {
            store,
            tenant,
            indexes,
            current,
            not_after,
            after: None,
        }
    }

    /// The next page, or `None` when every index is walked.
    pub async fn next_page(&mut self) -> Result<Option<Vec<DueCall>>, StoreError> {
        while let Some(index) = self.current {
            let page = self
                .store
                .due_calls(
                    self.tenant,
                    index,
                    self.not_after,
                    self.after.as_ref(),
                    PAGE,
                )
                .await?;
            match page.last() {
                Some(last) => {
                    self.after = Some(last.clone());
                    return Ok(Some(page));
                }
                None => {
                    self.current = self.indexes.next().copied();
                    self.after = None;
                }
            }
        }
        Ok(None)
    }
}

/// Far enough ahead that every call of a workspace is "due" in its index.
pub fn every_call() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(365 * 100)
}

/// Whether any call of the workspace, live or deleted, is under legal hold.
pub async fn any_call_held<S: RetentionStore + CallRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<bool, StoreError> {
    let indexes = [AgeIndex::Calls, AgeIndex::Deleted];
    let mut walk = IndexWalk::new(store, tenant, &indexes, every_call());
    while let Some(page) = walk.next_page().await? {
        for entry in page {
            if let Some(call) = store.get_call(tenant, &entry.call_id).await?
                && call.legal_hold
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Every live call of the workspace that `pick` selects, walking each team's listing.
async fn live_calls_where<S: TeamRepository + CallRepository>(
    store: &S,
    tenant: &TenantId,
    teams: &[TeamId],
    pick: impl Fn(&Call) -> bool,
) -> Result<Vec<Call>, StoreError> {
    let mut found = Vec::new();
    for team in teams {
        let mut request = PageRequest::first(crate::ports::MAX_PAGE_SIZE)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        loop {
            let page = store.list_team_calls(tenant, team, &request).await?;
            found.extend(
                page.items
                    .into_iter()
                    .filter(|c| c.status != CallStatus::Deleted && pick(c)),
            );
            match page.next {
                Some(cursor) => request.cursor = Some(cursor),
                None => break,
            }
        }
    }
    Ok(found)
}

/// Moves each call to `deleted` through the one entry point, so a call that changed under us
/// is decided again from what is stored: a legal hold set after the hold check keeps its call
/// (the others go, and the deletion answers that a hold covers data in its scope).
async fn mark_deleted<S: CallRepository>(
    store: &S,
    calls: Vec<Call>,
    now: OffsetDateTime,
) -> Result<Marked, DeletionError> {
    let mut marked = Marked::default();
    for mut call in calls {
        let mut held = false;
        let outcome = CallLifecycle::new(store, Mover::Deletion)
            .update(&mut call, |c| {
                if c.status == CallStatus::Deleted {
                    return Ok(Change::Keep(false));
                }
                if c.legal_hold {
                    held = true;
                    return Ok(Change::Keep(false));
                }
                c.transition(CallStatus::Deleted, now)
                    .map_err(|_| DeletionError::Contended)?;
                Ok(Change::Write(true))
            })
            .await;
        marked.held |= held;
        match outcome {
            Ok(true) => marked.moved += 1,
            Ok(false) | Err(DeletionError::Store(StoreError::NotFound)) => {}
            Err(DeletionError::Store(StoreError::StaleTransition { .. })) => {
                return Err(DeletionError::Contended);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(marked)
}

#[derive(Default)]
struct Marked {
    moved: usize,
    held: bool,
}

/// Moves the calls of a deletion with its ticket open, then records what the request removed
/// itself (`remove_records`, run only when no hold kept a call) and completes the ticket. A
/// request that moved nothing because of a hold leaves no ticket: nothing was deleted, so
/// there is nothing to receipt. A request cut off midway leaves its ticket incomplete, and
/// its retry (the same ticket: its id comes from the subject) completes it.
async fn delete_under_ticket<S, F>(
    store: &S,
    asked: Asked<'_>,
    calls: Vec<Call>,
    remove_records: F,
) -> Result<Deleted, DeletionError>
where
    S: CallRepository + ReceiptBook,
    F: AsyncFnOnce() -> Result<usize, DeletionError>,
{
    let tenant = asked.tenant.clone();
    let now = asked.at;
    let ids: Vec<CallId> = calls.iter().map(|c| c.call_id.clone()).collect();
    let ticket = open_ticket(store, asked, &ids).await?;
    let receipt = ticket.receipt_id.clone();
    let marked = mark_deleted(store, calls, now).await?;
    if marked.held {
        // Nothing deleted: no receipt. Some calls deleted: their receipt, once purged.
        if marked.moved == 0 {
            store.close_ticket(&tenant, &receipt, &ids).await?;
        } else {
            receipts::removed_at_once(store, ticket, 0).await?;
        }
        return Err(DeletionError::LegalHold);
    }
    let records = remove_records().await?;
    receipts::removed_at_once(store, ticket, records as u64).await?;
    Ok(Deleted {
        calls: marked.moved,
        records,
        receipt,
    })
}

fn refuse_held(calls: &[Call]) -> Result<(), DeletionError> {
    if calls.iter().any(|c| c.legal_hold) {
        return Err(DeletionError::LegalHold);
    }
    Ok(())
}

/// Refuses when the workspace is under legal hold. A workspace without a record yet (they are
/// written with the first settings change) has no hold.
async fn refuse_held_workspace<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<Option<crate::domain::org::Tenant>, DeletionError> {
    let record = store.get_tenant(tenant).await?;
    if record.as_ref().is_some_and(|t| t.legal_hold) {
        return Err(DeletionError::LegalHold);
    }
    Ok(record)
}

/// Deletes a user: their calls (as the rep) with everything derived from them, their
/// memberships, rep progress and usage events. What belongs to the team stays: teams,
/// playbooks, other people's calls, and audit events naming the user (ids only, kept two
/// years as the record of who did what, including this deletion).
///
/// `by` is the admin deleting them. Refusals come before any change: a legal hold, or the
/// user being a team's last owner. A user who is an admin loses the role through the guarded
/// removal (`by` must still be an admin), so two admins deleting each other leave one.
pub async fn delete_user<S>(
    store: &S,
    tenant: &TenantId,
    user: &UserId,
    by: &UserId,
    now: OffsetDateTime,
) -> Result<Deleted, DeletionError>
where
    S: TenantRepository
        + TeamRepository
        + AdminRepository
        + CallRepository
        + RetentionStore
        + ReceiptBook,
{
    refuse_held_workspace(store, tenant).await?;
    let teams = team_ids(store, tenant).await?;
    let calls = live_calls_where(store, tenant, &teams, |c| &c.rep_id == user).await?;
    let memberships = store.memberships_of_user(tenant, user).await?;
    let known = store.known_users(tenant).await?.contains(user);
    if calls.is_empty() && memberships.is_empty() && !known {
        return Err(DeletionError::NotFound);
    }
    refuse_held(&calls)?;
    for owned in memberships.iter().filter(|m| m.role == Role::Owner) {
        let others = store.members_of_team(tenant, &owned.team_id).await?;
        if !others
            .iter()
            .any(|m| m.role == Role::Owner && &m.user_id != user)
        {
            return Err(DeletionError::LastOwner);
        }
    }
    let asked = Asked {
        tenant,
        subject: Subject {
            kind: SubjectKind::User,
            id: user.to_string(),
        },
        by,
        at: now,
    };
    // The calls first: a hold set on one of them meanwhile stops the deletion there, with
    // the user, their roles and records untouched (only their calls not held are gone, which
    // were to go anyway), and asking again once the hold is lifted finishes it.
    let done = delete_under_ticket(store, asked, calls, async || {
        match store.remove_admin(tenant, user, by).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(StoreError::Conflict) => return Err(DeletionError::Contended),
            Err(e) => return Err(e.into()),
        }
        let mut records = 0;
        for membership in &memberships {
            store
                .remove_membership(tenant, &membership.team_id, user)
                .await?;
            records += 1;
        }
        Ok(records + store.delete_user_records(tenant, user).await?)
    })
    .await?;
    // Ids only; outside the table, so a restored backup can be brought up to date.
    info!(tenant = %tenant, user = %user, calls = done.calls, "user deleted");
    Ok(done)
}

/// Deletes a team: its calls with everything derived from them, its playbook, its
/// memberships and the team itself. The members' own records (progress, usage) stay: they
/// belong to the user, who may be in other teams.
pub async fn delete_team<S>(
    store: &S,
    tenant: &TenantId,
    team: &TeamId,
    by: &UserId,
    now: OffsetDateTime,
) -> Result<Deleted, DeletionError>
where
    S: TenantRepository + TeamRepository + CallRepository + ReceiptBook,
{
    refuse_held_workspace(store, tenant).await?;
    if store.get_team(tenant, team).await?.is_none() {
        return Err(DeletionError::NotFound);
    }
    let calls = live_calls_where(store, tenant, std::slice::from_ref(team), |_| true).await?;
    refuse_held(&calls)?;
    let asked = Asked {
        tenant,
        subject: Subject {
            kind: SubjectKind::Team,
            id: team.to_string(),
        },
        by,
        at: now,
    };
    let done = delete_under_ticket(store, asked, calls, async || {
        Ok(store.delete_team_records(tenant, team).await?)
    })
    .await?;
    info!(tenant = %tenant, team = %team, calls = done.calls, "team deleted");
    Ok(done)
}

/// What asking to delete the workspace did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceDeletion {
    /// Locked at once; the reaper shreds and purges it when the grace period ends, unless an
    /// admin cancels first.
    Pending(DeletionRequest),
    /// No grace period: its data keys are shredded already.
    Shredded,
}

/// The first of the two steps of deleting a workspace: it is locked at once (nothing of it is
/// served) and its keys are shredded only after `grace`, during which any admin can cancel.
/// A grace of zero shreds at once ([`delete_workspace`]). A legal hold refuses it; asking again
/// while a deletion is pending answers that deletion.
pub async fn request_workspace_deletion<S>(
    store: &S,
    tenant: &TenantId,
    by: &UserId,
    now: OffsetDateTime,
    grace: Duration,
) -> Result<WorkspaceDeletion, DeletionError>
where
    S: TenantRepository + CallRepository + RetentionStore + DataKeyStore + AuditLog,
{
    let record = refuse_held_workspace(store, tenant)
        .await?
        .ok_or(DeletionError::NotFound)?;
    match (&record.deletion, record.state) {
        (_, AccountState::Destroyed) => return Err(DeletionError::NotFound),
        (Some(pending), _) => return Ok(WorkspaceDeletion::Pending(pending.clone())),
        _ => {}
    }
    if any_call_held(store, tenant).await? {
        return Err(DeletionError::LegalHold);
    }
    let request = DeletionRequest {
        requested_by: by.clone(),
        requested_at: now,
        shred_at: now + grace.max(Duration::ZERO),
    };
    if grace <= Duration::ZERO || record.state == AccountState::Deleted {
        shred_workspace(store, tenant, Some(request), now).await?;
        return Ok(WorkspaceDeletion::Shredded);
    }
    // Decided on the record as stored when written: a hold set meanwhile still refuses it.
    let done = update_workspace(store, tenant, |record| {
        if record.legal_hold {
            return Err(DeletionError::LegalHold);
        }
        Ok(match (&record.deletion, record.state) {
            (_, AccountState::Destroyed) => return Err(DeletionError::NotFound),
            (_, AccountState::Deleted) => Change::Keep(WorkspaceDeletion::Shredded),
            (Some(pending), _) => Change::Keep(WorkspaceDeletion::Pending(pending.clone())),
            (None, _) => {
                record.deletion = Some(request.clone());
                Change::Write(WorkspaceDeletion::Pending(request.clone()))
            }
        })
    })
    .await?;
    warn!(tenant = %tenant, "workspace deletion requested: locked until its grace period ends");
    Ok(done)
}

/// Withdraws a pending deletion before its grace period ends; the workspace is served again
/// as it was. `NotFound` when none is pending, `Final` once the grace period is over or the
/// reaper has begun (it marks the workspace deleted before it shreds, so a cancellation and
/// the reaper cannot both win).
pub async fn cancel_workspace_deletion<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
    now: OffsetDateTime,
) -> Result<(), DeletionError> {
    update_workspace(store, tenant, |record| {
        let Some(pending) = &record.deletion else {
            return Err(DeletionError::NotFound);
        };
        if record.state.is_gone() || pending.shred_at <= now {
            return Err(DeletionError::Final);
        }
        record.deletion = None;
        Ok(Change::Write(()))
    })
    .await?;
    info!(tenant = %tenant, "workspace deletion cancelled");
    Ok(())
}

/// Deletes the whole workspace: marks it deleted, then shreds every wrapped data key of it,
/// so nothing of it can be decrypted from here on. The reaper's next run purges it physically
/// (P6: within 7 days; the reaper runs hourly). The table's backups still hold the wrapped
/// keys until they age out (35 days): the log line below is what a restore replays.
pub async fn delete_workspace<S>(
    store: &S,
    tenant: &TenantId,
    now: OffsetDateTime,
) -> Result<(), DeletionError>
where
    S: TenantRepository + CallRepository + RetentionStore + DataKeyStore + AuditLog,
{
    shred_workspace(store, tenant, None, now).await
}

/// [`delete_workspace`], recording who asked (when an admin did) for its receipt.
async fn shred_workspace<S>(
    store: &S,
    tenant: &TenantId,
    requested: Option<DeletionRequest>,
    now: OffsetDateTime,
) -> Result<(), DeletionError>
where
    S: TenantRepository + CallRepository + RetentionStore + DataKeyStore + AuditLog,
{
    if any_call_held(store, tenant).await? {
        return Err(DeletionError::LegalHold);
    }
    let deleted_at = update_workspace(store, tenant, |record| {
        if record.legal_hold {
            return Err(DeletionError::LegalHold);
        }
        Ok(match record.state {
            AccountState::Destroyed => return Err(DeletionError::NotFound),
            AccountState::Deleted => Change::Keep(record.state_since.unwrap_or(now)),
            _ => {
                record.state = AccountState::Deleted;
                record.state_since = Some(now);
                if record.deletion.is_none() {
                    record.deletion = requested.clone();
                }
                Change::Write(now)
            }
        })
    })
    .await?;
    let event = AuditEvent::by_system(
        "system",
        tenant,
        "workspace.shredded",
        "workspace",
        &[],
        // When it was marked deleted: a retried request is the same event.
        deleted_at,
    );
    record_once(store, &event).await?;
    shred_keys(store, tenant).await?;
    warn!(tenant = %tenant, "workspace deleted: data keys shredded");
    Ok(())
}

/// Destroys every wrapped data key of the workspace and notes on its record how many went
/// (its receipt says so); a repeated shredding keeps the first count.
pub async fn shred_keys<S>(store: &S, tenant: &TenantId) -> Result<(), StoreError>
where
    S: TenantRepository + DataKeyStore,
{
    let destroyed = store.destroy_data_keys(tenant).await? as u64;
    update_workspace(store, tenant, |record| {
        if record.shredded_keys.is_some() {
            return Ok::<_, StoreError>(Change::Keep(()));
        }
        record.shredded_keys = Some(destroyed);
        Ok(Change::Write(()))
    })
    .await
}

#[cfg(test)]
mod tests {
    /// The tests that shred a workspace run one at a time: the log-line test must not share
    /// the shredding log line's first use with another thread (tracing caches, per callsite,
    /// whether anyone listens).
    static SHREDDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    use crate::domain::SCHEMA_VERSION;
    use time::macros::datetime;

    use super::*;
    use crate::crypto::DataCategory;
    use crate::domain::org::{Membership, Role, Team, Tenant};
    use crate::fakes::kit::seed::seed_data_key;

    use crate::domain::usage::UsageEvent;
    use crate::fakes::{InMemoryBlobStore, InMemoryStore, ManualClock};
    use crate::ports::{BlobStore, IdGenerator, PlaybookRepository, ProgressRepository, UsageLog};
    use crate::system::RandomIds;
    use crate::usecases::calls::{NewCall, create_call};
    use crate::usecases::reaper::{ReapReport, Reaper};

    const NOW: OffsetDateTime = datetime!(2026-11-23 3:00 UTC);

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    /// A workspace with two teams: west (owner, r1, r2) and east (owner, r3); r1 is also in
    /// east. Each rep has one call in each of their teams, progress and a usage event.
    struct Workspace {
        store: InMemoryStore,
        tenant: TenantId,
        west: TeamId,
        east: TeamId,
    }

    impl Workspace {
        async fn new(name: &str) -> Self {
            let store = InMemoryStore::default();
            let tenant = TenantId::parse(name).unwrap();
            store
                .create_tenant(&Tenant::active(tenant.clone(), name, NOW))
                .await
                .unwrap();
            let mut w = Workspace {
                store,
                tenant,
                west: RandomIds.mint(),
                east: RandomIds.mint(),
            };
            w.team(w.west.clone(), &["r1", "r2"]).await;
            w.team(w.east.clone(), &["r1", "r3"]).await;
            for (team, rep) in [
                (w.west.clone(), "r1"),
                (w.west.clone(), "r2"),
                (w.east.clone(), "r1"),
                (w.east.clone(), "r3"),
            ] {
                w.call(&team, rep).await;
            }
            for rep in ["r1", "r2", "r3"] {
                w.store
                    .put_progress(&w.tenant, &user(rep), 0, b"sealed")
                    .await
                    .unwrap();
            }
            w
        }

        async fn team(&mut self, id: TeamId, reps: &[&str]) {
            let team = Team {
                schema_version: SCHEMA_VERSION,
                tenant_id: self.tenant.clone(),
                team_id: id.clone(),
                name: crate::domain::org::SealedName(b"sealed".to_vec()),
                created_at: NOW,
            };
            let member = |who: &str, role| Membership {
                tenant_id: self.tenant.clone(),
                team_id: id.clone(),
                user_id: user(who),
                role,
            };
            self.store
                .create_team(&team, &member("owner", Role::Owner))
                .await
                .unwrap();
            for rep in reps {
                self.store
                    .put_membership(&member(rep, Role::Rep))
                    .await
                    .unwrap();
            }
            self.store
                .put_playbook(&self.tenant, &id, b"sealed playbook")
                .await
                .unwrap();
        }

        async fn call(&self, team: &TeamId, rep: &str) -> Call {
            let new = NewCall {
                team_id: team.clone(),
                rep_id: user(rep),
                call_type: crate::domain::call::CallType::Discovery,
                details: Default::default(),
            };
            let call = create_call(
                &self.store,
                &ManualClock::at(NOW),
                &RandomIds,
                &self.tenant,
                new,
            )
            .await
            .unwrap();
            self.store
                .record_view(&UsageEvent {
                    tenant_id: self.tenant.clone(),
                    user_id: user(rep),
                    call_id: call.call_id.clone(),
                    view: crate::domain::usage::UsageView::Call,
                    at: NOW,
                })
                .await
                .unwrap();
            call
        }

        /// (rep, status) of every call, sorted.
        fn calls(&self) -> Vec<(String, CallStatus)> {
            let mut calls: Vec<_> = self
                .store
                .calls_of_tenant(&self.tenant)
                .into_iter()
                .map(|c| (c.rep_id.as_str().to_owned(), c.status))
                .collect();
            calls.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.as_str().cmp(b.1.as_str())));
            calls
        }

        async fn has_progress(&self, rep: &str) -> bool {
            self.store
                .get_progress(&self.tenant, &user(rep))
                .await
                .unwrap()
                .is_some()
        }

        async fn has_team(&self, team: &TeamId) -> bool {
            let stored = self.store.get_team(&self.tenant, team).await.unwrap();
            stored.is_some()
        }

        async fn has_playbook(&self, team: &TeamId) -> bool {
            let stored = self.store.get_playbook(&self.tenant, team).await.unwrap();
            stored.is_some()
        }

        async fn members(&self, team: &TeamId) -> usize {
            let members = self.store.members_of_team(&self.tenant, team).await;
            members.unwrap().len()
        }

        /// `rep`'s deletion, asked for by an admin.
        async fn delete_user(&self, rep: &str) -> Result<Deleted, DeletionError> {
            delete_user(&self.store, &self.tenant, &user(rep), &user("admin"), NOW).await
        }

        /// How many teams `rep` is a member of.
        async fn teams_of(&self, rep: &str) -> usize {
            let teams = self
                .store
                .memberships_of_user(&self.tenant, &user(rep))
                .await;
            teams.unwrap().len()
        }

        async fn is_admin(&self, who: &str) -> bool {
            let admins = self.store.admins(&self.tenant).await.unwrap();
            admins.contains(&user(who))
        }

        async fn is_known(&self, who: &str) -> bool {
            let known = self.store.known_users(&self.tenant).await.unwrap();
            known.contains(&user(who))
        }

        async fn record(&self) -> Tenant {
            self.store.get_tenant(&self.tenant).await.unwrap().unwrap()
        }

        async fn has_data_key(&self) -> bool {
            let latest = self
                .store
                .latest_data_key(&self.tenant, DataCategory::Transcripts);
            latest.await.unwrap().is_some()
        }

        /// A reaper run at `at`.
        async fn reap_at(&self, blobs: &InMemoryBlobStore, at: OffsetDateTime) -> ReapReport {
            let clock = ManualClock::at(at);
            let signer = crate::fakes::LocalReceiptSigner::default();
            let reaper = Reaper {
                store: &self.store,
                blobs,
                clock: &clock,
                signer: &signer,
            };
            reaper.run(None, false, || true).await.unwrap()
        }

        async fn views(&self, rep: &str) -> usize {
            self.store
                .views_of_user(
                    &self.tenant,
                    &user(rep),
                    NOW,
                    &PageRequest::first(100).unwrap(),
                )
                .await
                .unwrap()
                .items
                .len()
        }
    }

    /// The receipts filed for the workspace, newest first.
    async fn receipts_of(w: &Workspace) -> Vec<crate::domain::receipt::DeletionReceipt> {
        use crate::ports::ReceiptBook;
        let page = PageRequest::first(100).unwrap();
        let filed = w.store.list_receipts(&w.tenant, &page).await.unwrap();
        filed.items.into_iter().map(|r| r.receipt).collect()
    }

    #[tokio::test]
    async fn a_users_deletion_is_receipted_once_its_calls_are_purged_and_only_once() {
        let w = Workspace::new("acme").await;
        let blobs = InMemoryBlobStore::default();
        let done = w.delete_user("r1").await.unwrap();
        // The run purges the calls and, finding them gone, receipts the deletion.
        let report = w.reap_at(&blobs, NOW + Duration::MINUTE).await;
        assert_eq!(report.calls.get("deleted"), Some(&2), "{report:?}");
        let receipts = receipts_of(&w).await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        let receipt = &receipts[0];
        assert_eq!(receipt.receipt_id, done.receipt.as_str());
        assert_eq!(receipt.subject.kind, SubjectKind::User);
        assert_eq!(receipt.subject.id, "r1");
        assert_eq!(receipt.requested_by, Some(user("admin")));
        assert_eq!(receipt.requested_at, NOW);
        // What the request removed itself, and both calls' purges.
        assert_eq!(
            receipt.removed.table_items,
            done.records as u64 + report.table_items,
            "{receipt:?}"
        );
        assert_eq!(
            receipt.unrecoverable_after,
            receipt.completed_at + crate::domain::receipt::TABLE_BACKUP_WINDOW
        );
        w.reap_at(&blobs, NOW + Duration::HOUR * 2).await;
        assert_eq!(receipts_of(&w).await.len(), 1, "signed once");
    }

    #[tokio::test]
    async fn a_deletion_cut_off_midway_is_receipted_once_its_retry_completes_it() {
        let w = Workspace::new("acme").await;
        let blobs = InMemoryBlobStore::default();
        let admin = user("admin");
        let call = w
            .store
            .calls_of_tenant(&w.tenant)
            .into_iter()
            .find(|c| c.rep_id == user("r2"))
            .unwrap();
        // The first attempt opened its ticket and was cut off before it finished.
        let asked = Asked {
            tenant: &w.tenant,
            subject: Subject {
                kind: SubjectKind::User,
                id: "r2".into(),
            },
            by: &admin,
            at: NOW,
        };
        open_ticket(&w.store, asked, std::slice::from_ref(&call.call_id))
            .await
            .unwrap();
        w.reap_at(&blobs, NOW + Duration::HOUR).await;
        assert!(
            receipts_of(&w).await.is_empty(),
            "not receipted while incomplete"
        );
        // The retry resumes the same ticket and completes it.
        let done = w.delete_user("r2").await.unwrap();
        w.reap_at(&blobs, NOW + Duration::HOUR * 2).await;
        let receipts = receipts_of(&w).await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        assert_eq!(receipts[0].receipt_id, done.receipt.as_str());
        assert_eq!(receipts[0].requested_by, Some(admin));
    }

    #[tokio::test]
    async fn a_deletion_a_hold_refused_leaves_no_receipt() {
        let w = Workspace::new("acme").await;
        let blobs = InMemoryBlobStore::default();
        // r2's one call gets a hold while the deletion moves it: nothing is deleted.
        w.store.interleave_next_call_write(|c| c.legal_hold = true);
        assert!(matches!(
            w.delete_user("r2").await,
            Err(DeletionError::LegalHold)
        ));
        assert!(w.has_progress("r2").await, "the user is untouched");
        w.reap_at(&blobs, NOW + Duration::HOUR).await;
        assert!(receipts_of(&w).await.is_empty());
    }

    #[tokio::test]
    async fn deleting_a_user_takes_their_calls_and_records_and_leaves_the_team() {
        let w = Workspace::new("acme").await;
        let done = w.delete_user("r1").await.unwrap();
        assert_eq!(done.calls, 2, "r1's calls in both teams");
        let calls = w.calls();
        assert_eq!(
            calls
                .iter()
                .filter(|(rep, status)| rep == "r1" && *status != CallStatus::Deleted)
                .count(),
            0
        );
        assert_eq!(
            calls
                .iter()
                .filter(|(rep, status)| rep != "r1" && *status == CallStatus::AwaitingUpload)
                .count(),
            2,
            "other reps' calls untouched"
        );
        assert_eq!(w.teams_of("r1").await, 0);
        assert!(!w.has_progress("r1").await && w.views("r1").await == 0);
        assert!(w.has_progress("r2").await && w.views("r2").await == 1);
        assert!(!w.is_known("r1").await);
        // What belongs to the team stays.
        assert!(w.has_team(&w.west).await);
        assert!(w.has_playbook(&w.west).await);
        assert_eq!(w.members(&w.west).await, 2);
        // Done: a repeat finds nothing to delete.
        assert!(matches!(
            w.delete_user("r1").await,
            Err(DeletionError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_legal_hold_on_one_of_the_calls_refuses_the_whole_deletion() {
        let _serial = SHREDDING.lock().await;
        let w = Workspace::new("acme").await;
        let mut held = w
            .store
            .calls_of_tenant(&w.tenant)
            .into_iter()
            .find(|c| c.rep_id.as_str() == "r1")
            .unwrap();
        held.legal_hold = true;
        w.store.save_call(&mut held).await.unwrap();
        let before = w.calls();
        assert!(matches!(
            w.delete_user("r1").await,
            Err(DeletionError::LegalHold)
        ));
        let team = if held.team_id == w.west {
            &w.west
        } else {
            &w.east
        };
        assert!(matches!(
            delete_team(&w.store, &w.tenant, team, &user("admin"), NOW).await,
            Err(DeletionError::LegalHold)
        ));
        assert!(matches!(
            delete_workspace(&w.store, &w.tenant, NOW).await,
            Err(DeletionError::LegalHold)
        ));
        assert_eq!(w.calls(), before, "nothing changed");
        assert!(w.has_progress("r1").await);
        let tenant = w.record().await;
        assert_eq!(tenant.state, AccountState::Active);
    }

    #[tokio::test]
    async fn deleting_a_team_takes_its_calls_playbook_and_memberships_only() {
        let w = Workspace::new("acme").await;
        let done = delete_team(&w.store, &w.tenant, &w.east, &user("admin"), NOW)
            .await
            .unwrap();
        assert_eq!(done.calls, 2);
        assert!(!w.has_team(&w.east).await);
        assert!(!w.has_playbook(&w.east).await);
        assert_eq!(w.members(&w.east).await, 0);
        let live: Vec<_> = w
            .store
            .calls_of_tenant(&w.tenant)
            .into_iter()
            .filter(|c| c.status != CallStatus::Deleted)
            .map(|c| c.team_id)
            .collect();
        assert_eq!(live, vec![w.west.clone(), w.west.clone()]);
        // r1 is still in west; the members' own records stay.
        assert_eq!(w.teams_of("r1").await, 1);
        assert!(w.has_progress("r3").await);
        assert!(matches!(
            delete_team(&w.store, &w.tenant, &w.east, &user("admin"), NOW).await,
            Err(DeletionError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_hold_set_while_a_user_is_deleted_stops_it_with_their_roles_and_records_kept() {
        let w = Workspace::new("acme").await;
        for admin in ["admin", "r1"] {
            w.store
                .add_admin(&w.tenant, &user(admin), None)
                .await
                .unwrap();
        }
        // An owner holds one of r1's calls between the deletion's hold check and its write.
        w.store
            .interleave_next_call_write(|call| call.legal_hold = true);
        let asked = w.delete_user("r1").await;
        assert!(matches!(asked, Err(DeletionError::LegalHold)), "{asked:?}");
        let held: Vec<_> = w
            .store
            .calls_of_tenant(&w.tenant)
            .into_iter()
            .filter(|c| c.rep_id == user("r1") && c.legal_hold)
            .collect();
        assert_eq!(held.len(), 1);
        assert_ne!(held[0].status, CallStatus::Deleted, "the held call stays");
        assert!(w.is_admin("r1").await, "still an admin");
        assert_eq!(w.teams_of("r1").await, 2);
        assert!(w.has_progress("r1").await && w.views("r1").await > 0);

        // Lifted: asking again finishes the deletion.
        let mut lifted = held[0].clone();
        lifted.legal_hold = false;
        w.store.save_call(&mut lifted).await.unwrap();
        w.delete_user("r1").await.unwrap();
        assert!(!w.is_admin("r1").await);
        assert!(!w.has_progress("r1").await);
    }

    #[tokio::test]
    async fn every_deletion_leaves_an_id_only_log_line_for_restores_to_replay() {
        let _serial = SHREDDING.lock().await;
        let logs = crate::fakes::CapturedLogs::default();
        let _guard = logs.during();
        let w = Workspace::new("acme").await;
        w.delete_user("r2").await.unwrap();
        delete_team(&w.store, &w.tenant, &w.east, &user("admin"), NOW)
            .await
            .unwrap();
        delete_workspace(&w.store, &w.tenant, NOW).await.unwrap();
        let lines: Vec<serde_json::Value> = logs
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let find = |message: &str| {
            lines
                .iter()
                .find(|l| l["fields"]["message"] == message)
                .unwrap_or_else(|| panic!("no {message:?} line in {lines:?}"))
        };
        assert_eq!(find("user deleted")["fields"]["user"], "r2");
        assert_eq!(find("team deleted")["fields"]["team"], w.east.as_str());
        let shredded = find("workspace deleted: data keys shredded");
        assert_eq!(shredded["fields"]["tenant"], "acme");
        assert_eq!(shredded["level"], "WARN");
    }

    #[tokio::test]
    async fn a_deleted_workspace_is_shredded_at_once_and_purged_by_the_next_reaper_run() {
        let _serial = SHREDDING.lock().await;
        let w = Workspace::new("acme").await;
        seed_data_key(&w.store, &w.tenant, DataCategory::Transcripts, 1, NOW).await;
        delete_workspace(&w.store, &w.tenant, NOW).await.unwrap();
        assert!(!w.has_data_key().await, "shredded at once");
        let record = w.record().await;
        assert_eq!(
            (record.state, record.state_since),
            (AccountState::Deleted, Some(NOW))
        );
        // A retry is harmless and records the shredding once.
        delete_workspace(&w.store, &w.tenant, NOW).await.unwrap();
        let shredded = |store: &InMemoryStore| {
            store
                .audit_events()
                .iter()
                .filter(|e| e.action == "workspace.shredded")
                .count()
        };
        assert_eq!(shredded(&w.store), 1);

        let blobs = InMemoryBlobStore::default();
        // An export the API could not finish before the deletion.
        let export = format!("exports/{}/unfinished.json", w.tenant);
        let upload = blobs
            .start_parts(&export, "application/json")
            .await
            .unwrap();
        blobs.put_part(&upload, 1, b"{".to_vec()).await.unwrap();
        let report = w.reap_at(&blobs, NOW + Duration::HOUR).await;
        assert_eq!(report.accounts_destroyed, 1);
        assert_eq!(blobs.open_uploads(), 0, "its unfinished export is aborted");
        assert!(w.store.calls_of_tenant(&w.tenant).is_empty());
        assert!(w.store.teams_of_tenant(&w.tenant).await.unwrap().is_empty());
        assert!(w.store.known_users(&w.tenant).await.unwrap().is_empty());
        for rep in ["r1", "r2", "r3"] {
            assert!(!w.has_progress(rep).await && w.views(rep).await == 0);
        }
        assert!(!w.has_playbook(&w.west).await);
        let record = w.record().await;
        assert_eq!(record.state, AccountState::Destroyed);
        // The audit trail stays: the proof of the deletion.
        assert_eq!(shredded(&w.store), 1);
    }

    #[tokio::test]
    async fn a_requested_deletion_locks_at_once_can_be_cancelled_and_shreds_only_after_its_grace() {
        let _serial = SHREDDING.lock().await;
        let w = Workspace::new("acme").await;
        seed_data_key(&w.store, &w.tenant, DataCategory::Transcripts, 1, NOW).await;
        let grace = Duration::hours(72);
        let admin = user("admin");
        let asked = request_workspace_deletion(&w.store, &w.tenant, &admin, NOW, grace)
            .await
            .unwrap();
        let WorkspaceDeletion::Pending(pending) = asked else {
            panic!("{asked:?}")
        };
        assert_eq!(pending.shred_at, NOW + grace);
        let record = w.record().await;
        assert!(record.is_closed(), "locked at once");
        assert!(
            w.has_data_key().await,
            "not shredded during the grace period"
        );
        // Asking again answers the same pending deletion.
        let again =
            request_workspace_deletion(&w.store, &w.tenant, &admin, NOW + Duration::HOUR, grace)
                .await
                .unwrap();
        assert_eq!(again, WorkspaceDeletion::Pending(pending.clone()));

        // A reaper run inside the grace period destroys nothing; cancelling restores it all.
        let blobs = InMemoryBlobStore::default();
        let run_at = async |at| w.reap_at(&blobs, at).await;
        let early = run_at(NOW + grace - Duration::SECOND).await;
        assert_eq!(early.accounts_destroyed, 0);
        cancel_workspace_deletion(&w.store, &w.tenant, NOW + Duration::HOUR)
            .await
            .unwrap();
        let record = w.record().await;
        assert!(!record.is_closed() && record.state == AccountState::Active);
        assert!(matches!(
            cancel_workspace_deletion(&w.store, &w.tenant, NOW).await,
            Err(DeletionError::NotFound)
        ));

        // Asked again and left alone: final at the end of the grace period, destroyed by the
        // next run.
        request_workspace_deletion(&w.store, &w.tenant, &admin, NOW, grace)
            .await
            .unwrap();
        assert!(matches!(
            cancel_workspace_deletion(&w.store, &w.tenant, NOW + grace).await,
            Err(DeletionError::Final)
        ));
        let due = run_at(NOW + grace).await;
        assert_eq!(due.accounts_destroyed, 1);
        assert!(!w.has_data_key().await, "shredded");
        let record = w.record().await;
        assert_eq!(record.state, AccountState::Destroyed);
        assert!(w.store.calls_of_tenant(&w.tenant).is_empty());
    }

    #[tokio::test]
    async fn no_grace_shreds_at_once_and_a_legal_hold_refuses_the_request() {
        let _serial = SHREDDING.lock().await;
        let w = Workspace::new("acme").await;
        let mut record = w.record().await;
        record.legal_hold = true;
        w.store.update_tenant(&record).await.unwrap();
        let admin = user("admin");
        assert!(matches!(
            request_workspace_deletion(&w.store, &w.tenant, &admin, NOW, Duration::hours(72)).await,
            Err(DeletionError::LegalHold)
        ));
        let mut record = w.record().await;
        record.legal_hold = false;
        w.store.update_tenant(&record).await.unwrap();
        let done = request_workspace_deletion(&w.store, &w.tenant, &admin, NOW, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(done, WorkspaceDeletion::Shredded);
        let record = w.record().await;
        assert_eq!(record.state, AccountState::Deleted);
    }

    #[tokio::test]
    async fn a_deletion_request_racing_a_legal_hold_keeps_the_hold_and_is_refused() {
        let _serial = SHREDDING.lock().await;
        let w = Workspace::new("acme").await;
        // An admin sets the workspace's legal hold between this request's read and its write.
        w.store
            .interleave_next_tenant_write(|record| record.legal_hold = true);
        let asked = request_workspace_deletion(
            &w.store,
            &w.tenant,
            &user("admin"),
            NOW,
            Duration::hours(72),
        )
        .await;
        assert!(matches!(asked, Err(DeletionError::LegalHold)), "{asked:?}");
        let record = w.record().await;
        assert!(record.legal_hold, "the hold is kept, not overwritten");
        assert!(record.deletion.is_none(), "and nothing is pending");
    }
}
