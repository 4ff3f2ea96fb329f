//! Deadlines for the states that wait for the pipeline, and the sweep that keeps them, so no
//! call waits forever.
//!
//! A call waits in `uploaded` (the upload trigger's run), `transcribing` (a provider's job),
//! `transcribed` and `scoring` (the scoring worker's job). Each step is retried by its queue or
//! provider, but a message can end in a dead-letter queue, a provider can lose a job, an event
//! can be dropped, and then nothing would move the call again. The store keeps every waiting
//! call in the waiting index, by when it entered its state (from the call's status, so no move
//! can forget it). The sweep reads the calls past the shortest deadline and, for each call past
//! its own state's deadline:
//! - `uploaded`, `transcribing`: fails it with a reason its owner can read;
//! - `transcribed`, `scoring`: queues its scoring job again, once (the worker is idempotent per
//!   job), and starts the deadline anew; past it again, fails it.
//!
//! Each deadline is longer than its queue takes to give up (checked on the template), so the
//! sweep only acts once the queue's own retries are over.

use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus, FailureReason};
use crate::ids::TenantId;
use crate::ports::{AgeIndex, BlobStore, Clock, DueCall, PipelineStore, Queue, StoreError};
use crate::usecases::call_lifecycle::{CallLifecycle, Change, Mover};
use crate::usecases::transcribed::{SinkError, TranscriptSink};

/// Entries read per index page.
const PAGE: usize = 100;

/// How long a call may wait in each waiting state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// In `uploaded`: the upload trigger's run, with its queue's retries.
    pub upload: Duration,
    /// In `transcribing`: the provider's job, from its submission.
    pub transcription: Duration,
    /// In `transcribed` or `scoring`: the scoring job, with its queue's retries; once more
    /// after the sweep's own retry.
    pub scoring: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            upload: Duration::hours(1),
            transcription: Duration::hours(6),
            scoring: Duration::hours(3),
        }
    }
}

impl Deadlines {
    /// The deadline of a waiting state (none for the others).
    pub fn of(&self, status: CallStatus) -> Option<Duration> {
        match status {
            CallStatus::Uploaded => Some(self.upload),
            CallStatus::Transcribing => Some(self.transcription),
            CallStatus::Transcribed | CallStatus::Scoring => Some(self.scoring),
            _ => None,
        }
    }

    fn shortest(&self) -> Duration {
        self.upload.min(self.transcription).min(self.scoring)
    }

