//! The retention reaper: deletes exactly what each workspace's retention windows say has
//! expired, with its cascade, and what users deleted.
//!
//! Per tenant (skipped whole under a workspace legal hold), three sweeps over the age indexes:
//! - `deleted`: calls a user deleted, purged on the first run after the deletion;
//! - `calls`: live calls older than the workspace's transcript/coaching window (the shorter of
//!   `transcripts_days` and `analyses_days`; none set means "for the account's life");
//! - `recordings`: raw uploads `recordings_days_after_transcription` after their transcription.
//!
//! A call is due when `since + window <= now` (an item expiring exactly now is deleted). A call
//! under legal hold is skipped and stays indexed. Purging a call: audit event first, then every
//! object version under its upload and document prefixes, then its table items with the call
//! item last, so a run killed anywhere is resumed by the next one from the index. The audit
//! event's id and time are derived from the call and its due moment, so a rerun cannot write it
//! twice. The run checks its deadline before each call and reports `finished: false` when it
//! stopped early; the next scheduled run continues. A dry run reads the same indexes and
//! reports what it would delete, changing nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use crate::crypto::DataKeyStore;
use crate::domain::audit::AuditEvent;
use crate::domain::audit::derived_id;
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::Tenant;
use crate::domain::receipt::{
    DeletionReceipt, KEYS_BACKUP_WINDOW, Removed, Subject, SubjectKind, TABLE_BACKUP_WINDOW,
};
use crate::domain::retention::{AccountState, RetentionPolicy};
use crate::ids::TenantId;
use crate::keys::{call_prefixes, upload_prefix};
use crate::ports::{
    AgeIndex, AgeMark, AuditLog, BlobError, BlobStore, CallRepository, Clock, DueCall,
    ExpiringRecords, ExportJobRepository, QuotaStore, ReceiptBook, ReceiptSigner, RetentionStore,
    StoreError, TeamRepository, TenantRepository,
};
use crate::usecases::audit_trail::record_once;
use crate::usecases::call_lifecycle::{CallLifecycle, Mover};
use crate::usecases::deletion::{IndexWalk, any_call_held, every_call, shred_keys};
use crate::usecases::receipts::{ReceiptIssueError, close_tickets, issue, reaper_receipt};
use crate::usecases::workspace::{Change, update_workspace};

/// Calls read from an index per request.
const PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ReapError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("a deletion receipt could not be issued")]
    Receipt(#[from] ReceiptIssueError),
    #[error("the object store failed")]
    Blob(#[from] BlobError),
}

/// How far one destruction got.
enum Destruction {
    Done,
    /// Something changed the record first (a cancellation, a re-activation, a hold).
    Kept,
    /// The deadline came; the next run goes on.
    Unfinished,
}

/// What a run did (or, in a dry run, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReapReport {
    pub dry_run: bool,
    pub tenants: usize,
    /// Calls purged, by the index that made them due.
    pub calls: BTreeMap<&'static str, u64>,
    pub table_items: u64,
    pub object_versions: u64,
    /// Calls (or whole workspaces) left alone because of a legal hold.
    pub held: u64,
    /// Cancelled or suspended workspaces past their cut-off, shredded and purged.
    pub accounts_destroyed: u64,
    /// Now minus the due moment of the most overdue item handled, in seconds.
    pub oldest_lateness_seconds: Option<i64>,
    /// Usage and audit events deleted at the end of their own retention (not in a dry run).
    pub records: BTreeMap<&'static str, u64>,
    /// Workspaces the run could not finish for an error (tried again next run).
    pub failed_tenants: u64,
    /// False when the run stopped at its deadline; the next run continues.
    pub finished: bool,
}

impl ReapReport {
    fn saw_lateness(&mut self, seconds: i64) {
        self.oldest_lateness_seconds = Some(self.oldest_lateness_seconds.unwrap_or(0).max(seconds));
    }
}

/// The window after which an index's entries are due; `None` means they never expire.
pub fn window(policy: &RetentionPolicy, index: AgeIndex) -> Option<Duration> {
    let days = |d: u32| Duration::days(i64::from(d));
    match index {
        AgeIndex::Deleted => Some(Duration::ZERO),
        AgeIndex::Calls => match (policy.transcripts_days, policy.analyses_days) {
            (None, None) => None,
            (a, b) => Some(days(a.unwrap_or(u32::MAX).min(b.unwrap_or(u32::MAX)))),
        },
        AgeIndex::Recordings => Some(days(policy.recordings_days_after_transcription)),
        // Not a retention index: the transcription sweep reads it.
        AgeIndex::Waiting => None,
    }
}

pub struct Reaper<'a, S, B, C, R> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub clock: &'a C,
    /// Signs the receipt of each deletion the reaper completes.
    pub signer: &'a R,
}

/// The table items and object versions a report has counted so far.
fn counted(report: &ReapReport) -> Removed {
    Removed {
        table_items: report.table_items,
        object_versions: report.object_versions,
        data_keys: 0,
    }
}

/// What was counted since `before`.
fn counted_since(before: &Removed, report: &ReapReport) -> Removed {
    Removed {
        table_items: report.table_items - before.table_items,
        object_versions: report.object_versions - before.object_versions,
        data_keys: 0,
    }
}

