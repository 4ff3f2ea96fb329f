//! Encrypted, versioned documents of a call (transcripts, analyses).
//!
//! A document is serialized to JSON, encrypted under its category's key domain bound to
//! (tenant, category, call/kind/version), and stored inline in the table; when the ciphertext
//! is larger than [`INLINE_LIMIT`] (DynamoDB items stop at 400 KB) it goes to the blob store
//! and the table keeps a pointer. Either way only ciphertext is ever stored.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::instrument;

use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::analysis::Analysis;
use crate::domain::call::{Call, CallStatus};
use crate::domain::transcript::Transcript;
use crate::ids::{CallId, TenantId};
use crate::keys::document_key;
use crate::ports::{
    AgeMark, BlobError, BlobStore, CallRepository, DocumentAddress, DocumentKind,
    DocumentRepository, RetentionStore, StoreError, StoredDocument,
};

/// Ciphertexts above this size go to the blob store (leaves room for the item's other fields).
pub const INLINE_LIMIT: usize = 350 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("could not encode the document")]
    Encode(#[source] serde_json::Error),
    #[error("the stored document does not decode")]
    Decode(#[source] crate::json_fault::JsonFault),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("the document's pointer names an object that is gone")]
    MissingBlob,
    /// A document changed by revision is kept inline: this one would not fit in its item.
    #[error("the document is too large to change in place")]
    TooLarge,
}

impl DocumentError {
    pub fn is_retryable(&self) -> bool {
        match self {
            DocumentError::Crypto(e) => e.is_retryable(),
            DocumentError::Store(e) => e.is_retryable(),
            DocumentError::Blob(_) => true,
            _ => false,
        }
    }
}

fn category_of(kind: DocumentKind) -> DataCategory {
    match kind {
        DocumentKind::Transcript => DataCategory::Transcripts,
        DocumentKind::Analysis => DataCategory::Insights,
        DocumentKind::Practice => DataCategory::Notes,
    }
}

/// What a document's ciphertext is bound to: its tenant, its category's key domain and its
/// place (`item`).
fn binding<'b>(tenant: &'b TenantId, kind: DocumentKind, item: &'b str) -> Binding<'b> {
    Binding {
        tenant,
        category: category_of(kind),
        item,
    }
}

fn item_binding(call: &CallId, kind: DocumentKind, version: u32) -> String {
    format!("{call}/{}/v{version}", kind.as_str())
}

/// Stores and loads encrypted documents through the ports it borrows.
pub struct DocumentVault<'a, R, B, E> {
    pub repository: &'a R,
    pub blobs: &'a B,
    pub envelope: &'a E,
}

