//! DynamoDB single-table adapter.
//!
//! Table design. Every partition key begins with `T#{tenant}#` (or is `T#{tenant}`), so a
//! query built from a caller's tenant can only ever read that tenant's items.
//!
//! | entity       | pk                        | sk                     | gsi1pk                         | gsi1sk                    |
//! |--------------|---------------------------|------------------------|--------------------------------|---------------------------|
//! | tenant       | `T#{t}`                   | `TENANT`               |                                |                           |
//! | team         | `T#{t}`                   | `TEAM#{team}`          |                                |                           |
//! | membership   | `T#{t}#TEAM#{team}`       | `MEMBER#{user}`        | `T#{t}#USER#{user}`            | `TEAM#{team}`             |
//! | call         | `T#{t}#CALL#{call}`       | `CALL`                 | `T#{t}#TEAM#{team}#CALLS`      | `{created_ns:020}#{call}` |
//! | (call, gsi2) |                           |                        | `T#{t}#TEAM#{team}#REP#{rep}`  | `{created_ns:020}#{call}` |
//! | document     | `T#{t}#CALL#{call}`       | `DOC#{kind}#v{n:010}`  |                                |                           |
//! | data key     | `T#{t}#KEYS`              | `{category}#v{n:010}`  |                                |                           |
//! | idempotency  | `T#{t}#IDEM#{key}`        | `IDEM`                 |                                |                           |
//! | rep progress | `T#{t}#USER#{user}`        | `PROGRESS`             |                                |                           |
//! | playbook     | `T#{t}`                   | `PLAYBOOK#{team}`      |                                |                           |
//! | audit event  | `T#{t}#AUDIT`             | `{at_ns:020}#{event}`  |                                |                           |
//! | usage event  | `T#{t}#USAGE#{user}`      | `{at_ns:020}#{call}#{view}` |                           |                           |
//! | user (known) | `T#{t}`                   | `USER#{user}`          |                                |                           |
//! | admin        | `T#{t}`                   | `ADMIN#{user}`         | `T#{t}#USER#{user}`            | `ADMIN`                   |
//! | quota counter| `T#{t}#QUOTA`             | `{meter}#{period}`     |                                |                           |
//! | export job   | `T#{t}#EXPORTS`           | `{export}`             |                                |                           |
//!
//! Access patterns: get tenant / team / call by id (GetItem); a team's members (Query pk);
//! a user's teams (Query gsi1); a team's calls newest first, paged (Query gsi1, descending);
//! every document version of a call (Query pk, `begins_with(sk, "DOC#")`); the latest data
//! key of a category (Query pk descending, limit 1) and one version (GetItem). Calls get their
//! own partition so one busy tenant does not concentrate writes on one key.

mod admins;
mod audit;
mod call_moves;
mod export_jobs;
mod idempotency;
mod items;
mod progress;
mod quota;
mod retention;
mod usage;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, ReturnValue, TransactWriteItem, WriteRequest,
};

use super::backend;
use crate::crypto::{DataCategory, DataKeyStore, WrappedDataKey};
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::{Membership, Team, Tenant};
use crate::ids::{CallId, TeamId, TenantId, UserId};
use crate::ports::{
    CallRepository, Cursor, CursorError, DocumentKind, DocumentRepository, Page, PageRequest,
    StoreError, StoredDocument, TeamRepository, TenantRepository,
};
use items::{Item, ItemExt, attr, keys, s};

