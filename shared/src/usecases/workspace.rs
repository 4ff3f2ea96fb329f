//! Workspaces and their admins.
//!
//! Sign-up lives outside callcoach. Provisioning (an operator's invoke or the sign-up system's
//! event in AWS, `callcoach provision` locally) creates the workspace record and its first
//! admin; from then on admins name and remove admins through the API. A workspace always keeps
//! one admin: the last cannot leave or be removed.

use time::OffsetDateTime;

use crate::domain::audit::AuditEvent;
use crate::domain::org::Tenant;
use crate::domain::retention::{CALL_WINDOW_CHOICES, RECORDING_WINDOW_CHOICES};
use crate::ids::{TenantId, UserId};
use crate::ports::{AdminRepository, AuditLog, StoreError, TenantRepository};
use crate::usecases::audit_trail::record_once;

/// Whether the workspace is closed: deleted, destroyed, or its deletion pending. The pipeline
/// refuses a closed workspace's work, so that nothing of it is written and no data key is
/// created for it after its owner asked for it to go. A workspace with no record is not closed
/// here: its calls (if any) answer for themselves.
pub async fn workspace_closed<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<bool, StoreError> {
    Ok(workspace_open(store, tenant).await? == Some(false))
}

/// Whether the workspace is open (served); `None` when it has no record.
pub async fn workspace_open<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<Option<bool>, StoreError> {
    Ok(store
        .get_tenant(tenant)
        .await?
        .map(|workspace| !workspace.is_closed()))
}

/// What a change of the workspace record decided.
#[derive(Debug)]
pub enum Change<T> {
    /// Write the changed record, then answer this.
    Write(T),
    /// Nothing to write; answer this.
    Keep(T),
}

/// Rounds of read, change, write before giving up while other writers keep winning.
const UPDATE_ATTEMPTS: usize = 8;

/// The one way the workspace record changes: read it, apply `change` to the record as stored,
/// write it back only if nothing else wrote it in between (its version), and otherwise read
/// and apply again. So a legal hold, a deletion request, a cancellation, a billing change and
/// the reaper never undo each other. `change` may refuse with its own error; a missing record
/// is `StoreError::NotFound`, and writers that keep winning end in `StoreError::Conflict`.
pub async fn update_workspace<S, T, E>(
    store: &S,
    tenant: &TenantId,
    mut change: impl FnMut(&mut Tenant) -> Result<Change<T>, E>,
) -> Result<T, E>
where
    S: TenantRepository,
    E: From<StoreError>,
{
    for _ in 0..UPDATE_ATTEMPTS {
        let mut record = store
            .get_tenant(tenant)
            .await?
            .ok_or(StoreError::NotFound)?;
        match change(&mut record)? {
            Change::Keep(answer) => return Ok(answer),
            Change::Write(answer) => match store.update_tenant(&record).await {
                Ok(()) => return Ok(answer),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            },
        }
    }
    Err(StoreError::Conflict.into())
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("the workspace was deleted; it cannot be provisioned again")]
    Closed,
    #[error("the workspace exists already; sign-up cannot name another admin of it")]
    AlreadyProvisioned,
    #[error("that user is not an admin of the workspace")]
    NotAdmin,
    #[error("the workspace's last admin cannot leave; name another admin first")]
    LastAdmin,
    #[error("a store failed")]
    Store(#[from] StoreError),
}

/// What provisioning did; both false when it had been done before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Provisioned {
    pub workspace_created: bool,
    pub admin_added: bool,
}

/// Who provisions, which decides what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioner {
    /// Sign-up (the billing principal's event): creates a workspace with its first admin, and
    /// nothing more. A workspace that exists is not given another admin this way, so a
    /// compromised or mistaken sender cannot make itself admin of someone else's workspace; a
    /// redelivered event for the same workspace and admin is answered as done.
    SignUp,
    /// An operator's direct invoke (IAM `lambda:InvokeFunction`): may also name an admin of an
    /// existing workspace, to restore access.
    Operator,
}

impl Provisioner {
    fn actor_kind(self) -> &'static str {
        match self {
            Provisioner::SignUp => "billing",
            Provisioner::Operator => "operator",
        }
    }
}

