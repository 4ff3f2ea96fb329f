//! Bounded pages and opaque cursors bound to one tenant.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::ids::TenantId;

pub const MAX_PAGE_SIZE: u16 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not valid for this request")]
    Invalid,
    #[error("page size must be between 1 and {MAX_PAGE_SIZE}")]
    PageSize,
}

/// A position in a listing. Opaque to clients; it names the tenant it was issued for, and the
/// adapter refuses it for any other tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Serialize, Deserialize)]
struct CursorBody {
    t: String,
    k: BTreeMap<String, String>,
}

impl Cursor {
    pub fn from_client(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Opaque bytes as a cursor's text (URL-safe base64): the one form of every cursor a
    /// client sees, the store's and the sealed ones wrapping it.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The bytes [`Self::from_bytes`] wrapped; `Invalid` for any other text.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CursorError> {
        URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| CursorError::Invalid)
    }

    /// Wraps a backend position (string key attributes) for `tenant`.
    pub fn encode(tenant: &TenantId, position: BTreeMap<String, String>) -> Self {
        let body = CursorBody {
            t: tenant.as_str().to_owned(),
            k: position,
        };
        let json = serde_json::to_vec(&body).expect("a map of strings always serializes");
        Self::from_bytes(&json)
    }

    /// The backend position, if the cursor was issued for `tenant`.
    pub fn decode(&self, tenant: &TenantId) -> Result<BTreeMap<String, String>, CursorError> {
        let bytes = self.to_bytes()?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| CursorError::Invalid)?;
        if body.t != tenant.as_str() {
            return Err(CursorError::Invalid);
        }
        Ok(body.k)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    limit: u16,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    pub fn new(limit: u16, cursor: Option<Cursor>) -> Result<Self, CursorError> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(CursorError::PageSize);
        }
        Ok(Self { limit, cursor })
    }

    pub fn first(limit: u16) -> Result<Self, CursorError> {
        Self::new(limit, None)
    }

    pub fn limit(&self) -> u16 {
        self.limit
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_bound_to_its_tenant() {
        let a = TenantId::parse("tenant-a").unwrap();
        let b = TenantId::parse("tenant-b").unwrap();
        let position = BTreeMap::from([("pk".to_owned(), "T#tenant-a#X".to_owned())]);
        let cursor = Cursor::encode(&a, position.clone());
        assert_eq!(cursor.decode(&a).unwrap(), position);
        assert_eq!(cursor.decode(&b), Err(CursorError::Invalid));
        assert_eq!(
            Cursor::from_client("not base64 !!").decode(&a),
            Err(CursorError::Invalid)
        );
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::first(0).is_err());
        assert!(PageRequest::first(MAX_PAGE_SIZE + 1).is_err());
        assert!(PageRequest::first(MAX_PAGE_SIZE).is_ok());
    }
}
