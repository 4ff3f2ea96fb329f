//! The local demo: a sample call through the real pipeline on the local AWS stand-in.
//!
//! The workspace is provisioned with its admin (`callcoach provision`'s path); the admin creates
//! a team owned by the manager through the API; the manager adds the rep; the rep creates the call
//! through the API and uploads the file to the presigned URL it returns; the local event router
//! feeds the S3 notification to the upload trigger and the scoring job to the scoring worker
//! (the real function handlers); the manager reads the analysis through the API, and the demo
//! prints the coaching report.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::{SqsEventSource, apigw};
use callcoach_shared::aws::{AwsAdapters, SqsQueue, load_sdk_config};
use callcoach_shared::config::{ResourceConfig, process_env, required};
use callcoach_shared::crypto::DataCategory;
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::ids::{CallId, TeamId, TenantId, UserId};
use callcoach_shared::ports::{CallRepository, DocumentKind, IdGenerator};
use callcoach_shared::scoring::report;
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::documents::DocumentVault;
use callcoach_shared::usecases::ingest::NoTranscription;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const DEFAULT_SAMPLE: &str = "events/discovery-call.vtt";
/// Polls of each queue before the demo gives up.
const MAX_POLLS: usize = 30;
const ADMIN: &str = "demo-admin";
const MANAGER: &str = "demo-manager";
const REP: &str = "alex-morgan";

fn step(message: &str) {
    println!("==> {message}");
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("vtt") => "text/vtt",
        Some("srt") => "application/x-subrip",
        Some("json") => "application/json",
        _ => "text/plain",
    }
}

/// The api function's router, reached as API Gateway would reach it after verifying a JWT.
struct ApiClient(Arc<api::Api<api::DeployedPorts>>);

