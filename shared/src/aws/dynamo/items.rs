//! Small helpers for building and reading DynamoDB attribute maps.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::attr_names as a;
use crate::ports::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn keys(pk: String, sk: String) -> Item {
    HashMap::from([(a::PK.to_owned(), s(pk)), (a::SK.to_owned(), s(sk))])
}

pub(super) mod attr {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;
    use time::OffsetDateTime;

    pub fn bytes(value: &[u8]) -> AttributeValue {
        AttributeValue::B(Blob::new(value))
    }
    pub fn number(value: impl ToString) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }
    /// Times are stored as epoch milliseconds.
    pub fn time(value: OffsetDateTime) -> AttributeValue {
        number(value.unix_timestamp_nanos() / 1_000_000)
    }
}

/// Typed reads from an item; a missing or mistyped attribute is a `Corrupt` error.
pub(super) trait ItemExt {
    fn req_s(&self, name: &str) -> Result<&str, StoreError>;
    fn opt_b(&self, name: &str) -> Option<&[u8]>;
    fn req_u64(&self, name: &str) -> Result<u64, StoreError>;
    fn req_time(&self, name: &str) -> Result<OffsetDateTime, StoreError>;
}

fn missing(name: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute `{name}` missing or of the wrong type"))
}

impl ItemExt for Item {
    fn req_s(&self, name: &str) -> Result<&str, StoreError> {
        self.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .ok_or_else(|| missing(name))
    }

    fn opt_b(&self, name: &str) -> Option<&[u8]> {
        self.get(name)
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref())
    }

    fn req_u64(&self, name: &str) -> Result<u64, StoreError> {
        self.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| missing(name))
    }

    fn req_time(&self, name: &str) -> Result<OffsetDateTime, StoreError> {
        let millis: i128 = self
            .get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| missing(name))?;
        OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).map_err(|_| missing(name))
    }
}

/// Documents whose shape is ours (tenant, team, call) are kept as one JSON body attribute plus
/// the key and index attributes queries need.
pub(super) fn json_item<T: serde::Serialize>(
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

pub(super) fn from_json_item<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(item.req_s(a::BODY)?)
        .map_err(|e| StoreError::Corrupt(crate::json_fault::JsonFault::from(e).to_string()))
}