impl<S, B, C, R> Reaper<'_, S, B, C, R>
where
    S: RetentionStore
        + TenantRepository
        + TeamRepository
        + CallRepository
        + QuotaStore
        + ExportJobRepository
        + AuditLog
        + DataKeyStore
        + ReceiptBook,
    B: BlobStore,
    C: Clock,
    R: ReceiptSigner,
{
    /// Sweeps `tenants`, or every tenant when `None`, while `has_time()` holds.
    ///
    /// A scheduled run over every tenant starts after the tenant the previous run stopped in
    /// (the store keeps that point), so a workspace too large to finish in one run cannot
    /// keep the others waiting: each gets its turn, and the large one continues where it
    /// stood when the rotation comes back to it. A run that gets through every tenant clears
    /// the point. Dry runs neither read nor move it.
    pub async fn run(
        &self,
        tenants: Option<&[TenantId]>,
        dry_run: bool,
        has_time: impl Fn() -> bool,
    ) -> Result<ReapReport, ReapError> {
        let rotating = tenants.is_none() && !dry_run;
        let mut tenants = match tenants {
            Some(list) => list.to_vec(),
            None => self.store.tenant_ids().await?,
        };
        if rotating && let Some(stopped_in) = self.store.reaper_resume_point().await? {
            tenants.sort();
            let after = tenants.partition_point(|t| t <= &stopped_in);
            tenants.rotate_left(after);
        }
        let mut report = ReapReport {
            dry_run,
            finished: true,
            ..ReapReport::default()
        };
        let now = self.clock.now();
        for tenant_id in &tenants {
            match self
                .reap_tenant(tenant_id, now, dry_run, &has_time, &mut report)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    report.finished = false;
                    if rotating {
                        self.store.set_reaper_resume_point(Some(tenant_id)).await?;
                    }
                    return Ok(report);
                }
                // One workspace's failure (an outage of its objects, a corrupt item) must not
                // stop the others; it is tried again next run, and counted for the alarm.
                Err(error) => {
                    warn!(tenant = %tenant_id, error = %crate::telemetry::Chain(&error), "the reaper could not finish a workspace; it goes on with the others");
                    report.failed_tenants += 1;
                    report.finished = false;
                }
            }
        }
        if rotating {
            self.store.set_reaper_resume_point(None).await?;
        }
        Ok(report)
    }

    /// Everything due in one workspace; false when the deadline stopped it.
    async fn reap_tenant(
        &self,
        tenant_id: &TenantId,
        now: OffsetDateTime,
        dry_run: bool,
        has_time: &impl Fn() -> bool,
        report: &mut ReapReport,
    ) -> Result<bool, ReapError> {
        let Some(tenant) = self.store.get_tenant(tenant_id).await? else {
            return Ok(true);
        };
        report.tenants += 1;
        if tenant.legal_hold {
            report.held += 1;
            return Ok(true);
        }
        if !dry_run
            && !self
                .expire_records(tenant_id, now, has_time, report)
                .await?
        {
            return Ok(false);
        }
        if tenant.state == AccountState::Destroyed {
            return Ok(true);
        }
        if let Some(due) = tenant.destruction_due()
            && due <= now
        {
            if !has_time() {
                return Ok(false);
            }
            if any_call_held(self.store, &tenant.tenant_id).await? {
                report.held += 1;
                return Ok(true);
            }
            if !dry_run {
                match self.destroy(tenant, due, now, has_time, report).await? {
                    Destruction::Kept => return Ok(true),
                    Destruction::Unfinished => return Ok(false),
                    Destruction::Done => {}
                }
            }
            report.accounts_destroyed += 1;
            report.saw_lateness((now - due).whole_seconds());
            return Ok(true);
        }
        let mut expired = Removed::default();
        let mut deleted_swept = false;
        let swept = async {
            for index in AgeIndex::RETENTION {
                let Some(window) = window(&tenant.retention, index) else {
                    continue;
                };
                let before = counted(report);
                let swept = self
                    .sweep(&tenant, index, window, now, dry_run, has_time, report)
                    .await;
                if index != AgeIndex::Deleted {
                    expired.add(&counted_since(&before, report));
                }
                let swept = swept?;
                deleted_swept |= index == AgeIndex::Deleted && swept;
                if !swept {
                    return Ok::<_, ReapError>(false);
                }
            }
            Ok(true)
        }
        .await;
        // What expired is receipted even when a later step failed: it is gone either way.
        if !dry_run && !expired.is_empty() {
            self.receipt_for_retention(tenant_id, now, expired).await?;
        }
        let finished = swept?;
        if deleted_swept && !dry_run {
            // Every call deleted before this run is purged now: the tickets waiting for them
            // get their receipts (after the sweeps, so a failure here holds none of them up).
            close_tickets(self.store, self.signer, tenant_id, self.clock.now()).await?;
        }
        Ok(finished)
    }

    /// The receipt of what the workspace's retention windows expired in this run.
    async fn receipt_for_retention(
        &self,
        tenant_id: &TenantId,
        run_at: OffsetDateTime,
        removed: Removed,
    ) -> Result<(), ReapError> {
        let run = run_at.unix_timestamp().to_string();
        let id = derived_id(&["retention", tenant_id.as_str(), &run]);
        let subject = Subject {
            kind: SubjectKind::RetentionPurge,
            id: format!("retention-{run}"),
        };
        let receipt = reaper_receipt(id, tenant_id, subject, run_at, removed, self.clock.now());
        issue(self.store, self.signer, receipt).await?;
        Ok(())
    }

    /// One index of one tenant; false when the deadline stopped it.
    #[allow(clippy::too_many_arguments)]
    async fn sweep(
        &self,
        tenant: &Tenant,
        index: AgeIndex,
        window: Duration,
        now: OffsetDateTime,
        dry_run: bool,
        has_time: &impl Fn() -> bool,
        report: &mut ReapReport,
    ) -> Result<bool, ReapError> {
        let indexes = [index];
        let mut walk = IndexWalk::new(self.store, &tenant.tenant_id, &indexes, now - window);
        while let Some(page) = walk.next_page().await? {
            for entry in page {
                if !has_time() {
                    return Ok(false);
                }
                let due_at = entry.since + window;
                if self
                    .handle(tenant, index, &entry, due_at, dry_run, report)
                    .await?
                {
                    *report.calls.entry(index.as_str()).or_default() += 1;
                    report.saw_lateness((now - due_at).whole_seconds());
                }
            }
        }
        Ok(true)
    }

    /// Deletes usage and audit events whose own retention ended; false when the deadline
    /// stopped it. One audit event per kind and run records that a batch went.
    async fn expire_records(
        &self,
        tenant_id: &TenantId,
        now: OffsetDateTime,
        has_time: &impl Fn() -> bool,
        report: &mut ReapReport,
    ) -> Result<bool, ReapError> {
        for kind in ExpiringRecords::ALL {
            let mut deleted = 0;
            loop {
                let n = self
                    .store
                    .delete_expired(tenant_id, kind, now, PAGE)
                    .await?;
                deleted += n as u64;
                if n < PAGE {
                    break;
                }
                // Only a full batch means more may be due; the deadline is checked then.
                if !has_time() {
                    return Ok(false);
                }
            }
            if deleted > 0 {
                *report.records.entry(kind.as_str()).or_default() += deleted;
                let action = format!("retention.{}_expired", kind.as_str());
                let now_text = now.unix_timestamp().to_string();
                self.audit(tenant_id, &action, kind.as_str(), &now_text, now)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Appends a reaper audit event; `identity` makes this occurrence unique, so a rerun
    /// writes the same id and records it once.
    async fn audit(
        &self,
        tenant_id: &TenantId,
        action: &str,
        object: &str,
        identity: &str,
        at: OffsetDateTime,
    ) -> Result<(), ReapError> {
        let event = AuditEvent::by_system("reaper", tenant_id, action, object, &[identity], at);
        Ok(record_once(self.store, &event).await?)
    }

    /// Every object version under the call's prefixes, then its table items (call item last);
    /// what went.
    async fn purge_call(
        &self,
        tenant_id: &TenantId,
        call: &crate::ids::CallId,
        report: &mut ReapReport,
    ) -> Result<Removed, ReapError> {
        let before = counted(report);
        for prefix in call_prefixes(tenant_id, call) {
            report.object_versions += self.blobs.purge_prefix(&prefix).await? as u64;
        }
        report.table_items += self.store.delete_call_items(tenant_id, call).await? as u64;
        Ok(counted_since(&before, report))
    }

    /// Destroys a workspace past its cut-off: audit event, every wrapped data key (everything
    /// encrypted for it, backups included, is unreadable from here), every call with its items
    /// and objects, its teams (memberships, playbooks), its users' records (progress, usage),
    /// every object under its prefixes, then the record becomes a tombstone. Each step is
    /// idempotent, and the tombstone is written last, so a run killed midway is finished by
    /// the next. Audit events stay for their own two years (ids only: the proof of deletion).
    ///
    /// It begins by marking the workspace deleted, a write that holds only if nothing changed
    /// the record since it was found due: an admin's cancellation, a re-activation or a legal
    /// hold that came first wins, and nothing is destroyed (false).
    async fn destroy(
        &self,
        tenant: Tenant,
        due: OffsetDateTime,
        now: OffsetDateTime,
        has_time: &impl Fn() -> bool,
        report: &mut ReapReport,
    ) -> Result<Destruction, ReapError> {
        let tenant_id = tenant.tenant_id.clone();
        let before = counted(report);
        let claimed = update_workspace(self.store, &tenant_id, |record| {
            let still_due = record.destruction_due().is_some_and(|d| d <= now);
            if record.state == AccountState::Destroyed || record.legal_hold || !still_due {
                return Ok::<_, ReapError>(Change::Keep(false));
            }
            if record.state == AccountState::Deleted {
                return Ok(Change::Keep(true));
            }
            record.state = AccountState::Deleted;
            record.state_since = Some(due);
            Ok(Change::Write(true))
        })
        .await?;
        if !claimed {
            return Ok(Destruction::Kept);
        }
        let action = "retention.account_destroyed";
        let due_text = due.unix_timestamp().to_string();
        self.audit(&tenant_id, action, "workspace", &due_text, due)
            .await?;
        // Shredded already when an admin's deletion had no grace period (or a run before this
        // one got this far): the record says when.
        let keys_shredded_at = match tenant.state {
            AccountState::Deleted => tenant.state_since.unwrap_or(now),
            _ => now,
        };
        shred_keys(self.store, &tenant_id).await?;
        let indexes = [AgeIndex::Calls, AgeIndex::Deleted];
        let mut walk = IndexWalk::new(self.store, &tenant_id, &indexes, every_call());
        while let Some(page) = walk.next_page().await? {
            for entry in page {
                // Marked deleted and keys shredded already: the next run goes on from here.
                if !has_time() {
                    return Ok(Destruction::Unfinished);
                }
                self.purge_call(&tenant_id, &entry.call_id, report).await?;
            }
        }
        for team in self.store.teams_of_tenant(&tenant_id).await? {
            report.table_items += self
                .store
                .delete_team_records(&tenant_id, &team.team_id)
                .await? as u64;
        }
        for user in self.store.known_users(&tenant_id).await? {
            report.table_items += self.store.delete_user_records(&tenant_id, &user).await? as u64;
        }
        report.table_items += self.store.delete_quota_counters(&tenant_id).await? as u64;
        report.table_items += self.store.delete_export_jobs(&tenant_id).await? as u64;
        for prefix in crate::keys::tenant_prefixes(&tenant_id) {
            self.blobs.abort_unfinished(&prefix).await?;
            report.object_versions += self.blobs.purge_prefix(&prefix).await? as u64;
        }
        report.table_items += self.store.discard_tickets(&tenant_id).await? as u64;
        self.receipt_for_destruction(&tenant_id, keys_shredded_at, counted_since(&before, report))
            .await?;
        update_workspace(self.store, &tenant_id, |record| {
            record.state = AccountState::Destroyed;
            Ok::<_, ReapError>(Change::Write(()))
        })
        .await?;
        warn!(tenant = %tenant_id, "workspace destroyed after its cut-off");
        Ok(Destruction::Done)
    }

    /// The receipt of a workspace's destruction, signed before its record becomes a tombstone
    /// (so a run killed between the two signs it again, and the first one filed stands). Until
    /// call metadata is sealed, the table's backups hold some of it in plaintext: the receipt
    /// names the end of the table's recovery window, not only the keys table's.
    async fn receipt_for_destruction(
        &self,
        tenant_id: &TenantId,
        keys_shredded_at: OffsetDateTime,
        mut removed: Removed,
    ) -> Result<(), ReapError> {
        let record = self
            .store
            .get_tenant(tenant_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        removed.data_keys = record.shredded_keys.unwrap_or(0);
        let requested_at = record
            .deletion
            .as_ref()
            .map_or(keys_shredded_at, |d| d.requested_at);
        let id = derived_id(&["workspace", tenant_id.as_str()]);
        let subject = Subject {
            kind: SubjectKind::Workspace,
            id: tenant_id.to_string(),
        };
        let now = self.clock.now();
        let receipt = DeletionReceipt {
            requested_by: record.deletion.map(|d| d.requested_by),
            keys_shredded_at: Some(keys_shredded_at),
            unrecoverable_after: (keys_shredded_at + KEYS_BACKUP_WINDOW)
                .max(now + TABLE_BACKUP_WINDOW),
            ..reaper_receipt(id, tenant_id, subject, requested_at, removed, now)
        };
        issue(self.store, self.signer, receipt).await?;
        Ok(())
    }

    /// Whether a due entry's call may go now.
    fn decide(index: AgeIndex, call: &Call) -> Claim {
        if call.legal_hold {
            return Claim::Held;
        }
        let transcribed = matches!(
            call.status,
            CallStatus::Transcribed | CallStatus::Scoring | CallStatus::Scored
        );
        if index == AgeIndex::Recordings && !transcribed {
            // A newer upload is on its way; its transcription writes a fresh mark.
            return Claim::Moved;
        }
        Claim::Taken
    }

    /// Counts an entry kept for now; true when a dry run would delete it.
    fn count_kept(&self, claim: Claim, report: &mut ReapReport) -> bool {
        match claim {
            Claim::Held => {
                report.held += 1;
                false
            }
            Claim::Moved => false,
            Claim::Taken => true,
        }
    }

    /// Deletes what one due entry covers; false when a hold (or a newer upload) keeps it.
    async fn handle(
        &self,
        tenant: &Tenant,
        index: AgeIndex,
        entry: &DueCall,
        due_at: OffsetDateTime,
        dry_run: bool,
        report: &mut ReapReport,
    ) -> Result<bool, ReapError> {
        let tenant_id = &tenant.tenant_id;
        let call = self.store.get_call(tenant_id, &entry.call_id).await?;
        let first_look = match &call {
            Some(c) => Self::decide(index, c),
            None => Claim::Taken,
        };
        if first_look != Claim::Taken || dry_run {
            return Ok(self.count_kept(first_look, report));
        }
        // The call is claimed before anything of it goes, with a write at the version read: a
        // hold set (or a newer upload begun) since the look above makes the write fail, and
        // the decision is made again from the stored call. An expired call moves to
        // `deleted` (no hold can be set on it afterwards); a call's recording loses its
        // upload key (a hold set afterwards came after the deletion).
        if let Some(mut claimed) = call.clone() {
            let at = self.clock.now();
            let claim = CallLifecycle::new(self.store, Mover::Reaper)
                .update(&mut claimed, |c| {
                    let decision = Self::decide(index, c);
                    if decision != Claim::Taken {
                        return Ok::<_, StoreError>(Change::Keep(decision));
                    }
                    match index {
                        AgeIndex::Calls if c.status != CallStatus::Deleted => {
                            c.transition(CallStatus::Deleted, at)
                                .map_err(|_| StoreError::StaleTransition { expected: c.status })?;
                        }
                        AgeIndex::Recordings if c.upload_key.is_some() => c.upload_key = None,
                        _ => return Ok(Change::Keep(Claim::Taken)),
                    }
                    Ok(Change::Write(Claim::Taken))
                })
                .await;
            match claim {
                Ok(Claim::Taken) | Err(StoreError::NotFound) => {}
                Ok(kept) => return Ok(self.count_kept(kept, report)),
                Err(error) => return Err(error.into()),
            }
        }
        let action = match index {
            AgeIndex::Recordings => "retention.recording_deleted",
            AgeIndex::Calls => "retention.call_expired",
            AgeIndex::Deleted => "retention.deleted_call_purged",
            // Has no retention window, so the reaper never sweeps it.
            AgeIndex::Waiting => return Ok(false),
        };
        let object = format!("call/{}", entry.call_id);
        let due_text = due_at.unix_timestamp().to_string();
        self.audit(tenant_id, action, &object, &due_text, due_at)
            .await?;
        if index == AgeIndex::Recordings {
            let uploads = upload_prefix(tenant_id, &entry.call_id);
            report.object_versions += self.blobs.purge_prefix(&uploads).await? as u64;
            self.store
                .clear_aging_mark(tenant_id, &entry.call_id, AgeMark::Recording)
                .await?;
            report.table_items += 1;
        } else {
            let removed = self.purge_call(tenant_id, &entry.call_id, report).await?;
            // A call someone deleted (maybe reached through its age first) is noted for the
            // receipt of the deletion that asked for it.
            let asked_for = call
                .as_ref()
                .is_some_and(|c| c.status == CallStatus::Deleted);
            if index == AgeIndex::Deleted || asked_for {
                // For the receipt of the deletion that asked for it.
                self.store
                    .record_purge(tenant_id, &entry.call_id, &removed, self.clock.now())
                    .await?;
            }
        }
        info!(tenant = %tenant_id, call = %entry.call_id, index = index.as_str(), "retention deletion done");
        if call.is_none() {
            warn!(tenant = %tenant_id, call = %entry.call_id, "index entry without its call removed");
        }
        Ok(true)
    }
}

/// What the reaper may do with a due entry's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Taken,
    Held,
    /// A newer upload replaced the recording that aged.
    Moved,
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;
    use crate::crypto::{DataCategory, DataKeyStore};
    use crate::domain::call::{Call, CallStatus};
    use crate::domain::org::Tenant;
    use crate::fakes::kit::rig::FakePorts;
    use crate::fakes::kit::seed::{seed_data_key, tenant_keeping_transcripts};
    use crate::fakes::{InMemoryBlobStore, InMemoryStore, ManualClock};
    use crate::ids::CallId;
    use crate::ports::Clock;
    use crate::system::RandomIds;
    use crate::usecases::calls::create_call;

    const NOW: OffsetDateTime = datetime!(2026-11-23 3:00 UTC);

    crate::rig_over_fake_ports!(
        struct Rig {}
    );

    impl Rig {
        fn new() -> Self {
            Self {
                ports: FakePorts::at(NOW),
            }
        }

        async fn tenant(&self, name: &str, transcripts_days: Option<u32>, hold: bool) -> TenantId {
            let tenant_id = TenantId::parse(name).unwrap();
            self.store
                .create_tenant(&Tenant {
                    legal_hold: hold,
                    ..tenant_keeping_transcripts(tenant_id.clone(), name, transcripts_days, NOW)
                })
                .await
                .unwrap();
            tenant_id
        }

        /// A call created at `created`, with an upload and a large document in the bucket.
        async fn call(&self, tenant: &TenantId, created: OffsetDateTime) -> Call {
            let clock = ManualClock::at(created);
            let new = crate::fakes::sample_new_call();
            let call = create_call(&self.store, &clock, &RandomIds, tenant, new)
                .await
                .unwrap();
            for key in [
                format!("uploads/{tenant}/{}/call.vtt", call.call_id),
                format!("documents/{tenant}/{}/transcript/v1", call.call_id),
            ] {
                self.blobs.put(&key, b"x".to_vec(), "x").await.unwrap();
            }
            call
        }

        fn reaper(
            &self,
        ) -> Reaper<
            '_,
            InMemoryStore,
            InMemoryBlobStore,
            Arc<ManualClock>,
            crate::fakes::LocalReceiptSigner,
        > {
            Reaper {
                store: &self.store,
                blobs: &self.blobs,
                clock: &self.clock,
                signer: &self.signer,
            }
        }

        async fn exists(&self, call: &Call) -> bool {
            self.store
                .get_call(&call.tenant_id, &call.call_id)
                .await
                .unwrap()
                .is_some()
        }

        fn objects_of(&self, call: &CallId) -> usize {
            self.blobs
                .keys()
                .iter()
                .filter(|k| k.contains(call.as_str()))
                .count()
        }
    }

    #[tokio::test]
    async fn exactly_the_expired_calls_go_with_their_objects() {
        let rig = Rig::new();
        let short = rig.tenant("short", Some(30), false).await;
        let forever = rig.tenant("forever", None, false).await;
        let window = Duration::days(30);
        let before = rig.call(&short, NOW - window - Duration::SECOND).await;
        let exactly = rig.call(&short, NOW - window).await;
        let after = rig.call(&short, NOW - window + Duration::SECOND).await;
        let ancient = rig.call(&forever, NOW - Duration::days(3000)).await;

        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert!(report.finished);
        assert_eq!(report.calls.get("calls"), Some(&2));
        assert!(!rig.exists(&before).await && !rig.exists(&exactly).await);
        assert!(rig.exists(&after).await && rig.exists(&ancient).await);
        assert_eq!(rig.objects_of(&before.call_id), 0);
        assert_eq!(rig.objects_of(&after.call_id), 2);
        assert_eq!(report.oldest_lateness_seconds, Some(1));

        let again = rig.reaper().run(None, false, || true).await.unwrap();
        assert!(again.calls.is_empty(), "a second run deletes nothing");
        // One receipt of the run's purge, of what went, verifiable with the signer's key.
        let receipts = receipts_of(&rig, &short).await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        let receipt = &receipts[0].receipt;
        assert_eq!(receipt.subject.kind, SubjectKind::RetentionPurge);
        assert_eq!(receipt.requested_by, None);
        assert_eq!(receipt.removed.object_versions, report.object_versions);
        assert_eq!(receipt.removed.table_items, report.table_items);
        let file = serde_json::to_vec(&receipts[0]).unwrap();
        let key = rig.signer.public_key_der();
        crate::domain::receipt::verify(&file, &key).expect("signed by the reaper's key");
        assert!(
            receipts_of(&rig, &forever).await.is_empty(),
            "nothing went there"
        );
    }

    async fn receipts_of(
        rig: &Rig,
        tenant: &TenantId,
    ) -> Vec<crate::domain::receipt::SignedReceipt> {
        let page = crate::ports::PageRequest::first(100).unwrap();
        rig.store.list_receipts(tenant, &page).await.unwrap().items
    }

    #[tokio::test]
    async fn legal_holds_keep_a_workspace_or_a_call() {
        let rig = Rig::new();
        let held = rig.tenant("held", Some(30), true).await;
        let open = rig.tenant("open", Some(30), false).await;
        let old = NOW - Duration::days(90);
        let in_held_workspace = rig.call(&held, old).await;
        let mut held_call = rig.call(&open, old).await;
        held_call.legal_hold = true;
        rig.store.save_call(&mut held_call).await.unwrap();
        let free = rig.call(&open, old).await;

        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.held, 2);
        assert!(rig.exists(&in_held_workspace).await && rig.exists(&held_call).await);
        assert!(!rig.exists(&free).await);
    }

    #[tokio::test]
    async fn a_dry_run_reports_and_changes_nothing() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", Some(30), false).await;
        let old = rig.call(&tenant, NOW - Duration::days(31)).await;
        let report = rig.reaper().run(None, true, || true).await.unwrap();
        assert_eq!(report.calls.get("calls"), Some(&1));
        assert!(report.dry_run);
        assert!(rig.exists(&old).await);
        assert_eq!(rig.objects_of(&old.call_id), 2);
        assert!(rig.store.audit_events().is_empty());
    }

    #[tokio::test]
    async fn a_run_stopped_at_its_deadline_is_finished_by_the_next_without_duplicate_audit() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", Some(30), false).await;
        let mut calls = Vec::new();
        for i in 0..5 {
            calls.push(rig.call(&tenant, NOW - Duration::days(40 + i)).await);
        }
        let budget = Cell::new(2);
        let has_time = || {
            let left = budget.get();
            budget.set(left - 1);
            left > 0
        };
        let first = rig.reaper().run(None, false, has_time).await.unwrap();
        assert!(!first.finished);
        assert_eq!(first.calls.get("calls"), Some(&2));
        let second = rig.reaper().run(None, false, || true).await.unwrap();
        assert!(second.finished);
        assert_eq!(second.calls.get("calls"), Some(&3));
        for call in &calls {
            assert!(!rig.exists(call).await);
        }
        // Each call's move to `deleted` and its expiry, once each.
        let events = rig.store.audit_events();
        for action in ["retention.call_deleted", "retention.call_expired"] {
            assert_eq!(events.iter().filter(|e| e.action == action).count(), 5);
        }
        assert_eq!(events.len(), 10);
    }

    #[tokio::test]
    async fn raw_uploads_go_after_their_window_and_the_transcript_stays() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let mut call = rig.call(&tenant, NOW - Duration::days(60)).await;
        call.status = CallStatus::Scored;
        rig.store.save_call(&mut call).await.unwrap();
        rig.store
            .mark_aging(
                &tenant,
                &call.call_id,
                AgeMark::Recording,
                NOW - Duration::days(30),
            )
            .await
            .unwrap();
        let fresh = rig.call(&tenant, NOW - Duration::days(60)).await;
        rig.store
            .mark_aging(
                &tenant,
                &fresh.call_id,
                AgeMark::Recording,
                NOW - Duration::days(29),
            )
            .await
            .unwrap();

        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.calls.get("recordings"), Some(&1));
        assert!(rig.exists(&call).await);
        assert_eq!(
            rig.blobs
                .keys()
                .iter()
                .filter(|k| k.starts_with("uploads/") && k.contains(call.call_id.as_str()))
                .count(),
            0
        );
        assert_eq!(
            rig.objects_of(&call.call_id),
            1,
            "the encrypted transcript stays"
        );
        assert_eq!(rig.objects_of(&fresh.call_id), 2);
    }

    #[tokio::test]
    async fn a_hold_set_after_the_reapers_look_keeps_the_expired_call_and_the_recording() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", Some(30), false).await;
        // An expired call: the hold lands between the reaper's read and its claim.
        let expired = rig.call(&tenant, NOW - Duration::days(31)).await;
        rig.store
            .interleave_next_call_write(|c| c.legal_hold = true);
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!((report.held, report.calls.get("calls")), (1, None));
        let kept = rig
            .store
            .get_call(&tenant, &expired.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (kept.status, kept.legal_hold),
            (CallStatus::AwaitingUpload, true)
        );
        assert_eq!(rig.objects_of(&expired.call_id), 2);

        // A recording past its window: the same race, and the upload stays.
        let other = rig.tenant("other", None, false).await;
        let mut call = rig.call(&other, NOW - Duration::days(60)).await;
        call.status = CallStatus::Scored;
        call.upload_key = Some(format!("uploads/{other}/{}/call.vtt", call.call_id));
        rig.store.save_call(&mut call).await.unwrap();
        rig.store
            .mark_aging(
                &other,
                &call.call_id,
                AgeMark::Recording,
                NOW - Duration::days(31),
            )
            .await
            .unwrap();
        rig.store
            .interleave_next_call_write(|c| c.legal_hold = true);
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.calls.get("recordings"), None);
        assert_eq!(rig.objects_of(&call.call_id), 2, "the held recording stays");

        // Without a hold, the claim takes the recording's key with it.
        let mut lifted = rig
            .store
            .get_call(&other, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        lifted.legal_hold = false;
        rig.store.save_call(&mut lifted).await.unwrap();
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.calls.get("recordings"), Some(&1));
        let stored = rig
            .store
            .get_call(&other, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.status, stored.upload_key),
            (CallStatus::Scored, None)
        );
        assert_eq!(rig.objects_of(&call.call_id), 1, "the transcript stays");
    }

    #[tokio::test]
    async fn what_a_late_writer_left_for_a_purged_call_goes_with_the_next_run() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let call = rig.call(&tenant, NOW - Duration::days(1)).await;
        // Purged, and then a worker that ran meanwhile writes a large document for it.
        rig.store
            .delete_call_items(&tenant, &call.call_id)
            .await
            .unwrap();
        let analysis = crate::ports::DocumentAddress {
            tenant: &tenant,
            call: &call.call_id,
            kind: crate::ports::DocumentKind::Analysis,
            version: 1,
        };
        crate::ports::DocumentRepository::put_document(
            &rig.store,
            analysis,
            &crate::ports::StoredDocument::Blob {
                key: format!("documents/{tenant}/{}/analysis/v1", call.call_id),
            },
        )
        .await
        .unwrap();
        let live =
            crate::usecases::documents::live_after_writes(&rig.store, &tenant, &call.call_id, NOW)
                .await
                .unwrap();
        assert!(!live);
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.calls.get("deleted"), Some(&1));
        assert_eq!(rig.objects_of(&call.call_id), 0, "the objects went");
        assert_eq!(
            crate::ports::DocumentRepository::get_document(&rig.store, analysis)
                .await
                .unwrap(),
            None,
            "the document item went"
        );
        let again = rig.reaper().run(None, false, || true).await.unwrap();
        assert!(again.calls.is_empty(), "the orphan mark went too");
    }

    #[tokio::test]
    async fn a_deleted_call_is_purged_on_the_next_run_whatever_the_policy() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let mut call = rig.call(&tenant, NOW - Duration::days(1)).await;
        call.transition(CallStatus::Deleted, NOW - Duration::hours(1))
            .unwrap();
        rig.store.save_call(&mut call).await.unwrap();
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.calls.get("deleted"), Some(&1));
        assert!(!rig.exists(&call).await);
        assert_eq!(rig.objects_of(&call.call_id), 0);
        assert_eq!(report.oldest_lateness_seconds, Some(3600));
    }

    async fn plant_data_key(rig: &Rig, tenant: &TenantId) {
        seed_data_key(&rig.store, tenant, DataCategory::Transcripts, 1, NOW).await;
    }

    async fn has_data_key(rig: &Rig, tenant: &TenantId) -> bool {
        rig.store
            .latest_data_key(tenant, DataCategory::Transcripts)
            .await
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    async fn a_cancelled_workspace_is_destroyed_after_its_grace_and_reactivation_before_keeps_all()
    {
        use crate::usecases::lifecycle::{LifecycleError, change_account_state};
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let other = rig.tenant("other", None, false).await;
        let call = rig.call(&tenant, NOW - Duration::days(40)).await;
        let bystander = rig.call(&other, NOW - Duration::days(40)).await;
        plant_data_key(&rig, &tenant).await;
        plant_data_key(&rig, &other).await;
        // Records of the workspace's own: an export job and a quota counter.
        let job = crate::usecases::export_job::ExportJob::queued(
            tenant.clone(),
            crate::ids::ExportId::parse("exp_00000000000000000000000000000001").unwrap(),
            crate::ids::UserId::parse("admin").unwrap(),
            crate::usecases::export::ExportScope::Workspace,
            NOW,
        );
        rig.store.create_export_job(&job).await.unwrap();
        let day_ends = NOW + Duration::days(1);
        assert!(
            rig.store
                .add_within_limit(
                    crate::ports::QuotaCounter {
                        tenant: &tenant,
                        meter: "calls",
                        period: "d",
                    },
                    crate::ports::BoundedAdd {
                        amount: 1,
                        limit: 9,
                        expires_at: day_ends,
                    },
                )
                .await
                .unwrap()
        );
        change_account_state(&rig.store, &tenant, AccountState::Cancelled, NOW, NOW)
            .await
            .unwrap();

        // Inside the 30-day grace: nothing goes, and re-activation loses nothing.
        rig.clock.advance(Duration::days(29).unsigned_abs());
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.accounts_destroyed, 0);
        assert!(rig.exists(&call).await && has_data_key(&rig, &tenant).await);
        let now = rig.clock.now();
        change_account_state(&rig.store, &tenant, AccountState::Active, now, now)
            .await
            .unwrap();
        assert!(rig.exists(&call).await);

        // Cancelled again a minute later; 30 days on (plus a second) it is destroyed.
        rig.clock.advance(Duration::MINUTE.unsigned_abs());
        let now = rig.clock.now();
        change_account_state(&rig.store, &tenant, AccountState::Cancelled, now, now)
            .await
            .unwrap();
        rig.clock
            .advance((Duration::days(30) + Duration::SECOND).unsigned_abs());
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.accounts_destroyed, 1);
        assert!(!rig.exists(&call).await);
        assert!(!has_data_key(&rig, &tenant).await, "shredded");
        assert_eq!(rig.objects_of(&call.call_id), 0);
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert_eq!(record.state, AccountState::Destroyed);
        assert_eq!(
            rig.store
                .get_export_job(&tenant, &job.export_id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            rig.store.delete_quota_counters(&tenant).await.unwrap(),
            0,
            "counters went"
        );
        // The other workspace is untouched; a second run does nothing more.
        assert!(rig.exists(&bystander).await && has_data_key(&rig, &other).await);
        let again = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(again.accounts_destroyed, 0);
        // Its receipt: no one asked (billing's cut-off), the key shredded, backups named.
        let receipts = receipts_of(&rig, &tenant).await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        let receipt = &receipts[0].receipt;
        assert_eq!(receipt.subject.kind, SubjectKind::Workspace);
        assert_eq!(receipt.requested_by, None);
        assert_eq!(receipt.removed.data_keys, 1);
        assert_eq!(receipt.keys_shredded_at, Some(receipt.completed_at));
        assert!(receipt.removed.object_versions >= 2 && receipt.removed.table_items >= 3);
        let events = rig.store.audit_events();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.action == "retention.account_destroyed")
                .count(),
            1
        );
        // Too late to come back.
        let late = change_account_state(
            &rig.store,
            &tenant,
            AccountState::Active,
            rig.clock.now(),
            rig.clock.now(),
        )
        .await;
        assert!(matches!(late, Err(LifecycleError::PastCutoff)));
    }

    #[tokio::test]
    async fn a_suspended_workspace_goes_120_days_after_the_first_failed_payment_unless_held() {
        use crate::usecases::lifecycle::change_account_state;
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let call = rig.call(&tenant, NOW - Duration::days(200)).await;
        change_account_state(&rig.store, &tenant, AccountState::Suspended, NOW, NOW)
            .await
            .unwrap();
        rig.clock.advance(Duration::days(119).unsigned_abs());
        assert_eq!(
            rig.reaper()
                .run(None, false, || true)
                .await
                .unwrap()
                .accounts_destroyed,
            0
        );
        // A call under legal hold stops the destruction.
        let mut held = call.clone();
        held.legal_hold = true;
        rig.store.save_call(&mut held).await.unwrap();
        rig.clock.advance(Duration::days(2).unsigned_abs());
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!((report.accounts_destroyed, report.held), (0, 1));
        assert!(rig.exists(&call).await);
        held.legal_hold = false;
        rig.store.save_call(&mut held).await.unwrap();
        // A dry run reports it and changes nothing; the real run destroys it.
        let dry = rig.reaper().run(None, true, || true).await.unwrap();
        assert_eq!(dry.accounts_destroyed, 1);
        assert!(rig.exists(&call).await);
        rig.reaper().run(None, false, || true).await.unwrap();
        assert!(!rig.exists(&call).await);
    }

    #[tokio::test]
    async fn a_forged_event_time_moves_no_cut_off() {
        use crate::usecases::lifecycle::{LifecycleError, MAX_EVENT_AGE, change_account_state};
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let call = rig.call(&tenant, NOW - Duration::days(200)).await;
        // "Suspended since 2000": refused, nothing changes, nothing is destroyed.
        let forged = datetime!(2000-01-01 0:00 UTC);
        let refused =
            change_account_state(&rig.store, &tenant, AccountState::Suspended, forged, NOW).await;
        assert!(matches!(refused, Err(LifecycleError::ImplausibleTime)));
        let ahead = NOW + Duration::hours(1);
        let refused =
            change_account_state(&rig.store, &tenant, AccountState::Suspended, ahead, NOW).await;
        assert!(matches!(refused, Err(LifecycleError::ImplausibleTime)));
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert_eq!(record.state, AccountState::Active);
        // A late but plausible event is applied, and its cut-off runs from its receipt.
        let late = NOW - MAX_EVENT_AGE + Duration::MINUTE;
        change_account_state(&rig.store, &tenant, AccountState::Suspended, late, NOW)
            .await
            .unwrap();
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert_eq!(record.state_since, Some(NOW));
        rig.clock
            .advance((Duration::days(120) - Duration::SECOND).unsigned_abs());
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(
            report.accounts_destroyed, 0,
            "120 days from receipt, not from `at`"
        );
        assert!(rig.exists(&call).await);
        rig.clock.advance(Duration::SECOND.unsigned_abs());
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.accounts_destroyed, 1);
    }

    #[tokio::test]
    async fn a_cancellation_landing_before_the_reaper_claims_the_workspace_wins() {
        use crate::domain::org::DeletionRequest;
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let call = rig.call(&tenant, NOW - Duration::days(1)).await;
        plant_data_key(&rig, &tenant).await;
        let mut record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        record.deletion = Some(DeletionRequest {
            requested_by: crate::ids::UserId::parse("admin").unwrap(),
            requested_at: NOW - Duration::hours(72),
            shred_at: NOW - Duration::SECOND,
        });
        rig.store.update_tenant(&record).await.unwrap();
        // The run finds the workspace due; an admin's cancellation lands before its first write.
        rig.store
            .interleave_next_tenant_write(|record| record.deletion = None);
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.accounts_destroyed, 0, "{report:?}");
        assert!(has_data_key(&rig, &tenant).await, "nothing shredded");
        assert!(rig.exists(&call).await);
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert!(
            !record.is_closed(),
            "served again, as the cancellation said"
        );
    }

    #[tokio::test]
    async fn billing_changes_apply_in_their_own_order_and_a_late_older_one_changes_nothing() {
        use crate::usecases::lifecycle::change_account_state;
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let (t1, t2) = (NOW - Duration::hours(2), NOW - Duration::hours(1));
        change_account_state(&rig.store, &tenant, AccountState::Cancelled, t1, NOW)
            .await
            .unwrap();
        change_account_state(&rig.store, &tenant, AccountState::Active, t2, NOW)
            .await
            .unwrap();
        // The cancellation is delivered again (at least once), after the re-activation.
        let again = change_account_state(&rig.store, &tenant, AccountState::Cancelled, t1, NOW)
            .await
            .unwrap();
        assert_eq!(again.state, AccountState::Active);
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert_eq!(
            (record.state, record.state_since),
            (AccountState::Active, None)
        );
        // Each change is recorded once.
        let events = rig.store.audit_events();
        let cancellations: Vec<_> = events
            .iter()
            .filter(|e| e.action == "account.cancelled")
            .collect();
        assert_eq!(cancellations.len(), 1);
        assert_eq!(
            cancellations[0].at, t1,
            "stamped with its own time: a redelivery is the same event"
        );
    }

    /// A run whose deadline allows `steps` deadline checks.
    fn budget(steps: usize) -> impl Fn() -> bool {
        let left = std::cell::Cell::new(steps);
        move || {
            let now = left.get();
            left.set(now.saturating_sub(1));
            now > 0
        }
    }

    #[tokio::test]
    async fn a_large_workspace_cannot_keep_the_others_waiting() {
        let rig = Rig::new();
        let big = rig.tenant("a-big", Some(30), false).await;
        let small = [
            rig.tenant("b-small", Some(30), false).await,
            rig.tenant("c-small", Some(30), false).await,
        ];
        let expired = NOW - Duration::days(31);
        let mut big_calls = Vec::new();
        for _ in 0..6 {
            big_calls.push(rig.call(&big, expired).await);
        }
        let mut small_calls = Vec::new();
        for tenant in &small {
            small_calls.push(rig.call(tenant, expired).await);
        }
        // Every run has time for three calls. The first stops inside the big workspace.
        let first = rig.reaper().run(None, false, budget(3)).await.unwrap();
        assert!(!first.finished);
        for call in &small_calls {
            assert!(rig.exists(call).await, "not reached yet");
        }
        // The next run starts after it: the small ones go first, then the big one goes on.
        let second = rig.reaper().run(None, false, budget(3)).await.unwrap();
        assert!(!second.finished);
        for call in &small_calls {
            assert!(
                !rig.exists(call).await,
                "the small workspaces had their turn"
            );
        }
        let mut runs = 0;
        loop {
            runs += 1;
            if rig
                .reaper()
                .run(None, false, budget(3))
                .await
                .unwrap()
                .finished
            {
                break;
            }
            assert!(runs < 10);
        }
        for call in &big_calls {
            assert!(!rig.exists(call).await);
        }
        // A run that got through everything starts from the beginning again.
        assert_eq!(rig.store.reaper_resume_point().await.unwrap(), None);
    }

    #[tokio::test]
    async fn one_workspace_failing_does_not_stop_the_others() {
        let rig = Rig::new();
        let broken = rig.tenant("a-broken", Some(30), false).await;
        let fine = rig.tenant("b-fine", Some(30), false).await;
        let expired = NOW - Duration::days(31);
        let stuck = rig.call(&broken, expired).await;
        let gone = rig.call(&fine, expired).await;
        rig.blobs.fail_purges_under(&format!("uploads/{broken}/"));
        let report = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(report.failed_tenants, 1, "{report:?}");
        assert!(!report.finished);
        assert!(rig.exists(&stuck).await);
        assert!(
            !rig.exists(&gone).await,
            "the workspace after it had its turn"
        );
    }

    #[tokio::test]
    async fn a_destruction_stopped_by_the_deadline_is_finished_by_the_next_run() {
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let mut calls = Vec::new();
        for _ in 0..4 {
            calls.push(rig.call(&tenant, NOW - Duration::days(1)).await);
        }
        plant_data_key(&rig, &tenant).await;
        let mut record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        record.state = AccountState::Deleted;
        record.state_since = Some(NOW - Duration::HOUR);
        rig.store.update_tenant(&record).await.unwrap();
        let first = rig.reaper().run(None, false, budget(3)).await.unwrap();
        assert!(
            !first.finished && first.accounts_destroyed == 0,
            "{first:?}"
        );
        assert!(!has_data_key(&rig, &tenant).await, "shredded first");
        let second = rig.reaper().run(None, false, || true).await.unwrap();
        assert_eq!(second.accounts_destroyed, 1, "{second:?}");
        for call in &calls {
            assert!(!rig.exists(call).await);
        }
        let record = rig.store.get_tenant(&tenant).await.unwrap().unwrap();
        assert_eq!(record.state, AccountState::Destroyed);
    }

    #[tokio::test]
    async fn usage_events_go_at_13_months_and_audit_events_at_2_years_to_the_second() {
        use crate::domain::audit::AUDIT_RETENTION;
        use crate::domain::usage::{USAGE_RETENTION, UsageEvent};
        use crate::ports::{IdGenerator, UsageLog};
        let rig = Rig::new();
        let tenant = rig.tenant("acme", None, false).await;
        let other = rig.tenant("other", None, false).await;
        let offsets = [-Duration::SECOND, Duration::ZERO, Duration::SECOND];
        for (i, offset) in offsets.iter().enumerate() {
            for t in [&tenant, &other] {
                rig.store
                    .record_view(&UsageEvent {
                        tenant_id: t.clone(),
                        user_id: crate::ids::UserId::parse(format!("u{i}")).unwrap(),
                        call_id: RandomIds.mint(),
                        view: crate::domain::usage::UsageView::Call,
                        at: NOW - USAGE_RETENTION + *offset,
                    })
                    .await
                    .unwrap();
            }
            let at = NOW - AUDIT_RETENTION + *offset;
            rig.reaper()
                .audit(&tenant, "test.old", "x", &i.to_string(), at)
                .await
                .unwrap();
        }
        let report = rig
            .reaper()
            .run(Some(std::slice::from_ref(&tenant)), false, || true)
            .await
            .unwrap();
        assert_eq!(report.records.get("usage_events"), Some(&2));
        assert_eq!(report.records.get("audit_events"), Some(&2));
        let long_ago = NOW - Duration::days(500);
        let store = &rig.store;
        let views = async |t: &TenantId, user: &str| {
            let user = crate::ids::UserId::parse(user).unwrap();
            store
                .views_of_user(
                    t,
                    &user,
                    long_ago,
                    &crate::ports::PageRequest::first(10).unwrap(),
                )
                .await
                .unwrap()
                .items
                .len()
        };
        assert_eq!(
            (
                views(&tenant, "u0").await,
                views(&tenant, "u1").await,
                views(&tenant, "u2").await
            ),
            (0, 0, 1),
            "expired one second ago and exactly now go; one second short stays"
        );
        assert_eq!(views(&other, "u0").await, 1, "another tenant untouched");
        let events = rig.store.audit_events();
        let old: Vec<_> = events.iter().filter(|e| e.action == "test.old").collect();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].at, NOW - AUDIT_RETENTION + Duration::SECOND);
        // The deletions are audited, once per kind and run; a second run deletes nothing.
        for action in [
            "retention.usage_events_expired",
            "retention.audit_events_expired",
        ] {
            assert_eq!(events.iter().filter(|e| e.action == action).count(), 1);
        }
        let again = rig
            .reaper()
            .run(Some(std::slice::from_ref(&tenant)), false, || true)
            .await
            .unwrap();
        assert!(again.records.is_empty());
    }
}
