//! Workspace exports as background jobs. A workspace's bundle can take longer than an HTTP
//! request may (API Gateway stops waiting at 30 s), so the API records the job, queues it and
//! answers 202 at once; the job runs from the export-jobs queue, and the requester follows its
//! status resource until the bundle is ready.
//!
//! Deliveries are at least once. A delivery claims the job (queued, or running under a lease
//! that ran out) with a versioned write, so two at once never both run it; a finished job is
//! left alone. Every write after the first is versioned too, so a job whose record went with
//! its workspace writes nothing more, and a bundle finished for a workspace closed meanwhile
//! is deleted again. A run stops at its time budget (the invocation's deadline less a margin)
//! and the job fails as too large rather than being killed by Lambda over and over.
//!
//! Job records live in the workspace's `EXPORTS` partition (ids, states, counts; never
//! content), expire with their bundles and go with the workspace.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use base64::Engine;

use crate::crypto::bundle::BundleKey;
use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::ids::{ExportId, TenantId, UserId};
use crate::messages::PipelineMessage;
use crate::ports::{
    BlobError, BlobStore, Clock, ExportJobRepository, Queue, QueueError, QuotaStore, StoreError,
    TeamRepository, TenantRepository,
};
use crate::usecases::export::{
    EXPORT_PART_SIZE, ExportCounts, ExportError, ExportRequest, ExportScope, ExportSource,
    WrittenExport, write_export,
};
use crate::usecases::quota::{self, Meter, Quotas};
use crate::usecases::teams::team_ids;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Queued,
    Running,
    Ready,
    Failed,
}

/// Why a job failed (no input text, ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFailure {
    /// The workspace was closed (its deletion requested) before the bundle was done.
    WorkspaceClosed,
    /// The bundle could not be written in the time one invocation has.
    TooLarge,
    /// The bundle could not be written.
    Export,
    /// A deletion withdrew the workspace's bundles while this one was written (it may have
    /// held what was deleted): ask again for one without it.
    Withdrawn,
}

/// One export job. Ids, states and counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    pub tenant_id: TenantId,
    pub export_id: ExportId,
    pub requested_by: UserId,
    pub scope: ExportScope,
    pub state: ExportState,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// While running: until when the delivery that claimed it may still be at work.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// The bundle's object key, once ready.
    #[serde(default)]
    pub key: Option<String>,
    /// The key that opens the bundle, sealed under the tenant's `transcripts` data key
    /// (base64), once ready: shredding the workspace leaves the bundle unreadable for good.
    #[serde(default)]
    pub sealed_bundle_key: Option<String>,
    #[serde(default)]
    pub counts: Option<ExportCounts>,
    #[serde(default)]
    pub failure: Option<ExportFailure>,
    /// The stored version this copy was read at (see
    /// [`ExportJobRepository::update_export_job`]).
    #[serde(default)]
    pub version: u32,
}

/// How long a job record is kept: as long as its bundle (the bucket's lifecycle rule).
pub const EXPORT_JOB_LIFETIME: time::Duration = time::Duration::days(3);
/// A claim's lease outlasts the run's budget by this much (the writes around the run).
const LEASE_SLACK: Duration = Duration::from_secs(30);

