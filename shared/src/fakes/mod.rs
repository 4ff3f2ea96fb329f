//! In-memory fakes of the ports, for unit tests of use cases (feature `fakes`): one file per
//! port, and [`kit`], what the tests share besides (provider payloads, seeders, recordings,
//! Lambda events, the base rig). Adapters are tested against the local AWS stand-in instead.

mod blobs;
mod clock;
mod envelope;
pub mod kit;
mod logs;
mod queue;
mod receipts;
mod store;
mod transcriber;

pub use blobs::InMemoryBlobStore;
pub use clock::ManualClock;
pub use envelope::{FakeCipher, FakeKeyManagement, fake_cipher, fake_cipher_over};
pub use kit::payloads::{SpokenTurn, deepgram_result, transcribe_output};
pub use kit::seed::{CallSeed, sample_new_call, seed_transcribed_call};
pub use logs::CapturedLogs;
pub use queue::InMemoryQueue;
pub use receipts::{LocalReceiptSigner, sample_receipt};
pub use store::InMemoryStore;
pub use transcriber::FakeTranscribeJobs;
