//! Glue between Lambda event types and the domain's batch rules (feature `lambda`).

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

use crate::batch::{BatchVerdict, RecordOutcome, process_batch};

/// Records are not started with less than this left of the invocation (capped at a fifth of
/// the time the invocation started with, so short timeouts still process records).
pub const DEFAULT_TIME_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("a record without a message id failed; the whole batch is retried")]
pub struct WholeBatchFailed;

/// Whether SQS will not deliver this message again if it fails now.
pub fn is_last_delivery(message: &SqsMessage, max_receive_count: u32) -> bool {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count >= max_receive_count)
}

/// Runs `process` over an SQS batch and answers with the failed message ids only.
pub async fn handle_sqs_batch<F>(
    event: LambdaEvent<SqsEvent>,
    margin: Duration,
    mut process: F,
) -> Result<SqsBatchResponse, WholeBatchFailed>
where
    F: AsyncFnMut(&SqsMessage) -> RecordOutcome,
{
    // One span per invocation (request id), one per record (message id); handlers add the
    // tenant and call ids. Never content.
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id, records = event.payload.records.len());
    let deadline = event.context.deadline();
    let time_left = move || {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    let margin = margin.min(time_left() / 5);
    let records = event.payload.records;
    let verdict = process_batch(
        &records,
        |m| m.message_id.as_deref(),
        time_left,
        margin,
        async |m| {
            let record =
                tracing::info_span!("record", message_id = m.message_id.as_deref().unwrap_or(""));
            process(m).instrument(record).await
        },
    )
    .instrument(span)
    .await;
    match verdict {
        BatchVerdict::Failed(ids) => {
            let mut response = SqsBatchResponse::default();
            for id in ids {
                response.add_failure(id);
            }
            Ok(response)
        }
        BatchVerdict::FailWhole => Err(WholeBatchFailed),
    }
}