impl<R: DocumentRepository, B: BlobStore, E: Envelope> DocumentVault<'_, R, B, E> {
    #[instrument(skip_all, fields(tenant = %tenant, call = %call, kind = kind.as_str(), version))]
    pub async fn put<T: Serialize>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        document: &T,
    ) -> Result<(), DocumentError> {
        let (plaintext_len, ciphertext) = self.seal(tenant, call, kind, version, document).await?;
        let stored = if ciphertext.len() > INLINE_LIMIT {
            let key = document_key(tenant, call, kind, version);
            self.blobs
                .put(&key, ciphertext, "application/octet-stream")
                .await?;
            StoredDocument::Blob { key }
        } else {
            StoredDocument::Inline(ciphertext)
        };
        self.repository
            .put_document(address(tenant, call, kind, version), &stored)
            .await?;
        tracing::debug!(bytes = plaintext_len, "document stored");
        Ok(())
    }

    #[instrument(skip_all, fields(tenant = %tenant, call = %call, kind = kind.as_str(), version))]
    pub async fn get<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<T>, DocumentError> {
        let Some(stored) = self
            .repository
            .get_document(address(tenant, call, kind, version))
            .await?
        else {
            return Ok(None);
        };
        self.open(tenant, call, kind, version, stored)
            .await
            .map(Some)
    }

    /// The call's current document of `kind` (the one of its transcript version); `None` while
    /// the call has no transcript, or no document of that kind yet.
    pub async fn current<T: DeserializeOwned>(
        &self,
        call: &Call,
        kind: DocumentKind,
    ) -> Result<Option<T>, DocumentError> {
        if call.transcript_version == 0 {
            return Ok(None);
        }
        self.get(
            &call.tenant_id,
            &call.call_id,
            kind,
            call.transcript_version,
        )
        .await
    }

    /// As [`Self::current`], given the newest stored document of `kind` (read together with
    /// the call, see [`DocumentRepository::newest_document`]): opened when it is the current
    /// one; when a newer version is stored already (written before the call moved to it) the
    /// current one is read after all.
    pub async fn current_given_newest<T: DeserializeOwned>(
        &self,
        call: &Call,
        kind: DocumentKind,
        newest: Option<(u32, StoredDocument)>,
    ) -> Result<Option<T>, DocumentError> {
        let current = call.transcript_version;
        match newest {
            _ if current == 0 => Ok(None),
            Some((version, stored)) if version == current => self
                .open(&call.tenant_id, &call.call_id, kind, version, stored)
                .await
                .map(Some),
            Some((version, _)) if version > current => self.current(call, kind).await,
            _ => Ok(None),
        }
    }

    /// A document with its revision (see [`Self::put_at_revision`]).
    pub async fn get_revision<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<(u64, T)>, DocumentError> {
        let Some((revision, stored)) = self
            .repository
            .get_document_revision(address(tenant, call, kind, version))
            .await?
        else {
            return Ok(None);
        };
        let document = self.open(tenant, call, kind, version, stored).await?;
        Ok(Some((revision, document)))
    }

    /// Writes a document only while it is still at the revision it was read at, so concurrent
    /// read-change-writes lose nothing: the loser gets `Store(Conflict)` and reads again. Kept
    /// inline (`TooLarge` otherwise): an object overwritten in place would race.
    pub async fn put_at_revision<T: Serialize>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        document: &T,
        read_revision: u64,
    ) -> Result<(), DocumentError> {
        let (_, ciphertext) = self.seal(tenant, call, kind, version, document).await?;
        if ciphertext.len() > INLINE_LIMIT {
            return Err(DocumentError::TooLarge);
        }
        self.repository
            .put_document_at_revision(
                address(tenant, call, kind, version),
                &ciphertext,
                read_revision,
            )
            .await?;
        Ok(())
    }

    /// The document as JSON, encrypted bound to its place: (plaintext bytes, ciphertext).
    async fn seal<T: Serialize>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        document: &T,
    ) -> Result<(usize, Vec<u8>), DocumentError> {
        let plaintext = serde_json::to_vec(document).map_err(DocumentError::Encode)?;
        let item = item_binding(call, kind, version);
        let ciphertext = self
            .envelope
            .encrypt(binding(tenant, kind, &item), &plaintext)
            .await?;
        Ok((plaintext.len(), ciphertext))
    }

    async fn open<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        stored: StoredDocument,
    ) -> Result<T, DocumentError> {
        let ciphertext = match stored {
            StoredDocument::Inline(bytes) => bytes,
            StoredDocument::Blob { key } => self
                .blobs
                .get(&key)
                .await?
                .ok_or(DocumentError::MissingBlob)?,
        };
        let item = item_binding(call, kind, version);
        let plaintext = self
            .envelope
            .decrypt(binding(tenant, kind, &item), &ciphertext)
            .await?;
        serde_json::from_slice(&plaintext).map_err(|e| DocumentError::Decode(e.into()))
    }

    pub async fn put_transcript(
        &self,
        tenant: &TenantId,
        call: &CallId,
        version: u32,
        transcript: &Transcript,
    ) -> Result<(), DocumentError> {
        self.put(tenant, call, DocumentKind::Transcript, version, transcript)
            .await
    }

    pub async fn put_analysis(&self, analysis: &Analysis) -> Result<(), DocumentError> {
        self.put(
            &analysis.tenant_id,
            &analysis.call_id,
            DocumentKind::Analysis,
            analysis.transcript_version,
            analysis,
        )
        .await
    }
}

fn address<'a>(
    tenant: &'a TenantId,
    call: &'a CallId,
    kind: DocumentKind,
    version: u32,
) -> DocumentAddress<'a> {
    DocumentAddress {
        tenant,
        call,
        kind,
        version,
    }
}

