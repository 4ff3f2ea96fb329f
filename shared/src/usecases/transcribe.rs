//! Amazon Transcribe results. A batch job writes its JSON output into our bucket under the
//! call's documents prefix (so a purged call takes any leftover with it); completion arrives
//! as an EventBridge "Transcribe Job State Change" event, which is best effort, so a sweeper
//! also walks the service's list of finished jobs. Both end in [`TranscribeFinisher::finish`],
//! which asks the service for the job's state rather than trusting the event, parses the
//! output into the canonical transcript and hands it to the same sink as every other path.
//!
//! Job names carry the call they belong to: `cc.{tenant}.{call}.{submitted, epoch ms}` (ids
//! never contain '.'), so neither an event nor the sweeper needs a lookup table.

use std::future::Future;

use time::OffsetDateTime;
use tracing::{info, warn};

use crate::crypto::Envelope;
use crate::domain::call::CallStatus;
use crate::domain::transcription::TranscriptionService;
use crate::ids::{CallId, TenantId};
use crate::keys::provider_output_key;
use crate::parse::TranscriptFormat;
use crate::ports::{BackendError, BlobError, BlobStore, Clock, PipelineStore, Queue, StoreError};
use crate::usecases::transcribed::{Accepted, SinkError, TranscriptSink};
use crate::usecases::workspace::workspace_closed;

/// Every job name of ours starts with this.
pub const JOB_PREFIX: &str = "cc.";
/// The reason a failed job gives the call's owner (the service's own reason may name files).
pub const FAILED_REASON: &str = "the transcription service could not transcribe the recording";

pub fn job_name(tenant: &TenantId, call: &CallId, at: OffsetDateTime) -> String {
    format!(
        "{JOB_PREFIX}{tenant}.{call}.{}",
        at.unix_timestamp_nanos() / 1_000_000
    )
}

/// The tenant and call a job name of ours belongs to.
pub fn parse_job_name(name: &str) -> Option<(TenantId, CallId)> {
    let mut parts = name.strip_prefix(JOB_PREFIX)?.split('.');
    let tenant = TenantId::parse(parts.next()?).ok()?;
    let call = CallId::parse(parts.next()?).ok()?;
    parts.next()?.parse::<u64>().ok()?;
    parts.next().is_none().then_some((tenant, call))
}

/// Where the job writes its output in our bucket; `None` for a name that is not ours.
pub fn output_key(job: &str) -> Option<String> {
    let (tenant, call) = parse_job_name(job)?;
    Some(provider_output_key(&tenant, &call, job))
}

/// What the service says about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Running,
    Completed,
    Failed,
    /// The service holds no such job: it was deleted once it was taken in.
    Deleted,
}

