//! Upload trigger: S3 ObjectCreated notifications delivered through the upload-events queue.
//!
//! Each SQS message carries one S3 notification. Notifications are parsed tolerantly (the local
//! stand-in omits fields AWS sends, and AWS adds fields over time); a message that is not one
//! is dropped and counted (no delivery can fix it); `s3:TestEvent` is skipped;
//! each record goes through [`Ingestor::ingest`]. A record that hits an infrastructure error
//! (or is in progress elsewhere) fails its message, which SQS redelivers; ingestion is
//! idempotent, so the redelivery does only what is left.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::crypto::Envelope;
use callcoach_shared::lambda::{drop_poison, handle_queue_records};
use callcoach_shared::ports::{BlobStore, Clock, PipelineStore, Queue};
use callcoach_shared::telemetry::emit_count;
use callcoach_shared::usecases::ingest::{
    IngestOutcome, Ingestor, TranscriptionProvider, UploadEvent,
};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use tracing::{Instrument, info, info_span, warn};

pub struct Deps<S, B, E, Q, P, C> {
    pub store: S,
    pub blobs: B,
    pub envelope: E,
    pub scoring_queue: Q,
    pub provider: P,
    pub clock: C,
}

/// The ports the upload trigger works through, under one name: its [`Deps`] over the
/// deployment's adapters or the tests' fakes.
pub trait UploadPorts {
    type Store: PipelineStore;
    type Blobs: BlobStore;
    type Envelope: Envelope;
    type Queue: Queue;
    type Provider: TranscriptionProvider;
    type Clock: Clock;
    #[allow(clippy::type_complexity)] // the use case over each port, spelled out once
    fn ingestor(
        &self,
    ) -> Ingestor<
        '_,
        Self::Store,
        Self::Blobs,
        Self::Envelope,
        Self::Queue,
        Self::Provider,
        Self::Clock,
    >;
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, P: TranscriptionProvider, C: Clock>
    UploadPorts for Deps<S, B, E, Q, P, C>
{
    type Store = S;
    type Blobs = B;
    type Envelope = E;
    type Queue = Q;
    type Provider = P;
    type Clock = C;
    fn ingestor(&self) -> Ingestor<'_, S, B, E, Q, P, C> {
        Ingestor {
            store: &self.store,
            blobs: &self.blobs,
            envelope: &self.envelope,
            queue: &self.scoring_queue,
            provider: &self.provider,
            clock: &self.clock,
        }
    }
}

/// The parts of an S3 notification we read; everything else is optional on purpose.
#[derive(Debug, Deserialize)]
pub struct S3Notification {
    #[serde(rename = "Records", default)]
    pub records: Vec<S3NotificationRecord>,
    #[serde(rename = "Event")]
    pub event: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3NotificationRecord {
    pub event_name: String,
    pub s3: S3Entity,
}

#[derive(Debug, Deserialize)]
pub struct S3Entity {
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Deserialize)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sequencer: Option<String>,
    #[serde(default)]
    pub e_tag: Option<String>,
}

const TEST_EVENT: &str = "s3:TestEvent";

async fn handle_message(deps: &impl UploadPorts, message: &SqsMessage) -> RecordOutcome {
    let notification: S3Notification = match message.body.as_deref().map(serde_json::from_str) {
        Some(Ok(n)) => n,
        Some(Err(_)) | None => {
            return drop_poison(
                "upload-trigger",
                message,
                "message is not an S3 notification",
            );
        }
    };
    if notification.event.as_deref() == Some(TEST_EVENT) {
        return RecordOutcome::Done;
    }
    let ingestor = deps.ingestor();
    let mut outcome = RecordOutcome::Done;
    let mut rejected = 0u32;
    for record in notification
        .records
        .iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated"))
    {
        let event = UploadEvent {
            bucket: record.s3.bucket.name.clone(),
            encoded_key: record.s3.object.key.clone(),
            size: record.s3.object.size,
            sequencer: record.s3.object.sequencer.clone(),
            etag: record.s3.object.e_tag.clone(),
        };
        match ingestor
            .ingest(&event)
            .instrument(info_span!("upload"))
            .await
        {
            // The key may hold a file name a person chose: log the reason only.
            Ok(IngestOutcome::Rejected(reason)) => {
                rejected += 1;
                warn!(reason = reason.as_str(), "upload event rejected");
            }
            Ok(IngestOutcome::Ignored(why)) => info!(why, "upload event ignored"),
            Ok(done) => info!(outcome = ?outcome_name(&done), "upload event handled"),
            Err(e) => {
                warn!(error = %callcoach_shared::telemetry::Chain(&e), "upload event will be retried");
                outcome = RecordOutcome::Retry;
            }
        }
    }
    if rejected > 0 {
        emit_count("upload-trigger", "UploadsRejected", rejected);
    }
    outcome
}

fn outcome_name(outcome: &IngestOutcome) -> &'static str {
    match outcome {
        IngestOutcome::Transcribed { .. } => "transcribed",
        IngestOutcome::SentForTranscription => "sent_for_transcription",
        IngestOutcome::CallFailed(_) => "call_failed",
        IngestOutcome::Ignored(_) => "ignored",
        IngestOutcome::Rejected(_) => "rejected",
    }
}

pub async fn handle(
    deps: &impl UploadPorts,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    handle_queue_records(event, async |m| handle_message(deps, m).await).await
}