/// Attribute names, in one place.
pub mod attr_names {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    pub const GSI1: &str = "gsi1";
    pub const GSI2_PK: &str = "gsi2pk";
    pub const GSI2_SK: &str = "gsi2sk";
    /// A rep's calls in a team, newest first.
    pub const GSI2: &str = "gsi2";
    /// The sparse age index the retention reaper reads (KEYS_ONLY).
    pub const EXPIRY_INDEX: &str = "expiry";
    pub const EXP_PK: &str = "exp_pk";
    pub const EXP_SK: &str = "exp_sk";
    /// The sparse index of calls waiting for the pipeline (KEYS_ONLY): only a call item whose
    /// status waits carries the two attributes.
    pub const WAITING_INDEX: &str = "waiting";
    pub const WAIT_PK: &str = "wait_pk";
    pub const WAIT_SK: &str = "wait_sk";
    pub const ENTITY: &str = "entity";
    pub const STATUS: &str = "status";
    pub const BODY: &str = "body";
    pub const CIPHERTEXT: &str = "ciphertext";
    pub const BLOB_KEY: &str = "blob_key";
    pub const WRAPPED_KEY: &str = "wrapped_key";
    pub const KMS_KEY_ID: &str = "kms_key_id";
    pub const CREATED_AT: &str = "created_at";
    pub const RESERVED: &str = "reserved_encryptions";
    pub const ROLE: &str = "role";
    pub const USER: &str = "user_id";
    pub const TEAM: &str = "team_id";
    pub const TENANT: &str = "tenant_id";
    /// Epoch seconds; DynamoDB TTL deletes late, so reads filter on it too.
    pub const EXPIRES_AT: &str = "expires_at";
    pub const PAYLOAD_HASH: &str = "payload_hash";
    /// The claim that holds an idempotency record.
    pub const OWNER: &str = "owner";
    pub const VERSION: &str = "version";
    /// Epoch milliseconds.
    pub const IN_PROGRESS_UNTIL: &str = "in_progress_until";
}
use attr_names as a;

/// BatchWriteItem takes at most 25 requests.
const BATCH_WRITE_LIMIT: usize = 25;

/// The callcoach table, and the table of wrapped data keys beside it.
///
/// The wrapped keys live in a table of their own whose point-in-time recovery keeps one day
/// (the main table keeps 35): when a workspace is shredded, the backups of its keys are gone a
/// day later, and every backup of its data is unreadable from then. The main table's backups
/// stay usable for disaster recovery, since keys are only ever added, except by shredding.
#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    keys_table: String,
}

fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

fn store_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    StoreError::Backend(backend(err))
}