    /// Why a call past its deadline failed, for its owner (no personal data).
    fn reason(&self, status: CallStatus) -> FailureReason {
        let hours = |d: Duration| d.whole_hours();
        match status {
            CallStatus::Uploaded => FailureReason::composed(format!(
                "the upload was not processed within {} hours; upload the file again",
                hours(self.upload)
            )),
            CallStatus::Transcribing => FailureReason::composed(format!(
                "the transcription did not finish within {} hours; upload the recording again",
                hours(self.transcription)
            )),
            _ => FailureReason::composed(format!(
                "scoring did not finish within {} hours, twice; upload the call again",
                hours(self.scoring)
            )),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WaitingReport {
    /// Waiting calls past the shortest deadline that were looked at.
    pub seen: u64,
    /// Calls failed for waiting too long.
    pub failed: u64,
    /// Scoring jobs queued again.
    pub retried: u64,
    /// Calls the sweep could not settle (logged with their ids; the next sweep tries again).
    pub errors: u64,
    /// False when time ran out; the next sweep continues.
    pub finished: bool,
}

/// The sweep over the waiting index.
pub struct WaitingSweep<'a, S, B, E, Q, C> {
    pub sink: TranscriptSink<'a, S, B, E, Q, C>,
    pub deadlines: Deadlines,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, C: Clock>
    WaitingSweep<'_, S, B, E, Q, C>
{
    /// Every workspace, until `has_time()` says to stop.
    pub async fn run(&self, has_time: impl Fn() -> bool) -> Result<WaitingReport, SinkError> {
        let mut report = WaitingReport {
            finished: true,
            ..WaitingReport::default()
        };
        for tenant in self.sink.store.tenant_ids().await? {
            if !self.sweep(&tenant, &has_time, &mut report).await? {
                report.finished = false;
                break;
            }
        }
        Ok(report)
    }

    /// One workspace, to the end.
    pub async fn run_in(&self, tenant: &TenantId) -> Result<WaitingReport, SinkError> {
        let mut report = WaitingReport::default();
        report.finished = self.sweep(tenant, &|| true, &mut report).await?;
        Ok(report)
    }

    /// False when time ran out.
    async fn sweep(
        &self,
        tenant: &TenantId,
        has_time: &impl Fn() -> bool,
        report: &mut WaitingReport,
    ) -> Result<bool, SinkError> {
        let now = self.sink.clock.now();
        let cutoff = now - self.deadlines.shortest();
        let mut after: Option<DueCall> = None;
        loop {
            let due = self
                .sink
                .store
                .due_calls(tenant, AgeIndex::Waiting, cutoff, after.as_ref(), PAGE)
                .await?;
            for entry in &due {
                if !has_time() {
                    return Ok(false);
                }
                report.seen += 1;
                // One call's failure is counted and the sweep goes on, so a call it cannot
                // settle does not keep the calls after it waiting.
                let settled = match self.sink.store.get_call(tenant, &entry.call_id).await {
                    Ok(Some(call)) => self.settle(call, now, report).await,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e.into()),
                };
                if let Err(error) = settled {
                    report.errors += 1;
                    warn!(tenant = %tenant, call = %entry.call_id, error = %crate::telemetry::Chain(&error), "a waiting call could not be settled");
                }
            }
            match due.last() {
                Some(last) if due.len() == PAGE => after = Some(last.clone()),
                _ => return Ok(true),
            }
        }
    }

    /// Retries or fails one call, if it is past its state's deadline.
    async fn settle(
        &self,
        mut call: Call,
        now: OffsetDateTime,
        report: &mut WaitingReport,
    ) -> Result<(), SinkError> {
        let status = call.status;
        let (Some(since), Some(deadline)) = (call.waiting_since(), self.deadlines.of(status))
        else {
            return Ok(());
        };
        if since + deadline > now {
            return Ok(());
        }
        let scoring = matches!(status, CallStatus::Transcribed | CallStatus::Scoring);
        if scoring && call.waiting_retries == 0 {
            // The job first: a message whose write then loses a race is one the worker
            // recognises as done or superseded; a write without its message would fail the
            // call at the next deadline without a retry.
            self.sink.queue_scoring(&call).await?;
            let retried = CallLifecycle::new(self.sink.store, Mover::Pipeline)
                .update(&mut call, |c| {
                    if c.status != status || c.waiting_since() != Some(since) {
                        return Ok::<_, StoreError>(Change::Keep(false));
                    }
                    c.waiting_retries += 1;
                    c.status_since = Some(now);
                    c.updated_at = now;
                    Ok(Change::Write(true))
                })
                .await?;
            if retried {
                report.retried += 1;
                info!(tenant = %call.tenant_id, call = %call.call_id, "scoring overdue; job queued again");
            }
            return Ok(());
        }
        // Only while it still waits where it was found: a call that moved on (and perhaps
        // back into a waiting state) since is not failed for the old wait.
        let reason = self.deadlines.reason(status);
        let failed = CallLifecycle::new(self.sink.store, Mover::Pipeline)
            .update(&mut call, |c| {
                if c.status != status || c.waiting_since() != Some(since) {
                    return Ok::<_, StoreError>(Change::Keep(false));
                }
                c.fail(&reason, now)
                    .map_err(|_| StoreError::StaleTransition { expected: c.status })?;
                Ok(Change::Write(true))
            })
            .await?;
        if failed {
            self.sink.start_recording_age(&call).await?;
            report.failed += 1;
            info!(tenant = %call.tenant_id, call = %call.call_id, "waiting call failed at its deadline");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fakes::kit::rig::FakePorts;
    use crate::messages::PipelineMessage;
    use crate::ports::CallRepository;
    use crate::usecases::call_lifecycle::{CallLifecycle, Mover};

    const START: OffsetDateTime = datetime!(2026-11-24 1:00 UTC);

    crate::rig_over_fake_ports!(
        struct Rig {
            tenant: TenantId,
        }
    );

    impl Rig {
        async fn new() -> Self {
            let ports = FakePorts::at(START);
            let tenant = ports.workspace("acme").await;
            Rig { ports, tenant }
        }

        async fn sweep(&self) -> WaitingReport {
            let sweep = WaitingSweep {
                sink: self.sink(),
                deadlines: Deadlines::default(),
            };
            sweep.run(|| true).await.unwrap()
        }

        /// A call moved along `path` at the rig's clock time.
        /// A call moved along `path`; one that was uploaded has its upload's key.
        async fn call_at(&self, path: &[CallStatus]) -> Call {
            let mut call = self.call(&self.tenant).await;
            if path.contains(&Uploaded) {
                call.upload_key = Some(crate::keys::upload_key(
                    &call.tenant_id,
                    &call.call_id,
                    "call.wav",
                ));
            }
            for next in path {
                CallLifecycle::new(&self.store, Mover::Pipeline)
                    .move_to(&mut call, *next, self.clock.now())
                    .await
                    .unwrap();
            }
            call
        }

        async fn waiting(&self) -> usize {
            crate::ports::RetentionStore::due_calls(
                &self.store,
                &self.tenant,
                AgeIndex::Waiting,
                START + Duration::days(30),
                None,
                100,
            )
            .await
            .unwrap()
            .len()
        }

        /// The calls whose uploads age under the recordings window.
        async fn recordings_aging(&self) -> Vec<crate::ids::CallId> {
            crate::ports::RetentionStore::due_calls(
                &self.store,
                &self.tenant,
                AgeIndex::Recordings,
                START + Duration::days(30),
                None,
                100,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|due| due.call_id)
            .collect()
        }

        fn failures_audited(&self) -> usize {
            self.store
                .audit_events()
                .iter()
                .filter(|e| e.action == "pipeline.call_failed")
                .count()
        }
    }

    use CallStatus::*;

    #[tokio::test]
    async fn every_waiting_state_is_in_the_waiting_index_and_the_others_are_not() {
        let rig = Rig::new().await;
        let awaiting = rig.call_at(&[]).await;
        assert_eq!(rig.waiting().await, 0, "{:?}", awaiting.status);
        let paths: [&[CallStatus]; 4] = [
            &[Uploaded],
            &[Uploaded, Transcribing],
            &[Uploaded, Transcribed],
            &[Uploaded, Transcribed, Scoring],
        ];
        for (n, path) in paths.iter().enumerate() {
            rig.call_at(path).await;
            assert_eq!(rig.waiting().await, n + 1, "{path:?}");
        }
        rig.call_at(&[Uploaded, Transcribed, Scoring, Scored]).await;
        rig.call_at(&[Uploaded, Failed]).await;
        rig.call_at(&[Uploaded, Deleted]).await;
        assert_eq!(rig.waiting().await, 4);
    }

    #[tokio::test]
    async fn a_call_stuck_in_uploaded_or_transcribing_fails_at_its_deadline_and_only_then() {
        let rig = Rig::new().await;
        let uploaded = rig.call_at(&[Uploaded]).await;
        let transcribing = rig.call_at(&[Uploaded, Transcribing]).await;
        let deadlines = Deadlines::default();

        rig.clock
            .set(START + deadlines.upload - Duration::seconds(1));
        assert_eq!(rig.sweep().await.failed, 0);
        rig.clock.set(START + deadlines.upload);
        let report = rig.sweep().await;
        assert_eq!((report.seen, report.failed), (2, 1));
        let failed = rig.stored(&uploaded).await;
        assert_eq!(failed.status, Failed);
        assert!(
            failed
                .failure_reason
                .unwrap()
                .contains("upload the file again")
        );
        assert_eq!(rig.stored(&transcribing).await.status, Transcribing);
        // The failed call's recording now ages like a transcribed one's; the live one's not.
        assert_eq!(
            rig.recordings_aging().await,
            std::slice::from_ref(&uploaded.call_id)
        );

        rig.clock
            .set(START + deadlines.transcription - Duration::seconds(1));
        assert_eq!(rig.sweep().await.failed, 0);
        rig.clock.set(START + deadlines.transcription);
        assert_eq!(rig.sweep().await.failed, 1);
        let failed = rig.stored(&transcribing).await;
        assert_eq!(failed.status, Failed);
        assert!(
            failed
                .failure_reason
                .unwrap()
                .contains("did not finish within 6 hours")
        );
        assert_eq!(rig.failures_audited(), 2);
        assert_eq!(rig.waiting().await, 0);
        assert_eq!(
            rig.sweep().await,
            WaitingReport {
                finished: true,
                ..WaitingReport::default()
            }
        );
    }

    #[tokio::test]
    async fn a_scoring_job_lost_to_the_dead_letter_queue_is_retried_once_then_its_call_fails() {
        let rig = Rig::new().await;
        // The worker moved the call to scoring, and its job then ran out of receives.
        let stuck = rig.call_at(&[Uploaded, Transcribed, Scoring]).await;
        let never_queued = rig.call_at(&[Uploaded, Transcribed]).await;
        let deadline = Deadlines::default().scoring;

        rig.clock.set(START + deadline - Duration::seconds(1));
        assert_eq!(rig.sweep().await.retried, 0);
        assert!(rig.queue.take().is_empty());

        rig.clock.set(START + deadline);
        let report = rig.sweep().await;
        assert_eq!((report.retried, report.failed), (2, 0));
        let mut queued: Vec<_> = rig
            .queue
            .take()
            .into_iter()
            .map(|m| match m {
                PipelineMessage::ScoreCall { call_id, .. } => call_id,
                other => panic!("{other:?}"),
            })
            .collect();
        queued.sort();
        let mut expected = vec![stuck.call_id.clone(), never_queued.call_id.clone()];
        expected.sort();
        assert_eq!(queued, expected);
        assert_eq!(rig.stored(&stuck).await.status, Scoring);

        // The deadline starts anew with the retry: not failed before it runs out again.
        rig.clock.set(START + deadline * 2 - Duration::seconds(1));
        let report = rig.sweep().await;
        assert_eq!((report.retried, report.failed), (0, 0));
        rig.clock.set(START + deadline * 2);
        let report = rig.sweep().await;
        assert_eq!((report.retried, report.failed), (0, 2));
        assert!(rig.queue.take().is_empty(), "retried only once");
        let failed = rig.stored(&stuck).await;
        assert_eq!(failed.status, Failed);
        assert!(
            failed
                .failure_reason
                .unwrap()
                .contains("scoring did not finish")
        );
    }

    #[tokio::test]
    async fn a_held_call_past_its_deadline_fails_and_keeps_its_hold() {
        let rig = Rig::new().await;
        let call = rig.call_at(&[Uploaded, Transcribing]).await;
        rig.clock.set(START + Deadlines::default().transcription);
        // Its owner held it while it waited.
        let mut held = rig.stored(&call).await;
        held.legal_hold = true;
        rig.store.save_call(&mut held).await.unwrap();
        assert_eq!(rig.sweep().await.failed, 1);
        let stored = rig.stored(&call).await;
        assert_eq!((stored.status, stored.legal_hold), (Failed, true));
    }

    #[tokio::test]
    async fn a_call_that_came_back_into_its_state_meanwhile_is_not_failed_for_the_old_wait() {
        let rig = Rig::new().await;
        let call = rig.call_at(&[Uploaded, Transcribing]).await;
        let late = START + Deadlines::default().transcription;
        rig.clock.set(late);
        // Between the sweep's read and its write, a newer upload took the call through
        // `uploaded` back into `transcribing`: a new wait, with a deadline of its own.
        rig.store
            .interleave_next_call_write(move |c| c.status_since = Some(late));
        let report = rig.sweep().await;
        assert_eq!((report.seen, report.failed, report.errors), (1, 0, 0));
        assert_eq!(rig.stored(&call).await.status, Transcribing);
        assert_eq!(rig.failures_audited(), 0);
    }

    #[tokio::test]
    async fn a_hold_or_speaker_change_does_not_move_the_deadline() {
        let rig = Rig::new().await;
        let call = rig.call_at(&[Uploaded]).await;
        rig.clock.set(START + Duration::minutes(50));
        let mut changed = rig.stored(&call).await;
        changed.rep_speaker = Some(rig.sealed_speaker(&call, "Dana").await);
        changed.updated_at = rig.clock.now();
        rig.store.save_call(&mut changed).await.unwrap();
        rig.clock.set(START + Deadlines::default().upload);
        assert_eq!(rig.sweep().await.failed, 1);
    }
}
