//! The object store (uploads, documents, exports).

use std::future::Future;
use std::time::Duration;

use super::BlobError;

/// A presigned HTTP request a client performs without AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers the client must send exactly (they are part of the signature).
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for PresignedRequest {
    // The URL is a bearer credential until it expires: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &"<redacted>")
            .finish()
    }
}

/// An object being written in parts: nothing is readable under `key` until the parts are
/// completed, and aborting discards every part sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartedUpload {
    pub key: String,
    pub upload_id: String,
}

/// A part the store accepted; completing needs every one, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// 1-based, as S3 counts them.
    pub number: u32,
    pub tag: String,
}

/// Object storage. Keys are built by [`crate::keys`], always under the tenant's prefix.
pub trait BlobStore: Send + Sync {
    fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, BlobError>> + Send;
    /// Reads at most the first `len` bytes (content sniffing without downloading a recording).
    fn get_prefix(
        &self,
        key: &str,
        len: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, BlobError>> + Send;
    /// Deletes the keys; missing keys are not an error.
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), BlobError>> + Send;
    /// Lists every key under a prefix.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, BlobError>> + Send;
    /// A PUT the client may use once, bound to this content type and exact size.
    fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> impl Future<Output = Result<PresignedRequest, BlobError>> + Send;
    fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> impl Future<Output = Result<PresignedRequest, BlobError>> + Send;
    /// Deletes every object under a prefix, every version and delete marker included (the
    /// bucket is versioned). Returns how many versions were removed.
    fn purge_prefix(&self, prefix: &str) -> impl Future<Output = Result<usize, BlobError>> + Send;
    /// Deletes every version of exactly `key` whose content has this ETag (quoted or not),
    /// leaving versions of other content (a newer upload) in place. Returns how many went.
    fn remove_versions_of(
        &self,
        key: &str,
        etag: &str,
    ) -> impl Future<Output = Result<usize, BlobError>> + Send;
    /// Starts an object written part by part (S3: every part but the last at least 5 MiB).
    fn start_parts(
        &self,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<PartedUpload, BlobError>> + Send;
    fn put_part(
        &self,
        upload: &PartedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<UploadedPart, BlobError>> + Send;
    /// Makes the object readable, made of `parts` in order.
    fn complete_parts(
        &self,
        upload: &PartedUpload,
        parts: &[UploadedPart],
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
    /// Discards the upload and every part sent; an unknown upload is not an error.
    fn abort_parts(
        &self,
        upload: &PartedUpload,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
    /// Aborts every unfinished upload under a prefix (their parts hold data too). Only a
    /// workspace's destruction needs it, so `purge_prefix` does not pay for the listing.
    fn abort_unfinished(&self, prefix: &str) -> impl Future<Output = Result<(), BlobError>> + Send;
}