impl DynamoTable {
    /// Both tables; `keys_table` holds the wrapped data keys.
    pub fn new(client: Client, table: impl Into<String>, keys_table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            keys_table: keys_table.into(),
        }
    }

    /// The same client over the keys table, for the data-key operations.
    fn keys(&self) -> DynamoTable {
        DynamoTable {
            client: self.client.clone(),
            table: self.keys_table.clone(),
            keys_table: self.keys_table.clone(),
        }
    }

    async fn get_item(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        Ok(out.item)
    }

    /// Writes `item` only if no item has its key (`AlreadyExists` otherwise).
    async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        self.put_if(item, "attribute_not_exists(#pk)", StoreError::AlreadyExists)
            .await
    }

    /// A put under a condition on the key's existence; `refused` when it does not hold.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        refused: StoreError,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#pk", a::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(refused),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Writes `item` (which carries `version = read + 1`) only if the stored item is still at
    /// version `read`; `Conflict` otherwise, or when there is none.
    async fn put_versioned(&self, item: Item, read: u32) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(#pk) AND #v = :read")
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#v", a::VERSION)
            .expression_attribute_values(":read", attr::number(read))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Puts an item whose `version` is `read + 1` only while the stored one is still at `read`
    /// (0: absent, or written before it had a version): `Conflict` when another writer got
    /// there first.
    async fn put_at_version(&self, item: Item, read: u64) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        // DynamoDB refuses attribute names an expression does not use: name only what each uses.
        let request = if read == 0 {
            request
                .condition_expression("attribute_not_exists(#v)")
                .expression_attribute_names("#v", a::VERSION)
        } else {
            request
                .condition_expression("#v = :read")
                .expression_attribute_names("#v", a::VERSION)
                .expression_attribute_values(":read", attr::number(read))
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Deletes every item of one partition; how many went.
    async fn delete_partition(&self, partition: &str) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for item in self.query_partition(partition, None).await? {
            doomed.push(keys(partition.to_owned(), item.req_s(a::SK)?.to_owned()));
        }
        let count = doomed.len();
        self.delete_keys(doomed).await?;
        Ok(count)
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Every item of one partition (all pages), optionally only sort keys with a prefix.
    async fn query_partition(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true);
        request = match sk_prefix {
            Some(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", a::SK)
                .expression_attribute_values(":prefix", s(prefix)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let mut items = Vec::new();
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            items.extend(page.map_err(store_err)?.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// One page of a tenant's partition, newest first. The cursor names the partition, so a
    /// cursor of another partition (or tenant) is refused.
    pub(crate) async fn partition_page(
        &self,
        tenant: &TenantId,
        query: &PartitionQuery,
        page: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let start = match &page.cursor {
            Some(cursor) => {
                let position = cursor.decode(tenant)?;
                if position.get(a::PK) != Some(&query.partition)
                    || position.len() != 2
                    || !position.contains_key(a::SK)
                {
                    return Err(StoreError::InvalidCursor(CursorError::Invalid));
                }
                Some(position.into_iter().map(|(k, v)| (k, s(v))).collect())
            }
            None => None,
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_values(":pk", s(&query.partition))
            .scan_index_forward(false)
            .limit(i32::from(page.limit()))
            .set_exclusive_start_key(start);
        request = match &query.sk_range {
            Some((low, high)) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#sk", a::SK)
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(high)),
            None => request.key_condition_expression("#pk = :pk"),
        };
        if let Some(now) = query.unexpired_at {
            request = request
                .filter_expression("#exp > :now")
                .expression_attribute_names("#exp", a::EXPIRES_AT)
                .expression_attribute_values(":now", attr::number(now.unix_timestamp()));
        }
        let out = request.send().await.map_err(store_err)?;
        let next = match out.last_evaluated_key {
            Some(key) => Some(Cursor::encode(
                tenant,
                BTreeMap::from([
                    (a::PK.to_owned(), key.req_s(a::PK)?.to_owned()),
                    (a::SK.to_owned(), key.req_s(a::SK)?.to_owned()),
                ]),
            )),
            None => None,
        };
        Ok(Page {
            items: out.items.unwrap_or_default(),
            next,
        })
    }

    /// [`Self::partition_page`] of JSON items (`json_item`), decoded.
    pub(crate) async fn json_page<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        query: &PartitionQuery,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let found = self.partition_page(tenant, query, page).await?;
        Ok(Page {
            items: found
                .items
                .iter()
                .map(from_json_item)
                .collect::<Result<_, _>>()?,
            next: found.next,
        })
    }

    /// Deletes these keys in batches, retrying what DynamoDB leaves unprocessed.
    async fn delete_keys(
        &self,
        keys_to_delete: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<(), StoreError> {
        for chunk in keys_to_delete.chunks(BATCH_WRITE_LIMIT) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| StoreError::Backend(backend(e)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 0..8u32 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(store_err)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Backend(
                    format!("{} deletes left unprocessed after retries", requests.len()).into(),
                ));
            }
        }
        Ok(())
    }
}

pub(super) fn tenant_pk(t: &TenantId) -> String {
    format!("T#{t}")
}
pub(super) fn team_sk(team: &TeamId) -> String {
    format!("TEAM#{team}")
}
pub(super) fn members_pk(t: &TenantId, team: &TeamId) -> String {
    format!("T#{t}#TEAM#{team}")
}
fn member_sk(user: &UserId) -> String {
    format!("MEMBER#{user}")
}
pub(super) fn user_gsi(t: &TenantId, user: &UserId) -> String {
    format!("T#{t}#USER#{user}")
}
fn call_pk(t: &TenantId, call: &CallId) -> String {
    format!("T#{t}#CALL#{call}")
}
const CALL_SK: &str = "CALL";
fn team_calls_gsi(t: &TenantId, team: &TeamId) -> String {
    format!("T#{t}#TEAM#{team}#CALLS")
}
fn rep_calls_gsi(t: &TenantId, team: &TeamId, rep: &UserId) -> String {
    format!("T#{t}#TEAM#{team}#REP#{rep}")
}
fn call_order_key(call: &Call) -> String {
    format!(
        "{:020}#{}",
        call.created_at.unix_timestamp_nanos().max(0),
        call.call_id
    )
}
fn document_sk(kind: DocumentKind, version: u32) -> String {
    format!("DOC#{}#v{version:010}", kind.as_str())
}
/// What [`DynamoTable::partition_page`] reads.
pub(crate) struct PartitionQuery {
    pub partition: String,
    /// Sort keys from the first to the second, both included.
    pub sk_range: Option<(String, String)>,
    /// Skip records whose `expires_at` is not after this (TTL deletes late).
    pub unexpired_at: Option<time::OffsetDateTime>,
}

fn keys_pk(t: &TenantId) -> String {
    format!("T#{t}#KEYS")
}
fn data_key_sk(category: DataCategory, version: u32) -> String {
    format!("{}#v{version:010}", category.as_str())
}

/// Documents whose shape is ours (tenant, team, call) are kept as one JSON body attribute plus
/// the key and index attributes queries need.
fn json_item<T: serde::Serialize>(
    entity: &str,
    pk: String,
    sk: String,
    doc: &T,
) -> Result<Item, StoreError> {
    let body = serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut item = keys(pk, sk);
    item.insert(a::ENTITY.into(), s(entity));
    item.insert(a::BODY.into(), s(body));
    Ok(item)
}

fn from_json_item<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(item.req_s(a::BODY)?)
        .map_err(|e| StoreError::Corrupt(crate::json_fault::JsonFault::from(e).to_string()))
}

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
        role: crate::domain::org::Role::parse(item.req_s(a::ROLE)?)
            .ok_or_else(|| corrupt("role"))?,
    })
}

