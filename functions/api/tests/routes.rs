//! The API through its real router, fed API Gateway v2 events through lambda_http's own
//! conversion, over the in-memory fakes. The same suite runs over the real adapters against
//! the local AWS stand-in in `routes_on_aws.rs`.

use callcoach_shared::crypto::EnvelopeCipher;
use callcoach_shared::fakes::{
    FakeKeyManagement, InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher_over,
};

mod suite;

use api::{Adapters, Settings};
use axum::http::StatusCode;
use callcoach_shared::ids::TenantId;
use callcoach_shared::system::{RandomIds, SystemClock};
use suite::{Backend, World};

type TestPorts = Adapters<
    InMemoryStore,
    InMemoryBlobStore,
    EnvelopeCipher<FakeKeyManagement, InMemoryStore, SystemClock>,
    InMemoryQueue,
    SystemClock,
    RandomIds,
>;

/// The route suite over the in-memory fakes.
struct Fakes;

impl Backend for Fakes {
    type Ports = TestPorts;

    async fn fresh_ports() -> TestPorts {
        let store = InMemoryStore::default();
        Adapters {
            envelope: fake_cipher_over(store.clone(), SystemClock),
            store,
            blobs: InMemoryBlobStore::default(),
            queue: InMemoryQueue::default(),
            jobs: InMemoryQueue::default(),
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

    async fn queued_jobs(w: &World<Self>) -> usize {
        w.api.ports.queue.messages().len()
    }

    async fn queued_export_jobs(w: &World<Self>) -> Vec<String> {
        w.api
            .ports
            .jobs
            .take()
            .iter()
            .map(|job| serde_json::to_string(job).unwrap())
            .collect()
    }
}

suite::route_suite!(Fakes);

/// A request that outlasts the time API Gateway waits is ended by the function with a 503
/// (and audited as failed) instead of running on for the function's whole timeout. Over the
/// fakes only: the slow bucket is the fake's.
#[tokio::test]
async fn a_request_past_the_gateways_wait_is_cut_off_and_audited() {
    let w = suite::world_with::<Fakes>(Settings {
        request_budget: std::time::Duration::from_millis(100),
        ..Settings::default()
    })
    .await;
    // Writing the bundle is slow: the bucket takes seconds per object.
    w.api
        .ports
        .blobs
        .delay_puts(std::time::Duration::from_secs(3));
    let (status, body) = w.export_as(&w.a, "r1", "user").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let events = suite::audit_events(&w).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome),
        (
            "POST /v1/exports",
            callcoach_shared::domain::audit::Outcome::Failed
        )
    );
}
