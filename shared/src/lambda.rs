//! Glue between Lambda event types and the domain's batch rules (feature `lambda`).

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;

use crate::batch::{BatchVerdict, RecordOutcome, process_batch};

/// Records are not started with less than this left of the invocation.
pub const DEFAULT_TIME_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("a record without a message id failed; the whole batch is retried")]
pub struct WholeBatchFailed;

/// Runs `process` over an SQS batch and answers with the failed message ids only.
pub async fn handle_sqs_batch<F>(
    event: LambdaEvent<SqsEvent>,
    margin: Duration,
    process: F,
) -> Result<SqsBatchResponse, WholeBatchFailed>
where
    F: AsyncFnMut(&SqsMessage) -> RecordOutcome,
{
    let deadline = event.context.deadline();
    let time_left = move || {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    let records = event.payload.records;
    let verdict = process_batch(
        &records,
        |m| m.message_id.as_deref(),
        time_left,
        margin,
        process,
    )
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
