//! Team playbooks, sealed: a playbook names a team's methodology, its trackers and the phrases
//! it listens for, so it is stored encrypted under the tenant's `metadata` data key and goes
//! with the tenant's keys when the workspace is shredded, backups included.

use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::playbook::Playbook;
use crate::ids::{TeamId, TenantId};
use crate::ports::{PlaybookRepository, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("the playbook store failed")]
    Store(#[from] StoreError),
    #[error("the playbook could not be sealed or opened")]
    Crypto(#[from] CryptoError),
    #[error("a stored playbook does not decode")]
    Decode(#[source] serde_json::Error),
}

impl PlaybookError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PlaybookError::Store(e) => e.is_retryable(),
            PlaybookError::Crypto(e) => e.is_retryable(),
            PlaybookError::Decode(_) => false,
        }
    }
}

/// What the ciphertext is bound to: this team's playbook, in this tenant.
fn item(team: &TeamId) -> String {
    format!("team/{team}/playbook")
}

/// The team's playbook; `None` until an owner sets one.
pub async fn load_playbook<S: PlaybookRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    team: &TeamId,
) -> Result<Option<Playbook>, PlaybookError> {
    let Some(sealed) = store.get_playbook(tenant, team).await? else {
        return Ok(None);
    };
    let item = item(team);
    let binding = Binding {
        tenant,
        category: DataCategory::Metadata,
        item: &item,
    };
    let plain = envelope.decrypt(binding, &sealed).await?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(PlaybookError::Decode)
}

/// Stores the team's playbook, sealed, in place of the one before.
pub async fn save_playbook<S: PlaybookRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    team: &TeamId,
    playbook: &Playbook,
) -> Result<(), PlaybookError> {
    let plain = serde_json::to_vec(playbook).map_err(PlaybookError::Decode)?;
    let item = item(team);
    let binding = Binding {
        tenant,
        category: DataCategory::Metadata,
        item: &item,
    };
    let sealed = envelope.encrypt(binding, &plain).await?;
    Ok(store.put_playbook(tenant, team, &sealed).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::playbook::Tracker;
    use crate::fakes::{InMemoryStore, fake_cipher};
    use crate::ports::IdGenerator;
    use crate::system::RandomIds;

    #[tokio::test]
    async fn a_playbook_is_stored_sealed_and_reads_back_only_for_its_own_team() {
        let store = InMemoryStore::default();
        let envelope = fake_cipher(crate::system::SystemClock);
        let tenant = TenantId::parse("acme").unwrap();
        let (west, east): (TeamId, TeamId) = (RandomIds.mint(), RandomIds.mint());
        let playbook = Playbook {
            trackers: vec![Tracker {
                name: "competitor Globex".into(),
                phrases: vec!["globex".into()],
            }],
            ..Default::default()
        };
        save_playbook(&store, &envelope, &tenant, &west, &playbook)
            .await
            .unwrap();
        let sealed = store.get_playbook(&tenant, &west).await.unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("Globex"));
        assert_eq!(
            load_playbook(&store, &envelope, &tenant, &west)
                .await
                .unwrap(),
            Some(playbook)
        );
        // Another team's slot holding this ciphertext does not open: it is bound to its team.
        store.put_playbook(&tenant, &east, &sealed).await.unwrap();
        assert!(matches!(
            load_playbook(&store, &envelope, &tenant, &east).await,
            Err(PlaybookError::Crypto(_))
        ));
        assert_eq!(
            load_playbook(&store, &envelope, &tenant, &RandomIds.mint())
                .await
                .unwrap(),
            None
        );
    }
}
