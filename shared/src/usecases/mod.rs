//! Use cases, generic over the ports.

pub mod audit_trail;
pub mod breach;
pub mod call_changes;
pub mod call_listing;
pub mod callback;
pub mod calls;
pub mod deletion;
pub mod documents;
pub mod export;
pub mod export_job;
pub mod ingest;
pub mod lifecycle;
pub mod new_call;
pub mod once;
pub mod practice;
pub mod prep;
pub mod progress;
pub mod quota;
pub mod reaper;
pub mod score;
pub mod streamed;
pub mod teams;
pub mod transcribe;
pub mod transcribed;
pub mod waiting;
pub mod workspace;