/// Creates the workspace record (active, default retention) when there is none and makes
/// `admin` one of its admins, as `by` may (see [`Provisioner`]). Idempotent. A deleted or
/// destroyed workspace is refused. A sign-up cut off between its two writes (the record, then
/// the admin) is finished by its redelivery: a workspace with no admin yet takes one.
///
/// Audited as `by`'s action: `workspace.provisioned` stamped with the workspace's creation
/// time, so however often it is retried it is one event (the audit trail's key holds the
/// time); `workspace.admin_added` when an admin was added.
pub async fn provision<S>(
    store: &S,
    tenant: &TenantId,
    admin: &UserId,
    now: OffsetDateTime,
    by: Provisioner,
) -> Result<Provisioned, WorkspaceError>
where
    S: TenantRepository + AdminRepository + AuditLog,
{
    let (record, workspace_created) = match store.get_tenant(tenant).await? {
        Some(existing) => (existing, false),
        None => {
            let fresh = Tenant::active(tenant.clone(), tenant.as_str(), now);
            match store.create_tenant(&fresh).await {
                Ok(()) => (fresh, true),
                Err(StoreError::AlreadyExists) => (
                    store
                        .get_tenant(tenant)
                        .await?
                        .ok_or(StoreError::NotFound)?,
                    false,
                ),
                Err(e) => return Err(e.into()),
            }
        }
    };
    if record.is_closed() {
        return Err(WorkspaceError::Closed);
    }
    let admins = store.admins(tenant).await?;
    if by == Provisioner::SignUp && !workspace_created && !admins.is_empty() {
        if admins.contains(admin) {
            // A redelivery of the sign-up that made it.
            return Ok(Provisioned {
                workspace_created: false,
                admin_added: false,
            });
        }
        return Err(WorkspaceError::AlreadyProvisioned);
    }
    let admin_added = store.add_admin(tenant, admin, None).await?;
    let provisioned = AuditEvent::by_system(
        by.actor_kind(),
        tenant,
        "workspace.provisioned",
        "workspace",
        &[],
        record.created_at,
    );
    record_once(store, &provisioned).await?;
    if admin_added {
        let event = AuditEvent::by_system(
            by.actor_kind(),
            tenant,
            "workspace.admin_added",
            &format!("admin/{admin}"),
            &[&now.unix_timestamp_nanos().to_string()],
            now,
        );
        record_once(store, &event).await?;
    }
    Ok(Provisioned {
        workspace_created,
        admin_added,
    })
}

/// A change of the workspace's retention windows and legal hold; fields left `None` keep their
/// value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionChange {
    /// How long calls (transcripts and analyses) are kept; `Some(None)`: for the account's life.
    pub transcripts_days: Option<Option<u32>>,
    pub recordings_days_after_transcription: Option<u32>,
    pub legal_hold: Option<bool>,
}

/// A retention window outside its bounded choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionRefusal {
    /// Not one of [`CALL_WINDOW_CHOICES`] (nor `None`).
    CallWindow,
    /// Not one of [`RECORDING_WINDOW_CHOICES`].
    RecordingWindow,
}

impl RetentionChange {
    /// Whether every window named is one of its choices.
    pub fn check(&self) -> Result<(), RetentionRefusal> {
        if let Some(Some(days)) = self.transcripts_days
            && !CALL_WINDOW_CHOICES.contains(&days)
        {
            return Err(RetentionRefusal::CallWindow);
        }
        if let Some(days) = self.recordings_days_after_transcription
            && !RECORDING_WINDOW_CHOICES.contains(&days)
        {
            return Err(RetentionRefusal::RecordingWindow);
        }
        Ok(())
    }
}

/// Applies a checked [`RetentionChange`] to the workspace record as stored when written
/// ([`update_workspace`]): a concurrent deletion request, billing change or other admin's
/// setting is kept, never overwritten with an older read. The next reaper run applies it to
/// existing data. `Closed` when the workspace was deleted meanwhile.
pub async fn change_retention<S: TenantRepository>(
    store: &S,
    tenant: &TenantId,
    change: &RetentionChange,
) -> Result<Tenant, WorkspaceError> {
    update_workspace(store, tenant, |record| {
        if record.is_closed() {
            return Err(WorkspaceError::Closed);
        }
        if let Some(days) = change.transcripts_days {
            record.retention.transcripts_days = days;
            record.retention.analyses_days = days;
        }
        if let Some(days) = change.recordings_days_after_transcription {
            record.retention.recordings_days_after_transcription = days;
        }
        if let Some(hold) = change.legal_hold {
            record.legal_hold = hold;
        }
        Ok(Change::Write(record.clone()))
    })
    .await
}

/// Makes `user` an admin on `by`'s request, only while `by` is still an admin (checked in the
/// same write): an admin being removed cannot slip in another admin, or themselves, meanwhile.
pub async fn add_admin<S: AdminRepository>(
    store: &S,
    tenant: &TenantId,
    by: &UserId,
    user: &UserId,
) -> Result<bool, WorkspaceError> {
    match store.add_admin(tenant, user, Some(by)).await {
        Ok(added) => Ok(added),
        Err(StoreError::Conflict) => Err(WorkspaceError::NotAdmin),
        Err(e) => Err(e.into()),
    }
}

