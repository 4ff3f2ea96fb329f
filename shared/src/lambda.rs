//! Glue between Lambda event types and the domain's batch rules (feature `lambda`).

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

use crate::batch::{BatchVerdict, RecordOutcome, process_batch};

/// Records (and sweep steps) are not started with less than this left of the invocation:
/// one record or step takes seconds. In SQS batches it is capped at a fifth of the time the
/// invocation started with, so short timeouts still process records. Functions whose last
/// step needs longer (the reaper's report, an export's writes) keep a margin of their own.
pub const DEFAULT_TIME_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("a record without a message id failed; the whole batch is retried")]
pub struct WholeBatchFailed;

/// The end of one invocation, the one place that reads it. Lambda sends it as epoch
/// milliseconds. `cargo lambda watch` sends the function's timeout instead (600000: ten
/// minutes), which read as a moment in 1970 left no time at all and gave every record of a
/// batch up unprocessed; a value that cannot be a real moment (before 2001) is taken as that
/// long from now. A context without one (`0`) gets Lambda's longest timeout.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Option<SystemTime>);

/// Lambda's longest timeout: the budget of an invocation without a deadline.
pub const LONGEST_INVOCATION: Duration = Duration::from_secs(15 * 60);

/// Epoch milliseconds of 2001-09-09: no invocation of ours has a deadline before it.
const EARLIEST_ABSOLUTE_DEADLINE_MS: u64 = 1_000_000_000_000;

impl Deadline {
    pub fn of(context: &lambda_runtime::Context) -> Self {
        Self::from_millis(context.deadline, SystemTime::now())
    }

    fn from_millis(deadline_ms: u64, now: SystemTime) -> Self {
        let end = match deadline_ms {
            0 => None,
            relative if relative < EARLIEST_ABSOLUTE_DEADLINE_MS => {
                Some(now + Duration::from_millis(relative))
            }
            absolute => Some(SystemTime::UNIX_EPOCH + Duration::from_millis(absolute)),
        };
        Self(end)
    }

    /// What is left of the invocation now; without a deadline, Lambda's longest timeout
    /// (a finite budget: callers add it to moments).
    pub fn time_left(&self) -> Duration {
        match self.0 {
            Some(end) => end
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
            None => LONGEST_INVOCATION,
        }
    }

    /// What is left of the invocation once `margin` is kept back (zero when no more is
    /// left): the one place a margin is taken off a deadline.
    pub fn left_after(&self, margin: Duration) -> Duration {
        self.time_left().saturating_sub(margin)
    }

    /// Whether more than `margin` is left.
    pub fn has_more_than(&self, margin: Duration) -> bool {
        !self.left_after(margin).is_zero()
    }

    /// The check long-running steps take: whether more than `margin` is left, each time asked.
    pub fn has_time(self, margin: Duration) -> impl Fn() -> bool + Copy {
        move || self.has_more_than(margin)
    }
}

/// Whether SQS will not deliver this message again if it fails now.
pub fn is_last_delivery(message: &SqsMessage, max_receive_count: u32) -> bool {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count >= max_receive_count)
}

/// The answer to a message no delivery can fix (not one of the queue's jobs): it is dropped at
/// once, never retried, and counted as `PoisonMessagesDropped` of `function`; its id, never its
/// body, is logged so it can be found in the queue's metrics.
pub fn drop_poison(function: &str, message: &SqsMessage, what: &str) -> RecordOutcome {
    let id = message.message_id.as_deref().unwrap_or("-");
    tracing::warn!(message = %id, "{what}; dropped");
    crate::telemetry::emit_count(function, "PoisonMessagesDropped", 1);
    RecordOutcome::Done
}

/// A queue-fed function's handler: [`handle_sqs_batch`] with [`DEFAULT_TIME_MARGIN`].
pub async fn handle_queue_records<F>(
    event: LambdaEvent<SqsEvent>,
    process: F,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    F: AsyncFnMut(&SqsMessage) -> RecordOutcome,
{
    Ok(handle_sqs_batch(event, DEFAULT_TIME_MARGIN, process).await?)
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
    let deadline = Deadline::of(&event.context);
    let time_left = move || deadline.time_left();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_read_as_lambda_and_cargo_lambda_send_them() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let left = |ms: u64| match Deadline::from_millis(ms, now).0 {
            Some(end) => end.duration_since(now).ok(),
            None => None,
        };
        // Lambda: epoch milliseconds, 30 s after now.
        assert_eq!(left(1_796_000_030_000), Some(Duration::from_secs(30)));
        // cargo lambda watch: the timeout itself.
        assert_eq!(left(600_000), Some(Duration::from_secs(600)));
        // None at all: no end.
        assert_eq!(Deadline::from_millis(0, now).0, None);
        assert_eq!(Deadline(None).time_left(), LONGEST_INVOCATION);
        // A deadline already past leaves nothing.
        assert_eq!(
            Deadline::from_millis(1_795_999_000_000, now)
                .0
                .map(|end| end < now),
            Some(true)
        );
    }
}
