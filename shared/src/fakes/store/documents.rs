//! Documents, progress and playbooks.

use super::InMemoryStore;
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{DocumentAddress, DocumentKind, DocumentRepository, StoreError, StoredDocument};

/// How the fake keys a document.
fn document_key(at: DocumentAddress<'_>) -> (TenantId, CallId, DocumentKind, u32) {
    (at.tenant.clone(), at.call.clone(), at.kind, at.version)
}

impl DocumentRepository for InMemoryStore {
    async fn put_document(
        &self,
        at: DocumentAddress<'_>,
        document: &StoredDocument,
    ) -> Result<(), StoreError> {
        let key = document_key(at);
        let mut s = self.state();
        s.document_revisions.remove(&key);
        s.documents.insert(key, document.clone());
        Ok(())
    }
    async fn newest_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
    ) -> Result<Option<(u32, StoredDocument)>, StoreError> {
        let s = self.state();
        Ok(s.documents
            .iter()
            .filter(|((t, c, k, _), _)| t == tenant && c == call && *k == kind)
            .max_by_key(|((_, _, _, version), _)| *version)
            .map(|((_, _, _, version), document)| (*version, document.clone())))
    }
    async fn get_document_revision(
        &self,
        at: DocumentAddress<'_>,
    ) -> Result<Option<(u64, StoredDocument)>, StoreError> {
        let key = document_key(at);
        let s = self.state();
        Ok(s.documents.get(&key).map(|document| {
            (
                s.document_revisions.get(&key).copied().unwrap_or(0),
                document.clone(),
            )
        }))
    }
    async fn put_document_at_revision(
        &self,
        at: DocumentAddress<'_>,
        ciphertext: &[u8],
        read_revision: u64,
    ) -> Result<(), StoreError> {
        let key = document_key(at);
        let mut s = self.state();
        if s.document_revisions.get(&key).copied().unwrap_or(0) != read_revision {
            return Err(StoreError::Conflict);
        }
        s.document_revisions.insert(key.clone(), read_revision + 1);
        s.documents
            .insert(key, StoredDocument::Inline(ciphertext.to_vec()));
        Ok(())
    }
    async fn get_document(
        &self,
        at: DocumentAddress<'_>,
    ) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self.state().documents.get(&document_key(at)).cloned())
    }
}

impl crate::ports::ProgressRepository for InMemoryStore {
    async fn get_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .state()
            .progress
            .get(&(tenant.clone(), rep.clone()))
            .cloned())
    }
    async fn put_progress(
        &self,
        tenant: &TenantId,
        rep: &UserId,
        expected: u64,
        ciphertext: &[u8],
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = (tenant.clone(), rep.clone());
        let current = state.progress.get(&key).map_or(0, |(v, _)| *v);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        state
            .progress
            .insert(key, (expected + 1, ciphertext.to_vec()));
        Ok(())
    }
}

impl crate::ports::PlaybookRepository for InMemoryStore {
    async fn get_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .state()
            .playbooks
            .get(&(tenant.clone(), team.clone()))
            .cloned())
    }
    async fn put_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        self.state()
            .playbooks
            .insert((tenant.clone(), team.clone()), sealed.to_vec());
        Ok(())
    }
}
