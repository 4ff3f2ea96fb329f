//! The age indexes of the retention reaper, on the sparse `expiry` GSI (KEYS_ONLY; keys in
//! [`super::layout`]): partitioned per tenant and index, sorted by when an item starts to age
//! (epoch seconds). Only items that age carry the two attributes: the call item (in `calls` while live, in `deleted`
//! once a user deleted it) and one small mark per transcribed upload (`AGE#recordings` in the
//! call's partition). A sweep is one query per tenant and index, `exp_sk < {cut-off}$`: its cost
//! is the due items plus one request, however many live items the table holds. Partitioning by
//! tenant and index spreads writes and reads over many partitions, so no single partition
//! takes every tenant's traffic.
//!
//! Records with their own retention clock (usage events, audit events) are in the same index,
//! sorted by when they expire: the reaper deletes them at expiry with one query per tenant and
//! kind.
//!
//! Tenants are listed through `gsi1pk = TENANTS` on the tenant items: ids only, written once per
//! tenant, read once per reaper run. Users are registered in the tenant partition with their
//! first membership, so a destruction finds every user's records.

use time::OffsetDateTime;

use super::DynamoTable;
use super::attr_names as a;
use super::items::{Item, ItemExt, keys, s};
use super::layout::{
    CALL_SK, REAPER_PK, REAPER_RESUME_SK, TENANT_REGISTRY, USER_REGISTRY_PREFIX, admin_sk, age_pk,
    age_upper_bound, call_pk, due_call, due_range, expiry_pk, index_call, mark_sk, progress_pk,
    registered_user, tenant_pk, usage_pk, user_registry_sk,
};
use super::paging::{EXPIRY, GSI1, IndexKeys, Reading, WAITING};
use crate::ids::{CallId, TenantId, UserId};
use crate::ports::{AgeIndex, AgeMark, DueCall, ExpiringRecords, RetentionStore, StoreError};

fn due_from(item: &Item, sort_key: &str) -> Result<DueCall, StoreError> {
    due_call(item.req_s(sort_key)?).ok_or_else(|| StoreError::Corrupt("age index entry".into()))
}

impl DynamoTable {
    /// Up to `limit` entries of one partition of an age index, oldest first, whose sort key
    /// meets `condition` (over `#sk` and the `bounds`).
    async fn age_entries(
        &self,
        index: IndexKeys,
        partition: String,
        condition: &str,
        bounds: Vec<(&str, String)>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let reading = Reading::Page {
            start: None,
            limit: i32::try_from(limit).unwrap_or(i32::MAX),
        };
        let found = self
            .table
            .query(reading, |request| {
                let mut request = request
                    .index_name(index.name)
                    .key_condition_expression(format!("#pk = :pk AND {condition}"))
                    .expression_attribute_names("#pk", index.pk)
                    .expression_attribute_names("#sk", index.sk)
                    .expression_attribute_values(":pk", s(partition));
                for (placeholder, bound) in bounds {
                    request = request.expression_attribute_values(placeholder, s(bound));
                }
                request
            })
            .await?;
        Ok(found.items)
    }
}

impl RetentionStore for DynamoTable {
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.table
            .query_index_partition(GSI1, TENANT_REGISTRY)
            .await?
            .iter()
            .map(|item| {
                TenantId::parse(item.req_s(a::GSI1_SK)?)
                    .map_err(|_| StoreError::Corrupt("tenant registry entry".into()))
            })
            .collect()
    }

    async fn reaper_resume_point(&self) -> Result<Option<TenantId>, StoreError> {
        let Some(item) = self
            .table
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
                self.table.put(item).await
            }
            None => self.table.delete_keys(vec![key]).await,
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
        let Some((lower, upper)) = due_range(not_after, after) else {
            return Ok(Vec::new());
        };
        let keys = match index {
            AgeIndex::Waiting => WAITING,
            _ => EXPIRY,
        };
        let bounds = vec![(":lower", lower), (":upper", upper)];
        self.age_entries(
            keys,
            age_pk(tenant, index),
            "#sk BETWEEN :lower AND :upper",
            bounds,
            limit,
        )
        .await?
        .iter()
        .map(|item| due_from(item, keys.sk))
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
        self.table.put(item).await
    }

    async fn clear_aging_mark(
        &self,
        tenant: &TenantId,
        call: &CallId,
        mark: AgeMark,
    ) -> Result<(), StoreError> {
        self.table
            .delete_keys(vec![keys(call_pk(tenant, call), mark_sk(mark))])
            .await
    }

    async fn delete_call_items(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> Result<usize, StoreError> {
        let pk = call_pk(tenant, call);
        let items = self.table.query_partition(&pk, None).await?;
        let (call_items, others): (Vec<_>, Vec<_>) = items
            .iter()
            .map(|item| item.req_s(a::SK).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .partition(|sk| sk == CALL_SK);
        let count = call_items.len() + others.len();
        self.table
            .delete_keys(others.into_iter().map(|sk| keys(pk.clone(), sk)).collect())
            .await?;
        self.table
            .delete_keys(
                call_items
                    .into_iter()
                    .map(|sk| keys(pk.clone(), sk))
                    .collect(),
            )
            .await?;
        Ok(count)
    }

    async fn known_users(&self, tenant: &TenantId) -> Result<Vec<UserId>, StoreError> {
        self.table
            .query_partition(&tenant_pk(tenant), Some(USER_REGISTRY_PREFIX))
            .await?
            .iter()
            .map(|item| {
                registered_user(item.req_s(a::SK)?)
                    .ok_or_else(|| StoreError::Corrupt("user registry entry".into()))
            })
            .collect()
    }

    async fn delete_user_records(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for pk in [progress_pk(tenant, user), usage_pk(tenant, user)] {
            for item in self.table.query_partition(&pk, None).await? {
                doomed.push(keys(pk.clone(), item.req_s(a::SK)?.to_owned()));
            }
        }
        doomed.push(keys(tenant_pk(tenant), admin_sk(user)));
        // The registry entry last: an interrupted deletion is found again through it.
        doomed.push(keys(tenant_pk(tenant), user_registry_sk(user)));
        let count = doomed.len();
        self.table.delete_keys(doomed).await?;
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
        let bounds = vec![(":upper", age_upper_bound(now))];
        let found = self
            .age_entries(
                EXPIRY,
                expiry_pk(tenant, kind),
                "#sk < :upper",
                bounds,
                limit,
            )
            .await?;
        let doomed = found
            .iter()
            .map(|item| {
                Ok(keys(
                    item.req_s(a::PK)?.to_owned(),
                    item.req_s(a::SK)?.to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let count = doomed.len();
        self.table.delete_keys(doomed).await?;
        Ok(count)
    }
}
