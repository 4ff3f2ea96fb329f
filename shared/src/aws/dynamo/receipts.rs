//! Deletion receipts, open tickets and purge notes: one partition per tenant that the
//! workspace's destruction leaves in place (ids, counts and times only). A receipt is written
//! twice in one transaction, under its issue time for the newest-first listing and under its
//! id for downloads, each with its expiry in the index the reaper deletes through.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, attr, from_json_item, json_item, keys};
use super::layout::{
    PURGED_PREFIX, RECEIPT_PREFIX, TICKET_PREFIX, index_expiry, purged_sk, receipt_pointer_sk,
    receipt_sk, receipts_pk, ticket_call_sk, ticket_sk,
};
use super::paging::Listing;
use super::transact::{Transacted, TxWrite};
use crate::domain::receipt::{DeletionTicket, RECEIPT_RETENTION, Removed, SignedReceipt};
use crate::ids::{CallId, ReceiptId, TenantId};
use crate::ports::{ExpiringRecords, Page, PageRequest, ReceiptBook, StoreError};

/// A purge note outlives a ticket that never comes (a call deleted before tickets existed)
/// by this much, then DynamoDB's TTL takes it.
const PURGE_NOTE_LIFETIME: time::Duration = time::Duration::days(30);

const CALL_MARK: &str = "#CALL#";

fn receipt_item(receipt: &SignedReceipt, sk: String) -> Result<Item, StoreError> {
    let tenant = &receipt.receipt.tenant_id;
    let mut item = json_item("receipt", receipts_pk(tenant), sk.clone(), receipt)?;
    let expires = receipt.receipt.issued_at + RECEIPT_RETENTION;
    index_expiry(&mut item, tenant, ExpiringRecords::Receipts, expires, &sk);
    Ok(item)
}

impl ReceiptBook for DynamoTable {
    async fn open_ticket(
        &self,
        ticket: &DeletionTicket,
        calls: &[CallId],
    ) -> Result<(), StoreError> {
        let pk = receipts_pk(&ticket.tenant_id);
        // The calls first: a ticket is never seen without all of them.
        let entries = calls
            .iter()
            .map(|call| keys(pk.clone(), ticket_call_sk(&ticket.receipt_id, call)))
            .collect();
        self.table.put_all(entries).await?;
        let item = json_item("deletion_ticket", pk, ticket_sk(&ticket.receipt_id), ticket)?;
        self.table.put(item).await
    }

    async fn open_tickets(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(DeletionTicket, Vec<CallId>)>, StoreError> {
        let items = self
            .table
            .query_partition(&receipts_pk(tenant), Some(TICKET_PREFIX))
            .await?;
        let mut tickets: BTreeMap<String, (Option<DeletionTicket>, Vec<CallId>)> = BTreeMap::new();
        for item in &items {
            let sk = item.req_s(a::SK)?;
            let rest = &sk[TICKET_PREFIX.len()..];
            match rest.split_once(CALL_MARK) {
                Some((receipt, call)) => {
                    let call =
                        CallId::parse(call).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    tickets.entry(receipt.to_owned()).or_default().1.push(call);
                }
                None => tickets.entry(rest.to_owned()).or_default().0 = Some(from_json_item(item)?),
            }
        }
        // Entries of a ticket whose own item is not written yet belong to a request in flight.
        Ok(tickets
            .into_values()
            .filter_map(|(ticket, calls)| Some((ticket?, calls)))
            .collect())
    }

    async fn record_purge(
        &self,
        tenant: &TenantId,
        call: &CallId,
        removed: &Removed,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut item = json_item("purge_note", receipts_pk(tenant), purged_sk(call), removed)?;
        let expires = at + PURGE_NOTE_LIFETIME;
        item.insert(a::EXPIRES_AT.into(), attr::number(expires.unix_timestamp()));
        self.table.put(item).await
    }

    async fn purges_of(
        &self,
        tenant: &TenantId,
        calls: &[CallId],
    ) -> Result<BTreeMap<CallId, Removed>, StoreError> {
        let wanted: std::collections::BTreeSet<&CallId> = calls.iter().collect();
        let mut noted = BTreeMap::new();
        let items = self
            .table
            .query_partition(&receipts_pk(tenant), Some(PURGED_PREFIX))
            .await?;
        for item in &items {
            let sk = item.req_s(a::SK)?;
            let call = CallId::parse(&sk[PURGED_PREFIX.len()..])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if wanted.contains(&call) {
                noted.insert(call, from_json_item(item)?);
            }
        }
        Ok(noted)
    }

    async fn file_receipt(&self, receipt: &SignedReceipt) -> Result<(), StoreError> {
        let id = &receipt.receipt.receipt_id;
        let writes = vec![
            TxWrite::Create(receipt_item(receipt, receipt_pointer_sk(id))?),
            TxWrite::Create(receipt_item(
                receipt,
                receipt_sk(receipt.receipt.issued_at, id),
            )?),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => Ok(()),
            // Filed already (a retried run signs again, at another time): the first stands.
            Transacted::Cancelled { first_failed: true } => Ok(()),
            Transacted::Cancelled {
                first_failed: false,
            } => Err(StoreError::Corrupt(format!(
                "receipt {id} is listed without its id entry"
            ))),
        }
    }

    async fn close_ticket(
        &self,
        tenant: &TenantId,
        ticket: &ReceiptId,
        calls: &[CallId],
    ) -> Result<(), StoreError> {
        let pk = receipts_pk(tenant);
        let doomed: Vec<Item> = calls
            .iter()
            .flat_map(|call| {
                [
                    keys(pk.clone(), ticket_call_sk(ticket, call)),
                    keys(pk.clone(), purged_sk(call)),
                ]
            })
            .collect();
        // The ticket last: an interrupted close is finished by the next run.
        self.table.delete_keys(doomed).await?;
        self.table.delete_item(pk, ticket_sk(ticket)).await
    }

    async fn discard_tickets(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let pk = receipts_pk(tenant);
        let mut doomed = Vec::new();
        for prefix in [TICKET_PREFIX, PURGED_PREFIX] {
            for item in self.table.query_partition(&pk, Some(prefix)).await? {
                doomed.push(keys(pk.clone(), item.req_s(a::SK)?.to_owned()));
            }
        }
        let count = doomed.len();
        self.table.delete_keys(doomed).await?;
        Ok(count)
    }

    async fn list_receipts(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<SignedReceipt>, StoreError> {
        let listing = Listing {
            // '~' sorts after every digit and id.
            sk_range: Some((RECEIPT_PREFIX.to_owned(), format!("{RECEIPT_PREFIX}~"))),
            ..Listing::partition(receipts_pk(tenant))
        };
        self.table.json_page(tenant, &listing, page).await
    }

    async fn get_receipt(
        &self,
        tenant: &TenantId,
        receipt: &ReceiptId,
    ) -> Result<Option<SignedReceipt>, StoreError> {
        self.table
            .get_item(receipts_pk(tenant), receipt_pointer_sk(receipt.as_str()))
            .await?
            .map(|item| from_json_item(&item))
            .transpose()
    }
}
