//! Documents of a call, one item per kind and version in the call's partition: the
//! ciphertext inline, or the key of the object holding it when it is too large for an item.

use super::DynamoTable;
use super::attr_names as a;
use super::items::Item;
use super::items::{ItemExt, attr, keys, s};
use super::layout::{call_pk, document_prefix, document_sk, document_version};
use crate::ids::{CallId, TenantId};
use crate::ports::{DocumentAddress, DocumentKind, DocumentRepository, StoreError, StoredDocument};

/// A document item's revision (0: written without one) and what it holds.
fn stored_document(item: &Item) -> Result<(u64, StoredDocument), StoreError> {
    // Documents written once (transcripts, analyses) carry no revision.
    let revision = item.req_u64(a::VERSION).unwrap_or(0);
    if let Some(bytes) = item.opt_b(a::CIPHERTEXT) {
        return Ok((revision, StoredDocument::Inline(bytes.to_vec())));
    }
    let key = item.req_s(a::BLOB_KEY)?.to_owned();
    Ok((revision, StoredDocument::Blob { key }))
}

/// The keys of the document's item.
fn document_keys(at: DocumentAddress<'_>) -> Item {
    keys(
        call_pk(at.tenant, at.call),
        document_sk(at.kind, at.version),
    )
}

impl DocumentRepository for DynamoTable {
    async fn put_document(
        &self,
        at: DocumentAddress<'_>,
        document: &StoredDocument,
    ) -> Result<(), StoreError> {
        let mut item = document_keys(at);
        item.insert(a::ENTITY.into(), s("document"));
        match document {
            StoredDocument::Inline(bytes) => item.insert(a::CIPHERTEXT.into(), attr::bytes(bytes)),
            StoredDocument::Blob { key } => item.insert(a::BLOB_KEY.into(), s(key)),
        };
        self.table.put(item).await
    }

    async fn get_document(
        &self,
        at: DocumentAddress<'_>,
    ) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self
            .get_document_revision(at)
            .await?
            .map(|(_, document)| document))
    }

    async fn get_document_revision(
        &self,
        at: DocumentAddress<'_>,
    ) -> Result<Option<(u64, StoredDocument)>, StoreError> {
        self.table
            .get_item(
                call_pk(at.tenant, at.call),
                document_sk(at.kind, at.version),
            )
            .await?
            .as_ref()
            .map(stored_document)
            .transpose()
    }

    async fn newest_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
    ) -> Result<Option<(u32, StoredDocument)>, StoreError> {
        let Some(item) = self
            .table
            .last_with_prefix(&call_pk(tenant, call), &document_prefix(kind))
            .await?
        else {
            return Ok(None);
        };
        let version = document_version(item.req_s(a::SK)?, kind)
            .ok_or_else(|| StoreError::Corrupt("a document's sort key names no version".into()))?;
        let (_, document) = stored_document(&item)?;
        Ok(Some((version, document)))
    }

    async fn put_document_at_revision(
        &self,
        at: DocumentAddress<'_>,
        ciphertext: &[u8],
        read_revision: u64,
    ) -> Result<(), StoreError> {
        let mut item = document_keys(at);
        item.insert(a::ENTITY.into(), s("document"));
        item.insert(a::CIPHERTEXT.into(), attr::bytes(ciphertext));
        item.insert(a::VERSION.into(), attr::number(read_revision + 1));
        self.table.put_at_version(item, read_revision).await
    }
}
