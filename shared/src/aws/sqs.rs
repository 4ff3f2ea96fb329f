//! SQS as the pipeline queue.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::backend;
use crate::messages::PipelineMessage;
use crate::ports::{Queue, QueueError};

/// SQS accepts at most ten entries per batch request.
const SQS_BATCH_LIMIT: usize = 10;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.queue_url
    }
}

fn encode(message: &PipelineMessage) -> Result<String, QueueError> {
    serde_json::to_string(message).map_err(QueueError::Encode)
}

impl Queue for SqsQueue {
    async fn send(&self, message: &PipelineMessage) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(encode(message)?)
            .send()
            .await
            .map_err(|e| QueueError::Backend(backend(e)))?;
        Ok(())
    }

    async fn send_batch(&self, messages: &[PipelineMessage]) -> Result<(), QueueError> {
        let mut failed = 0;
        for chunk in messages.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(encode(m)?)
                        .build()
                        .map_err(|e| QueueError::Backend(backend(e)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Backend(backend(e)))?;
            failed += out.failed().len();
        }
        if failed > 0 {
            return Err(QueueError::Partial {
                failed,
                total: messages.len(),
            });
        }
        Ok(())
    }
}
