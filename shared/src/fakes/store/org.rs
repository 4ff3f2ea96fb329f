//! Workspaces, teams, memberships and admins.

use super::InMemoryStore;
use crate::domain::org::{Membership, Team, Tenant, WorkspaceRoles};
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{AdminRepository, StoreError, TeamRepository, TenantRepository};

impl TenantRepository for InMemoryStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut s = self.state();
        if s.tenants.contains_key(&tenant.tenant_id) {
            return Err(StoreError::AlreadyExists);
        }
        s.tenants.insert(tenant.tenant_id.clone(), tenant.clone());
        Ok(())
    }
    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.state().tenants.get(tenant).cloned())
    }
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut s = self.state();
        if let Some(write) = s.tenant_interleaving.take()
            && let Some(stored) = s.tenants.get_mut(&tenant.tenant_id)
        {
            write(stored);
            stored.version += 1;
        }
        match s.tenants.get_mut(&tenant.tenant_id) {
            Some(stored) if stored.version == tenant.version => {
                *stored = Tenant {
                    version: tenant.version + 1,
                    ..tenant.clone()
                };
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

impl TeamRepository for InMemoryStore {
    async fn create_team(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let mut s = self.state();
        let key = (team.tenant_id.clone(), team.team_id.clone());
        if s.teams.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        s.teams.insert(key, team.clone());
        s.known_users
            .insert((owner.tenant_id.clone(), owner.user_id.clone()));
        s.memberships.insert(
            (
                owner.tenant_id.clone(),
                owner.team_id.clone(),
                owner.user_id.clone(),
            ),
            owner.clone(),
        );
        Ok(())
    }
    async fn get_team(&self, tenant: &TenantId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        Ok(self
            .state()
            .teams
            .get(&(tenant.clone(), team.clone()))
            .cloned())
    }
    async fn put_membership(&self, m: &Membership) -> Result<(), StoreError> {
        let mut s = self.state();
        s.known_users
            .insert((m.tenant_id.clone(), m.user_id.clone()));
        s.memberships.insert(
            (m.tenant_id.clone(), m.team_id.clone(), m.user_id.clone()),
            m.clone(),
        );
        Ok(())
    }
    async fn remove_membership(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        self.state()
            .memberships
            .remove(&(tenant.clone(), team.clone(), user.clone()));
        Ok(())
    }
    async fn memberships_of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Vec<Membership>, StoreError> {
        Ok(self
            .state()
            .memberships
            .values()
            .filter(|m| &m.tenant_id == tenant && &m.user_id == user)
            .cloned()
            .collect())
    }
    async fn members_of_team(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Vec<Membership>, StoreError> {
        Ok(self
            .state()
            .memberships
            .values()
            .filter(|m| &m.tenant_id == tenant && &m.team_id == team)
            .cloned()
            .collect())
    }
    async fn teams_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Team>, StoreError> {
        Ok(self
            .state()
            .teams
            .values()
            .filter(|t| &t.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn delete_team_records(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<usize, StoreError> {
        let mut s = self.state();
        let before = s.memberships.len();
        s.memberships
            .retain(|(t, g, _), _| !(t == tenant && g == team));
        let key = (tenant.clone(), team.clone());
        Ok(before - s.memberships.len()
            + usize::from(s.playbooks.remove(&key).is_some())
            + usize::from(s.teams.remove(&key).is_some()))
    }
}

impl AdminRepository for InMemoryStore {
    async fn workspace_roles(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<WorkspaceRoles, StoreError> {
        let s = self.state();
        Ok(WorkspaceRoles {
            admin: s.admins.contains(&(tenant.clone(), user.clone())),
            memberships: s
                .memberships
                .values()
                .filter(|m| &m.tenant_id == tenant && &m.user_id == user)
                .cloned()
                .collect(),
        })
    }
    async fn admins(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .state()
            .admins
            .iter()
            .filter(|(t, _)| t == tenant)
            .map(|(_, u)| u.clone())
            .collect())
    }
    async fn add_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        vouched_by: Option<&UserId>,
    ) -> Result<bool, StoreError> {
        let mut s = self.state();
        if vouched_by.is_some_and(|by| !s.admins.contains(&(tenant.clone(), by.clone()))) {
            return Err(StoreError::Conflict);
        }
        let key = (tenant.clone(), user.clone());
        s.known_users.insert(key.clone());
        Ok(s.admins.insert(key))
    }
    async fn remove_admin(
        &self,
        tenant: &TenantId,
        user: &UserId,
        remaining: &UserId,
    ) -> Result<(), StoreError> {
        // One lock for the check and the removal: as atomic as the table's transaction.
        let mut s = self.state();
        let key = (tenant.clone(), user.clone());
        if !s.admins.contains(&key) {
            return Err(StoreError::NotFound);
        }
        if remaining == user || !s.admins.contains(&(tenant.clone(), remaining.clone())) {
            return Err(StoreError::Conflict);
        }
        s.admins.remove(&key);
        Ok(())
    }
}
