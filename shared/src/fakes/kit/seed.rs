//! Seeders: records and calls put in place through the ports, for fakes and moto alike.

use time::OffsetDateTime;

use crate::crypto::{DataCategory, DataKeyStore, WrappedDataKey};
use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::call::{Call, CallStatus};
use crate::domain::org::Tenant;
use crate::domain::retention::RetentionPolicy;
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{AuditLog, BlobStore, CallRepository, DocumentRepository};

/// A discovery call by rep `rep` in a fresh team, for tests that need any call.
pub fn sample_new_call() -> crate::usecases::calls::NewCall {
    use crate::ports::IdGenerator;
    crate::usecases::calls::NewCall {
        team_id: crate::system::RandomIds.mint(),
        rep_id: UserId::parse("rep").expect("a valid user id"),
        call_type: crate::domain::call::CallType::Discovery,
        details: Default::default(),
    }
}

/// A transcribed call to seed: its transcript has `utterances` lines, each carrying `marker`
/// (a canary or a size filler).
pub struct CallSeed<'a> {
    pub tenant: &'a TenantId,
    pub team: &'a TeamId,
    pub rep: &'a UserId,
    pub utterances: usize,
    pub marker: &'a str,
}

/// Seeds a transcribed call. Generic over the ports, so it seeds moto as well as fakes.
pub async fn seed_transcribed_call<S, B, E>(
    store: &S,
    blobs: &B,
    envelope: &E,
    seed: CallSeed<'_>,
) -> Call
where
    S: CallRepository + DocumentRepository,
    B: BlobStore,
    E: crate::crypto::Envelope,
{
    use crate::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance};
    use crate::usecases::calls::{NewCall, create_call};
    use crate::usecases::documents::DocumentVault;

    let clock = crate::system::SystemClock;
    let CallSeed {
        tenant,
        team,
        rep,
        utterances,
        marker,
    } = seed;
    let new = NewCall {
        team_id: team.clone(),
        rep_id: rep.clone(),
        call_type: crate::domain::call::CallType::Discovery,
        details: Default::default(),
    };
    let mut call = create_call(store, &clock, &crate::system::RandomIds, tenant, new)
        .await
        .expect("the seeded call is created");
    let speakers = ["rep", "buyer"].map(|label| Speaker {
        label: label.into(),
        name: None,
    });
    let transcript = Transcript {
        schema_version: crate::domain::SCHEMA_VERSION,
        source_format: SourceFormat::WebVtt,
        timing: Timing::Utterances,
        speakers: speakers.to_vec(),
        utterances: (0..utterances as u64)
            .map(|i| Utterance {
                speaker: (i % 2) as usize,
                start_ms: i * 4_000,
                end_ms: i * 4_000 + 3_500,
                text: format!("line {i}: {marker}"),
                words: Vec::new(),
            })
            .collect(),
    };
    let vault = DocumentVault {
        repository: store,
        blobs,
        envelope,
    };
    vault
        .put_transcript(tenant, &call.call_id, 1, &transcript)
        .await
        .expect("the seeded transcript is stored");
    call.transcript_version = 1;
    call.status = CallStatus::Transcribed;
    store
        .save_call(&mut call)
        .await
        .expect("the seeded call moves to transcribed");
    call
}

/// An active workspace record whose transcripts are kept `transcripts_days` (`None`: for the
/// account's life).
pub fn tenant_keeping_transcripts(
    tenant_id: TenantId,
    name: &str,
    transcripts_days: Option<u32>,
    created_at: OffsetDateTime,
) -> Tenant {
    Tenant {
        retention: RetentionPolicy {
            transcripts_days,
            ..RetentionPolicy::default()
        },
        ..Tenant::active(tenant_id, name, created_at)
    }
}

/// A wrapped data key of `tenant`'s `category` at `version`, created `at` (its bytes wrap
/// nothing: for tests that look at which keys exist, not at what they open).
pub async fn seed_data_key(
    keys: &impl DataKeyStore,
    tenant: &TenantId,
    category: DataCategory,
    version: u32,
    at: OffsetDateTime,
) {
    keys.insert_data_key(&WrappedDataKey {
        tenant: tenant.clone(),
        category,
        version,
        kms_key_id: format!("alias/callcoach-{}", category.as_str()),
        wrapped: vec![7; 32],
        created_at: at,
    })
    .await
    .expect("the data key is stored");
}

/// `user` did `action` on a call at `at`, as the audit trail records it.
pub async fn seed_user_action(
    log: &impl AuditLog,
    tenant: &TenantId,
    user: &str,
    action: &str,
    at: OffsetDateTime,
) {
    use crate::ports::IdGenerator;
    log.append(&AuditEvent {
        schema_version: crate::domain::SCHEMA_VERSION,
        event_id: crate::system::RandomIds.mint(),
        tenant_id: tenant.clone(),
        actor: Some(UserId::parse(user).expect("a valid user id")),
        actor_kind: "user".into(),
        action: action.into(),
        object: "call_x".into(),
        outcome: Outcome::Success,
        request_id: None,
        at,
    })
    .await
    .expect("the event is recorded");
}
