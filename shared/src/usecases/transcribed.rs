//! The end of ingestion, shared by every way a transcript arrives (a transcript upload, a
//! Deepgram callback, a Transcribe job): store it encrypted as the call's next transcript
//! version, move the call to `transcribed` with a conditional write, and queue one scoring job.

use crate::domain::audit::AuditEvent;
use crate::usecases::audit_trail::record_once;
use tracing::info;

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::messages::PipelineMessage;
use crate::ports::{BlobStore, Clock, PipelineStore, Queue, QueueError, StoreError};
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
    /// Moves the call with a write conditional on the status it was read in. The audit event
    /// goes first: its id derives from the move, so a retry after a failed write records it
    /// once.
    pub async fn move_call(&self, call: &mut Call, next: CallStatus) -> Result<(), StoreError> {
        let from = call.status;
        if call.transition(next, self.clock.now()).is_err() {
            return Err(StoreError::StaleTransition { expected: from });
        }
        self.record(call, &format!("pipeline.call_{}", next.as_str()))
            .await?;
        self.store.save_transition(call, from).await
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

    /// Saves a change that keeps the status (still conditional on it).
    pub async fn save(&self, call: &mut Call) -> Result<(), StoreError> {
        call.updated_at = self.clock.now();
        self.store.save_transition(call, call.status).await
    }

    /// Marks the call failed for a reason its owner can read. Never fails a failed call twice.
    pub async fn fail(&self, call: &mut Call, reason: &str) -> Result<(), StoreError> {
        let from = call.status;
        if call.fail(reason.to_owned(), self.clock.now()).is_ok() {
            self.record(call, "pipeline.call_failed").await?;
            self.store.save_transition(call, from).await?;
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
                .mark_recording(&call.tenant_id, &call.call_id, self.clock.now())
                .await?;
        }
        if let Some(job) = call.transcription.as_mut() {
            job.completed_at = Some(self.clock.now());
        }
        self.move_call(call, CallStatus::Transcribed).await?;
        self.queue_scoring(call).await?;
        Ok(version)
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