impl ExportJob {
    pub fn queued(
        tenant_id: TenantId,
        export_id: ExportId,
        requested_by: UserId,
        scope: ExportScope,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            tenant_id,
            export_id,
            requested_by,
            scope,
            state: ExportState::Queued,
            requested_at: now,
            finished_at: None,
            lease_until: None,
            key: None,
            sealed_bundle_key: None,
            counts: None,
            failure: None,
            version: 0,
        }
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        self.requested_at + EXPORT_JOB_LIFETIME
    }

    /// Finished for good, or being run by a delivery whose lease has not run out.
    fn taken(&self, now: OffsetDateTime) -> bool {
        match self.state {
            ExportState::Ready | ExportState::Failed => true,
            ExportState::Running => self.lease_until.is_some_and(|until| until > now),
            ExportState::Queued => false,
        }
    }

    fn failed(mut self, failure: ExportFailure, now: OffsetDateTime) -> Self {
        self.state = ExportState::Failed;
        self.failure = Some(failure);
        self.finished_at = Some(now);
        self.lease_until = None;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportJobError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the export failed")]
    Export(#[from] ExportError),
    #[error("a bundle of a closed workspace could not be deleted")]
    Cleanup(#[source] BlobError),
    #[error("the bundle's key could not be sealed")]
    SealKey(#[source] CryptoError),
}

impl ExportJobError {
    /// Worth another delivery: a backend failed, not the job.
    pub fn is_retryable(&self) -> bool {
        match self {
            ExportJobError::Store(e) | ExportJobError::Export(ExportError::Store(e)) => {
                e.is_retryable()
            }
            ExportJobError::Export(ExportError::Document(e)) => e.is_retryable(),
            ExportJobError::Export(ExportError::Progress(e)) => e.is_retryable(),
            ExportJobError::Export(ExportError::Playbook(e)) => e.is_retryable(),
            ExportJobError::Export(ExportError::Blob(_)) | ExportJobError::Cleanup(_) => true,
            ExportJobError::SealKey(e) => e.is_retryable(),
            ExportJobError::Export(
                ExportError::Encode(_) | ExportError::Seal(_) | ExportError::Withdrawn,
            ) => false,
        }
    }
}

/// What running a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Ready(ExportCounts),
    /// Finished before (a redelivery), or no such job (it expired or went with its
    /// workspace): nothing to do.
    AlreadyDone,
    /// Another delivery holds the job now: try again after it.
    Busy,
    /// The job is marked failed (its workspace closed, or out of time).
    Failed(ExportFailure),
}

/// What one delivery of a job may spend.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// How long writing the bundle may take (the invocation's time left, less a margin).
    pub budget: Duration,
    /// No delivery follows if this one fails: a backend failure fails the job.
    pub last: bool,
}

/// A job runs only for a workspace that is there and open.
async fn workspace_open<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<bool, StoreError> {
    Ok(crate::usecases::workspace::workspace_open(store, tenant).await? == Some(true))
}

/// Writes `job`; `None` when another delivery or the workspace's destruction came first.
async fn save<S: ExportJobRepository>(
    store: &S,
    mut job: ExportJob,
) -> Result<Option<ExportJob>, StoreError> {
    match store.update_export_job(&job).await {
        Ok(()) => {
            job.version += 1;
            Ok(Some(job))
        }
        Err(StoreError::Conflict) => Ok(None),
        Err(error) => Err(error),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueExportError {
    /// The workspace's exports for the day are spent: nothing was counted.
    #[error("over the workspace's {} quota", .meter.as_str())]
    OverQuota { meter: Meter, retry_after: Duration },
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the job could not be queued")]
    Queue(#[from] QueueError),
}

/// Records a workspace export job for `requester` and queues it, within the workspace's quota
/// of a few a day (each reads all of it, and every workspace's jobs share two runners). A job
/// that could not be queued is marked failed (no run will come) and its count given back.
pub async fn queue_workspace_export<S, Q>(
    store: &S,
    jobs: &Q,
    tenant: &TenantId,
    requester: &UserId,
    quotas: &Quotas,
    export_id: ExportId,
    now: OffsetDateTime,
) -> Result<ExportJob, QueueExportError>
where
    S: ExportJobRepository + QuotaStore,
    Q: Queue,
{
    let spend = [(Meter::WorkspaceExports, 1)];
    let receipt = match quota::spend_all(store, tenant, quotas, &spend, now).await? {
        Ok(receipt) => receipt,
        Err((meter, retry_after)) => {
            return Err(QueueExportError::OverQuota { meter, retry_after });
        }
    };
    let job = ExportJob::queued(
        tenant.clone(),
        export_id,
        requester.clone(),
        ExportScope::Workspace,
        now,
    );
    let queued = record_and_queue(store, jobs, &job, now).await;
    if queued.is_err()
        && let Err(undo) = quota::give_back(store, tenant, receipt).await
    {
        tracing::warn!(error = %undo, "a failed export's quota spend was not given back");
    }
    queued.map(|()| job)
}

async fn record_and_queue<S: ExportJobRepository, Q: Queue>(
    store: &S,
    jobs: &Q,
    job: &ExportJob,
    now: OffsetDateTime,
) -> Result<(), QueueExportError> {
    store.create_export_job(job).await?;
    let queued = jobs
        .send(&PipelineMessage::ExportWorkspace {
            tenant_id: job.tenant_id.clone(),
            export_id: job.export_id.clone(),
        })
        .await;
    if let Err(error) = queued {
        // No job will run: its record says so rather than waiting as queued.
        let failed = job.clone().failed(ExportFailure::Export, now);
        if let Err(store) = store.update_export_job(&failed).await {
            tracing::warn!(error = %store, "an unqueued export job stays queued until it expires");
        }
        return Err(error.into());
    }
    Ok(())
}

/// Runs one workspace export job: every team of the workspace, then the record says ready.
pub async fn run_export_job<S, B, E, C>(
    store: &S,
    blobs: &B,
    envelope: &E,
    clock: &C,
    (tenant, export_id): (&TenantId, &ExportId),
    delivery: Delivery,
) -> Result<JobOutcome, ExportJobError>
where
    S: ExportSource + ExportJobRepository + TeamRepository + TenantRepository,
    B: BlobStore,
    E: Envelope,
    C: Clock,
{
    let now = clock.now();
    let Some(job) = store.get_export_job(tenant, export_id).await? else {
        return Ok(JobOutcome::AlreadyDone);
    };
    if job.taken(now) {
        return Ok(if job.state == ExportState::Running {
            JobOutcome::Busy
        } else {
            JobOutcome::AlreadyDone
        });
    }
    // A workspace whose deletion was asked for serves nothing, an export included.
    if !workspace_open(store, tenant).await? {
        let closed = job.failed(ExportFailure::WorkspaceClosed, now);
        return Ok(match save(store, closed).await? {
            Some(_) => JobOutcome::Failed(ExportFailure::WorkspaceClosed),
            None => JobOutcome::Busy,
        });
    }
    let mut claim = job;
    claim.state = ExportState::Running;
    claim.lease_until = Some(now + delivery.budget + LEASE_SLACK);
    let Some(job) = save(store, claim).await? else {
        return Ok(JobOutcome::Busy);
    };
    let teams = team_ids(store, tenant).await?;
    let request = ExportRequest {
        tenant,
        requester: &job.requested_by,
        scope: job.scope,
        teams,
        export_id,
        now,
        part_size: EXPORT_PART_SIZE,
    };
    let written = tokio::time::timeout(
        delivery.budget,
        write_export(store, blobs, envelope, &request),
    )
    .await;
    let WrittenExport {
        key,
        counts,
        bundle_key,
    } = match written {
        // Cut off midway: parts it left are aborted by the bucket's lifecycle rule.
        Err(_elapsed) => {
            save(store, job.failed(ExportFailure::TooLarge, clock.now())).await?;
            return Ok(JobOutcome::Failed(ExportFailure::TooLarge));
        }
        Ok(Err(ExportError::Withdrawn)) => {
            save(store, job.failed(ExportFailure::Withdrawn, clock.now())).await?;
            return Ok(JobOutcome::Failed(ExportFailure::Withdrawn));
        }
        Ok(Err(error)) => {
            let error = ExportJobError::from(error);
            if !error.is_retryable() || delivery.last {
                save(store, job.failed(ExportFailure::Export, clock.now())).await?;
            }
            return Err(error);
        }
        Ok(Ok(written)) => written,
    };
    // The workspace may have closed while the bundle was written: the reaper marks it closed
    // before it purges, so a bundle that landed after the purge is found here and goes.
    // A record that went with its workspace takes no write either: the bundle goes too.
    let finished_at = clock.now();
    if workspace_open(store, tenant).await? {
        let sealed_key = match seal_bundle_key(envelope, tenant, export_id, &bundle_key).await {
            Ok(sealed) => sealed,
            Err(error) => {
                discard(blobs, key).await?;
                return Err(ExportJobError::SealKey(error));
            }
        };
        let mut ready = job;
        ready.state = ExportState::Ready;
        ready.key = Some(key.clone());
        ready.sealed_bundle_key = Some(sealed_key);
        ready.counts = Some(counts.clone());
        ready.finished_at = Some(finished_at);
        ready.lease_until = None;
        if save(store, ready).await?.is_some() {
            return Ok(JobOutcome::Ready(counts));
        }
    } else {
        save(
            store,
            job.failed(ExportFailure::WorkspaceClosed, finished_at),
        )
        .await?;
    }
    discard(blobs, key).await?;
    Ok(JobOutcome::Failed(ExportFailure::WorkspaceClosed))
}

async fn discard<B: BlobStore>(blobs: &B, key: String) -> Result<(), ExportJobError> {
    blobs.delete(&[key]).await.map_err(ExportJobError::Cleanup)
}

/// What a bundle's key is sealed as: bound to its tenant and export, so a sealed key moved to
/// another job's record does not open.
fn bundle_key_item(export_id: &ExportId) -> String {
    format!("export/{export_id}/bundle-key")
}

async fn seal_bundle_key<E: Envelope>(
    envelope: &E,
    tenant: &TenantId,
    export_id: &ExportId,
    key: &BundleKey,
) -> Result<String, CryptoError> {
    let item = bundle_key_item(export_id);
    let binding = Binding {
        tenant,
        category: DataCategory::Transcripts,
        item: &item,
    };
    let sealed = envelope.encrypt(binding, key.bytes()).await?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// The key that opens a ready job's bundle; `None` before it is ready.
pub async fn open_bundle_key<E: Envelope>(
    envelope: &E,
    job: &ExportJob,
) -> Result<Option<BundleKey>, CryptoError> {
    let Some(sealed) = &job.sealed_bundle_key else {
        return Ok(None);
    };
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| CryptoError::Malformed)?;
    let item = bundle_key_item(&job.export_id);
    let binding = Binding {
        tenant: &job.tenant_id,
        category: DataCategory::Transcripts,
        item: &item,
    };
    let bytes = zeroize::Zeroizing::new(envelope.decrypt(binding, &sealed).await?);
    BundleKey::from_bytes(&bytes)
        .map(Some)
        .map_err(|_| CryptoError::Malformed)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::org::{DeletionRequest, Membership, Role, Team, Tenant};
    use crate::fakes::{
        CallSeed, InMemoryBlobStore, InMemoryStore, ManualClock, fake_cipher_over,
        seed_transcribed_call,
    };
    use crate::keys::workspace_export_key as export_key;
    use crate::ports::IdGenerator;
    use crate::system::RandomIds;

    const NOW: OffsetDateTime = datetime!(2026-12-01 9:00 UTC);
    const FIRST: Delivery = Delivery {
        budget: Duration::from_secs(60),
        last: false,
    };

    struct Workspace {
        store: InMemoryStore,
        blobs: InMemoryBlobStore,
        clock: ManualClock,
        tenant: TenantId,
        job: ExportJob,
    }

    /// A workspace of two teams with a call each, and a queued workspace export job.
    async fn workspace_with_a_queued_job() -> Workspace {
        let store = InMemoryStore::default();
        let blobs = InMemoryBlobStore::default();
        let tenant = TenantId::parse("job-tenant").unwrap();
        store
            .create_tenant(&Tenant::active(tenant.clone(), "Acme", NOW))
            .await
            .unwrap();
        let envelope = fake_cipher_over(store.clone(), ManualClock::at(NOW));
        for (index, rep) in ["rep-west", "rep-east"].into_iter().enumerate() {
            let team = Team {
                schema_version: crate::domain::SCHEMA_VERSION,
                tenant_id: tenant.clone(),
                team_id: RandomIds.mint(),
                name: crate::domain::org::SealedName(format!("sealed {index}").into_bytes()),
                created_at: NOW,
            };
            let rep = UserId::parse(rep).unwrap();
            let member = Membership {
                tenant_id: tenant.clone(),
                team_id: team.team_id.clone(),
                user_id: rep.clone(),
                role: Role::Rep,
            };
            store.create_team(&team, &member).await.unwrap();
            let seed = CallSeed {
                tenant: &tenant,
                team: &team.team_id,
                rep: &rep,
                utterances: 20,
                marker: &format!("canary-{index}"),
            };
            seed_transcribed_call(&store, &blobs, &envelope, seed).await;
        }
        let job = ExportJob::queued(
            tenant.clone(),
            RandomIds.mint(),
            UserId::parse("admin").unwrap(),
            ExportScope::Workspace,
            NOW,
        );
        store.create_export_job(&job).await.unwrap();
        Workspace {
            store,
            blobs,
            clock: ManualClock::at(NOW),
            tenant,
            job,
        }
    }

    async fn run(w: &Workspace, delivery: Delivery) -> Result<JobOutcome, ExportJobError> {
        let envelope = fake_cipher_over(w.store.clone(), ManualClock::at(NOW));
        run_export_job(
            &w.store,
            &w.blobs,
            &envelope,
            &w.clock,
            (&w.tenant, &w.job.export_id),
            delivery,
        )
        .await
    }

    async fn stored(w: &Workspace) -> Option<ExportJob> {
        w.store
            .get_export_job(&w.tenant, &w.job.export_id)
            .await
            .unwrap()
    }

    async fn bundles(w: &Workspace) -> Vec<String> {
        w.blobs
            .list(&crate::keys::exports_prefix(&w.tenant))
            .await
            .unwrap()
    }

    async fn close(w: &Workspace) {
        let mut tenant = w.store.get_tenant(&w.tenant).await.unwrap().unwrap();
        tenant.deletion = Some(DeletionRequest {
            requested_by: UserId::parse("admin").unwrap(),
            requested_at: NOW,
            shred_at: NOW + time::Duration::hours(72),
        });
        w.store.update_tenant(&tenant).await.unwrap();
    }

    #[tokio::test]
    async fn a_job_bundles_every_team_and_a_redelivery_changes_nothing() {
        let w = workspace_with_a_queued_job().await;
        let JobOutcome::Ready(counts) = run(&w, FIRST).await.unwrap() else {
            panic!("the job should be ready");
        };
        assert_eq!(counts.calls, 2);
        let job = stored(&w).await.unwrap();
        let key = export_key(&w.tenant, &w.job.export_id);
        assert_eq!(
            (job.state, job.key.as_deref(), job.counts.as_ref()),
            (ExportState::Ready, Some(key.as_str()), Some(&counts))
        );
        // Stored sealed; the key on the record opens it, and only through the tenant's keys.
        let stored_bundle = w.blobs.get(&key).await.unwrap().unwrap();
        assert!(!stored_bundle.windows(8).any(|w| w == b"canary-0"));
        let envelope = fake_cipher_over(w.store.clone(), ManualClock::at(NOW));
        let bundle_key = open_bundle_key(&envelope, &job).await.unwrap().unwrap();
        let bundle = crate::crypto::bundle::open_bundle(&bundle_key, &stored_bundle).unwrap();
        let bundle = String::from_utf8(bundle).unwrap();
        assert!(bundle.contains("canary-0") && bundle.contains("canary-1"));

        // The queue delivers the job again: it is done, and the record stays as it was.
        assert_eq!(run(&w, FIRST).await.unwrap(), JobOutcome::AlreadyDone);
        assert_eq!(stored(&w).await.unwrap(), job);
    }

    #[tokio::test]
    async fn shredding_the_workspace_leaves_a_ready_bundle_unreadable_for_good() {
        let w = workspace_with_a_queued_job().await;
        assert!(matches!(
            run(&w, FIRST).await.unwrap(),
            JobOutcome::Ready(_)
        ));
        let job = stored(&w).await.unwrap();
        let envelope = fake_cipher_over(w.store.clone(), ManualClock::at(NOW));
        assert!(open_bundle_key(&envelope, &job).await.unwrap().is_some());
        envelope.shred_tenant(&w.tenant).await.unwrap();
        // A fresh process (no cached data key), as every other warm one is within its cache age.
        let later = fake_cipher_over(w.store.clone(), ManualClock::at(NOW));
        assert!(matches!(
            open_bundle_key(&later, &job).await,
            Err(CryptoError::KeyUnavailable)
        ));
        // A sealed key moved onto another job's record does not open either.
        let fresh = workspace_with_a_queued_job().await;
        let envelope = fake_cipher_over(fresh.store.clone(), ManualClock::at(NOW));
        assert!(matches!(
            run(&fresh, FIRST).await.unwrap(),
            JobOutcome::Ready(_)
        ));
        let mut moved = stored(&fresh).await.unwrap();
        moved.export_id = RandomIds.mint();
        assert!(open_bundle_key(&envelope, &moved).await.is_err());
    }

    #[tokio::test]
    async fn a_job_of_a_workspace_closed_before_it_ran_fails_without_a_bundle() {
        let w = workspace_with_a_queued_job().await;
        close(&w).await;
        assert_eq!(
            run(&w, FIRST).await.unwrap(),
            JobOutcome::Failed(ExportFailure::WorkspaceClosed)
        );
        let job = stored(&w).await.unwrap();
        assert_eq!(
            (job.state, job.failure, job.key),
            (
                ExportState::Failed,
                Some(ExportFailure::WorkspaceClosed),
                None
            )
        );
        assert!(bundles(&w).await.is_empty());
    }

    #[tokio::test]
    async fn a_bundle_finished_after_the_workspace_closed_is_deleted_again() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.delay_puts(Duration::from_millis(200));
        let (outcome, ()) = tokio::join!(run(&w, FIRST), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            close(&w).await;
        });
        assert_eq!(
            outcome.unwrap(),
            JobOutcome::Failed(ExportFailure::WorkspaceClosed)
        );
        assert!(
            bundles(&w).await.is_empty(),
            "no bundle outlives the closing"
        );
        assert_eq!(stored(&w).await.unwrap().state, ExportState::Failed);
    }

    #[tokio::test]
    async fn a_job_whose_record_went_with_its_workspace_writes_nothing_back() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.delay_puts(Duration::from_millis(200));
        // The reaper destroys the workspace while the bundle is being written.
        let (outcome, ()) = tokio::join!(run(&w, FIRST), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            close(&w).await;
            w.store.delete_export_jobs(&w.tenant).await.unwrap();
            w.blobs
                .purge_prefix(&crate::keys::exports_prefix(&w.tenant))
                .await
                .unwrap();
        });
        assert_eq!(
            outcome.unwrap(),
            JobOutcome::Failed(ExportFailure::WorkspaceClosed)
        );
        assert_eq!(stored(&w).await, None, "the record is not written back");
        assert!(bundles(&w).await.is_empty());
    }

    #[tokio::test]
    async fn a_second_delivery_waits_while_the_first_holds_the_job_and_takes_over_after_its_lease()
    {
        let w = workspace_with_a_queued_job().await;
        // A first delivery claimed the job and was cut off (its invocation ended).
        let mut claimed = stored(&w).await.unwrap();
        claimed.state = ExportState::Running;
        claimed.lease_until = Some(NOW + time::Duration::minutes(5));
        w.store.update_export_job(&claimed).await.unwrap();

        assert_eq!(run(&w, FIRST).await.unwrap(), JobOutcome::Busy);
        assert!(bundles(&w).await.is_empty());

        w.clock.advance(Duration::from_secs(6 * 60));
        assert!(matches!(
            run(&w, FIRST).await.unwrap(),
            JobOutcome::Ready(_)
        ));
        assert_eq!(stored(&w).await.unwrap().state, ExportState::Ready);
    }

    #[tokio::test]
    async fn two_deliveries_at_once_write_the_job_once() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.delay_puts(Duration::from_millis(100));
        let (one, two) = tokio::join!(run(&w, FIRST), run(&w, FIRST));
        let mut outcomes = [one.unwrap(), two.unwrap()].map(|o| matches!(o, JobOutcome::Ready(_)));
        outcomes.sort();
        assert_eq!(
            outcomes,
            [false, true],
            "one ran it, the other was told it is busy"
        );
        assert_eq!(stored(&w).await.unwrap().state, ExportState::Ready);
    }

    #[tokio::test]
    async fn a_job_out_of_time_fails_as_too_large_instead_of_being_killed() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.delay_puts(Duration::from_secs(5));
        let tight = Delivery {
            budget: Duration::from_millis(50),
            last: false,
        };
        assert_eq!(
            run(&w, tight).await.unwrap(),
            JobOutcome::Failed(ExportFailure::TooLarge)
        );
        let job = stored(&w).await.unwrap();
        assert_eq!(
            (job.state, job.failure),
            (ExportState::Failed, Some(ExportFailure::TooLarge))
        );
        assert_eq!(run(&w, FIRST).await.unwrap(), JobOutcome::AlreadyDone);
    }

    #[tokio::test]
    async fn a_backend_failure_is_retried_until_the_last_delivery_fails_the_job() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.fail_puts_under(Some("exports/"));
        let error = run(&w, FIRST).await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        // Not marked failed: the queue's redelivery runs it again (its lease ran out).
        assert_eq!(stored(&w).await.unwrap().state, ExportState::Running);
        w.clock.advance(Duration::from_secs(10 * 60));
        let last = Delivery {
            last: true,
            ..FIRST
        };
        assert!(run(&w, last).await.unwrap_err().is_retryable());
        let job = stored(&w).await.unwrap();
        assert_eq!(
            (job.state, job.failure),
            (ExportState::Failed, Some(ExportFailure::Export))
        );
    }

    #[tokio::test]
    async fn a_job_cut_off_by_the_bucket_is_run_again_and_then_finishes() {
        let w = workspace_with_a_queued_job().await;
        w.blobs.fail_puts_under(Some("exports/"));
        assert!(run(&w, FIRST).await.unwrap_err().is_retryable());
        w.blobs.fail_puts_under(None);
        w.clock.advance(Duration::from_secs(10 * 60));
        assert!(matches!(
            run(&w, FIRST).await.unwrap(),
            JobOutcome::Ready(_)
        ));
        assert_eq!(stored(&w).await.unwrap().state, ExportState::Ready);
    }
}
