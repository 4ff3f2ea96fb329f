//! The local demo: what the foundation can do today, against the local AWS stand-in.

use anyhow::{Context, Result};
use callcoach_shared::aws::{AwsAdapters, load_sdk_config};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::call::{CallStatus, CallType};
use callcoach_shared::domain::org::{Membership, Role, Team, Tenant};
use callcoach_shared::domain::retention::{AccountState, RetentionPolicy};
use callcoach_shared::domain::transcript::{SourceFormat, Speaker, Timing, Transcript, Utterance};
use callcoach_shared::ids::{TeamId, TenantId, UserId};
use callcoach_shared::ports::{
    Clock, DocumentKind, DocumentRepository, IdGenerator, StoredDocument, TeamRepository,
    TenantRepository,
};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call, transition};
use callcoach_shared::usecases::documents::DocumentVault;

fn step(message: &str) {
    println!("==> {message}");
}

pub async fn run() -> Result<()> {
    let resources = ResourceConfig::from_env(&DataCategory::ALL)
        .context("the local AWS environment is missing: run `make demo`")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let envelope = aws.envelope(&resources);
    let clock = SystemClock;

    let team_id: TeamId = RandomIds.mint();
    let tenant_id = TenantId::parse(format!("demo-{}", &team_id.as_str()[5..13]))?;
    step(&format!("creating workspace {tenant_id}"));
    aws.table
        .create_tenant(&Tenant {
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant_id.clone(),
            name: "Demo workspace".into(),
            state: AccountState::Active,
            retention: RetentionPolicy::default(),
            legal_hold: false,
            created_at: clock.now(),
        })
        .await?;
    let owner = UserId::parse("demo-manager")?;
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant_id.clone(),
        team_id: team_id.clone(),
        name: "Demo team".into(),
        created_at: clock.now(),
    };
    let membership = Membership {
        tenant_id: tenant_id.clone(),
        team_id: team_id.clone(),
        user_id: owner,
        role: Role::Owner,
    };
    aws.table.create_team(&team, &membership).await?;

    step("creating a call");
    let call = create_call(
        &aws.table,
        &clock,
        &RandomIds,
        &tenant_id,
        NewCall {
            team_id,
            rep_id: UserId::parse("demo-rep")?,
            title: "Discovery call".into(),
            call_type: CallType::Discovery,
            company_domain: Some("initech.example".into()),
            buyer_persona: Some("VP Sales".into()),
        },
    )
    .await?;
    for next in [CallStatus::Uploaded, CallStatus::Transcribed] {
        let moved = transition(&aws.table, &clock, &tenant_id, &call.call_id, next).await?;
        println!(
            "    call {} is now {}",
            moved.call_id,
            moved.status.as_str()
        );
    }

    step("storing an encrypted transcript (transcripts key domain)");
    let transcript = Transcript {
        schema_version: SCHEMA_VERSION,
        source_format: SourceFormat::PlainText,
        timing: Timing::Utterances,
        speakers: vec![
            Speaker {
                label: "rep".into(),
                name: Some("Alex".into()),
            },
            Speaker {
                label: "buyer".into(),
                name: Some("Jordan".into()),
            },
        ],
        utterances: vec![
            Utterance {
                speaker: 0,
                start_ms: 0,
                end_ms: 4_000,
                text: "What made you look at this now?".into(),
                words: vec![],
            },
            Utterance {
                speaker: 1,
                start_ms: 4_500,
                end_ms: 9_000,
                text: "Our reps spend hours on call notes.".into(),
                words: vec![],
            },
        ],
    };
    let vault = DocumentVault {
        repository: &aws.table,
        blobs: &aws.blobs,
        envelope: &envelope,
    };
    vault
        .put_transcript(&tenant_id, &call.call_id, 1, &transcript)
        .await?;
    let stored = aws
        .table
        .get_document(&tenant_id, &call.call_id, DocumentKind::Transcript, 1)
        .await?
        .context("the transcript was not stored")?;
    if let StoredDocument::Inline(ciphertext) = &stored {
        println!(
            "    stored {} bytes of ciphertext; header {:02x?}",
            ciphertext.len(),
            &ciphertext[..7]
        );
    }
    let back: Transcript = vault
        .get(&tenant_id, &call.call_id, DocumentKind::Transcript, 1)
        .await?
        .context("the transcript did not read back")?;
    println!(
        "    decrypted again: {} utterances, {} words",
        back.utterances.len(),
        back.word_count()
    );

    step("crypto-shredding the workspace");
    let destroyed = envelope.shred_tenant(&tenant_id).await?;
    let after: Result<Option<Transcript>, _> = vault
        .get(&tenant_id, &call.call_id, DocumentKind::Transcript, 1)
        .await;
    println!(
        "    destroyed {destroyed} data key(s); reading the transcript now fails: {}",
        after.is_err()
    );
    anyhow::ensure!(after.is_err(), "the shredded transcript was still readable");
    println!("done. (Scoring and the coaching report arrive with the scoring pipeline.)");
    Ok(())
}
