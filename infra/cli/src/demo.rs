//! The local demo: a sample call through the real pipeline on the local AWS stand-in.
//!
//! Creates a workspace, team and call; uploads the sample through a presigned PUT; the local
//! event router feeds the S3 notification to the upload trigger and the scoring job to the
//! scoring worker (the real function handlers); then prints the coaching report.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::SqsEventSource;
use callcoach_shared::aws::{AwsAdapters, SqsQueue, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::domain::SCHEMA_VERSION;
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::{CallStatus, CallType};
use callcoach_shared::domain::org::{Membership, Role, Team, Tenant};
use callcoach_shared::domain::retention::{AccountState, RetentionPolicy};
use callcoach_shared::ids::{CallId, TeamId, TenantId, UserId};
use callcoach_shared::ports::{
    BlobStore, CallRepository, Clock, DocumentKind, IdGenerator, TeamRepository, TenantRepository,
};
use callcoach_shared::scoring::report;
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use callcoach_shared::usecases::documents::DocumentVault;
use callcoach_shared::usecases::ingest::NoTranscription;

pub const DEFAULT_SAMPLE: &str = "events/discovery-call.vtt";
/// Polls of each queue before the demo gives up.
const MAX_POLLS: usize = 30;

fn step(message: &str) {
    println!("==> {message}");
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("vtt") => "text/vtt",
        Some("srt") => "application/x-subrip",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn status_of(aws: &AwsAdapters, tenant: &TenantId, call: &CallId) -> Result<CallStatus> {
    Ok(aws
        .table
        .get_call(tenant, call)
        .await?
        .context("the call disappeared")?
        .status)
}

pub async fn run(args: &[String]) -> Result<()> {
    let sample = Path::new(args.first().map_or(DEFAULT_SAMPLE, String::as_str));
    let body = std::fs::read(sample)
        .with_context(|| format!("cannot read the sample {}", sample.display()))?;
    let resources = ResourceConfig::from_env(&DataCategory::ALL)
        .context("the local AWS environment is missing: run `make demo`")?;
    let upload_events = required(&process_env, "UPLOAD_EVENTS_QUEUE_URL")?;
    let scoring = required(&process_env, "SCORING_QUEUE_URL")?;
    let sdk = load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &resources);
    let sqs = SqsClient::new(&sdk);
    let clock = SystemClock;
    let started = Instant::now();

    let team_id: TeamId = RandomIds.mint();
    let tenant_id = TenantId::parse(format!("demo-{}", &team_id.as_str()[5..13]))?;
    step(&format!(
        "creating workspace {tenant_id}, a team and a discovery call"
    ));
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
    let team = Team {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant_id.clone(),
        team_id: team_id.clone(),
        name: "Demo team".into(),
        created_at: clock.now(),
    };
    let owner = Membership {
        tenant_id: tenant_id.clone(),
        team_id: team_id.clone(),
        user_id: UserId::parse("demo-manager")?,
        role: Role::Owner,
    };
    aws.table.create_team(&team, &owner).await?;
    let call = create_call(
        &aws.table,
        &clock,
        &RandomIds,
        &tenant_id,
        NewCall {
            team_id,
            rep_id: UserId::parse("alex-morgan")?,
            title: "Discovery with Initech".into(),
            call_type: CallType::Discovery,
            company_domain: Some("initech.example".into()),
            buyer_persona: Some("VP Sales".into()),
        },
    )
    .await?;

    let file_name = sample
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload");
    let key = format!("uploads/{tenant_id}/{}/{file_name}", call.call_id);
    step(&format!(
        "uploading {} ({} bytes) through a presigned PUT",
        sample.display(),
        body.len()
    ));
    let put = aws
        .blobs
        .presign_put(
            &key,
            content_type(sample),
            body.len() as u64,
            Duration::from_secs(300),
        )
        .await?;
    let mut request = reqwest::Client::new().put(&put.url).body(body);
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        bail!("the upload was refused: {}", response.status());
    }

    step("upload trigger: S3 notification -> parse -> encrypt -> store -> scoring job");
    let trigger = upload_trigger::Deps {
        envelope: aws.envelope(&resources),
        store: aws.table.clone(),
        blobs: aws.blobs.clone(),
        scoring_queue: SqsQueue::new(sqs.clone(), &scoring),
        provider: NoTranscription,
        clock,
    };
    let uploads = SqsEventSource::new(sqs.clone(), &upload_events, Duration::from_secs(30)).await?;
    for _ in 0..MAX_POLLS {
        if status_of(&aws, &tenant_id, &call.call_id).await? != CallStatus::AwaitingUpload {
            break;
        }
        let report = uploads
            .poll_once(Duration::from_secs(1), async |event| {
                upload_trigger::handle(&trigger, event).await
            })
            .await?;
        if report.received > 0 {
            println!(
                "    handled {} notification(s), {} failed",
                report.received, report.failed
            );
        }
    }
    let after_upload = aws
        .table
        .get_call(&tenant_id, &call.call_id)
        .await?
        .context("the call disappeared")?;
    match after_upload.status {
        CallStatus::Transcribed => println!(
            "    transcript v{} stored encrypted; call is transcribed",
            after_upload.transcript_version
        ),
        CallStatus::Failed => bail!(
            "the upload was refused: {}",
            after_upload.failure_reason.unwrap_or_default()
        ),
        other => bail!("the call did not get past {}", other.as_str()),
    }

    step("scoring worker: scoring job -> metrics -> deterministic coach -> encrypted analysis");
    let worker = scoring_worker::Deps {
        envelope: aws.envelope(&resources),
        store: aws.table.clone(),
        blobs: aws.blobs.clone(),
        clock,
        ids: RandomIds,
    };
    let jobs = SqsEventSource::new(sqs.clone(), &scoring, Duration::from_secs(60)).await?;
    for _ in 0..MAX_POLLS {
        if status_of(&aws, &tenant_id, &call.call_id).await? == CallStatus::Scored {
            break;
        }
        jobs.poll_once(Duration::from_secs(1), async |event| {
            scoring_worker::handle(&worker, event).await
        })
        .await?;
    }
    if status_of(&aws, &tenant_id, &call.call_id).await? != CallStatus::Scored {
        bail!("the call was not scored");
    }
    let reader = aws.envelope(&resources);
    let vault = DocumentVault {
        repository: &aws.table,
        blobs: &aws.blobs,
        envelope: &reader,
    };
    let analysis: Analysis = vault
        .get(
            &tenant_id,
            &call.call_id,
            DocumentKind::Analysis,
            after_upload.transcript_version,
        )
        .await?
        .context("the analysis was not stored")?;
    println!(
        "    call scored in {:.1} s from upload\n",
        started.elapsed().as_secs_f64()
    );
    print!("{}", report::render(&analysis));

    step("privacy: crypto-shredding the demo workspace");
    let destroyed = reader.shred_tenant(&tenant_id).await?;
    let gone = vault
        .get::<Analysis>(
            &tenant_id,
            &call.call_id,
            DocumentKind::Analysis,
            after_upload.transcript_version,
        )
        .await
        .is_err();
    println!("    destroyed {destroyed} data key(s); the analysis is now unreadable: {gone}");
    anyhow::ensure!(gone, "the shredded analysis was still readable");
    Ok(())
}