/// The job-status side of Amazon Transcribe.
pub trait TranscribeJobs: Send + Sync {
    fn state(&self, job: &str) -> impl Future<Output = Result<JobState, BackendError>> + Send;
    /// Names of our jobs that completed or failed recently (the service keeps 90 days).
    fn finished(&self) -> impl Future<Output = Result<Vec<String>, BackendError>> + Send;
    /// Deletes a completed or failed job's record at the service, whose media location names
    /// the uploaded file; a job already deleted is no error. (A running job cannot be
    /// deleted: it is retired once it ends.)
    fn forget(&self, job: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Transcribed {
        transcript_version: u32,
    },
    Failed,
    /// The service is still working on it; a later event or sweep finishes it.
    Running,
    Ignored(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the object store failed")]
    Blob(#[from] BlobError),
    #[error("the transcript could not be stored or queued")]
    Sink(#[from] SinkError),
    #[error("Amazon Transcribe could not be asked about the job")]
    Provider(#[source] BackendError),
    #[error("the job completed but its output is not in the bucket yet")]
    MissingOutput,
}

/// Totals of one sweep.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub seen: usize,
    pub transcribed: usize,
    pub failed: usize,
    pub errors: usize,
}

pub struct TranscribeFinisher<'a, S, B, E, Q, C, J> {
    pub sink: TranscriptSink<'a, S, B, E, Q, C>,
    pub jobs: &'a J,
    /// Delete the service's raw output once the transcript is stored (default on).
    pub delete_output: bool,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, C: Clock, J: TranscribeJobs>
    TranscribeFinisher<'_, S, B, E, Q, C, J>
{
    /// Finishes `job` if it is the current job of its call and the service says it ended.
    /// Idempotent: a replayed event or a sweep after the event changes nothing.
    pub async fn finish(&self, job: &str) -> Result<Finish, FinishError> {
        let Some((tenant, call_id)) = parse_job_name(job) else {
            return Ok(Finish::Ignored("not a callcoach job"));
        };
        let key = provider_output_key(&tenant, &call_id, job);
        let Some(mut call) = self.sink.store.get_call(&tenant, &call_id).await? else {
            self.retire(job, &key, true).await?;
            return Ok(Finish::Ignored("the call no longer exists"));
        };
        let current = call.transcription.as_ref().is_some_and(|j| {
            j.service == TranscriptionService::AmazonTranscribe && j.job_id.as_deref() == Some(job)
        });
        if !current {
            self.retire(job, &key, true).await?;
            return Ok(Finish::Ignored("not the call's current job"));
        }
        if call.status == CallStatus::Deleted {
            self.retire(job, &key, true).await?;
            return Ok(Finish::Ignored("the call was deleted"));
        }
        if workspace_closed(self.sink.store, &tenant).await? {
            self.retire(job, &key, true).await?;
            return Ok(Finish::Ignored("the workspace is closed"));
        }
        if call.status != CallStatus::Transcribing {
            // Taken in (or the call failed) before the job could be deleted: finish that.
            self.retire(job, &key, self.delete_output).await?;
            return Ok(Finish::Ignored("the call is not waiting for this job"));
        }
        match self.jobs.state(job).await.map_err(FinishError::Provider)? {
            JobState::Running => Ok(Finish::Running),
            // Only a finished job is deleted, and its call moved on before: nothing is left.
            JobState::Deleted => Ok(Finish::Ignored("the job was deleted")),
            JobState::Failed => {
                self.sink.fail(&mut call, &FAILED_REASON.into()).await?;
                self.forget(job).await?;
                warn!(tenant = %tenant, call = %call_id, "transcription job failed");
                Ok(Finish::Failed)
            }
            JobState::Completed => {
                let bytes = self
                    .sink
                    .blobs
                    .get(&key)
                    .await?
                    .ok_or(FinishError::MissingOutput)?;
                let format = TranscriptFormat::AmazonTranscribe;
                let accepted = self.sink.accept_bytes(&mut call, format, &bytes).await?;
                if self.delete_output {
                    self.sink.blobs.delete(&[key]).await?;
                }
                self.forget(job).await?;
                let transcript_version = match accepted {
                    Accepted::Stored { transcript_version } => transcript_version,
                    Accepted::Unreadable { .. } => return Ok(Finish::Failed),
                };
                info!(tenant = %tenant, call = %call_id, version = transcript_version, "transcription job finished");
                Ok(Finish::Transcribed { transcript_version })
            }
        }
    }

    /// Retires a job that no call will take in (any more): once it has ended, its output
    /// goes (when `discard`) and then the job itself. Output no call will read is a full
    /// plaintext transcript of a call that is gone, deleted, closed with its workspace, or
    /// moved on to another job, so every version goes. A job still running is left: its
    /// completion event (or the next sweep) comes back for it.
    async fn retire(&self, job: &str, key: &str, discard: bool) -> Result<(), FinishError> {
        let state = self.jobs.state(job).await.map_err(FinishError::Provider)?;
        if state == JobState::Running {
            return Ok(());
        }
        if discard {
            let removed = self.sink.blobs.purge_prefix(key).await?;
            if removed > 0 {
                info!(versions = removed, "stray transcription output removed");
            }
        }
        if state == JobState::Deleted {
            return Ok(());
        }
        self.forget(job).await
    }

    async fn forget(&self, job: &str) -> Result<(), FinishError> {
        self.jobs.forget(job).await.map_err(FinishError::Provider)
    }

    /// Finishes every finished job of ours whose event never arrived, while `has_time()`.
    /// One job's error is counted and the sweep goes on; the next sweep retries it.
    pub async fn sweep(&self, has_time: impl Fn() -> bool) -> Result<SweepReport, FinishError> {
        let mut report = SweepReport::default();
        for job in self.jobs.finished().await.map_err(FinishError::Provider)? {
            if !has_time() {
                break;
            }
            report.seen += 1;
            match self.finish(&job).await {
                Ok(Finish::Transcribed { .. }) => report.transcribed += 1,
                Ok(Finish::Failed) => report.failed += 1,
                Ok(_) => {}
                Err(error) => {
                    report.errors += 1;
                    warn!(error = %crate::telemetry::Chain(&error), "a finished transcription job could not be finalized");
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::call::Call;
    use crate::domain::org::Tenant;
    use crate::domain::retention::AccountState;
    use crate::domain::transcription::TranscriptionJob;
    use crate::fakes::kit::rig::FakePorts;
    use crate::fakes::{FakeTranscribeJobs, transcribe_output};
    use crate::ports::{CallRepository, TenantRepository};
    use crate::system::RandomIds;

    const NOW: OffsetDateTime = datetime!(2026-11-01 9:00 UTC);
    const HEARD: &[crate::fakes::SpokenTurn<'static>] = &[
        (0, 0.0, 3.0, "What is slowing your team down?"),
        (
            1,
            3.5,
            7.0,
            "Onboarding takes months, and the price is too high.",
        ),
        (0, 7.5, 10.0, "Can we meet Tuesday at ten?"),
    ];

    crate::rig_over_fake_ports!(
        struct Rig {
            jobs: FakeTranscribeJobs,
        }
    );

    impl Rig {
        fn new() -> Self {
            Self {
                ports: FakePorts::at(NOW),
                jobs: FakeTranscribeJobs::default(),
            }
        }

        async fn finish(&self, job: &str) -> Result<Finish, FinishError> {
            let finisher = TranscribeFinisher {
                sink: self.sink(),
                jobs: &self.jobs,
                delete_output: true,
            };
            finisher.finish(job).await
        }

        async fn sweep(&self) -> SweepReport {
            let finisher = TranscribeFinisher {
                sink: self.sink(),
                jobs: &self.jobs,
                delete_output: true,
            };
            finisher.sweep(|| true).await.unwrap()
        }

        /// A call waiting for a Transcribe job, whose output (when `written`) is in the bucket.
        async fn transcribing(&self, state: JobState, written: bool) -> (Call, String) {
            let tenant = TenantId::parse("acme").unwrap();
            let mut call = self.call(&tenant).await;
            let job = job_name(&tenant, &call.call_id, NOW);
            call.status = CallStatus::Transcribing;
            call.upload_key = Some(format!("uploads/acme/{}/call.wav", call.call_id));
            let mut pending =
                TranscriptionJob::new(TranscriptionService::AmazonTranscribe, None, NOW);
            pending.job_id = Some(job.clone());
            call.transcription = Some(pending);
            self.store.save_call(&mut call).await.unwrap();
            self.jobs.set(&job, state);
            if written {
                let body = serde_json::to_vec(&transcribe_output(&job, HEARD)).unwrap();
                self.blobs
                    .put(&output_key(&job).unwrap(), body, "application/json")
                    .await
                    .unwrap();
            }
            (call, job)
        }
    }

    #[test]
    fn job_names_carry_their_call_and_nothing_else_parses() {
        let tenant = TenantId::parse("acme-eu_1").unwrap();
        let call: CallId = crate::ports::IdGenerator::mint(&RandomIds);
        let name = job_name(&tenant, &call, NOW);
        assert!(
            name.len() <= 200
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        );
        assert_eq!(parse_job_name(&name), Some((tenant, call.clone())));
        for bad in [
            "",
            "cc.",
            "xx.acme.call_x.1",
            &format!("cc.acme.{call}"),
            &format!("cc.acme.{call}.1.2"),
            &format!("cc.a/b.{call}.1"),
        ] {
            assert_eq!(parse_job_name(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_completed_job_stores_the_transcript_queues_scoring_and_drops_the_raw_output() {
        let rig = Rig::new();
        let (call, job) = rig.transcribing(JobState::Completed, true).await;
        assert_eq!(
            rig.finish(&job).await.unwrap(),
            Finish::Transcribed {
                transcript_version: 1
            }
        );
        rig.assert_transcribed_and_queued(&call).await;
        assert!(
            rig.blobs.keys().iter().all(|k| !k.contains("/provider/")),
            "raw output deleted"
        );
        assert!(!rig.jobs.holds(&job), "and the job with it");
        // The event replayed, or the sweeper after the event: nothing more happens.
        assert!(matches!(
            rig.finish(&job).await.unwrap(),
            Finish::Ignored(_)
        ));
        assert_eq!(rig.sweep().await.transcribed, 0);
        assert_eq!(rig.queue.messages().len(), 1);
    }

    /// A job that outlived its call writes a whole plaintext transcript: the finisher removes
    /// it (every version) for a call deleted, purged, or given a newer job.
    #[tokio::test]
    async fn output_no_call_will_read_is_removed() {
        let rig = Rig::new();
        let output = |job: &str| {
            let key = output_key(job).unwrap();
            rig.blobs.keys().contains(&key)
        };

        let (deleted, job) = rig.transcribing(JobState::Completed, true).await;
        let mut stored = rig.stored(&deleted).await;
        stored.transition(CallStatus::Deleted, NOW).unwrap();
        rig.store.save_call(&mut stored).await.unwrap();
        assert!(output(&job));
        assert!(matches!(
            rig.finish(&job).await.unwrap(),
            Finish::Ignored(_)
        ));
        assert!(!output(&job), "a deleted call's output is removed");
        assert!(!rig.jobs.holds(&job), "and its job");

        let (purged, job) = rig.transcribing(JobState::Completed, true).await;
        crate::ports::RetentionStore::delete_call_items(
            &rig.store,
            &purged.tenant_id,
            &purged.call_id,
        )
        .await
        .unwrap();
        assert!(matches!(
            rig.finish(&job).await.unwrap(),
            Finish::Ignored(_)
        ));
        assert!(!output(&job), "a purged call's output is removed");
        assert!(!rig.jobs.holds(&job), "and its job");

        let (superseded, newer) = rig.transcribing(JobState::Running, false).await;
        let older = job_name(
            &superseded.tenant_id,
            &superseded.call_id,
            NOW - time::Duration::HOUR,
        );
        rig.jobs.set(&older, JobState::Completed);
        let body = serde_json::to_vec(&transcribe_output(&older, HEARD)).unwrap();
        rig.blobs
            .put(&output_key(&older).unwrap(), body, "application/json")
            .await
            .unwrap();
        assert!(matches!(
            rig.finish(&older).await.unwrap(),
            Finish::Ignored(_)
        ));
        assert!(!output(&older), "a superseded job's output is removed");
        assert!(!rig.jobs.holds(&older), "and the job");
        assert_eq!(rig.finish(&newer).await.unwrap(), Finish::Running);
        assert!(rig.jobs.holds(&newer), "a running job stays");

        let (closed, job) = rig.transcribing(JobState::Completed, true).await;
        let mut workspace = Tenant::active(closed.tenant_id.clone(), "Acme", NOW);
        workspace.state = AccountState::Deleted;
        rig.store.create_tenant(&workspace).await.unwrap();
        assert!(matches!(
            rig.finish(&job).await.unwrap(),
            Finish::Ignored(_)
        ));
        assert!(!output(&job), "a deleted workspace's output is removed");
        assert!(!rig.jobs.holds(&job), "and its job");
        assert_eq!(
            rig.stored(&closed).await.transcript_version,
            0,
            "and not read"
        );
    }

    #[tokio::test]
    async fn failed_running_foreign_and_unknown_jobs() {
        let rig = Rig::new();
        let (failed, job) = rig.transcribing(JobState::Failed, false).await;
        assert_eq!(rig.finish(&job).await.unwrap(), Finish::Failed);
        let stored = rig.stored(&failed).await;
        assert_eq!(stored.status, CallStatus::Failed);
        assert_eq!(stored.failure_reason.as_deref(), Some(FAILED_REASON));
        assert!(!rig.jobs.holds(&job), "a failed job is deleted too");

        let (running, job) = rig.transcribing(JobState::Running, false).await;
        assert_eq!(rig.finish(&job).await.unwrap(), Finish::Running);
        assert_eq!(rig.stored(&running).await.status, CallStatus::Transcribing);

        // An older job of the same call, another tenant's name, or not ours: ignored.
        let older = job_name(
            &running.tenant_id,
            &running.call_id,
            NOW - time::Duration::HOUR,
        );
        rig.jobs.set(&older, JobState::Completed);
        let foreign = "cc.other.call_00000000000000000000000000000000.1";
        rig.jobs.set(foreign, JobState::Completed);
        for name in [older.as_str(), foreign, "someone-elses-job"] {
            assert!(
                matches!(rig.finish(name).await.unwrap(), Finish::Ignored(_)),
                "{name}"
            );
        }
        assert_eq!(rig.stored(&running).await.status, CallStatus::Transcribing);
        assert!(rig.queue.messages().is_empty());

        // Completed, but the output is not there: an error, retried later; nothing changes.
        rig.jobs.set(&job, JobState::Completed);
        assert!(matches!(
            rig.finish(&job).await,
            Err(FinishError::MissingOutput)
        ));
        assert_eq!(rig.stored(&running).await.status, CallStatus::Transcribing);
    }

    #[tokio::test]
    async fn the_sweeper_finishes_jobs_whose_event_never_came() {
        let rig = Rig::new();
        let (done, _) = rig.transcribing(JobState::Completed, true).await;
        let (failed, _) = rig.transcribing(JobState::Failed, false).await;
        let (running, _) = rig.transcribing(JobState::Running, false).await;
        let report = rig.sweep().await;
        assert_eq!(
            (
                report.seen,
                report.transcribed,
                report.failed,
                report.errors
            ),
            (2, 1, 1, 0)
        );
        assert_eq!(rig.stored(&done).await.status, CallStatus::Transcribed);
        assert_eq!(rig.stored(&failed).await.status, CallStatus::Failed);
        assert_eq!(rig.stored(&running).await.status, CallStatus::Transcribing);
        let again = rig.sweep().await;
        assert_eq!((again.transcribed, again.failed), (0, 0));
        assert_eq!(rig.queue.messages().len(), 1);
    }
}
