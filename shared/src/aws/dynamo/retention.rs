//! The age indexes of the retention reaper, on the sparse `expiry` GSI (KEYS_ONLY).
//!
//! `exp_pk = T#{tenant}#AGE#{index}`, `exp_sk = {since, epoch seconds, 12 digits}#{call}`. Only
//! items that age carry the two attributes: the call item (in `calls` while live, in `deleted`
//! once a user deleted it) and one small mark per transcribed upload (`AGE#recordings` in the
//! call's partition). A sweep is one query per tenant and index, `exp_sk < {cut-off}$`: its cost
//! is the due items plus one request, however many live items the table holds. Partitioning by
//! tenant and index spreads writes and reads over many partitions, so no single partition
//! takes every tenant's traffic.
//!
//! Records with their own retention clock (usage events, audit events) are in the same index
//! under `exp_pk = T#{tenant}#AGE#{usage_events|audit_events}`, `exp_sk = {expires at, 12
//! digits}#...`: the reaper deletes them at expiry with one query per tenant and kind.
//!
//! Tenants are listed through `gsi1pk = TENANTS` on the tenant items: ids only, written once per
//! tenant, read once per reaper run. Users are registered in the tenant partition
//! (`USER#{user}`) with their first membership, so a destruction finds every user's records.

use time::OffsetDateTime;

use super::items::{Item, ItemExt, keys, s};
use super::{CALL_SK, DynamoTable, attr_names as a, call_pk, store_err};
use crate::ids::{CallId, TenantId, UserId};
use crate::ports::{AgeIndex, AgeMark, DueCall, ExpiringRecords, RetentionStore, StoreError};

const TENANT_REGISTRY: &str = "TENANTS";
/// Where the reaper's scheduled run stopped: the service's own item, no tenant's.
const REAPER_PK: &str = "SYSTEM#REAPER";
const REAPER_RESUME_SK: &str = "RESUME";

/// The mark's sort key in the call's partition (`AGE#recordings` predates the other marks).
fn mark_sk(mark: AgeMark) -> String {
    format!("AGE#{}", mark.index().as_str())
}

fn age_pk(tenant: &TenantId, index: AgeIndex) -> String {
    format!("T#{tenant}#AGE#{}", index.as_str())
}

fn age_sk(since: OffsetDateTime, call: &CallId) -> String {
    format!("{:012}#{call}", since.unix_timestamp().max(0))
}

/// Puts an item into an age index.
pub(super) fn index_call(
    item: &mut Item,
    tenant: &TenantId,
    call: &CallId,
    index: AgeIndex,
    since: OffsetDateTime,
) {
    item.insert(a::EXP_PK.into(), s(age_pk(tenant, index)));
    item.insert(a::EXP_SK.into(), s(age_sk(since, call)));
}

/// Puts a call item into the waiting index (its own sparse GSI: the item is in `calls` too).
pub(super) fn index_waiting(
    item: &mut Item,
    tenant: &TenantId,
    call: &CallId,
    since: OffsetDateTime,
) {
    item.insert(a::WAIT_PK.into(), s(age_pk(tenant, AgeIndex::Waiting)));
    item.insert(a::WAIT_SK.into(), s(age_sk(since, call)));
}

/// Puts a record into the expiry index of its kind; `unique` tells records of one second apart.
pub(super) fn index_expiry(
    item: &mut Item,
    tenant: &TenantId,
    kind: ExpiringRecords,
    expires_at: OffsetDateTime,
    unique: &str,
) {
    item.insert(
        a::EXP_PK.into(),
        s(format!("T#{tenant}#AGE#{}", kind.as_str())),
    );
    item.insert(
        a::EXP_SK.into(),
        s(format!(
            "{:012}#{unique}",
            expires_at.unix_timestamp().max(0)
        )),
    );
}

const USER_REGISTRY_PREFIX: &str = "USER#";

/// The registry entry of a user in the tenant partition.
pub(super) fn user_registry_item(tenant: &TenantId, user: &UserId) -> Item {
    let mut item = keys(
        super::tenant_pk(tenant),
        format!("{USER_REGISTRY_PREFIX}{user}"),
    );
    item.insert(a::ENTITY.into(), s("user"));
    item
}

pub(super) fn register_tenant(item: &mut Item, tenant: &TenantId) {
    item.insert(a::GSI1_PK.into(), s(TENANT_REGISTRY));
    item.insert(a::GSI1_SK.into(), s(tenant.as_str()));
}

fn due_from(item: &Item, sort_key: &str) -> Result<DueCall, StoreError> {
    let corrupt = || StoreError::Corrupt("age index entry".into());
    let (seconds, call) = item.req_s(sort_key)?.split_once('#').ok_or_else(corrupt)?;
    let seconds: i64 = seconds.parse().map_err(|_| corrupt())?;
    Ok(DueCall {
        call_id: CallId::parse(call).map_err(|_| corrupt())?,
        since: OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| corrupt())?,
    })
}

