//! The base rig of use-case tests: every port as a fake, and one clock for all of them. Each
//! use case's tests wrap it with what they need besides (a provider, a tenant, a builder).

use std::sync::Arc;

use time::OffsetDateTime;

use super::seed::sample_new_call;
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::Tenant;
use crate::fakes::{
    FakeCipher, InMemoryBlobStore, InMemoryQueue, InMemoryStore, ManualClock, fake_cipher_over,
};
use crate::ids::TenantId;
use crate::ports::{CallRepository, Clock, TenantRepository};
use crate::system::RandomIds;
use crate::usecases::calls::create_call;
use crate::usecases::documents::DocumentVault;
use crate::usecases::transcribed::TranscriptSink;

/// The document vault over the fakes.
pub type FakeVault<'a> = DocumentVault<'a, InMemoryStore, InMemoryBlobStore, FakeCipher>;

/// The transcript sink over the fakes.
pub type FakeSink<'a> = TranscriptSink<
    'a,
    InMemoryStore,
    InMemoryBlobStore,
    FakeCipher,
    InMemoryQueue,
    Arc<ManualClock>,
>;

/// Every port as a fake. The cipher keeps its data keys in the store and reads the rig's
/// clock, as one process's adapters share a table and the time.
pub struct FakePorts {
    pub store: InMemoryStore,
    pub blobs: InMemoryBlobStore,
    pub queue: InMemoryQueue,
    pub clock: Arc<ManualClock>,
    pub envelope: FakeCipher,
    /// Signs deletion receipts with a key pair of its own.
    pub signer: crate::fakes::LocalReceiptSigner,
}

impl FakePorts {
    /// Empty ports, the clock at `start`.
    pub fn at(start: OffsetDateTime) -> Self {
        let store = InMemoryStore::default();
        let clock = Arc::new(ManualClock::at(start));
        Self {
            envelope: fake_cipher_over(store.clone(), Arc::clone(&clock)),
            store,
            blobs: InMemoryBlobStore::default(),
            queue: InMemoryQueue::default(),
            clock,
            signer: crate::fakes::LocalReceiptSigner::default(),
        }
    }

    /// `speaker` sealed as `call`'s rep speaker, as the API stores one.
    pub async fn sealed_speaker(
        &self,
        call: &Call,
        speaker: &str,
    ) -> crate::domain::org::SealedName {
        crate::usecases::call_details::seal_rep_speaker(&self.envelope, call, speaker)
            .await
            .expect("the fake cipher seals")
    }

    pub fn vault(&self) -> FakeVault<'_> {
        DocumentVault {
            repository: &self.store,
            blobs: &self.blobs,
            envelope: &self.envelope,
        }
    }

    pub fn sink(&self) -> FakeSink<'_> {
        TranscriptSink {
            store: &self.store,
            blobs: &self.blobs,
            envelope: &self.envelope,
            queue: &self.queue,
            clock: &self.clock,
        }
    }

    /// An active workspace named `name`, created now.
    pub async fn workspace(&self, name: &str) -> TenantId {
        let tenant = TenantId::parse(name).expect("a valid tenant id");
        self.store
            .create_tenant(&Tenant::active(tenant.clone(), name, self.clock.now()))
            .await
            .expect("the workspace is created");
        tenant
    }

    /// A call of `tenant` created now ([`sample_new_call`]).
    pub async fn call(&self, tenant: &TenantId) -> Call {
        create_call(
            &self.store,
            &self.clock,
            &RandomIds,
            tenant,
            sample_new_call(),
        )
        .await
        .expect("the call is created")
    }

    /// Asserts that `call` is transcribed, its provider's job completed, and one scoring job
    /// queued: what every provider's path ends in.
    pub async fn assert_transcribed_and_queued(&self, call: &Call) {
        let stored = self.stored(call).await;
        assert_eq!(stored.status, CallStatus::Transcribed);
        let job = stored.transcription.expect("the provider's job");
        assert!(job.completed_at.is_some());
        assert_eq!(self.queue.messages().len(), 1);
    }

    /// `call` as stored now.
    pub async fn stored(&self, call: &Call) -> Call {
        self.store
            .get_call(&call.tenant_id, &call.call_id)
            .await
            .expect("the store answers")
            .expect("the call is stored")
    }
}

/// Declares a use case's rig: a struct holding the [`FakePorts`] in `ports`, reached through
/// the rig itself (`rig.store`, `rig.clock.set(..)`), and the fields the use case needs
/// besides: `rig_over_fake_ports!(struct Rig { tenant: TenantId });`.
#[macro_export]
macro_rules! rig_over_fake_ports {
    ($(#[$attr:meta])* struct $rig:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$attr])*
        struct $rig {
            ports: $crate::fakes::kit::rig::FakePorts,
            $($field: $ty,)*
        }

        impl std::ops::Deref for $rig {
            type Target = $crate::fakes::kit::rig::FakePorts;
            fn deref(&self) -> &Self::Target {
                &self.ports
            }
        }
    };
}