impl ApiClient {
    async fn call(
        &self,
        tenant: &TenantId,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let request = apigw::request(
            method,
            path,
            Some(apigw::claims(tenant.as_str(), user)),
            body.map(|b| b.to_string()),
        );
        let response = api::router(Arc::clone(&self.0)).oneshot(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        println!("    {user}: {method} {path} -> {status}");
        if status >= 300 {
            bail!("the API answered {status}: {value}");
        }
        Ok(value)
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
    let mut local = crate::serve::local_api().await?;
    // The demo ends by deleting its workspace: at once here, after 72 hours by default.
    Arc::get_mut(&mut local)
        .context("the demo's api is its own")?
        .settings
        .deletion_grace = time::Duration::ZERO;
    let api = ApiClient(local);

    let seed: TeamId = RandomIds.mint();
    let tenant = TenantId::parse(format!("demo-{}", &seed.as_str()[5..13]))?;
    step(&format!(
        "provisioning workspace {tenant} with its admin (sign-up lives outside the API)"
    ));
    crate::provision::provision_locally(&tenant, &UserId::parse(ADMIN)?).await?;
    step(
        "the admin creates a team the manager owns; the manager adds the rep and sets the team playbook, through the API",
    );
    let team = api
        .call(
            &tenant,
            ADMIN,
            "POST",
            "/v1/teams",
            Some(json!({"name": "West", "owner_id": MANAGER})),
        )
        .await?;
    let team_id = team["team_id"].as_str().context("no team id")?.to_owned();
    api.call(
        &tenant,
        MANAGER,
        "PUT",
        &format!("/v1/teams/{team_id}/members/{REP}"),
        Some(json!({"role": "rep"})),
    )
    .await?;

    let file_name = sample
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload");
    api.call(
        &tenant,
        MANAGER,
        "PUT",
        &format!("/v1/teams/{team_id}/playbook"),
        Some(json!({
            "value_propositions": [
                "Cut ramp time for new hires with weekly coaching",
                "Every workspace has its own encryption keys and recordings can be deleted",
            ],
            "ideal_customer_profile": "B2B sales teams of 20-200 reps with a manager-to-rep ratio above 1:8",
            "objection_handling": [
                {"objection": "price", "response": "Anchor on the pipeline lost to slow ramp before talking seats."},
                {"objection": "authority", "response": "Offer a short session with the economic buyer and a one-page security summary."},
            ],
            "trackers": [
                {"name": "pricing", "phrases": ["price", "budget", "expensive"]},
                {"name": "security", "phrases": ["security review", "encrypted", "delete"]},
                {"name": "next steps", "phrases": ["next step", "pilot"]},
            ],
        })),
    )
    .await?;
    step("the rep creates the call through the API and gets a presigned upload");
    let created = api
        .call(
            &tenant,
            REP,
            "POST",
            "/v1/calls",
            Some(json!({
                "team_id": team_id, "title": "Discovery with Initech", "call_type": "discovery",
                "company_domain": "initech.example", "buyer_persona": "VP Sales",
                "file_name": file_name, "content_type": content_type(sample), "content_length": body.len(),
            })),
        )
        .await?;
    let call_id = CallId::parse(created["call"]["call_id"].as_str().context("no call id")?)?;
    let upload = &created["upload"];
    step(&format!(
        "uploading {} ({} bytes) to the presigned URL",
        sample.display(),
        body.len()
    ));
    let started = Instant::now();
    let mut request = reqwest::Client::new()
        .put(upload["url"].as_str().context("no upload url")?)
        .body(body);
    for (name, value) in upload["headers"].as_object().context("no upload headers")? {
        request = request.header(name, value.as_str().unwrap_or_default());
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        bail!("the upload was refused: {}", response.status());
    }

    step(
        "upload trigger: S3 notification -> sniff -> parse -> encrypt -> store -> one scoring job",
    );
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
        if status_of(&aws, &tenant, &call_id).await? != CallStatus::AwaitingUpload {
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
        .get_call(&tenant, &call_id)
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
        coach: callcoach_shared::providers::llm::ConfiguredCoach::from_lookup(
            &callcoach_shared::config::process_env,
        )?,
        max_receive_count: 5,
        quotas: Default::default(),
    };
    let jobs = SqsEventSource::new(sqs.clone(), &scoring, Duration::from_secs(60)).await?;
    for _ in 0..MAX_POLLS {
        if status_of(&aws, &tenant, &call_id).await? == CallStatus::Scored {
            break;
        }
        jobs.poll_once(Duration::from_secs(1), async |event| {
            scoring_worker::handle(&worker, event).await
        })
        .await?;
    }
    if status_of(&aws, &tenant, &call_id).await? != CallStatus::Scored {
        bail!("the call was not scored");
    }
    println!(
        "    scored {:.1} s after the upload",
        started.elapsed().as_secs_f64()
    );

    step("the manager reads the analysis through the API");
    let analysis: Analysis = serde_json::from_value(
        api.call(
            &tenant,
            MANAGER,
            "GET",
            &format!("/v1/calls/{call_id}/analysis"),
            None,
        )
        .await?,
    )?;
    println!();
    print!("{}", report::render(&analysis));

    step(
        "privacy: the admin deletes the demo workspace through the API (its data keys are shredded)",
    );
    let reader = aws.envelope(&resources);
    api.call(&tenant, ADMIN, "DELETE", "/v1/workspace", None)
        .await?;
    let destroyed = reader.shred_tenant(&tenant).await?;
    anyhow::ensure!(destroyed == 0, "the deletion left {destroyed} data key(s)");
    let vault = DocumentVault {
        repository: &aws.table,
        blobs: &aws.blobs,
        envelope: &reader,
    };
    let gone = vault
        .get::<Analysis>(
            &tenant,
            &call_id,
            DocumentKind::Analysis,
            after_upload.transcript_version,
        )
        .await
        .is_err();
    println!("    no data key of the workspace is left; the analysis is now unreadable: {gone}");
    anyhow::ensure!(gone, "the shredded analysis was still readable");
    Ok(())
}