impl RetentionStore for DynamoTable {
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(a::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", a::GSI1_PK)
            .expression_attribute_values(":pk", s(TENANT_REGISTRY))
            .into_paginator()
            .send();
        let mut tenants = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(store_err)?.items.unwrap_or_default() {
                let id = item.req_s(a::GSI1_SK)?;
                tenants.push(
                    TenantId::parse(id)
                        .map_err(|_| StoreError::Corrupt("tenant registry entry".into()))?,
                );
            }
        }
        Ok(tenants)
    }

    async fn reaper_resume_point(&self) -> Result<Option<TenantId>, StoreError> {
        let Some(item) = self
            .get_item(REAPER_PK.into(), REAPER_RESUME_SK.into())
            .await?
        else {
            return Ok(None);
        };
        TenantId::parse(item.req_s(a::TENANT)?)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("reaper resume point".into()))
    }

    async fn set_reaper_resume_point(
        &self,
        stopped_in: Option<&TenantId>,
    ) -> Result<(), StoreError> {
        let key = keys(REAPER_PK.into(), REAPER_RESUME_SK.into());
        match stopped_in {
            Some(tenant) => {
                let mut item = key;
                item.insert(a::ENTITY.into(), s("reaper_resume_point"));
                item.insert(a::TENANT.into(), s(tenant.as_str()));
                self.put(item).await
            }
            None => self.delete_keys(vec![key]).await,
        }
    }

    async fn due_calls(
        &self,
        tenant: &TenantId,
        index: AgeIndex,
        not_after: OffsetDateTime,
        after: Option<&DueCall>,
        limit: usize,
    ) -> Result<Vec<DueCall>, StoreError> {
        // '$' sorts after '#', so every entry of the cut-off second is included; '~' sorts after
        // every id character, so `lower` starts right after the entry `after` names.
        let upper = format!("{:012}$", not_after.unix_timestamp().max(0));
        let lower = match after {
            Some(due) => format!("{}~", age_sk(due.since, &due.call_id)),
            None => String::new(),
        };
        if !lower.is_empty() && lower >= upper {
            return Ok(Vec::new());
        }
        let (index_name, pk_name, sk_name) = match index {
            AgeIndex::Waiting => (a::WAITING_INDEX, a::WAIT_PK, a::WAIT_SK),
            _ => (a::EXPIRY_INDEX, a::EXP_PK, a::EXP_SK),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index_name)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lower AND :upper")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_names("#sk", sk_name)
            .expression_attribute_values(":pk", s(age_pk(tenant, index)))
            // BETWEEN is inclusive; no entry equals either bound ('0' is the lowest possible).
            .expression_attribute_values(
                ":lower",
                s(if lower.is_empty() {
                    "0".to_owned()
                } else {
                    lower
                }),
            )
            .expression_attribute_values(":upper", s(upper))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_err)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|item| due_from(item, sk_name))
            .collect()
    }

    async fn mark_aging(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: AgeMark,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut item = keys(call_pk(tenant, call), mark_sk(mark));
        item.insert(a::ENTITY.into(), s("age_mark"));
        index_call(&mut item, tenant, call, mark.index(), at);
        self.put(item).await
    }

    async fn clear_aging_mark(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: AgeMark,
    ) -> Result<(), StoreError> {
        self.delete_keys(vec![keys(call_pk(tenant, call), mark_sk(mark))])
            .await
    }

    async fn delete_call_items(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> Result<usize, StoreError> {
        let pk = call_pk(tenant, call);
        let items = self.query_partition(&pk, None).await?;
        let (call_items, others): (Vec<_>, Vec<_>) = items
            .iter()
            .map(|item| item.req_s(a::SK).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .partition(|sk| sk == CALL_SK);
        let count = call_items.len() + others.len();
        self.delete_keys(others.into_iter().map(|sk| keys(pk.clone(), sk)).collect())
            .await?;
        self.delete_keys(
            call_items
                .into_iter()
                .map(|sk| keys(pk.clone(), sk))
                .collect(),
        )
        .await?;
        Ok(count)
    }

    async fn known_users(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        let corrupt = || StoreError::Corrupt("user registry entry".into());
        self.query_partition(&super::tenant_pk(tenant), Some(USER_REGISTRY_PREFIX))
            .await?
            .iter()
            .map(|item| {
                let sk = item.req_s(a::SK)?;
                let id = sk.strip_prefix(USER_REGISTRY_PREFIX).ok_or_else(corrupt)?;
                UserId::parse(id).map_err(|_| corrupt())
            })
            .collect()
    }

    async fn delete_user_records(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for pk in [
            super::progress::pk(tenant, user),
            super::usage::pk(tenant, user),
        ] {
            for item in self.query_partition(&pk, None).await? {
                doomed.push(keys(pk.clone(), item.req_s(a::SK)?.to_owned()));
            }
        }
        doomed.push(keys(
            super::tenant_pk(tenant),
            super::admins::admin_sk(user),
        ));
        // The registry entry last: an interrupted deletion is found again through it.
        doomed.push(keys(
            super::tenant_pk(tenant),
            format!("{USER_REGISTRY_PREFIX}{user}"),
        ));
        let count = doomed.len();
        self.delete_keys(doomed).await?;
        Ok(count)
    }

    async fn delete_expired(
        &self,
        tenant: &TenantId,
        kind: ExpiringRecords,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<usize, StoreError> {
        // Index entries are written with their records and the index is eventually consistent,
        // so a just-deleted record may still be listed: deleting it again is harmless.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(a::EXPIRY_INDEX)
            .key_condition_expression("#pk = :pk AND #sk < :upper")
            .expression_attribute_names("#pk", a::EXP_PK)
            .expression_attribute_names("#sk", a::EXP_SK)
            .expression_attribute_values(":pk", s(format!("T#{tenant}#AGE#{}", kind.as_str())))
            .expression_attribute_values(
                ":upper",
                s(format!("{:012}$", now.unix_timestamp().max(0))),
            )
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_err)?;
        let doomed = out
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                Ok(keys(
                    item.req_s(a::PK)?.to_owned(),
                    item.req_s(a::SK)?.to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let count = doomed.len();
        self.delete_keys(doomed).await?;
        Ok(count)
    }
}
