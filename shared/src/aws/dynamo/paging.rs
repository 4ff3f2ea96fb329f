//! Queries, and the cursors of paged listings. Every query goes through [`Table::query`], the
//! one place that follows DynamoDB's `LastEvaluatedKey`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use time::OffsetDateTime;

use super::attr_names as a;
use super::items::{Item, attr, from_json_item, s};
use super::layout::tenant_scope;
use super::table::{Table, store_err};
use crate::ids::TenantId;
use crate::ports::{Cursor, CursorError, Page, PageRequest, StoreError};

/// How much of a query's result to read.
pub(super) enum Reading {
    /// Every page, to the end.
    All,
    /// One request for at most `limit` items, after `start` when given.
    Page { start: Option<Item>, limit: i32 },
}

/// What a query read, and the key it stopped at when it stopped before the end.
pub(super) struct Found {
    pub items: Vec<Item>,
    pub last_key: Option<Item>,
}

/// The keys of a secondary index.
#[derive(Debug, Clone, Copy)]
pub(super) struct IndexKeys {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

impl IndexKeys {
    const fn new(name: &'static str, pk: &'static str, sk: &'static str) -> Self {
        Self { name, pk, sk }
    }
}

/// The user's items (memberships, admin record), the tenant registry, and a team's calls.
pub(super) const GSI1: IndexKeys = IndexKeys::new(a::GSI1, a::GSI1_PK, a::GSI1_SK);

/// A rep's calls in a team.
pub(super) const GSI2: IndexKeys = IndexKeys::new(a::GSI2, a::GSI2_PK, a::GSI2_SK);

/// The age indexes of the retention reaper and the expiring records.
pub(super) const EXPIRY: IndexKeys = IndexKeys::new(a::EXPIRY_INDEX, a::EXP_PK, a::EXP_SK);

/// The calls waiting for the pipeline.
pub(super) const WAITING: IndexKeys = IndexKeys::new(a::WAITING_INDEX, a::WAIT_PK, a::WAIT_SK);

/// A listing read newest first, one page at a time: a partition of the table or of an index.
pub(super) struct Listing {
    /// `None`: the table's own keys.
    pub index: Option<IndexKeys>,
    pub partition: String,
    /// Sort keys from the first to the second, both included.
    pub sk_range: Option<(String, String)>,
    /// Skip records whose `expires_at` is not after this (TTL deletes late).
    pub unexpired_at: Option<OffsetDateTime>,
}

impl Listing {
    /// Every item of one partition of the table.
    pub(super) fn partition(partition: String) -> Self {
        Self {
            index: None,
            partition,
            sk_range: None,
            unexpired_at: None,
        }
    }

    fn pk_attr(&self) -> &'static str {
        self.index.map_or(a::PK, |index| index.pk)
    }

    fn sk_attr(&self) -> &'static str {
        self.index.map_or(a::SK, |index| index.sk)
    }

    /// The attributes of a position in the listing: the table's key, and the index's.
    fn position_attrs(&self) -> Vec<&'static str> {
        let mut attrs = vec![a::PK, a::SK];
        if let Some(index) = self.index {
            attrs.extend([index.pk, index.sk]);
        }
        attrs
    }
}

