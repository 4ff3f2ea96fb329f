//! The local event router: what AWS does between the services and the functions, for the demo
//! and the end-to-end tests. Local only; nothing here is deployed.
//!
//! [`SqsEventSource`] plays the SQS event source mapping: it receives a batch, hands the
//! function the same `SqsEvent` Lambda would, deletes the messages that succeeded and makes the
//! reported failures visible again (so they are received again and, after maxReceiveCount,
//! moved to the DLQ by the queue's redrive policy). By default a failure is visible again at
//! once, which keeps the demo quick; [`SqsEventSource::honouring_visibility_timeout`] leaves
//! it for the queue's visibility timeout, as Lambda does.

pub mod apigw;
pub mod gateway;
pub mod local_api;
pub mod local_auth;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub received: usize,
    pub succeeded: usize,
    pub failed: usize,
}

pub struct SqsEventSource {
    client: Client,
    queue_url: String,
    queue_arn: String,
    /// The function's timeout: the deadline its context carries.
    function_timeout: Duration,
    /// Whether a failed message is made visible again at once (else it waits out its
    /// visibility timeout).
    retry_at_once: bool,
}

impl SqsEventSource {
    pub async fn new(
        client: Client,
        queue_url: impl Into<String>,
        function_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let queue_url = queue_url.into();
        let attributes = client
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await?;
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            client,
            queue_url,
            queue_arn,
            function_timeout,
            retry_at_once: true,
        })
    }

    /// Failed messages come back when their visibility timeout ends, not at once: Lambda's
    /// timing, which the idempotency leases are sized against (a crashed invocation's claim
    /// has lapsed by the time its message is received again).
    pub fn honouring_visibility_timeout(mut self) -> Self {
        self.retry_at_once = false;
        self
    }

    /// Receives up to ten messages (waiting up to `wait`) and runs `function` on them once.
    pub async fn poll_once<F>(&self, wait: Duration, function: F) -> anyhow::Result<PollReport>
    where
        F: AsyncFnOnce(LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, lambda_runtime::Error>,
    {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(PollReport::default());
        }
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "md5OfBody": m.md5_of_body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(json!({ "Records": records }))?;
        let mut context = Context::default();
        context.request_id = format!(
            "local-{}",
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
        );
        context.deadline = (SystemTime::now() + self.function_timeout)
            .duration_since(UNIX_EPOCH)?
            .as_millis() as u64;

        let failed: Vec<String> = match function(LambdaEvent::new(event, context)).await {
            Ok(response) => response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            // A failed invocation retries the whole batch.
            Err(_) => messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect(),
        };
        let mut report = PollReport {
            received: messages.len(),
            ..PollReport::default()
        };
        for m in messages {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if failed.iter().any(|f| f == id) {
                report.failed += 1;
                if !self.retry_at_once {
                    continue;
                }
                // Visible again at once, as after the visibility timeout.
                self.client
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await?;
            } else {
                report.succeeded += 1;
                self.client
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        Ok(report)
    }
}
