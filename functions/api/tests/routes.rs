//! The API through its real router, fed API Gateway v2 events through lambda_http's own
//! conversion, over the in-memory fakes. The same suite runs over the real adapters against
//! the local AWS stand-in in `routes_on_aws.rs`.

use callcoach_shared::crypto::EnvelopeCipher;
use callcoach_shared::fakes::{
    FakeKeyManagement, InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher_over,
};

type TestPorts = Adapters<
    InMemoryStore,
    InMemoryBlobStore,
    EnvelopeCipher<FakeKeyManagement, InMemoryStore, SystemClock>,
    InMemoryQueue,
    SystemClock,
    RandomIds,
>;

async fn fresh_ports() -> TestPorts {
    let store = InMemoryStore::default();
    Adapters {
        envelope: fake_cipher_over(store.clone(), SystemClock),
        store,
        blobs: InMemoryBlobStore::default(),
        queue: InMemoryQueue::default(),
        clock: SystemClock,
        ids: RandomIds,
    }
}

/// Every world has a store of its own, so fixed ids are safe here.
fn fresh_tenants() -> (TenantId, TenantId) {
    (
        TenantId::parse("tenant-a").unwrap(),
        TenantId::parse("tenant-b").unwrap(),
    )
}

async fn queued_jobs(w: &World) -> usize {
    w.api.ports.queue.messages().len()
}

include!("suite/routes.rs");
