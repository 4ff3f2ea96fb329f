//! Use cases, generic over the ports.

pub mod calls;
pub mod documents;
pub mod ingest;
pub mod once;
pub mod progress;
pub mod score;