/// Takes `user`'s admin role away, on `caller`'s request (an admin; themselves included). The
/// store removes it only while another admin keeps theirs.
pub async fn remove_admin<S: AdminRepository>(
    store: &S,
    tenant: &TenantId,
    caller: &UserId,
    user: &UserId,
) -> Result<(), WorkspaceError> {
    let remaining = if user == caller {
        // Leaving: someone else must stay. Whoever is named here, the store checks they still
        // are an admin in the same transaction.
        store
            .admins(tenant)
            .await?
            .into_iter()
            .find(|a| a != caller)
            .ok_or(WorkspaceError::LastAdmin)?
    } else {
        caller.clone()
    };
    match store.remove_admin(tenant, user, &remaining).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(WorkspaceError::NotAdmin),
        Err(StoreError::Conflict) => Err(WorkspaceError::LastAdmin),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::retention::AccountState;
    use crate::fakes::InMemoryStore;

    const NOW: OffsetDateTime = datetime!(2026-12-01 9:00 UTC);

    fn ids() -> (TenantId, UserId, UserId) {
        (
            TenantId::parse("acme").unwrap(),
            UserId::parse("ada").unwrap(),
            UserId::parse("bo").unwrap(),
        )
    }

    #[tokio::test]
    async fn provisioning_creates_the_workspace_and_its_admin_once() {
        let store = InMemoryStore::default();
        let (tenant, ada, bo) = ids();
        let first = provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        assert_eq!(
            first,
            Provisioned {
                workspace_created: true,
                admin_added: true
            }
        );
        let again = provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        assert_eq!(
            again,
            Provisioned {
                workspace_created: false,
                admin_added: false
            }
        );
        assert_eq!(store.admins(&tenant).await.unwrap(), vec![ada.clone()]);
        let page = crate::ports::PageRequest::first(10).unwrap();
        let events = store.list(&tenant, &page).await.unwrap().items;
        assert_eq!(
            events.len(),
            2,
            "provisioned and admin added, once: {events:?}"
        );
        assert!(events.iter().all(|e| e.actor_kind == "operator"));
        // An operator restoring access adds another admin.
        assert!(
            provision(&store, &tenant, &bo, NOW, Provisioner::Operator)
                .await
                .unwrap()
                .admin_added
        );
        assert_eq!(store.admins(&tenant).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_sign_up_cut_off_before_its_admin_is_finished_by_its_redelivery() {
        let store = InMemoryStore::default();
        let (tenant, ada, bo) = ids();
        // The first delivery wrote the record and stopped.
        store
            .create_tenant(&Tenant::active(tenant.clone(), tenant.as_str(), NOW))
            .await
            .unwrap();
        let done = provision(&store, &tenant, &ada, NOW, Provisioner::SignUp)
            .await
            .unwrap();
        assert!(done.admin_added);
        assert_eq!(store.admins(&tenant).await.unwrap(), vec![ada]);
        // From then on sign-up names no other admin.
        assert!(matches!(
            provision(&store, &tenant, &bo, NOW, Provisioner::SignUp).await,
            Err(WorkspaceError::AlreadyProvisioned)
        ));
    }

    #[tokio::test]
    async fn an_admin_no_longer_an_admin_names_no_admin() {
        let store = InMemoryStore::default();
        let (tenant, ada, bo) = ids();
        provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        let cy = UserId::parse("cy").unwrap();
        assert!(matches!(
            add_admin(&store, &tenant, &bo, &cy).await,
            Err(WorkspaceError::NotAdmin)
        ));
        assert!(add_admin(&store, &tenant, &ada, &bo).await.unwrap());
        assert_eq!(store.admins(&tenant).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_deleted_workspace_is_not_provisioned_again() {
        let store = InMemoryStore::default();
        let (tenant, ada, _) = ids();
        provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        let mut record = store.get_tenant(&tenant).await.unwrap().unwrap();
        record.state = AccountState::Destroyed;
        store.update_tenant(&record).await.unwrap();
        assert!(matches!(
            provision(&store, &tenant, &ada, NOW, Provisioner::Operator).await,
            Err(WorkspaceError::Closed)
        ));
    }

    #[tokio::test]
    async fn the_last_admin_cannot_leave_or_be_removed() {
        let store = InMemoryStore::default();
        let (tenant, ada, bo) = ids();
        provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        assert!(matches!(
            remove_admin(&store, &tenant, &ada, &ada).await,
            Err(WorkspaceError::LastAdmin)
        ));
        assert!(matches!(
            remove_admin(&store, &tenant, &ada, &bo).await,
            Err(WorkspaceError::NotAdmin)
        ));
        store.add_admin(&tenant, &bo, None).await.unwrap();
        remove_admin(&store, &tenant, &ada, &ada).await.unwrap();
        assert_eq!(store.admins(&tenant).await.unwrap(), vec![bo.clone()]);
        assert!(matches!(
            remove_admin(&store, &tenant, &bo, &bo).await,
            Err(WorkspaceError::LastAdmin)
        ));
    }

    #[tokio::test]
    async fn two_admins_removing_each_other_at_once_leave_one() {
        let store = InMemoryStore::default();
        let (tenant, ada, bo) = ids();
        provision(&store, &tenant, &ada, NOW, Provisioner::Operator)
            .await
            .unwrap();
        store.add_admin(&tenant, &bo, None).await.unwrap();
        let (a, b) = tokio::join!(
            remove_admin(&store, &tenant, &ada, &bo),
            remove_admin(&store, &tenant, &bo, &ada)
        );
        assert_eq!(
            usize::from(a.is_ok()) + usize::from(b.is_ok()),
            1,
            "{a:?} {b:?}"
        );
        assert_eq!(store.admins(&tenant).await.unwrap().len(), 1);
    }
}
