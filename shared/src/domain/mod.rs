//! Domain types shared by every function. No AWS types live here.

pub mod analysis;
pub mod audit;
pub mod call;
pub mod org;
pub mod playbook;
pub mod progress;
pub mod receipt;
pub mod retention;
pub mod transcript;
pub mod transcription;
pub mod usage;

/// Version of the stored document layout. Bumped when a stored shape changes incompatibly;
/// readers reject versions they do not know rather than guess.
pub const SCHEMA_VERSION: u32 = 1;
