use crate::domain::call::CallStatus;

/// A failure inside an adapter's backend (network, throttling, service error). Kept as a
/// source so the cause is never lost; such errors are worth retrying.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the item already exists")]
    AlreadyExists,
    #[error("the item was not found")]
    NotFound,
    #[error("the item changed meanwhile")]
    Conflict,
    #[error("stale transition: the stored call is no longer {expected}", expected = .expected.as_str())]
    StaleTransition { expected: CallStatus },
    #[error(transparent)]
    InvalidCursor(#[from] super::CursorError),
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
    #[error("the storage backend failed")]
    Backend(#[source] BackendError),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Backend(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the object store failed")]
    Backend(#[source] BackendError),
    #[error("could not presign the request")]
    Presign(#[source] BackendError),
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("could not encode the message")]
    Encode(#[source] serde_json::Error),
    #[error("{failed} of {total} messages were not sent")]
    Partial { failed: usize, total: usize },
    #[error("the queue failed")]
    Backend(#[source] BackendError),
}
