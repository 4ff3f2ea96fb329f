//! The end of ingestion, shared by every way a transcript arrives (a transcript upload, a
//! Deepgram callback, a Transcribe job): store it encrypted as the call's next transcript
//! version, move the call to `transcribed` with a conditional write, and queue one scoring job.

use crate::domain::audit::AuditEvent;
use crate::usecases::audit_trail::record_once;
use tracing::info;

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::ids::TenantId;
use crate::messages::PipelineMessage;
use crate::parse::{TranscriptFormat, parse_as};
use crate::ports::{
    AgeIndex, AgeMark, BlobStore, Clock, PipelineStore, Queue, QueueError, StoreError,
};
use crate::usecases::documents::{DocumentError, DocumentVault};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the transcript could not be stored")]
    Document(#[from] DocumentError),
    #[error("the scoring queue failed")]
    Queue(#[from] QueueError),
}

/// What became of a transcript's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Stored {
        transcript_version: u32,
    },
    /// They did not parse; the call failed with this reason.
    Unreadable {
        reason: String,
    },
}

/// What a sweep for overdue transcriptions did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverdueReport {
    /// Marks past the deadline that were looked at.
    pub seen: u64,
    /// Calls failed for it.
    pub failed: u64,
    pub finished: bool,
}

/// Rounds of taking in the API's changes before a pipeline save gives up.
const API_MERGE_ATTEMPTS: usize = 5;

/// The ports a transcript needs to reach the scoring queue.
pub struct TranscriptSink<'a, S, B, E, Q, C> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub envelope: &'a E,
    pub queue: &'a Q,
    pub clock: &'a C,
}

