//! The blob store port (S3).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::ports::{BlobError, BlobStore, PartedUpload, PresignedRequest, UploadedPart};

/// Blobs in a map, with S3's part-by-part writes (parts are held apart until completed).
#[derive(Default)]
pub struct InMemoryBlobStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    parted: Mutex<PartedState>,
}

#[derive(Default)]
struct PartedState {
    next_upload: u64,
    /// upload id -> (key, parts by number)
    open: BTreeMap<String, (String, BTreeMap<u32, Vec<u8>>)>,
    /// Sizes of every part accepted, in the order they came.
    part_sizes: Vec<usize>,
    /// `put_part` fails for this part number (a store outage mid-write).
    fail_part: Option<u32>,
    /// `purge_prefix` fails for prefixes starting with this (one tenant's objects).
    fail_purges_under: Option<String>,
    /// `put` fails for keys starting with this.
    fail_puts_under: Option<String>,
    /// `put` takes this long (a slow network).
    put_delay: Option<std::time::Duration>,
}

impl InMemoryBlobStore {
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
    /// Sizes of the parts accepted so far, in order.
    pub fn part_sizes(&self) -> Vec<usize> {
        self.parted.lock().unwrap().part_sizes.clone()
    }
    /// Uploads started and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.parted.lock().unwrap().open.len()
    }
    /// Makes `put_part` fail for this part number from now on.
    pub fn fail_part(&self, number: u32) {
        self.parted.lock().unwrap().fail_part = Some(number);
    }
    /// Makes `purge_prefix` fail, from now on, for prefixes that start with `prefix`.
    pub fn fail_purges_under(&self, prefix: &str) {
        self.parted.lock().unwrap().fail_purges_under = Some(prefix.to_owned());
    }
    /// Makes every `put` take `delay` from now on.
    pub fn delay_puts(&self, delay: std::time::Duration) {
        self.parted.lock().unwrap().put_delay = Some(delay);
    }
    /// Makes `put` fail for keys under `prefix` (an outage), or no longer with `None`.
    pub fn fail_puts_under(&self, prefix: Option<&str>) {
        self.parted.lock().unwrap().fail_puts_under = prefix.map(str::to_owned);
    }
}

impl BlobStore for InMemoryBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), BlobError> {
        let (failing, delay) = {
            let parted = self.parted.lock().unwrap();
            (parted.fail_puts_under.clone(), parted.put_delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if failing.is_some_and(|f| key.starts_with(&f)) {
            return Err(BlobError::Backend("the object store is unavailable".into()));
        }
        self.objects.lock().unwrap().insert(key.to_owned(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn get_prefix(&self, key: &str, len: u64) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(key)
            .map(|b| b[..b.len().min(len as usize)].to_vec()))
    }
    async fn delete(&self, keys: &[String]) -> Result<(), BlobError> {
        let mut map = self.objects.lock().unwrap();
        for key in keys {
            map.remove(key);
        }
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        _expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!("memory://{key}"),
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("content-length".into(), content_length.to_string()),
            ],
        })
    }
    async fn presign_get(
        &self,
        key: &str,
        _expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        Ok(PresignedRequest {
            method: "GET".into(),
            url: format!("memory://{key}"),
            headers: vec![],
        })
    }
    async fn purge_prefix(&self, prefix: &str) -> Result<usize, BlobError> {
        let failing = self.parted.lock().unwrap().fail_purges_under.clone();
        if failing.is_some_and(|f| prefix.starts_with(&f)) {
            return Err(BlobError::Backend("the object store is unavailable".into()));
        }
        let mut objects = self.objects.lock().unwrap();
        let before = objects.len();
        objects.retain(|key, _| !key.starts_with(prefix));
        Ok(before - objects.len())
    }
    /// The fake keeps one version per key and no ETags: the key's object goes.
    async fn remove_versions_of(&self, key: &str, _etag: &str) -> Result<usize, BlobError> {
        Ok(usize::from(
            self.objects.lock().unwrap().remove(key).is_some(),
        ))
    }
    async fn start_parts(&self, key: &str, _content_type: &str) -> Result<PartedUpload, BlobError> {
        let mut parted = self.parted.lock().unwrap();
        parted.next_upload += 1;
        let upload_id = format!("upload-{}", parted.next_upload);
        parted
            .open
            .insert(upload_id.clone(), (key.to_owned(), BTreeMap::new()));
        Ok(PartedUpload {
            key: key.to_owned(),
            upload_id,
        })
    }
    async fn put_part(
        &self,
        upload: &PartedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<UploadedPart, BlobError> {
        let mut parted = self.parted.lock().unwrap();
        if parted.fail_part == Some(number) {
            return Err(BlobError::Backend("injected part failure".into()));
        }
        let size = bytes.len();
        let Some((_, parts)) = parted.open.get_mut(&upload.upload_id) else {
            return Err(BlobError::Backend("NoSuchUpload".into()));
        };
        parts.insert(number, bytes);
        parted.part_sizes.push(size);
        Ok(UploadedPart {
            number,
            tag: format!("{}-{number}", upload.upload_id),
        })
    }
    async fn complete_parts(
        &self,
        upload: &PartedUpload,
        parts: &[UploadedPart],
    ) -> Result<(), BlobError> {
        let Some((key, mut sent)) = self.parted.lock().unwrap().open.remove(&upload.upload_id)
        else {
            return Err(BlobError::Backend("NoSuchUpload".into()));
        };
        let mut object = Vec::new();
        for part in parts {
            let bytes = sent
                .remove(&part.number)
                .ok_or_else(|| BlobError::Backend("InvalidPart".into()))?;
            object.extend(bytes);
        }
        self.objects.lock().unwrap().insert(key, object);
        Ok(())
    }
    async fn abort_parts(&self, upload: &PartedUpload) -> Result<(), BlobError> {
        self.parted.lock().unwrap().open.remove(&upload.upload_id);
        Ok(())
    }
    async fn abort_unfinished(&self, prefix: &str) -> Result<(), BlobError> {
        self.parted
            .lock()
            .unwrap()
            .open
            .retain(|_, (key, _)| !key.starts_with(prefix));
        Ok(())
    }
}
