//! Deletion receipts: every deletion (a call, a user, a team, the workspace, a retention
//! purge) ends in one signed receipt of what went and from when no backup holds it.
//!
//! A deletion a user asks for removes some records at once and moves calls to `deleted`; the
//! reaper purges those calls later. So the request opens a ticket naming its calls (its id
//! derived from the subject, so a retry resumes it) and completes it as its last step, the
//! reaper notes what each purge removed, and the first reaper run that finds every call of a
//! complete ticket gone signs the receipt ([`close_tickets`]). A call the request could not move (a legal
//! hold set meanwhile, a conflicting change) is still there and not deleted: the receipt does
//! not count it. The reaper signs the receipts of what it deletes itself (a retention purge, a
//! workspace's destruction) as it finishes them.

use tracing::info;

use crate::domain::audit::derived_id;
use crate::domain::call::CallStatus;
use crate::domain::receipt::{
    DeletionReceipt, DeletionTicket, RECEIPT_SCHEMA, Removed, SignedReceipt, Subject,
    TABLE_BACKUP_WINDOW, canonical_bytes,
};
use crate::ids::{CallId, ReceiptId, TenantId, UserId};
use crate::ports::{BackendError, CallRepository, ReceiptBook, ReceiptSigner, StoreError};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptIssueError {
    #[error("the receipt could not be signed")]
    Sign(#[source] BackendError),
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// Signs `receipt` and files it; filing it again (a retried run) keeps the first.
pub async fn issue<S: ReceiptBook, R: ReceiptSigner>(
    store: &S,
    signer: &R,
    receipt: DeletionReceipt,
) -> Result<(), ReceiptIssueError> {
    let signature = signer
        .sign(&canonical_bytes(&receipt))
        .await
        .map_err(ReceiptIssueError::Sign)?;
    store
        .file_receipt(&SignedReceipt { receipt, signature })
        .await?;
    Ok(())
}

/// A receipt of what the reaper removed itself, complete at `now`: beyond every backup once
/// the table's recovery window has passed.
pub fn reaper_receipt(
    receipt_id: ReceiptId,
    tenant: &TenantId,
    subject: Subject,
    requested_at: OffsetDateTime,
    removed: Removed,
    now: OffsetDateTime,
) -> DeletionReceipt {
    DeletionReceipt {
        schema: RECEIPT_SCHEMA.into(),
        receipt_id: receipt_id.to_string(),
        tenant_id: tenant.clone(),
        subject,
        requested_by: None,
        requested_at,
        completed_at: now,
        removed,
        keys_shredded_at: None,
        unrecoverable_after: now + TABLE_BACKUP_WINDOW,
        issued_at: now,
    }
}

/// What a deletion request is about, as its ticket records it.
pub struct Asked<'a> {
    pub tenant: &'a TenantId,
    pub subject: Subject,
    pub by: &'a UserId,
    pub at: OffsetDateTime,
}

/// The receipt id of a deletion of `subject`: derived from it, so a retried request resumes
/// the ticket its first attempt opened (a call, a user or a team is deleted once).
pub fn receipt_id_of(tenant: &TenantId, subject: &Subject) -> ReceiptId {
    let kind = serde_json::to_string(&subject.kind).expect("a subject kind serializes");
    derived_id(&["deletion", tenant.as_str(), &kind, &subject.id])
}

/// Opens the ticket of a deletion before it moves `calls`, so that no call it moves is
/// purged without the reaper knowing whose receipt counts it. Until [`removed_at_once`]
/// completes it, the reaper leaves it open.
pub async fn open_ticket<S: ReceiptBook>(
    store: &S,
    asked: Asked<'_>,
    calls: &[CallId],
) -> Result<DeletionTicket, StoreError> {
    let ticket = DeletionTicket {
        receipt_id: receipt_id_of(asked.tenant, &asked.subject),
        tenant_id: asked.tenant.clone(),
        subject: asked.subject,
        requested_by: Some(asked.by.clone()),
        requested_at: asked.at,
        removed_at_once: Removed::default(),
        complete: false,
    };
    store.open_ticket(&ticket, calls).await?;
    Ok(ticket)
}

/// Records on the ticket what its request removed itself and that it is done: from now on
/// the reaper receipts it once its calls are purged.
pub async fn removed_at_once<S: ReceiptBook>(
    store: &S,
    mut ticket: DeletionTicket,
    table_items: u64,
) -> Result<(), StoreError> {
    ticket.removed_at_once.table_items = table_items;
    ticket.complete = true;
    store.open_ticket(&ticket, &[]).await
}

/// Signs and files the receipt of every complete ticket whose calls are all gone; how many. A
/// call still stored and deleted waits for its purge (the ticket stays open); one stored and
/// not deleted was kept (a hold set while the request ran: not counted); one gone counts what
/// its purge note says.
pub async fn close_tickets<S, R>(
    store: &S,
    signer: &R,
    tenant: &TenantId,
    now: OffsetDateTime,
) -> Result<u64, ReceiptIssueError>
where
    S: ReceiptBook + CallRepository,
    R: ReceiptSigner,
{
    let mut closed = 0;
    'tickets: for (ticket, calls) in store.open_tickets(tenant).await? {
        if !ticket.complete {
            continue;
        }
        let noted = store.purges_of(tenant, &calls).await?;
        let mut removed = ticket.removed_at_once.clone();
        for call in &calls {
            if let Some(purge) = noted.get(call) {
                removed.add(purge);
                continue;
            }
            let stored = store.get_call(tenant, call).await?;
            if stored.is_some_and(|c| c.status == CallStatus::Deleted) {
                continue 'tickets;
            }
        }
        let receipt = DeletionReceipt {
            requested_by: ticket.requested_by.clone(),
            ..reaper_receipt(
                ticket.receipt_id.clone(),
                tenant,
                ticket.subject.clone(),
                ticket.requested_at,
                removed,
                now,
            )
        };
        issue(store, signer, receipt).await?;
        store
            .close_ticket(tenant, &ticket.receipt_id, &calls)
            .await?;
        info!(tenant = %tenant, receipt = %ticket.receipt_id, "deletion receipt issued");
        closed += 1;
    }
    Ok(closed)
}
