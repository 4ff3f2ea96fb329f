//! Teams, their members and their playbooks. A membership is in the team's partition and in
//! the member's `gsi1` partition, so both a team's members and a user's teams are one query.

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, attr, from_json_item, json_item, keys, s};
use super::layout::{
    MEMBER_PREFIX, TEAM_PREFIX, member_sk, members_pk, playbook_sk, team_sk, tenant_pk, user_gsi,
    user_registry_item,
};
use super::paging::GSI1;
use super::transact::{Transacted, TxWrite};
use crate::domain::org::{Membership, Role, Team};
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{PlaybookRepository, StoreError, TeamRepository};

fn membership_item(m: &Membership) -> Item {
    let mut item = keys(members_pk(&m.tenant_id, &m.team_id), member_sk(&m.user_id));
    item.insert(a::ENTITY.into(), s("membership"));
    item.insert(a::GSI1_PK.into(), s(user_gsi(&m.tenant_id, &m.user_id)));
    item.insert(a::GSI1_SK.into(), s(team_sk(&m.team_id)));
    item.insert(a::USER.into(), s(m.user_id.as_str()));
    item.insert(a::TEAM.into(), s(m.team_id.as_str()));
    item.insert(a::ROLE.into(), s(m.role.as_str()));
    item
}

pub(super) fn membership_from(tenant: &TenantId, item: &Item) -> Result<Membership, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("membership {what}"));
    Ok(Membership {
        tenant_id: tenant.clone(),
        team_id: TeamId::parse(item.req_s(a::TEAM)?).map_err(|_| corrupt("team"))?,
        user_id: UserId::parse(item.req_s(a::USER)?).map_err(|_| corrupt("user"))?,
        role: Role::parse(item.req_s(a::ROLE)?).ok_or_else(|| corrupt("role"))?,
    })
}

impl DynamoTable {
    /// Every item in the user's `gsi1` partition: team memberships and the admin record.
    pub(super) async fn user_items(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Vec<Item>, StoreError> {
        self.table
            .query_index_partition(GSI1, &user_gsi(tenant, user))
            .await
    }
}

impl TeamRepository for DynamoTable {
    async fn create_team(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let team_item = json_item(
            "team",
            tenant_pk(&team.tenant_id),
            team_sk(&team.team_id),
            team,
        )?;
        let writes = vec![
            TxWrite::Create(team_item),
            TxWrite::Put(membership_item(owner)),
            TxWrite::Put(user_registry_item(&owner.tenant_id, &owner.user_id)),
        ];
        match self.table.transact(writes).await? {
            Transacted::Written => Ok(()),
            Transacted::Cancelled { .. } => Err(StoreError::AlreadyExists),
        }
    }

    async fn get_team(&self, tenant: &TenantId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        self.table
            .get_item(tenant_pk(tenant), team_sk(team))
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn put_membership(&self, membership: &Membership) -> Result<(), StoreError> {
        // The registry first: a user with a membership is always found by a destruction.
        self.table
            .put(user_registry_item(
                &membership.tenant_id,
                &membership.user_id,
            ))
            .await?;
        self.table.put(membership_item(membership)).await
    }

    async fn remove_membership(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        self.table
            .delete_item(members_pk(tenant, team), member_sk(user))
            .await
    }

    async fn memberships_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Vec<Membership>, StoreError> {
        self.user_items(tenant, user)
            .await?
            .iter()
            .filter(|item| item.req_s(a::ENTITY).is_ok_and(|e| e == "membership"))
            .map(|item| membership_from(tenant, item))
            .collect()
    }

    async fn members_of_team(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Vec<Membership>, StoreError> {
        self.table
            .query_partition(&members_pk(tenant, team), Some(MEMBER_PREFIX))
            .await?
            .iter()
            .map(|i| membership_from(tenant, i))
            .collect()
    }

    async fn teams_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Team>, StoreError> {
        self.table
            .query_partition(&tenant_pk(tenant), Some(TEAM_PREFIX))
            .await?
            .iter()
            .map(from_json_item)
            .collect()
    }

    async fn delete_team_records(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<usize, StoreError> {
        let members_pk = members_pk(tenant, team);
        let mut doomed = Vec::new();
        for item in self.table.query_partition(&members_pk, None).await? {
            doomed.push(keys(members_pk.clone(), item.req_s(a::SK)?.to_owned()));
        }
        doomed.push(keys(tenant_pk(tenant), playbook_sk(team)));
        let count = doomed.len() + 1;
        self.table.delete_keys(doomed).await?;
        self.table
            .delete_keys(vec![keys(tenant_pk(tenant), team_sk(team))])
            .await?;
        Ok(count)
    }
}

impl PlaybookRepository for DynamoTable {
    async fn get_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(item) = self
            .table
            .get_item(tenant_pk(tenant), playbook_sk(team))
            .await?
        else {
            return Ok(None);
        };
        let sealed = item.opt_b(a::CIPHERTEXT).map(<[u8]>::to_vec);
        if sealed.is_none() {
            // Stored in plain JSON before playbooks were sealed: not read (its owner sets it
            // again), so scoring, exports and prep cards go on with the default playbook.
            tracing::warn!(tenant = %tenant, team = %team, "a playbook stored before sealing is ignored");
        }
        Ok(sealed)
    }

    async fn put_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let mut item = keys(tenant_pk(tenant), playbook_sk(team));
        item.insert(a::ENTITY.into(), s("playbook"));
        item.insert(a::CIPHERTEXT.into(), attr::bytes(sealed));
        self.table.put(item).await
    }
}
