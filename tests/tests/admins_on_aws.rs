//! Workspace admins in DynamoDB through the real SDK, against the local stand-in. A binary of
//! its own: moto's TransactWriteItems deep-copies the table and fails when another test writes
//! meanwhile. (Two removals at the same moment are serialized by DynamoDB's transactions;
//! moto does not model that race, so this shows the condition each removal carries.)

use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::org::{Membership, Role, Team, Tenant};
use callcoach_shared::ids::UserId;
use callcoach_shared::ports::{Clock, StoreError, TeamRepository, TenantRepository};
use callcoach_shared::system::SystemClock;
use callcoach_tests::{LocalAws, fresh_tenant, mint};

/// Admins are records of their own beside the user's memberships: one query answers both, a
/// team membership never reads as admin, and removal is a transaction that deletes the admin
/// record only while the remaining admin's record is there.
#[tokio::test]
async fn admins_are_their_own_records_and_removal_keeps_another_admin() {
    use callcoach_shared::ports::{AdminRepository, RetentionStore};
    let aws = LocalAws::connect().await;
    let table = &aws.adapters.table;
    let tenant = fresh_tenant();
    table
        .create_tenant(&Tenant::active(tenant.clone(), "Acme", SystemClock.now()))
        .await
        .unwrap();
    let (ada, bo, cy) = (
        UserId::parse("ada").unwrap(),
        UserId::parse("bo").unwrap(),
        UserId::parse("cy").unwrap(),
    );
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.clone(),
        team_id: mint(),
        name: callcoach_shared::domain::org::SealedName(b"sealed".to_vec()),
        created_at: SystemClock.now(),
    };
    let owner = Membership {
        tenant_id: tenant.clone(),
        team_id: team.team_id.clone(),
        user_id: ada.clone(),
        role: Role::Owner,
    };
    table.create_team(&team, &owner).await.unwrap();
    // Owning a team is not being an admin.
    let roles = table.workspace_roles(&tenant, &ada).await.unwrap();
    assert!(!roles.admin);
    assert_eq!(roles.memberships, vec![owner.clone()]);

    assert!(table.add_admin(&tenant, &ada, None).await.unwrap());
    assert!(!table.add_admin(&tenant, &ada, None).await.unwrap(), "once");
    // An admin names another in one transaction that checks the namer is still an admin.
    assert!(table.add_admin(&tenant, &bo, Some(&ada)).await.unwrap());
    assert!(
        !table.add_admin(&tenant, &bo, Some(&ada)).await.unwrap(),
        "once"
    );
    let dee = UserId::parse("dee").unwrap();
    assert!(matches!(
        table.add_admin(&tenant, &dee, Some(&cy)).await,
        Err(StoreError::Conflict)
    ));
    assert!(!table.workspace_roles(&tenant, &dee).await.unwrap().admin);
    let roles = table.workspace_roles(&tenant, &ada).await.unwrap();
    assert!(roles.admin);
    assert_eq!(
        roles.memberships,
        vec![owner.clone()],
        "the admin record is no membership"
    );
    assert_eq!(
        table.memberships_of_user(&tenant, &ada).await.unwrap(),
        vec![owner]
    );
    assert!(table.known_users(&tenant).await.unwrap().contains(&bo));
    let mut admins = table.admins(&tenant).await.unwrap();
    admins.sort();
    assert_eq!(admins, vec![ada.clone(), bo.clone()]);
    // Another tenant's admin is not this tenant's.
    let other = fresh_tenant();
    assert!(table.admins(&other).await.unwrap().is_empty());
    assert!(!table.workspace_roles(&other, &ada).await.unwrap().admin);

    assert!(matches!(
        table.remove_admin(&tenant, &cy, &ada).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        table.remove_admin(&tenant, &ada, &cy).await,
        Err(StoreError::Conflict)
    ));
    // Ada removes Bo (Ada must still be an admin); then Bo's removal of Ada, which names Bo
    // as the admin who stays, is refused in the same transaction that would delete Ada.
    table.remove_admin(&tenant, &bo, &ada).await.unwrap();
    assert!(matches!(
        table.remove_admin(&tenant, &ada, &bo).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(table.admins(&tenant).await.unwrap(), vec![ada.clone()]);
    // A user's deletion takes their admin record with their other records.
    let last = table.admins(&tenant).await.unwrap().remove(0);
    table.delete_user_records(&tenant, &last).await.unwrap();
    assert!(table.admins(&tenant).await.unwrap().is_empty());
}
