//! S3 as the blob store: SSE-KMS at rest, presigned requests for clients.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::{PresignedRequest as S3Presigned, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption,
};

use super::backend;
use crate::ports::{BlobError, BlobStore, PartedUpload, PresignedRequest, UploadedPart};

/// DeleteObjects takes at most 1,000 keys per request.
const DELETE_BATCH_LIMIT: usize = 1000;

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// KMS key for objects this service writes; uploads rely on the bucket default.
    kms_key_id: Option<String>,
}

impl S3BlobStore {
    /// DeleteObjects in batches; any per-key error fails the call (callers retry the whole,
    /// which is idempotent: deleting what is gone succeeds).
    async fn delete_objects(&self, objects: Vec<ObjectIdentifier>) -> Result<(), BlobError> {
        for chunk in objects.chunks(DELETE_BATCH_LIMIT) {
            let delete = Delete::builder()
                .set_objects(Some(chunk.to_vec()))
                .quiet(true)
                .build()
                .map_err(|e| BlobError::Backend(backend(e)))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| BlobError::Backend(backend(e)))?;
            if let Some(first) = out.errors().first() {
                let message = format!(
                    "DeleteObjects failed for {} keys (first code: {})",
                    out.errors().len(),
                    first.code().unwrap_or("unknown")
                );
                return Err(BlobError::Backend(message.into()));
            }
        }
        Ok(())
    }

    /// The listing behind [`BlobStore::abort_unfinished`].
    async fn abort_uploads_under(&self, prefix: &str) -> Result<(), BlobError> {
        let (mut key_marker, mut upload_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(upload_marker.take())
                .send()
                .await
                .map_err(|e| BlobError::Backend(backend(e)))?;
            for upload in page.uploads() {
                if let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) {
                    let upload = PartedUpload {
                        key: key.to_owned(),
                        upload_id: upload_id.to_owned(),
                    };
                    self.abort_parts(&upload).await?;
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_marker = page.next_upload_id_marker().map(str::to_owned);
        }
    }

    pub fn new(client: Client, bucket: impl Into<String>, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            kms_key_id,
        }
    }

    /// An S3 client; path-style addressing is needed by the local stand-in.
    pub fn client(config: &aws_config::SdkConfig, force_path_style: bool) -> Client {
        let conf = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(force_path_style)
            .build();
        Client::from_conf(conf)
    }

    async fn fetch(&self, key: &str, range: Option<String>) -> Result<Option<Vec<u8>>, BlobError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await;
        match result {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| BlobError::Backend(backend(e)))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(SdkError::ServiceError(se)) if se.err().is_no_such_key() => Ok(None),
            Err(e) => Err(BlobError::Backend(backend(e))),
        }
    }
}

