//! What tests share besides the fakes themselves: provider payloads, seeders, a recording,
//! listings read to their end, Lambda events and contexts (feature `lambda`), and the base rig
//! of use-case tests. Generic over the ports where it can be, so moto tests use it too.

pub mod media;
pub mod pages;
pub mod payloads;
pub mod rig;
pub mod seed;

#[cfg(feature = "lambda")]
pub mod lambda;