fn call_item(call: &Call) -> Result<Item, StoreError> {
    let mut item = json_item(
        "call",
        call_pk(&call.tenant_id, &call.call_id),
        CALL_SK.into(),
        call,
    )?;
    item.insert(a::STATUS.into(), s(call.status.as_str()));
    item.insert(a::VERSION.into(), attr::number(call.version));
    item.insert(
        a::GSI1_PK.into(),
        s(team_calls_gsi(&call.tenant_id, &call.team_id)),
    );
    item.insert(a::GSI1_SK.into(), s(call_order_key(call)));
    item.insert(
        a::GSI2_PK.into(),
        s(rep_calls_gsi(&call.tenant_id, &call.team_id, &call.rep_id)),
    );
    item.insert(a::GSI2_SK.into(), s(call_order_key(call)));
    let (index, since) = if call.status == CallStatus::Deleted {
        (crate::ports::AgeIndex::Deleted, call.updated_at)
    } else {
        (crate::ports::AgeIndex::Calls, call.created_at)
    };
    retention::index_call(&mut item, &call.tenant_id, &call.call_id, index, since);
    if let Some(since) = call.waiting_since() {
        retention::index_waiting(&mut item, &call.tenant_id, &call.call_id, since);
    }
    Ok(item)
}

impl TenantRepository for DynamoTable {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut item = json_item(
            "tenant",
            tenant_pk(&tenant.tenant_id),
            "TENANT".into(),
            tenant,
        )?;
        retention::register_tenant(&mut item, &tenant.tenant_id);
        self.put_new(item).await
    }

    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_item(tenant_pk(tenant), "TENANT".into())
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let next = Tenant {
            version: tenant.version + 1,
            ..tenant.clone()
        };
        let mut item = json_item(
            "tenant",
            tenant_pk(&tenant.tenant_id),
            "TENANT".into(),
            &next,
        )?;
        retention::register_tenant(&mut item, &tenant.tenant_id);
        item.insert(a::VERSION.into(), attr::number(next.version));
        // Records written before versions counted have no attribute: they are version 0.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_exists(#pk) AND (#v = :read OR (attribute_not_exists(#v) AND :read = :zero))",
            )
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#v", a::VERSION)
            .expression_attribute_values(":read", attr::number(tenant.version))
            .expression_attribute_values(":zero", attr::number(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(store_err(e)),
        }
    }
}

