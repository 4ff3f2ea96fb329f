//! Documents of a call, one item per kind and version in the call's partition: the
//! ciphertext inline, or the key of the object holding it when it is too large for an item.

use super::DynamoTable;
use super::attr_names as a;
use super::items::Item;
use super::items::{ItemExt, attr, keys, s};
use super::layout::{call_pk, document_sk};
use crate::ports::{DocumentAddress, DocumentRepository, StoreError, StoredDocument};

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
        let Some(item) = self
            .table
            .get_item(
                call_pk(at.tenant, at.call),
                document_sk(at.kind, at.version),
            )
            .await?
        else {
            return Ok(None);
        };
        // Documents written once (transcripts, analyses) carry no revision.
        let revision = item.req_u64(a::VERSION).unwrap_or(0);
        if let Some(bytes) = item.opt_b(a::CIPHERTEXT) {
            return Ok(Some((revision, StoredDocument::Inline(bytes.to_vec()))));
        }
        Ok(Some((
            revision,
            StoredDocument::Blob {
                key: item.req_s(a::BLOB_KEY)?.to_owned(),
            },
        )))
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
