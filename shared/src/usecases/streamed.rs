//! An object written as it is produced: bytes gather in a buffer of about one part and go to
//! the store part by part, so the writer never holds the whole object. An object smaller
//! than one part is written with a single put. Until [`StreamedObject::finish`] nothing is
//! readable under the key; [`StreamedObject::abort`] discards the parts already sent.

use crate::ports::{BlobError, BlobStore, PartedUpload, UploadedPart};

/// S3 rejects parts under 5 MiB, except the last one.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

pub struct StreamedObject<'a, B> {
    blobs: &'a B,
    key: String,
    content_type: &'static str,
    part_size: usize,
    buffer: Vec<u8>,
    upload: Option<PartedUpload>,
    parts: Vec<UploadedPart>,
}

impl<'a, B: BlobStore> StreamedObject<'a, B> {
    /// `part_size`: bytes gathered before a part is sent (at least [`MIN_PART_SIZE`] on S3;
    /// the in-memory store accepts any size, which lets tests use small parts).
    pub fn new(blobs: &'a B, key: String, content_type: &'static str, part_size: usize) -> Self {
        Self {
            blobs,
            key,
            content_type,
            part_size,
            buffer: Vec::new(),
            upload: None,
            parts: Vec::new(),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the caller writes (serializers write synchronously); call
    /// [`Self::send_full_part`] after each piece.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Sends the buffer as the next part once it holds a part's worth.
    pub async fn send_full_part(&mut self) -> Result<(), BlobError> {
        if self.buffer.len() < self.part_size {
            return Ok(());
        }
        let upload = match &self.upload {
            Some(upload) => upload,
            None => {
                let started = self.blobs.start_parts(&self.key, self.content_type).await?;
                self.upload.insert(started)
            }
        };
        let number = self.parts.len() as u32 + 1;
        let bytes = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        let part = self.blobs.put_part(upload, number, bytes).await?;
        self.parts.push(part);
        Ok(())
    }

    /// Makes the object readable; returns how many parts it was sent in (0: one plain put).
    pub async fn finish(mut self) -> Result<usize, BlobError> {
        let Some(upload) = self.upload.take() else {
            let bytes = std::mem::take(&mut self.buffer);
            self.blobs.put(&self.key, bytes, self.content_type).await?;
            return Ok(0);
        };
        if !self.buffer.is_empty() {
            let number = self.parts.len() as u32 + 1;
            let bytes = std::mem::take(&mut self.buffer);
            let part = self.blobs.put_part(&upload, number, bytes).await?;
            self.parts.push(part);
        }
        let completed = self.blobs.complete_parts(&upload, &self.parts).await;
        if completed.is_err() {
            // Nothing became readable; do not leave the parts behind either.
            let _ = self.blobs.abort_parts(&upload).await;
        }
        completed.map(|()| self.parts.len())
    }

    /// Discards what was sent. The bucket's lifecycle rule removes the parts of an upload
    /// this could not abort (a crashed writer) after a day.
    pub async fn abort(self) -> Result<(), BlobError> {
        match &self.upload {
            Some(upload) => self.blobs.abort_parts(upload).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::InMemoryBlobStore;

    async fn write_in_pieces(
        blobs: &InMemoryBlobStore,
        pieces: &[&[u8]],
        part_size: usize,
    ) -> Result<usize, BlobError> {
        let mut object =
            StreamedObject::new(blobs, "exports/t/x.json".into(), "text/plain", part_size);
        for piece in pieces {
            object.buffer().extend_from_slice(piece);
            object.send_full_part().await?;
        }
        object.finish().await
    }

    #[tokio::test]
    async fn a_small_object_is_one_put_and_a_large_one_goes_in_parts() {
        let blobs = InMemoryBlobStore::default();
        assert_eq!(
            write_in_pieces(&blobs, &[b"abc", b"def"], 10)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            blobs.get("exports/t/x.json").await.unwrap().unwrap(),
            b"abcdef"
        );
        assert!(blobs.part_sizes().is_empty());

        let pieces: Vec<&[u8]> = vec![b"0123", b"4567", b"89ab", b"cdef", b"g"];
        assert_eq!(write_in_pieces(&blobs, &pieces, 6).await.unwrap(), 3);
        assert_eq!(
            blobs.get("exports/t/x.json").await.unwrap().unwrap(),
            b"0123456789abcdefg"
        );
        // A part is sent as soon as the buffer reaches the part size.
        assert_eq!(blobs.part_sizes(), vec![8, 8, 1]);
        assert_eq!(blobs.open_uploads(), 0);
    }

    #[tokio::test]
    async fn an_object_ending_on_a_part_boundary_has_no_empty_last_part() {
        let blobs = InMemoryBlobStore::default();
        assert_eq!(
            write_in_pieces(&blobs, &[b"0123", b"4567"], 4)
                .await
                .unwrap(),
            2
        );
        assert_eq!(blobs.part_sizes(), vec![4, 4]);
        assert_eq!(
            blobs.get("exports/t/x.json").await.unwrap().unwrap(),
            b"01234567"
        );
    }

    #[tokio::test]
    async fn a_failed_part_leaves_nothing_readable_and_abort_discards_the_sent_parts() {
        let blobs = InMemoryBlobStore::default();
        blobs.fail_part(2);
        let mut object = StreamedObject::new(&blobs, "exports/t/x.json".into(), "text/plain", 4);
        object.buffer().extend_from_slice(b"0123");
        object.send_full_part().await.unwrap();
        object.buffer().extend_from_slice(b"4567");
        assert!(object.send_full_part().await.is_err());
        assert_eq!(blobs.open_uploads(), 1);
        object.abort().await.unwrap();
        assert_eq!(blobs.open_uploads(), 0);
        assert!(blobs.get("exports/t/x.json").await.unwrap().is_none());
    }
}