/// The client's cursor for the position a page stopped at.
fn cursor_at(tenant: &TenantId, last_key: Item) -> Result<Cursor, StoreError> {
    let position = last_key
        .into_iter()
        .map(|(k, v)| {
            v.as_s()
                .map(|v| (k, v.clone()))
                .map_err(|_| StoreError::Corrupt("non-string key".into()))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    Ok(Cursor::encode(tenant, position))
}

/// Turns a client cursor back into a start key, refusing anything outside this tenant's
/// listing (a cursor from another tenant or another listing, or a forged one).
fn start_at(tenant: &TenantId, listing: &Listing, cursor: &Cursor) -> Result<Item, StoreError> {
    let position = cursor.decode(tenant)?;
    let attrs = listing.position_attrs();
    let valid = position.len() == attrs.len()
        && attrs.iter().all(|k| position.contains_key(*k))
        && position[listing.pk_attr()] == listing.partition
        && position[a::PK].starts_with(&tenant_scope(tenant));
    if !valid {
        return Err(StoreError::InvalidCursor(CursorError::Invalid));
    }
    Ok(position.into_iter().map(|(k, v)| (k, s(v))).collect())
}

impl Table {
    /// Runs the query `shape` describes over this table.
    pub(super) async fn query(
        &self,
        reading: Reading,
        shape: impl FnOnce(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Found, StoreError> {
        let request = shape(self.client.query().table_name(&self.name));
        let (mut start, limit) = match reading {
            Reading::All => (None, None),
            Reading::Page { start, limit } => (start, Some(limit)),
        };
        let mut items = Vec::new();
        loop {
            let out = request
                .clone()
                .set_exclusive_start_key(start)
                .set_limit(limit)
                .send()
                .await
                .map_err(store_err)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if limit.is_none() && !key.is_empty() => start = Some(key),
                last_key => return Ok(Found { items, last_key }),
            }
        }
    }

    /// The item of one partition with the greatest sort key that begins with `prefix`.
    pub(super) async fn last_with_prefix(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Option<Item>, StoreError> {
        let last = Reading::Page {
            start: None,
            limit: 1,
        };
        let found = self
            .query(last, |request| {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#pk", a::PK)
                    .expression_attribute_names("#sk", a::SK)
                    .expression_attribute_values(":pk", s(pk))
                    .expression_attribute_values(":prefix", s(prefix))
                    .scan_index_forward(false)
                    .consistent_read(true)
            })
            .await?;
        Ok(found.items.into_iter().next())
    }

    /// Every item of one partition, optionally only sort keys with a prefix.
    pub(super) async fn query_partition(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let found = self
            .query(Reading::All, |request| {
                let request = request
                    .expression_attribute_names("#pk", a::PK)
                    .expression_attribute_values(":pk", s(pk))
                    .consistent_read(true);
                match sk_prefix {
                    Some(prefix) => request
                        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                        .expression_attribute_names("#sk", a::SK)
                        .expression_attribute_values(":prefix", s(prefix)),
                    None => request.key_condition_expression("#pk = :pk"),
                }
            })
            .await?;
        Ok(found.items)
    }

    /// Every item of one partition of an index.
    pub(super) async fn query_index_partition(
        &self,
        index: IndexKeys,
        partition: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let found = self
            .query(Reading::All, |request| {
                request
                    .index_name(index.name)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", index.pk)
                    .expression_attribute_values(":pk", s(partition))
            })
            .await?;
        Ok(found.items)
    }

    /// One page of a tenant's listing, newest first. The cursor names the listing, so a
    /// cursor of another listing (or tenant) is refused.
    pub(super) async fn listing_page(
        &self,
        tenant: &TenantId,
        listing: &Listing,
        page: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let start = match &page.cursor {
            Some(cursor) => Some(start_at(tenant, listing, cursor)?),
            None => None,
        };
        let reading = Reading::Page {
            start,
            limit: i32::from(page.limit()),
        };
        let found = self
            .query(reading, |request| {
                let mut request = request
                    .set_index_name(listing.index.map(|index| index.name.to_owned()))
                    .expression_attribute_names("#pk", listing.pk_attr())
                    .expression_attribute_values(":pk", s(&listing.partition))
                    .scan_index_forward(false);
                request = match &listing.sk_range {
                    Some((low, high)) => request
                        .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                        .expression_attribute_names("#sk", listing.sk_attr())
                        .expression_attribute_values(":low", s(low))
                        .expression_attribute_values(":high", s(high)),
                    None => request.key_condition_expression("#pk = :pk"),
                };
                if let Some(now) = listing.unexpired_at {
                    request = request
                        .filter_expression("#exp > :now")
                        .expression_attribute_names("#exp", a::EXPIRES_AT)
                        .expression_attribute_values(":now", attr::number(now.unix_timestamp()));
                }
                request
            })
            .await?;
        Ok(Page {
            items: found.items,
            next: found
                .last_key
                .map(|key| cursor_at(tenant, key))
                .transpose()?,
        })
    }

    /// [`Self::listing_page`] of JSON items (`json_item`), decoded.
    pub(super) async fn json_page<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        listing: &Listing,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let found = self.listing_page(tenant, listing, page).await?;
        Ok(Page {
            items: found
                .items
                .iter()
                .map(from_json_item)
                .collect::<Result<_, _>>()?,
            next: found.next,
        })
    }
}
