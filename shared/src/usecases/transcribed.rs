//! The end of ingestion, shared by every way a transcript arrives (a transcript upload, a
//! Deepgram callback, a Transcribe job): store it encrypted as the call's next transcript
//! version, move the call to `transcribed` with a conditional write, and queue one scoring job.

use tracing::info;

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus, FailureReason};
use crate::domain::transcript::Transcript;
use crate::messages::PipelineMessage;
use crate::parse::{TranscriptFormat, parse_as};
use crate::ports::{AgeMark, BlobStore, Clock, PipelineStore, Queue, QueueError, StoreError};
use crate::usecases::call_lifecycle::{CallLifecycle, Change, Mover};
use crate::usecases::documents::{DocumentError, DocumentVault, live_after_writes};

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
        reason: FailureReason,
    },
}

/// The ports a transcript needs to reach the scoring queue.
pub struct TranscriptSink<'a, S, B, E, Q, C> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub envelope: &'a E,
    pub queue: &'a Q,
    pub clock: &'a C,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, C: Clock>
    TranscriptSink<'_, S, B, E, Q, C>
{
    /// Moves the call from where the pipeline found it to `next`, with the pipeline's changes
    /// (the call as given), through the one writer of calls (which audits the move). A hold
    /// or a rep speaker set since the call was read is taken in rather than undone (see
    /// [`Self::keep_api_changes`]); a call that moved on fails with `StaleTransition` and the
    /// step is retried from a fresh read. A call entering a waiting state is in the waiting
    /// index from its save (`usecases::waiting`).
    pub async fn move_call(&self, call: &mut Call, next: CallStatus) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.write_step(call, |c| {
            c.transition(next, now)
                .map(|_| ())
                .map_err(|_| StoreError::StaleTransition { expected: c.status })
        })
        .await
    }

    /// Saves the pipeline's changes to the call through the one writer of calls, taking in
    /// what the API changed meanwhile ([`Self::keep_api_changes`]), then applying `step`.
    async fn write_step(
        &self,
        call: &mut Call,
        mut step: impl FnMut(&mut Call) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let ours = call.clone();
        let written = CallLifecycle::new(self.store, Mover::Pipeline)
            .update(call, |stored| {
                Self::keep_api_changes(&ours, stored)?;
                step(stored)?;
                Ok::<_, StoreError>(Change::Write(()))
            })
            .await;
        match written {
            // Gone meanwhile: as a call that moved on.
            Err(StoreError::NotFound) => Err(StoreError::StaleTransition {
                expected: ours.status,
            }),
            other => other,
        }
    }

    /// Turns `stored` into the pipeline's copy `ours` with the API's fields taken from
    /// `stored`. While a pipeline step runs, the call's other writers are the API (a legal
    /// hold, a rep speaker) and deletion: when the stored call is still where the step found
    /// it, for the same upload, and holds no newer transcript, only the API's fields can have
    /// changed (a retry of the whole step would submit a recording twice). Anything else is
    /// `StaleTransition`.
    fn keep_api_changes(ours: &Call, stored: &mut Call) -> Result<(), StoreError> {
        let only_api_changes = stored.status == ours.status
            && stored.transcript_version <= ours.transcript_version
            && stored.upload_generation == ours.upload_generation;
        if !only_api_changes {
            return Err(StoreError::StaleTransition {
                expected: ours.status,
            });
        }
        let (legal_hold, rep_speaker, version) =
            (stored.legal_hold, stored.rep_speaker.take(), stored.version);
        *stored = ours.clone();
        stored.legal_hold = legal_hold;
        stored.rep_speaker = rep_speaker;
        stored.version = version;
        Ok(())
    }

    /// Saves a change that keeps the status (a conditional save, too).
    pub async fn save(&self, call: &mut Call) -> Result<(), StoreError> {
        call.updated_at = self.clock.now();
        self.write_step(call, |_| Ok(())).await
    }

    /// Marks the call failed for a reason its owner can read. Never fails a failed call twice.
    pub async fn fail(&self, call: &mut Call, reason: &FailureReason) -> Result<(), StoreError> {
        let now = self.clock.now();
        let failable = call.clone().fail(reason, now).is_ok();
        if failable {
            self.write_step(call, |c| {
                c.fail(reason, now)
                    .map(|_| ())
                    .map_err(|_| StoreError::StaleTransition { expected: c.status })
            })
            .await?;
        }
        info!(tenant = %call.tenant_id, call = %call.call_id, "call marked failed");
        // Also when a redelivery finds it failed already: the mark may not have been written.
        if call.status == CallStatus::Failed {
            self.start_recording_age(call).await?;
        }
        Ok(())
    }

    /// The call's upload starts aging under the recordings window: once it was transcribed,
    /// and once its call failed (a recording that never became a transcript is kept no longer
    /// than one that did). A failure is marked after the status is written, so an upload whose
    /// call may still be transcribed is never put on the clock.
    pub async fn start_recording_age(&self, call: &Call) -> Result<(), StoreError> {
        if call.upload_key.is_none() {
            return Ok(());
        }
        self.store
            .mark_aging(
                &call.tenant_id,
                &call.call_id,
                AgeMark::Recording,
                self.clock.now(),
            )
            .await
    }

    /// Stores `transcript` as the next version and moves the call to `transcribed`, then
    /// queues scoring. Returns the version stored.
    pub async fn accept(&self, call: &mut Call, transcript: &Transcript) -> Result<u32, SinkError> {
        let version = call.transcript_version.max(call.transcript_floor) + 1;
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
        self.start_recording_age(call).await?;
        if let Some(job) = call.transcription.as_mut() {
            job.completed_at = Some(self.clock.now());
        }
        if let Err(error) = self.move_call(call, CallStatus::Transcribed).await {
            // Deleted (or purged) while the transcript was written: it must not outlive the
            // call. The error stands; the redelivery finds the call deleted.
            if matches!(error, StoreError::StaleTransition { .. }) {
                live_after_writes(self.store, &call.tenant_id, &call.call_id, self.clock.now())
                    .await?;
            }
            return Err(error.into());
        }
        self.queue_scoring(call).await?;
        Ok(version)
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
                let reason =
                    FailureReason::composed(format!("the transcript could not be read: {e}"));
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
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::fakes::kit::rig::FakePorts;
    use crate::ports::CallRepository;

    const SUBMITTED: OffsetDateTime = datetime!(2026-11-24 1:00 UTC);

    /// A call of a workspace `acme`, sent to a provider at the clock's time.
    async fn submitted(rig: &FakePorts) -> Call {
        let tenant = rig.workspace("acme").await;
        let mut call = rig.call(&tenant).await;
        for next in [CallStatus::Uploaded, CallStatus::Transcribing] {
            rig.sink().move_call(&mut call, next).await.unwrap();
        }
        call
    }

    #[tokio::test]
    async fn a_pipeline_move_takes_in_a_hold_and_a_speaker_set_since_it_read_the_call() {
        let rig = FakePorts::at(SUBMITTED);
        let call = submitted(&rig).await;
        // The callback read the call; then the owner holds it and a manager names the rep.
        let mut pipeline_copy = rig.stored(&call).await;
        let mut api_copy = pipeline_copy.clone();
        api_copy.legal_hold = true;
        let dana = rig.sealed_speaker(&call, "Dana").await;
        api_copy.rep_speaker = Some(dana.clone());
        rig.store.save_call(&mut api_copy).await.unwrap();
        let sink = rig.sink();
        sink.fail(&mut pipeline_copy, &"the provider lost the job".into())
            .await
            .unwrap();
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.legal_hold, stored.rep_speaker),
            (CallStatus::Failed, true, Some(dana))
        );
        // A copy from before the call moved on (still `transcribing`) is refused.
        let mut stale = call.clone();
        assert!(matches!(
            sink.save(&mut stale).await,
            Err(StoreError::StaleTransition { .. })
        ));
    }
}
