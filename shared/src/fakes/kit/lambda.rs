//! Lambda invocations as the runtime hands them over: contexts with a deadline, SQS batches
//! and the S3 notifications they carry (feature `lambda`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;

/// A Lambda context whose invocation ends `left` from now.
pub fn context_with(left: Duration) -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.deadline = (SystemTime::now() + left)
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as u64;
    context
}

/// A batch of one SQS message carrying `body`.
pub fn sqs_event(body: &str, message_id: &str) -> SqsEvent {
    serde_json::from_value(json!({"Records": [{
        "messageId": message_id, "receiptHandle": "h", "body": body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
    }]}))
    .expect("an SQS event")
}

/// S3's notification that `key` (`size` bytes) was uploaded, delivered through SQS. The key is
/// form-encoded as S3 sends it (a space becomes `+`).
pub fn s3_notification(key: &str, size: usize, message_id: &str) -> SqsEvent {
    let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "local"},
        "object": {"key": key.replace(' ', "+"), "size": size, "sequencer": "0055AED6DCD90281E5"}
    }}]});
    sqs_event(&body.to_string(), message_id)
}
