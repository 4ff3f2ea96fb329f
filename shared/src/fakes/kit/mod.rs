//! What tests share besides the fakes themselves: provider payloads, seeders, a recording,
//! Lambda events and contexts, and the base rig of use-case tests.

pub mod media;
pub mod payloads;
pub mod rig;
pub mod seed;

#[cfg(feature = "lambda")]
pub mod lambda;
