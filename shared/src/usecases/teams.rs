//! Teams and their members. A team is created with its first owner, and always keeps one: its
//! last owner cannot step down, leave or be removed. Who may change a team is the caller's to
//! check first ([`crate::access::Caller::can_manage_team`]).

use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::SCHEMA_VERSION;
use crate::domain::org::{Membership, Role, SealedName, Team};
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{Clock, IdGenerator, StoreError, TeamRepository};

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("the team does not exist")]
    NoTeam,
    #[error("a team needs at least one owner")]
    LastOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the team's name could not be sealed or opened")]
    Crypto(#[from] CryptoError),
}

/// What a team's sealed name is bound to.
fn name_item(team: &TeamId) -> String {
    format!("team/{team}/name")
}

/// The team's name, opened.
pub async fn team_name<E: Envelope>(envelope: &E, team: &Team) -> Result<String, TeamError> {
    let item = name_item(&team.team_id);
    let binding = Binding {
        tenant: &team.tenant_id,
        category: DataCategory::Metadata,
        item: &item,
    };
    let plain = envelope.decrypt(binding, &team.name.0).await?;
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

/// The ids of every team of the workspace: what a user's deletion and an export walk to
/// reach the workspace's calls, which are listed per team.
pub async fn team_ids<S: TeamRepository>(
    store: &S,
    tenant: &TenantId,
) -> Result<Vec<TeamId>, StoreError> {
    Ok(store
        .teams_of_tenant(tenant)
        .await?
        .into_iter()
        .map(|t| t.team_id)
        .collect())
}

/// Creates a team named `name` (trimmed by the caller) with `owner` as its first owner; the
/// name is stored sealed.
pub async fn create_team<S: TeamRepository, E: Envelope, C: Clock, I: IdGenerator>(
    store: &S,
    envelope: &E,
    clock: &C,
    ids: &I,
    tenant: &TenantId,
    name: &str,
    owner: UserId,
) -> Result<(Team, Membership), TeamError> {
    let team_id: TeamId = ids.mint();
    let item = name_item(&team_id);
    let binding = Binding {
        tenant,
        category: DataCategory::Metadata,
        item: &item,
    };
    let sealed = envelope.encrypt(binding, name.as_bytes()).await?;
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        team_id,
        name: SealedName(sealed),
        created_at: clock.now(),
    };
    let owner = Membership {
        tenant_id: tenant.clone(),
        team_id: team.team_id.clone(),
        user_id: owner,
        role: Role::Owner,
    };
    store.create_team(&team, &owner).await?;
    Ok((team, owner))
}

/// Gives a user a role in an existing team (adding them, or changing their role); an owner
/// stepping down needs another owner.
pub async fn put_member<S: TeamRepository>(
    store: &S,
    membership: &Membership,
) -> Result<(), TeamError> {
    let (tenant, team) = (&membership.tenant_id, &membership.team_id);
    ensure_team(store, tenant, team).await?;
    if membership.role != Role::Owner {
        ensure_another_owner(store, tenant, team, &membership.user_id).await?;
    }
    store.put_membership(membership).await?;
    Ok(())
}

/// Takes a user out of an existing team, unless they are its last owner.
pub async fn remove_member<S: TeamRepository>(
    store: &S,
    tenant: &TenantId,
    team: &TeamId,
    user: &UserId,
) -> Result<(), TeamError> {
    ensure_team(store, tenant, team).await?;
    ensure_another_owner(store, tenant, team, user).await?;
    store.remove_membership(tenant, team, user).await?;
    Ok(())
}

/// Admins may name any team id; only real teams are changed.
async fn ensure_team<S: TeamRepository>(
    store: &S,
    tenant: &TenantId,
    team: &TeamId,
) -> Result<(), TeamError> {
    match store.get_team(tenant, team).await? {
        Some(_) => Ok(()),
        None => Err(TeamError::NoTeam),
    }
}

async fn ensure_another_owner<S: TeamRepository>(
    store: &S,
    tenant: &TenantId,
    team: &TeamId,
    leaving: &UserId,
) -> Result<(), TeamError> {
    let members = store.members_of_team(tenant, team).await?;
    if keeps_an_owner(&members, leaving) {
        Ok(())
    } else {
        Err(TeamError::LastOwner)
    }
}

/// Whether the team still has an owner once `leaving` is no longer one.
fn keeps_an_owner(members: &[Membership], leaving: &UserId) -> bool {
    let mut owners = members.iter().filter(|m| m.role == Role::Owner);
    let leaving_owner = owners.clone().any(|m| &m.user_id == leaving);
    !leaving_owner || owners.any(|m| &m.user_id != leaving)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MintedId;

    #[test]
    fn a_team_keeps_an_owner() {
        let team = TeamId::from_random([1; 16]);
        let member = |user: &str, role| Membership {
            tenant_id: TenantId::parse("t").unwrap(),
            team_id: team.clone(),
            user_id: UserId::parse(user).unwrap(),
            role,
        };
        let user = |u: &str| UserId::parse(u).unwrap();
        let one_owner = [member("o", Role::Owner), member("r", Role::Rep)];
        assert!(!keeps_an_owner(&one_owner, &user("o")));
        assert!(
            keeps_an_owner(&one_owner, &user("r")),
            "a rep leaves freely"
        );
        assert!(keeps_an_owner(&one_owner, &user("stranger")));
        let two_owners = [member("o", Role::Owner), member("p", Role::Owner)];
        assert!(keeps_an_owner(&two_owners, &user("o")));
    }

    /// The name is stored only sealed, opens for its own team, and not once moved to another.
    #[tokio::test]
    async fn a_teams_name_is_stored_sealed() {
        use crate::fakes::{InMemoryStore, fake_cipher};
        use crate::system::{RandomIds, SystemClock};
        let store = InMemoryStore::default();
        let envelope = fake_cipher(SystemClock);
        let tenant = TenantId::parse("acme").unwrap();
        let owner = UserId::parse("olga").unwrap();
        let (team, _) = create_team(
            &store,
            &envelope,
            &SystemClock,
            &RandomIds,
            &tenant,
            "Globex renewals",
            owner,
        )
        .await
        .unwrap();
        let stored = store
            .get_team(&tenant, &team.team_id)
            .await
            .unwrap()
            .unwrap();
        let at_rest = serde_json::to_string(&stored).unwrap();
        assert!(!at_rest.contains("Globex"), "{at_rest}");
        assert_eq!(
            team_name(&envelope, &stored).await.unwrap(),
            "Globex renewals"
        );
        let moved = Team {
            team_id: RandomIds.mint(),
            ..stored.clone()
        };
        assert!(matches!(
            team_name(&envelope, &moved).await,
            Err(TeamError::Crypto(_))
        ));
        // A record an earlier version stored with its name in plain text still reads (listed,
        // deleted, destroyed), though its name opens to nothing.
        let mut legacy = serde_json::to_value(&stored).unwrap();
        legacy["name"] = "West coast".into();
        let legacy: Team = serde_json::from_value(legacy).unwrap();
        assert!(team_name(&envelope, &legacy).await.is_err());
    }
}