impl TeamRepository for DynamoTable {
    async fn create_team(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let team_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(json_item(
                "team",
                tenant_pk(&team.tenant_id),
                team_sk(&team.team_id),
                team,
            )?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", a::PK)
            .build()
            .map_err(|e| StoreError::Backend(backend(e)))?;
        let owner_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(membership_item(owner)))
            .build()
            .map_err(|e| StoreError::Backend(backend(e)))?;
        let registry_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(retention::user_registry_item(
                &owner.tenant_id,
                &owner.user_id,
            )))
            .build()
            .map_err(|e| StoreError::Backend(backend(e)))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(team_put).build())
            .transact_items(TransactWriteItem::builder().put(owner_put).build())
            .transact_items(TransactWriteItem::builder().put(registry_put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_transaction_canceled_exception() => {
                Err(StoreError::AlreadyExists)
            }
            Err(e) => Err(store_err(e)),
        }
    }

    async fn get_team(&self, tenant: &TenantId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        self.get_item(tenant_pk(tenant), team_sk(team))
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn put_membership(&self, membership: &Membership) -> Result<(), StoreError> {
        // The registry first: a user with a membership is always found by a destruction.
        self.put(retention::user_registry_item(
            &membership.tenant_id,
            &membership.user_id,
        ))
        .await?;
        self.put(membership_item(membership)).await
    }

    async fn remove_membership(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys(members_pk(tenant, team), member_sk(user))))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
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
        self.query_partition(&members_pk(tenant, team), Some("MEMBER#"))
            .await?
            .iter()
            .map(|i| membership_from(tenant, i))
            .collect()
    }

    async fn teams_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Team>, StoreError> {
        self.query_partition(&tenant_pk(tenant), Some("TEAM#"))
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
        for item in self.query_partition(&members_pk, None).await? {
            doomed.push(keys(members_pk.clone(), item.req_s(a::SK)?.to_owned()));
        }
        doomed.push(keys(tenant_pk(tenant), format!("PLAYBOOK#{team}")));
        let count = doomed.len() + 1;
        self.delete_keys(doomed).await?;
        self.delete_keys(vec![keys(tenant_pk(tenant), team_sk(team))])
            .await?;
        Ok(count)
    }
}

impl CallRepository for DynamoTable {
    async fn create_call(&self, call: &Call) -> Result<(), StoreError> {
        self.put_new(call_item(call)?).await
    }

    async fn get_call(&self, tenant: &TenantId, call: &CallId) -> Result<Option<Call>, StoreError> {
        self.get_item(call_pk(tenant, call), CALL_SK.into())
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn save_call(&self, call: &mut Call) -> Result<(), StoreError> {
        self.save_call_unchanged(call).await
    }

    async fn save_moved(
        &self,
        call: &mut Call,
        event: &crate::domain::audit::AuditEvent,
    ) -> Result<(), StoreError> {
        self.save_call_with_event(call, event).await
    }

    async fn list_team_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        let listing = CallListing {
            index: a::GSI1,
            pk_attr: a::GSI1_PK,
            sk_attr: a::GSI1_SK,
            partition: team_calls_gsi(tenant, team),
        };
        self.list_calls(tenant, &listing, page).await
    }

    async fn list_rep_calls(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        rep: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        let listing = CallListing {
            index: a::GSI2,
            pk_attr: a::GSI2_PK,
            sk_attr: a::GSI2_SK,
            partition: rep_calls_gsi(tenant, team, rep),
        };
        self.list_calls(tenant, &listing, page).await
    }
}

