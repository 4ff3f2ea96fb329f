//! Appending system events to the audit trail (P8), where a retry is expected.

use crate::domain::audit::AuditEvent;
use crate::ports::{AuditLog, StoreError};

/// Appends `event`; the same derived id written before (a retried action) is not an error.
pub async fn record_once<S: AuditLog>(store: &S, event: &AuditEvent) -> Result<(), StoreError> {
    match store.append(event).await {
        Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
        Err(e) => Err(e),
    }
}
