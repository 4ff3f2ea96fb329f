//! What the shared crate's test binaries score alike. The `detect_and_score` fuzz target, a
//! crate of its own, includes this file by path for the same reason.

use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::CallType;
use callcoach_shared::domain::playbook::Playbook;
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::ids::{CallId, MintedId, TenantId};
use callcoach_shared::scoring::{ScoringRequest, deterministic_analysis};
use callcoach_shared::system::RandomIds;

/// `transcript` scored by the deterministic coach as a discovery call under `playbook`, with
/// no rep named: what the upload trigger's path scores when nothing more is known. The tenant,
/// call and time are fixed, since nothing checked depends on them.
pub fn discovery_analysis(transcript: &Transcript, playbook: &Playbook) -> Analysis {
    deterministic_analysis(
        ScoringRequest {
            tenant_id: &TenantId::parse("test").unwrap(),
            call_id: &CallId::from_random([0; 16]),
            transcript_version: 1,
            transcript,
            playbook,
            call_type: CallType::Discovery,
            rep_override: None,
            rep_name: None,
        },
        &RandomIds,
        time::OffsetDateTime::UNIX_EPOCH,
    )
}
