//! An export's memory does not grow with the bundle: this binary counts every heap byte (its
//! own global allocator) while a bundle many times the part size is written. The only test in
//! the binary, so nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use callcoach_shared::fakes::{
    CallSeed, InMemoryBlobStore, InMemoryStore, fake_cipher_over, seed_transcribed_call,
};
use callcoach_shared::ids::{ExportId, TeamId, TenantId, UserId};
use callcoach_shared::ports::{BlobError, BlobStore, PartedUpload, PresignedRequest, UploadedPart};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::export::{ExportRequest, ExportScope, write_export};
use callcoach_tests::mint;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as if the old and new blocks lived at once, as when the block moves.
        grew(new_size);
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Serves the seeded documents and drops export parts after counting them, as S3 would take
/// them off the function's hands.
#[derive(Default)]
struct PartsLeave {
    documents: InMemoryBlobStore,
    sent: AtomicUsize,
}

impl BlobStore for PartsLeave {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        if key.starts_with("exports/") {
            self.sent.fetch_add(bytes.len(), Ordering::SeqCst);
            return Ok(());
        }
        self.documents.put(key, bytes, content_type).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        self.documents.get(key).await
    }
    async fn get_prefix(&self, key: &str, len: u64) -> Result<Option<Vec<u8>>, BlobError> {
        self.documents.get_prefix(key, len).await
    }
    async fn delete(&self, keys: &[String]) -> Result<(), BlobError> {
        self.documents.delete(keys).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        self.documents.list(prefix).await
    }
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let documents = &self.documents;
        documents
            .presign_put(key, content_type, content_length, expires_in)
            .await
    }
    async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        self.documents.presign_get(key, expires_in).await
    }
    async fn purge_prefix(&self, prefix: &str) -> Result<usize, BlobError> {
        self.documents.purge_prefix(prefix).await
    }
    async fn remove_versions_of(&self, key: &str, etag: &str) -> Result<usize, BlobError> {
        self.documents.remove_versions_of(key, etag).await
    }
    async fn start_parts(&self, key: &str, _content_type: &str) -> Result<PartedUpload, BlobError> {
        Ok(PartedUpload {
            key: key.to_owned(),
            upload_id: "measured".into(),
        })
    }
    async fn put_part(
        &self,
        _upload: &PartedUpload,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<UploadedPart, BlobError> {
        self.sent.fetch_add(bytes.len(), Ordering::SeqCst);
        Ok(UploadedPart {
            number,
            tag: number.to_string(),
        })
    }
    async fn complete_parts(
        &self,
        _upload: &PartedUpload,
        _parts: &[UploadedPart],
    ) -> Result<(), BlobError> {
        Ok(())
    }
    async fn abort_parts(&self, _upload: &PartedUpload) -> Result<(), BlobError> {
        Ok(())
    }
    async fn abort_unfinished(&self, prefix: &str) -> Result<(), BlobError> {
        self.documents.abort_unfinished(prefix).await
    }
}

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "current_thread")]
async fn an_exports_peak_memory_stays_near_one_part_whatever_the_bundle_size() {
    let store = InMemoryStore::default();
    let blobs = PartsLeave::default();
    let envelope = fake_cipher_over(store.clone(), SystemClock);
    let (tenant, team, rep): (TenantId, TeamId, UserId) = (
        callcoach_tests::fresh_tenant(),
        mint(),
        UserId::parse("rep-1").unwrap(),
    );
    for index in 0..64 {
        let seed = CallSeed {
            tenant: &tenant,
            team: &team,
            rep: &rep,
            utterances: 1_500,
            marker: &format!("call {index} {}", "budget timeline ".repeat(8)),
        };
        seed_transcribed_call(&store, &blobs, &envelope, seed).await;
    }
    let export_id: ExportId = mint();
    let request = ExportRequest {
        tenant: &tenant,
        requester: &rep,
        scope: ExportScope::User,
        teams: vec![team.clone()],
        export_id: &export_id,
        now: time::OffsetDateTime::now_utc(),
        part_size: MIB,
    };

    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let counts = write_export(&store, &blobs, &envelope, &request)
        .await
        .unwrap()
        .counts;
    let peak_growth = PEAK.load(Ordering::SeqCst) - before;
    let bundle = blobs.sent.load(Ordering::SeqCst);

    assert_eq!(counts.calls, 64);
    assert!(bundle > 12 * MIB, "the bundle is {bundle} bytes");
    // One part buffer (growing to twice the part size at most), one chunk of plaintext waiting
    // to be sealed, plus one call being read (about 0.3 MB here, held as ciphertext,
    // plaintext and parsed at once). Written whole,
    // the same bundle grows the heap by more than 40 MB.
    assert!(
        peak_growth < 5 * MIB,
        "an export of {bundle} bytes in 1 MiB parts grew the heap by {peak_growth} bytes"
    );
    println!("bundle {bundle} bytes, peak heap growth {peak_growth} bytes");
}
