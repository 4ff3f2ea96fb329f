//! The queue port (SQS).

use std::sync::Mutex;

use crate::messages::PipelineMessage;
use crate::ports::{Queue, QueueError};

/// Messages collected in order.
#[derive(Default)]
pub struct InMemoryQueue(Mutex<Vec<PipelineMessage>>);

impl InMemoryQueue {
    pub fn messages(&self) -> Vec<PipelineMessage> {
        self.0.lock().unwrap().clone()
    }
    /// The messages sent so far, taken off the queue (as a consumer receives and deletes them).
    pub fn take(&self) -> Vec<PipelineMessage> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Queue for InMemoryQueue {
    async fn send(&self, message: &PipelineMessage) -> Result<(), QueueError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
    async fn send_batch(&self, messages: &[PipelineMessage]) -> Result<(), QueueError> {
        self.0.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}