impl<S, B, E, Q, C> TranscriptSink<'_, S, B, E, Q, C>
where
    S: PipelineStore,
    B: BlobStore,
    E: Envelope,
    Q: Queue,
    C: Clock,
{
    /// Moves the call with a conditional save (the version it was read at: a hold or a rep
    /// speaker set since makes the save fail and the event is retried from a fresh read,
    /// rather than undone). The audit event goes first: its id derives from the move, so a
    /// retry after a failed write records it once.
    ///
    /// A call entering `transcribing` is marked first (a mark without the move is cleared by
    /// the sweep; a move without the mark would wait forever), and unmarked once it leaves.
    pub async fn move_call(&self, call: &mut Call, next: CallStatus) -> Result<(), StoreError> {
        let from = call.status;
        if call.transition(next, self.clock.now()).is_err() {
            return Err(StoreError::StaleTransition { expected: from });
        }
        if next == CallStatus::Transcribing {
            self.store
                .mark_aging(
                    &call.tenant_id,
                    &call.call_id,
                    AgeMark::Transcribing,
                    self.clock.now(),
                )
                .await?;
        }
        self.record(call, &format!("pipeline.call_{}", next.as_str()))
            .await?;
        self.save_over_api_changes(call, from).await?;
        self.left(call, from).await
    }

    /// A conditional save that takes in what the API changed meanwhile. While a pipeline step
    /// runs, the call's other writers are the API (a legal hold, a rep speaker) and deletion:
    /// when the stored call is still in `from` and holds no newer transcript, only the API's
    /// fields can have changed, so they are taken from it and the save is made again (a
    /// retry of the whole step would submit a recording twice). Anything else fails with
    /// `StaleTransition`, and the step is retried from a fresh read.
    async fn save_over_api_changes(
        &self,
        call: &mut Call,
        from: CallStatus,
    ) -> Result<(), StoreError> {
        for _ in 0..API_MERGE_ATTEMPTS {
            match self.store.save_call(call).await {
                Err(StoreError::StaleTransition { expected }) => {
                    let Some(stored) = self.store.get_call(&call.tenant_id, &call.call_id).await?
                    else {
                        return Err(StoreError::StaleTransition { expected });
                    };
                    let only_api_changes = stored.status == from
                        && stored.transcript_version <= call.transcript_version;
                    if !only_api_changes {
                        return Err(StoreError::StaleTransition { expected });
                    }
                    call.legal_hold = stored.legal_hold;
                    call.rep_speaker = stored.rep_speaker;
                    call.version = stored.version;
                }
                done => return done,
            }
        }
        Err(StoreError::StaleTransition {
            expected: call.status,
        })
    }

    /// Clears the transcription mark of a call that has just left `transcribing`.
    async fn left(&self, call: &Call, from: CallStatus) -> Result<(), StoreError> {
        if from == CallStatus::Transcribing && call.status != CallStatus::Transcribing {
            self.store
                .clear_aging_mark(&call.tenant_id, &call.call_id, AgeMark::Transcribing)
                .await?;
        }
        Ok(())
    }

    /// The audit event of a pipeline step on `call`: ids only, unique per upload and version.
    async fn record(&self, call: &Call, action: &str) -> Result<(), StoreError> {
        let version = call.transcript_version.to_string();
        let upload = call
            .upload_sequencer
            .as_deref()
            .or(call.upload_key.as_deref())
            .unwrap_or("-");
        let event = AuditEvent::by_system(
            "pipeline",
            &call.tenant_id,
            action,
            &format!("call/{}", call.call_id),
            &[upload, &version],
            self.clock.now(),
        );
        record_once(self.store, &event).await
    }

    /// Saves a change that keeps the status (a conditional save, too).
    pub async fn save(&self, call: &mut Call) -> Result<(), StoreError> {
        call.updated_at = self.clock.now();
        let status = call.status;
        self.save_over_api_changes(call, status).await
    }

    /// Marks the call failed for a reason its owner can read. Never fails a failed call twice.
    pub async fn fail(&self, call: &mut Call, reason: &str) -> Result<(), StoreError> {
        let from = call.status;
        if call.fail(reason.to_owned(), self.clock.now()).is_ok() {
            self.record(call, "pipeline.call_failed").await?;
            self.save_over_api_changes(call, from).await?;
            self.left(call, from).await?;
        }
        info!(tenant = %call.tenant_id, call = %call.call_id, "call marked failed");
        Ok(())
    }

    /// Stores `transcript` as the next version and moves the call to `transcribed`, then
    /// queues scoring. Returns the version stored.
    pub async fn accept(&self, call: &mut Call, transcript: &Transcript) -> Result<u32, SinkError> {
        let version = call.transcript_version + 1;
        let vault = DocumentVault {
            repository: self.store,
            blobs: self.blobs,
            envelope: self.envelope,
        };
        vault
            .put_transcript(&call.tenant_id, &call.call_id, version, transcript)
            .await?;
        call.transcript_version = version;
        // The raw upload starts aging now (deleted N days after transcription).
        if call.upload_key.is_some() {
            self.store
                .mark_aging(
                    &call.tenant_id,
                    &call.call_id,
                    AgeMark::Recording,
                    self.clock.now(),
                )
                .await?;
        }
        if let Some(job) = call.transcription.as_mut() {
            job.completed_at = Some(self.clock.now());
        }
        self.move_call(call, CallStatus::Transcribed).await?;
        self.queue_scoring(call).await?;
        Ok(version)
    }

    /// Fails every call whose transcript did not come within `deadline` of its submission (a
    /// job the provider lost, a callback that never came), with a reason its owner can read,
    /// so no call waits forever. Calls that moved on meanwhile only lose their mark. Stops
    /// when `has_time()` says so; the next sweep continues.
    pub async fn fail_overdue(
        &self,
        deadline: time::Duration,
        has_time: impl Fn() -> bool,
    ) -> Result<OverdueReport, StoreError> {
        let mut report = OverdueReport {
            finished: true,
            ..OverdueReport::default()
        };
        for tenant in self.store.tenant_ids().await? {
            if !self
                .fail_overdue_of(&tenant, deadline, &has_time, &mut report)
                .await?
            {
                report.finished = false;
                break;
            }
        }
        Ok(report)
    }

    /// [`Self::fail_overdue`] for one workspace.
    pub async fn fail_overdue_in(
        &self,
        tenant: &TenantId,
        deadline: time::Duration,
    ) -> Result<OverdueReport, StoreError> {
        let mut report = OverdueReport::default();
        report.finished = self
            .fail_overdue_of(tenant, deadline, &|| true, &mut report)
            .await?;
        Ok(report)
    }

    /// False when time ran out.
    async fn fail_overdue_of(
        &self,
        tenant: &TenantId,
        deadline: time::Duration,
        has_time: &impl Fn() -> bool,
        report: &mut OverdueReport,
    ) -> Result<bool, StoreError> {
        let cutoff = self.clock.now() - deadline;
        let reason = format!(
            "the transcription did not finish within {} hours; upload the recording again",
            deadline.whole_hours()
        );
        let mut after = None;
        loop {
            let due = self
                .store
                .due_calls(tenant, AgeIndex::Transcribing, cutoff, after.as_ref(), 100)
                .await?;
            for entry in &due {
                if !has_time() {
                    return Ok(false);
                }
                report.seen += 1;
                match self.store.get_call(tenant, &entry.call_id).await? {
                    Some(mut call) if call.status == CallStatus::Transcribing => {
                        match self.fail(&mut call, &reason).await {
                            Ok(()) => report.failed += 1,
                            // It moved on meanwhile; whoever moved it cleared the mark.
                            Err(StoreError::StaleTransition { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    _ => {
                        self.store
                            .clear_aging_mark(tenant, &entry.call_id, AgeMark::Transcribing)
                            .await?;
                    }
                }
            }
            match due.last() {
                Some(last) if due.len() == 100 => after = Some(last.clone()),
                _ => return Ok(true),
            }
        }
    }

    /// Parses `bytes` as `format` and stores the transcript ([`Self::accept`]); bytes that do
    /// not parse fail the call with a reason its owner can read.
    pub async fn accept_bytes(
        &self,
        call: &mut Call,
        format: TranscriptFormat,
        bytes: &[u8],
    ) -> Result<Accepted, SinkError> {
        match parse_as(format, bytes) {
            Ok(transcript) => Ok(Accepted::Stored {
                transcript_version: self.accept(call, &transcript).await?,
            }),
            Err(e) => {
                let reason = format!("the transcript could not be read: {e}");
                self.fail(call, &reason).await?;
                Ok(Accepted::Unreadable { reason })
            }
        }
    }

    /// Queues the scoring job of the call's current transcript. The worker is idempotent per
    /// (call, version), so a resumed delivery may safely send it again.
    pub async fn queue_scoring(&self, call: &Call) -> Result<(), SinkError> {
        self.queue
            .send(&PipelineMessage::ScoreCall {
                tenant_id: call.tenant_id.clone(),
                call_id: call.call_id.clone(),
                transcript_version: call.transcript_version,
            })
            .await?;
        info!(tenant = %call.tenant_id, call = %call.call_id, version = call.transcript_version, "transcript stored; scoring queued");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;

    use crate::domain::org::Tenant;

    use crate::fakes::{
        InMemoryBlobStore, InMemoryQueue, InMemoryStore, ManualClock, fake_cipher_over,
    };
    use crate::ports::{CallRepository, RetentionStore, TenantRepository};
    use crate::system::RandomIds;
    use crate::usecases::calls::{NewCall, create_call};

    const SUBMITTED: OffsetDateTime = datetime!(2026-11-24 1:00 UTC);
    const DEADLINE: Duration = Duration::hours(6);

    struct Rig {
        store: InMemoryStore,
        blobs: InMemoryBlobStore,
        queue: InMemoryQueue,
        clock: ManualClock,
        tenant: TenantId,
    }

    impl Rig {
        async fn new() -> Self {
            let rig = Rig {
                store: InMemoryStore::default(),
                blobs: InMemoryBlobStore::default(),
                queue: InMemoryQueue::default(),
                clock: ManualClock::at(SUBMITTED),
                tenant: TenantId::parse("acme").unwrap(),
            };
            rig.store
                .create_tenant(&Tenant::active(rig.tenant.clone(), "Acme", SUBMITTED))
                .await
                .unwrap();
            rig
        }

        async fn sweep(&self) -> OverdueReport {
            let envelope = fake_cipher_over(self.store.clone(), ManualClock::at(SUBMITTED));
            let sink = TranscriptSink {
                store: &self.store,
                blobs: &self.blobs,
                envelope: &envelope,
                queue: &self.queue,
                clock: &self.clock,
            };
            sink.fail_overdue(DEADLINE, || true).await.unwrap()
        }

        /// A call sent to a provider at the rig's clock time.
        async fn submitted(&self) -> Call {
            let envelope = fake_cipher_over(self.store.clone(), ManualClock::at(SUBMITTED));
            let new = NewCall {
                team_id: crate::ports::IdGenerator::mint(&RandomIds),
                rep_id: crate::ids::UserId::parse("rep-1").unwrap(),
                title: "t".into(),
                call_type: crate::domain::call::CallType::Demo,
                company_domain: None,
                buyer_persona: None,
            };
            let mut call = create_call(&self.store, &self.clock, &RandomIds, &self.tenant, new)
                .await
                .unwrap();
            let sink = TranscriptSink {
                store: &self.store,
                blobs: &self.blobs,
                envelope: &envelope,
                queue: &self.queue,
                clock: &self.clock,
            };
            sink.move_call(&mut call, CallStatus::Uploaded)
                .await
                .unwrap();
            sink.move_call(&mut call, CallStatus::Transcribing)
                .await
                .unwrap();
            call
        }

        async fn reload(&self, call: &Call) -> Call {
            self.store
                .get_call(&self.tenant, &call.call_id)
                .await
                .unwrap()
                .unwrap()
        }

        async fn marks(&self) -> usize {
            self.store
                .due_calls(
                    &self.tenant,
                    AgeIndex::Transcribing,
                    SUBMITTED + Duration::days(9),
                    None,
                    100,
                )
                .await
                .unwrap()
                .len()
        }
    }

    #[tokio::test]
    async fn a_pipeline_move_takes_in_a_hold_and_a_speaker_set_since_it_read_the_call() {
        let rig = Rig::new().await;
        let call = rig.submitted().await;
        // The callback read the call; then the owner holds it and a manager names the rep.
        let mut pipeline_copy = rig.reload(&call).await;
        let mut api_copy = pipeline_copy.clone();
        api_copy.legal_hold = true;
        api_copy.rep_speaker = Some("Dana".into());
        rig.store.save_call(&mut api_copy).await.unwrap();
        let envelope = fake_cipher_over(rig.store.clone(), ManualClock::at(SUBMITTED));
        let sink = TranscriptSink {
            store: &rig.store,
            blobs: &rig.blobs,
            envelope: &envelope,
            queue: &rig.queue,
            clock: &rig.clock,
        };
        sink.fail(&mut pipeline_copy, "the provider lost the job")
            .await
            .unwrap();
        let stored = rig.reload(&call).await;
        assert_eq!(
            (
                stored.status,
                stored.legal_hold,
                stored.rep_speaker.as_deref()
            ),
            (CallStatus::Failed, true, Some("Dana"))
        );
        // A copy from before the call moved on (still `transcribing`) is refused.
        let mut stale = call.clone();
        assert!(matches!(
            sink.save(&mut stale).await,
            Err(StoreError::StaleTransition { .. })
        ));
    }

    #[tokio::test]
    async fn a_call_whose_transcript_never_comes_fails_at_the_deadline_and_only_then() {
        let rig = Rig::new().await;
        let lost = rig.submitted().await;
        assert_eq!(rig.marks().await, 1);

        rig.clock.set(SUBMITTED + DEADLINE - Duration::seconds(1));
        assert_eq!(rig.sweep().await.failed, 0);
        assert_eq!(rig.reload(&lost).await.status, CallStatus::Transcribing);

        rig.clock.set(SUBMITTED + DEADLINE);
        let report = rig.sweep().await;
        assert_eq!((report.seen, report.failed, report.finished), (1, 1, true));
        let failed = rig.reload(&lost).await;
        assert_eq!(failed.status, CallStatus::Failed);
        assert!(
            failed
                .failure_reason
                .unwrap()
                .contains("did not finish within 6 hours")
        );
        assert_eq!(rig.marks().await, 0);
        let audited = rig
            .store
            .audit_events()
            .iter()
            .filter(|e| e.action == "pipeline.call_failed")
            .count();
        assert_eq!(audited, 1);

        // A second sweep finds nothing to do.
        assert_eq!(
            rig.sweep().await,
            OverdueReport {
                seen: 0,
                failed: 0,
                finished: true
            }
        );
    }

    #[tokio::test]
    async fn calls_that_moved_on_only_lose_their_mark() {
        let rig = Rig::new().await;
        let transcribed = rig.submitted().await;
        let deleted = rig.submitted().await;
        let envelope = fake_cipher_over(rig.store.clone(), ManualClock::at(SUBMITTED));
        let sink = TranscriptSink {
            store: &rig.store,
            blobs: &rig.blobs,
            envelope: &envelope,
            queue: &rig.queue,
            clock: &rig.clock,
        };
        // The transcript came: leaving `transcribing` clears the mark at once.
        let mut call = rig.reload(&transcribed).await;
        sink.move_call(&mut call, CallStatus::Transcribed)
            .await
            .unwrap();
        assert_eq!(rig.marks().await, 1);
        // Deleted by its owner: the mark stays until the sweep sees the call moved on.
        let mut call = rig.reload(&deleted).await;
        call.status = CallStatus::Deleted;
        rig.store.save_call(&mut call).await.unwrap();

        rig.clock.set(SUBMITTED + Duration::days(1));
        let report = rig.sweep().await;
        assert_eq!((report.seen, report.failed), (1, 0));
        assert_eq!(rig.marks().await, 0);
        assert_eq!(
            rig.reload(&transcribed).await.status,
            CallStatus::Transcribed
        );
        assert_eq!(rig.reload(&deleted).await.status, CallStatus::Deleted);
    }
}
