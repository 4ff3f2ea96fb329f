//! Deletion receipts and open tickets.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{InMemoryStore, page_of};
use crate::domain::receipt::{DeletionTicket, Removed, SignedReceipt};
use crate::ids::{CallId, ReceiptId, TenantId};
use crate::ports::{Page, PageRequest, StoreError};

#[derive(Default)]
pub(super) struct Book {
    tickets: BTreeMap<(TenantId, ReceiptId), (DeletionTicket, Vec<CallId>)>,
    purges: BTreeMap<(TenantId, CallId), Removed>,
    pub(super) filed: Vec<SignedReceipt>,
}

impl crate::ports::ReceiptBook for InMemoryStore {
    async fn open_ticket(
        &self,
        ticket: &DeletionTicket,
        calls: &[CallId],
    ) -> Result<(), StoreError> {
        // As in the table: the ticket is replaced, its call entries are added to.
        let key = (ticket.tenant_id.clone(), ticket.receipt_id.clone());
        let mut s = self.state();
        let open = s
            .receipts
            .tickets
            .entry(key)
            .or_insert_with(|| (ticket.clone(), Vec::new()));
        open.0 = ticket.clone();
        for call in calls {
            if !open.1.contains(call) {
                open.1.push(call.clone());
            }
        }
        Ok(())
    }

    async fn open_tickets(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(DeletionTicket, Vec<CallId>)>, StoreError> {
        let s = self.state();
        Ok(s.receipts
            .tickets
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|(_, open)| open.clone())
            .collect())
    }

    async fn record_purge(
        &self,
        tenant: &TenantId,
        call: &CallId,
        removed: &Removed,
        _at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.state()
            .receipts
            .purges
            .insert((tenant.clone(), call.clone()), removed.clone());
        Ok(())
    }

    async fn purges_of(
        &self,
        tenant: &TenantId,
        calls: &[CallId],
    ) -> Result<BTreeMap<CallId, Removed>, StoreError> {
        let s = self.state();
        Ok(calls
            .iter()
            .filter_map(|call| {
                let noted = s.receipts.purges.get(&(tenant.clone(), call.clone()))?;
                Some((call.clone(), noted.clone()))
            })
            .collect())
    }

    async fn file_receipt(&self, receipt: &SignedReceipt) -> Result<(), StoreError> {
        let mut s = self.state();
        let filed = s.receipts.filed.iter().any(|r| {
            r.receipt.tenant_id == receipt.receipt.tenant_id
                && r.receipt.receipt_id == receipt.receipt.receipt_id
        });
        if !filed {
            s.receipts.filed.push(receipt.clone());
        }
        Ok(())
    }

    async fn close_ticket(
        &self,
        tenant: &TenantId,
        ticket: &ReceiptId,
        calls: &[CallId],
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        s.receipts.tickets.remove(&(tenant.clone(), ticket.clone()));
        for call in calls {
            s.receipts.purges.remove(&(tenant.clone(), call.clone()));
        }
        Ok(())
    }

    async fn discard_tickets(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.receipts.tickets.len() + s.receipts.purges.len();
        s.receipts.tickets.retain(|(t, _), _| t != tenant);
        s.receipts.purges.retain(|(t, _), _| t != tenant);
        Ok(before - s.receipts.tickets.len() - s.receipts.purges.len())
    }

    async fn list_receipts(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<SignedReceipt>, StoreError> {
        let mut mine: Vec<_> = self
            .state()
            .receipts
            .filed
            .iter()
            .filter(|r| &r.receipt.tenant_id == tenant)
            .cloned()
            .collect();
        mine.sort_by_key(|r| std::cmp::Reverse(r.receipt.issued_at));
        page_of(tenant, mine, page)
    }

    async fn get_receipt(
        &self,
        tenant: &TenantId,
        receipt: &ReceiptId,
    ) -> Result<Option<SignedReceipt>, StoreError> {
        Ok(self
            .state()
            .receipts
            .filed
            .iter()
            .find(|r| &r.receipt.tenant_id == tenant && r.receipt.receipt_id == receipt.as_str())
            .cloned())
    }
}
