//! One DynamoDB table and the reads and writes every adapter over it shares.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use super::attr_names as a;
use super::items::{Item, ItemExt, attr, keys};
use crate::aws::backend;
use crate::ports::StoreError;

/// BatchWriteItem takes at most 25 requests.
const BATCH_WRITE_LIMIT: usize = 25;

const PK_NAME: (&str, &str) = ("#pk", a::PK);
const VERSION_NAME: (&str, &str) = ("#v", a::VERSION);

/// What a versioned write makes of a stored item without a version attribute.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unversioned {
    /// It is refused: every record of its kind has a version.
    Conflicts,
    /// It is at version 0: records of its kind were written before versions counted.
    AtZero,
}

/// 128 random bits, hex: one conditional put's mark (see [`Table::put_new`]).
fn write_nonce() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    // The system's random source does not fail on the platforms we run on; a zero nonce
    // would only make a lost answer's retry look like a conflict, as before.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A table by name, with the client that reaches it.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) client: Client,
    pub(super) name: String,
}

fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

/// A conditional request's answer: its output when it was applied, `None` when its condition
/// did not hold; any other failure is the store's.
pub(super) fn unless_refused<O, E, R>(
    result: Result<O, SdkError<E, R>>,
) -> Result<Option<O>, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

pub(super) fn store_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    StoreError::Backend(backend(err))
}

/// A request builder that failed to build (a missing required field).
pub(super) fn build_err(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(backend(err))
}

/// The condition (over `#pk` and `#v`) and its values that a stored item is still at version
/// `read`.
pub(super) fn versioned_condition(
    read: u64,
    unversioned: Unversioned,
) -> (&'static str, Vec<(&'static str, AttributeValue)>) {
    let mut values = vec![(":read", attr::number(read))];
    let condition = match unversioned {
        Unversioned::Conflicts => "attribute_exists(#pk) AND #v = :read",
        Unversioned::AtZero => {
            values.push((":zero", attr::number(0)));
            "attribute_exists(#pk) AND (#v = :read OR (attribute_not_exists(#v) AND :read = :zero))"
        }
    };
    (condition, values)
}

impl Table {
    pub(super) fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub(super) async fn get_item(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(keys(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        Ok(out.item)
    }

    pub(super) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Writes `item` only if no item has its key (`AlreadyExists` otherwise). A retried
    /// attempt that finds this very write's item (its first attempt landed, the answer was
    /// lost) succeeds; an identical item from another write is still refused.
    pub(super) async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        let condition = "attribute_not_exists(#pk)";
        self.put_if(
            item,
            condition,
            &[PK_NAME],
            Vec::new(),
            StoreError::AlreadyExists,
        )
        .await
    }

    /// Writes `item` (which carries `version = read + 1`) only if the stored item is still at
    /// version `read`; `Conflict` otherwise, or when there is none.
    pub(super) async fn put_versioned(
        &self,
        item: Item,
        read: u64,
        unversioned: Unversioned,
    ) -> Result<(), StoreError> {
        let (condition, values) = versioned_condition(read, unversioned);
        self.put_if(
            item,
            condition,
            &[PK_NAME, VERSION_NAME],
            values,
            StoreError::Conflict,
        )
        .await
    }

    /// Puts an item whose `version` is `read + 1` only while the stored one is still at `read`
    /// (0: absent, or written before it had a version): `Conflict` when another writer got
    /// there first.
    pub(super) async fn put_at_version(&self, item: Item, read: u64) -> Result<(), StoreError> {
        // DynamoDB refuses attribute names and values an expression does not use.
        let (condition, values) = if read == 0 {
            ("attribute_not_exists(#v)", Vec::new())
        } else {
            ("#v = :read", vec![(":read", attr::number(read))])
        };
        self.put_if(
            item,
            condition,
            &[VERSION_NAME],
            values,
            StoreError::Conflict,
        )
        .await
    }

    /// A put under `condition` over these names and values; `refused` when it does not hold,
    /// unless the stored item is this put's own (the SDK retried a put that had landed): each
    /// put marks its item with a fresh nonce (`wn`) and asks for the stored item on refusal.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        refused: StoreError,
    ) -> Result<(), StoreError> {
        // This write's own mark: a retry of it that meets the stored item can tell its own
        // landed attempt from another writer's identical item.
        let mut item = item;
        let nonce = write_nonce();
        item.insert(a::WRITE_NONCE.into(), AttributeValue::S(nonce.clone()));
        let mut request = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    PutItemError::ConditionalCheckFailedException(refusal)
                        if refusal
                            .item()
                            .and_then(|old| old.get(a::WRITE_NONCE))
                            .and_then(|v| v.as_s().ok())
                            == Some(&nonce)
                ) =>
            {
                // The stored item is this very put's: an earlier attempt of it landed, its
                // answer was lost, and the SDK's retry met it.
                Ok(())
            }
            Err(e) if is_conditional_failure(&e) => Err(refused),
            Err(e) => Err(store_err(e)),
        }
    }

    pub(super) async fn delete_item(&self, pk: String, sk: String) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(keys(pk, sk)))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Deletes every item of one partition; how many went.
    pub(super) async fn delete_partition(&self, partition: &str) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for item in self.query_partition(partition, None).await? {
            doomed.push(keys(partition.to_owned(), item.req_s(a::SK)?.to_owned()));
        }
        let count = doomed.len();
        self.delete_keys(doomed).await?;
        Ok(count)
    }

    /// Deletes these keys in batches, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn delete_keys(&self, keys_to_delete: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys_to_delete
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(build_err)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_batches(requests).await
    }

    /// Writes these items (replacing any with the same key) in batches.
    pub(super) async fn put_all(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(build_err)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_batches(requests).await
    }

    async fn write_batches(&self, all: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in all.chunks(BATCH_WRITE_LIMIT) {
            let mut requests = chunk.to_vec();
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
                    .request_items(&self.name, requests)
                    .send()
                    .await
                    .map_err(store_err)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.name))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Backend(
                    format!("{} writes left unprocessed after retries", requests.len()).into(),
                ));
            }
        }
        Ok(())
    }
}