/// One index partition of calls, newest first.
struct CallListing {
    index: &'static str,
    pk_attr: &'static str,
    sk_attr: &'static str,
    partition: String,
}

impl DynamoTable {
    async fn list_calls(
        &self,
        tenant: &TenantId,
        listing: &CallListing,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        let start = match &page.cursor {
            Some(cursor) => Some(start_key(tenant, listing, cursor)?),
            None => None,
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(listing.index)
            .key_condition_expression("#g = :g")
            .expression_attribute_names("#g", listing.pk_attr)
            .expression_attribute_values(":g", s(&listing.partition))
            .scan_index_forward(false)
            .limit(i32::from(page.limit()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(store_err)?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_json_item)
            .collect::<Result<Vec<Call>, _>>()?;
        let next = out
            .last_evaluated_key
            .map(|key| {
                key.into_iter()
                    .map(|(k, v)| {
                        v.as_s()
                            .map(|v| (k, v.clone()))
                            .map_err(|_| StoreError::Corrupt("non-string key".into()))
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            })
            .transpose()?
            .map(|position| Cursor::encode(tenant, position));
        Ok(Page { items, next })
    }
}

/// Turns a client cursor back into a start key, refusing anything outside this tenant's
/// listing (a cursor from another tenant or another team's listing, or a forged one).
fn start_key(
    tenant: &TenantId,
    listing: &CallListing,
    cursor: &Cursor,
) -> Result<Item, StoreError> {
    let position = cursor.decode(tenant)?;
    let tenant_prefix = format!("{}#", tenant_pk(tenant));
    let allowed = [a::PK, a::SK, listing.pk_attr, listing.sk_attr];
    let valid = position.len() == allowed.len()
        && allowed.iter().all(|k| position.contains_key(*k))
        && position[listing.pk_attr] == listing.partition
        && position[a::PK].starts_with(&tenant_prefix);
    if !valid {
        return Err(StoreError::InvalidCursor(CursorError::Invalid));
    }
    Ok(position.into_iter().map(|(k, v)| (k, s(v))).collect())
}

impl DocumentRepository for DynamoTable {
    async fn put_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        document: &StoredDocument,
    ) -> Result<(), StoreError> {
        let mut item = keys(call_pk(tenant, call), document_sk(kind, version));
        item.insert(a::ENTITY.into(), s("document"));
        match document {
            StoredDocument::Inline(bytes) => item.insert(a::CIPHERTEXT.into(), attr::bytes(bytes)),
            StoredDocument::Blob { key } => item.insert(a::BLOB_KEY.into(), s(key)),
        };
        self.put(item).await
    }

    async fn get_document(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self
            .get_document_revision(tenant, call, kind, version)
            .await?
            .map(|(_, document)| document))
    }

    async fn get_document_revision(
        &self,
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
    ) -> Result<Option<(u64, StoredDocument)>, StoreError> {
        let Some(item) = self
            .get_item(call_pk(tenant, call), document_sk(kind, version))
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
        tenant: &TenantId,
        call: &CallId,
        kind: DocumentKind,
        version: u32,
        ciphertext: &[u8],
        read_revision: u64,
    ) -> Result<(), StoreError> {
        let mut item = keys(call_pk(tenant, call), document_sk(kind, version));
        item.insert(a::ENTITY.into(), s("document"));
        item.insert(a::CIPHERTEXT.into(), attr::bytes(ciphertext));
        item.insert(a::VERSION.into(), attr::number(read_revision + 1));
        self.put_at_version(item, read_revision).await
    }
}

fn data_key_from(item: &Item) -> Result<WrappedDataKey, StoreError> {
    let pk = item.req_s(a::PK)?;
    let sk = item.req_s(a::SK)?;
    let corrupt = || StoreError::Corrupt("data key item".into());
    let tenant = pk
        .strip_prefix("T#")
        .and_then(|r| r.strip_suffix("#KEYS"))
        .and_then(|t| TenantId::parse(t).ok())
        .ok_or_else(corrupt)?;
    let (category, version) = sk.split_once("#v").ok_or_else(corrupt)?;
    Ok(WrappedDataKey {
        tenant,
        category: DataCategory::parse(category).ok_or_else(corrupt)?,
        version: version.parse().map_err(|_| corrupt())?,
        kms_key_id: item.req_s(a::KMS_KEY_ID)?.to_owned(),
        wrapped: item.opt_b(a::WRAPPED_KEY).ok_or_else(corrupt)?.to_vec(),
        created_at: item.req_time(a::CREATED_AT)?,
    })
}

impl DataKeyStore for DynamoTable {
    async fn latest_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.keys_table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_names("#sk", a::SK)
            .expression_attribute_values(":pk", s(keys_pk(tenant)))
            .expression_attribute_values(":prefix", s(format!("{}#v", category.as_str())))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        out.items
            .unwrap_or_default()
            .first()
            .map(data_key_from)
            .transpose()
    }

    async fn get_data_key(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<Option<WrappedDataKey>, StoreError> {
        self.keys()
            .get_item(keys_pk(tenant), data_key_sk(category, version))
            .await?
            .as_ref()
            .map(data_key_from)
            .transpose()
    }

    async fn insert_data_key(&self, key: &WrappedDataKey) -> Result<(), StoreError> {
        let mut item = keys(keys_pk(&key.tenant), data_key_sk(key.category, key.version));
        item.insert(a::ENTITY.into(), s("data_key"));
        item.insert(a::KMS_KEY_ID.into(), s(&key.kms_key_id));
        item.insert(a::WRAPPED_KEY.into(), attr::bytes(&key.wrapped));
        item.insert(a::CREATED_AT.into(), attr::time(key.created_at));
        item.insert(a::RESERVED.into(), attr::number(0));
        self.keys().put_new(item).await
    }

    async fn reserve_encryptions(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
        count: u64,
    ) -> Result<u64, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.keys_table)
            .set_key(Some(keys(keys_pk(tenant), data_key_sk(category, version))))
            .update_expression("ADD #r :n")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#r", a::RESERVED)
            .expression_attribute_names("#pk", a::PK)
            .expression_attribute_values(":n", attr::number(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.unwrap_or_default().req_u64(a::RESERVED),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn destroy_data_keys(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let keys = self.keys();
        let found = keys.query_partition(&keys_pk(tenant), None).await?;
        let count = found.len();
        let to_delete = found
            .into_iter()
            .filter_map(|mut item| {
                let pk = item.remove(a::PK)?;
                let sk = item.remove(a::SK)?;
                Some(HashMap::from([
                    (a::PK.to_owned(), pk),
                    (a::SK.to_owned(), sk),
                ]))
            })
            .collect();
        keys.delete_keys(to_delete).await?;
        Ok(count)
    }

    async fn list_data_keys(&self, tenant: &TenantId) -> Result<Vec<WrappedDataKey>, StoreError> {
        self.keys()
            .query_partition(&keys_pk(tenant), None)
            .await?
            .iter()
            .map(data_key_from)
            .collect()
    }
}

impl crate::ports::PlaybookRepository for DynamoTable {
    async fn get_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Option<crate::domain::playbook::Playbook>, StoreError> {
        self.get_item(tenant_pk(tenant), format!("PLAYBOOK#{team}"))
            .await?
            .map(|i| from_json_item(&i))
            .transpose()
    }

    async fn put_playbook(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        playbook: &crate::domain::playbook::Playbook,
    ) -> Result<(), StoreError> {
        self.put(json_item(
            "playbook",
            tenant_pk(tenant),
            format!("PLAYBOOK#{team}"),
            playbook,
        )?)
        .await
    }
}