fn presigned(request: S3Presigned) -> PresignedRequest {
    PresignedRequest {
        method: request.method().to_owned(),
        url: request.uri().to_owned(),
        headers: request
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(expires_in).map_err(|e| BlobError::Presign(backend(e)))
}

impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes));
        if let Some(kms_key) = &self.kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms_key);
        }
        request
            .send()
            .await
            .map_err(|e| BlobError::Backend(backend(e)))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        self.fetch(key, None).await
    }

    async fn get_prefix(&self, key: &str, len: u64) -> Result<Option<Vec<u8>>, BlobError> {
        let last = len.saturating_sub(1);
        self.fetch(key, Some(format!("bytes=0-{last}"))).await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), BlobError> {
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BlobError::Backend(backend(e)))?;
        self.delete_objects(objects).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| BlobError::Backend(backend(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let length = i64::try_from(content_length).map_err(|e| BlobError::Presign(backend(e)))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(|e| BlobError::Presign(backend(e)))?;
        Ok(presigned(request))
    }

    async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(|e| BlobError::Presign(backend(e)))?;
        Ok(presigned(request))
    }

    async fn purge_prefix(&self, prefix: &str) -> Result<usize, BlobError> {
        let versions = self.versions_under(prefix).await?;
        let count = versions.len();
        let objects = versions
            .into_iter()
            .map(|v| v.identifier())
            .collect::<Result<Vec<_>, _>>()?;
        self.delete_objects(objects).await?;
        Ok(count)
    }

    async fn remove_versions_of(&self, key: &str, etag: &str) -> Result<usize, BlobError> {
        let wanted = etag.trim_matches('"');
        let objects = self
            .versions_under(key)
            .await?
            .into_iter()
            .filter(|v| {
                v.key == key && v.etag.as_deref().map(|e| e.trim_matches('"')) == Some(wanted)
            })
            .map(|v| v.identifier())
            .collect::<Result<Vec<_>, _>>()?;
        let count = objects.len();
        self.delete_objects(objects).await?;
        Ok(count)
    }

    async fn start_parts(&self, key: &str, content_type: &str) -> Result<PartedUpload, BlobError> {
        let mut request = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type);
        if let Some(kms_key) = &self.kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms_key);
        }
        let out = request
            .send()
            .await
            .map_err(|e| BlobError::Backend(backend(e)))?;
        let upload_id = out.upload_id().ok_or_else(|| {
            BlobError::Backend("CreateMultipartUpload returned no upload id".into())
        })?;
        Ok(PartedUpload {
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
        })
    }

    async fn put_part(
        &self,
        upload: &PartedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<UploadedPart, BlobError> {
        let part_number = i32::try_from(number).map_err(|e| BlobError::Backend(backend(e)))?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .part_number(part_number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| BlobError::Backend(backend(e)))?;
        let tag = out
            .e_tag()
            .ok_or_else(|| BlobError::Backend("UploadPart returned no ETag".into()))?;
        Ok(UploadedPart {
            number,
            tag: tag.to_owned(),
        })
    }

    async fn complete_parts(
        &self,
        upload: &PartedUpload,
        parts: &[UploadedPart],
    ) -> Result<(), BlobError> {
        let mut completed = Vec::with_capacity(parts.len());
        for part in parts {
            let part_number =
                i32::try_from(part.number).map_err(|e| BlobError::Backend(backend(e)))?;
            completed.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .e_tag(&part.tag)
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| BlobError::Backend(backend(e)))?;
        Ok(())
    }

    async fn abort_unfinished(&self, prefix: &str) -> Result<(), BlobError> {
        self.abort_uploads_under(prefix).await
    }

    async fn abort_parts(&self, upload: &PartedUpload) -> Result<(), BlobError> {
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) if se.err().is_no_such_upload() => Ok(()),
            Err(e) => Err(BlobError::Backend(backend(e))),
        }
    }
}

/// One version (or delete marker, without an ETag) as ListObjectVersions names it.
struct ListedVersion {
    key: String,
    version_id: Option<String>,
    etag: Option<String>,
}

impl ListedVersion {
    fn identifier(self) -> Result<ObjectIdentifier, BlobError> {
        ObjectIdentifier::builder()
            .key(self.key)
            .set_version_id(self.version_id)
            .build()
            .map_err(|e| BlobError::Backend(backend(e)))
    }
}

impl S3BlobStore {
    /// Every version and delete marker under `prefix`.
    async fn versions_under(&self, prefix: &str) -> Result<Vec<ListedVersion>, BlobError> {
        let mut versions = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| BlobError::Backend(backend(e)))?;
            for v in page.versions() {
                if let Some(key) = v.key() {
                    versions.push(ListedVersion {
                        key: key.to_owned(),
                        version_id: v.version_id().map(str::to_owned),
                        etag: v.e_tag().map(str::to_owned),
                    });
                }
            }
            for m in page.delete_markers() {
                if let Some(key) = m.key() {
                    versions.push(ListedVersion {
                        key: key.to_owned(),
                        version_id: m.version_id().map(str::to_owned),
                        etag: None,
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
        Ok(versions)
    }
}
