//! Upload trigger: S3 ObjectCreated notifications, delivered through the upload-events queue.
//!
//! At this stage it parses notifications tolerantly (the local stand-in omits fields AWS
//! sends), skips `s3:TestEvent`, and reports a record that cannot be parsed as failed.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::lambda::{DEFAULT_TIME_MARGIN, handle_sqs_batch};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;

pub struct Deps;

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
pub struct S3Object {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sequencer: Option<String>,
}

fn handle_message(message: &SqsMessage) -> RecordOutcome {
    let Some(body) = message.body.as_deref() else {
        return RecordOutcome::Retry;
    };
    match serde_json::from_str::<S3Notification>(body) {
        Ok(n) if n.event.as_deref() == Some("s3:TestEvent") => RecordOutcome::Done,
        Ok(n) => {
            tracing::info!(records = n.records.len(), "upload notification received");
            RecordOutcome::Done
        }
        Err(e) => {
            tracing::warn!(error = %e, "notification does not parse");
            RecordOutcome::Retry
        }
    }
}

pub async fn handle(_deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let response =
        handle_sqs_batch(event, DEFAULT_TIME_MARGIN, async |m| handle_message(m)).await?;
    Ok(response)
}