/// Whether the call is still there and not deleted, asked right after documents were written
/// for it. When it is not, what was written may have missed the call's purge (a worker that
/// ran while the call was deleted and purged): an orphan mark in the `deleted` index makes the
/// next reaper run purge the call's items and objects again, so nothing is left behind.
pub async fn live_after_writes<S: CallRepository + RetentionStore>(
    store: &S,
    tenant: &TenantId,
    call: &CallId,
    now: time::OffsetDateTime,
) -> Result<bool, StoreError> {
    let live = store
        .get_call(tenant, call)
        .await?
        .is_some_and(|c| c.status != CallStatus::Deleted);
    if !live {
        store.mark_aging(tenant, call, AgeMark::Orphan, now).await?;
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::SCHEMA_VERSION;
    use crate::domain::transcript::{SourceFormat, Speaker, Utterance};
    use crate::fakes::{CapturedLogs, InMemoryBlobStore, InMemoryStore, ManualClock, fake_cipher};
    use crate::ids::MintedId;

    #[tokio::test]
    async fn storing_a_transcript_logs_ids_but_none_of_its_text() {
        let captured = CapturedLogs::default();
        let _guard = captured.during();

        let store = InMemoryStore::default();
        let blobs = InMemoryBlobStore::default();
        let cipher = fake_cipher(ManualClock::at(datetime!(2026-01-01 0:00 UTC)));
        let vault = DocumentVault {
            repository: &store,
            blobs: &blobs,
            envelope: &cipher,
        };
        let tenant = TenantId::parse("acme").unwrap();
        let call = CallId::from_random([9; 16]);
        let transcript = Transcript {
            schema_version: SCHEMA_VERSION,
            source_format: SourceFormat::PlainText,
            timing: crate::domain::transcript::Timing::Utterances,
            speakers: vec![Speaker {
                label: "a".into(),
                name: Some("Priya Raman".into()),
            }],
            utterances: vec![Utterance {
                speaker: 0,
                start_ms: 0,
                end_ms: 4000,
                text: "our budget is frozen until March, email priya@example.com".into(),
                words: vec![],
            }],
        };
        vault
            .put_transcript(&tenant, &call, 1, &transcript)
            .await
            .unwrap();
        let back: Transcript = vault
            .get(&tenant, &call, DocumentKind::Transcript, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, transcript);

        let logs = captured.text();
        assert!(logs.contains(call.as_str()), "logs were captured: {logs}");
        for secret in ["budget", "frozen", "Priya", "priya@example.com", "March"] {
            assert!(!logs.contains(secret), "{secret:?} leaked into logs");
        }
    }

    /// A document of each version up to `written`, saying which version it is.
    async fn versions_written<R: DocumentRepository, B: BlobStore, E: Envelope>(
        vault: &DocumentVault<'_, R, B, E>,
        call: &Call,
        written: u32,
    ) {
        for version in 1..=written {
            vault
                .put(
                    &call.tenant_id,
                    &call.call_id,
                    DocumentKind::Analysis,
                    version,
                    &format!("version {version}"),
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn the_newest_document_read_with_the_call_stands_for_the_current_one_only() {
        let store = InMemoryStore::default();
        let blobs = InMemoryBlobStore::default();
        let cipher = fake_cipher(ManualClock::at(datetime!(2026-01-01 0:00 UTC)));
        let vault = DocumentVault {
            repository: &store,
            blobs: &blobs,
            envelope: &cipher,
        };
        let new = crate::usecases::calls::NewCall {
            team_id: crate::ids::TeamId::from_random([1; 16]),
            rep_id: crate::ids::UserId::parse("rep").unwrap(),
            call_type: crate::domain::call::CallType::Discovery,
            details: Default::default(),
        };
        let mut call = new.into_call(
            TenantId::parse("acme").unwrap(),
            CallId::from_random([9; 16]),
            datetime!(2026-01-01 0:00 UTC),
        );
        let read = |call: Call| {
            let (store, vault) = (&store, &vault);
            async move {
                let newest = store
                    .newest_document(&call.tenant_id, &call.call_id, DocumentKind::Analysis)
                    .await
                    .unwrap();
                vault
                    .current_given_newest::<String>(&call, DocumentKind::Analysis, newest)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(read(call.clone()).await, None, "no transcript, no document");

        call.transcript_version = 2;
        versions_written(&vault, &call, 1).await;
        assert_eq!(
            read(call.clone()).await,
            None,
            "the current one is not written yet"
        );

        versions_written(&vault, &call, 2).await;
        assert_eq!(read(call.clone()).await.as_deref(), Some("version 2"));

        // Written before the call moved to it: the current one is still version 2.
        versions_written(&vault, &call, 3).await;
        assert_eq!(read(call.clone()).await.as_deref(), Some("version 2"));
    }
}
