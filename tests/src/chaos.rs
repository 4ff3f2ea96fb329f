//! The chaos run: many calls of many tenants through the whole local pipeline while the
//! network to AWS faults, the providers fail and the functions are killed, then an audit of
//! what every store holds. `make chaos` runs it at full size; `tests/chaos_on_aws.rs` runs a
//! small fixed-seed version in `make test`. Local only.
//!
//! What runs where:
//! - the upload trigger and the scoring worker are their built binaries, several processes
//!   each, behind a local Lambda Runtime API ([`crate::lambda_host`]); SQS batches reach them
//!   in parallel the way Lambda's event source mapping scales out, and the run SIGKILLs them
//!   mid-invocation;
//! - the api (with its export-jobs queue) and the transcription callback run in this process,
//!   as API Gateway would reach them;
//! - every AWS request of every function goes through the fault proxy
//!   ([`crate::fault_proxy`]); what plays AWS itself (S3's notifications, the event source's
//!   polling) talks to the stand-in directly;
//! - Deepgram and the LLM are the local fakes, failing and stalling on a seeded share.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::{SqsEventSource, apigw, gateway};
use callcoach_shared::aws::{AwsAdapters, SqsQueue};
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::fakes::ManualClock;
use callcoach_shared::fakes::kit::media::wav_recording;
use callcoach_shared::ids::{CallId, TenantId, UserId};
use callcoach_shared::keys::{call_prefixes, tenant_prefixes};
use callcoach_shared::ports::{CallRepository, Clock};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::reaper::Reaper;
use callcoach_shared::usecases::workspace::{Provisioner, provision};
use http_body_util::BodyExt;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::fake_deepgram::{Answer, FakeDeepgram};
use crate::fake_llm::{FakeLlm, Reply};
use crate::fault_proxy::{FaultPlan, FaultProxy};
use crate::lambda_host::{FunctionHost, FunctionSpec, Outcome, built_function};
use crate::{LocalAws, fresh_tenant, lambda_context, own_queue, version_bytes, versions_under};

const DEEPGRAM_KEY: &str = "dg-chaos-key";
const LLM_KEY: &str = "llm-chaos-key";
const ADMIN: &str = "ada";
pub(crate) const MANAGER: &str = "maria";
pub(crate) const REP: &str = "ravi";

/// What the customer says in every call of the run: words that must never be readable at
/// rest or in a log.
const SECRETS_SPOKEN: [&str; 3] = [
    "our renewal committee meets in Reykjavik",
    "the budget is frozen until the Halvorsen audit",
    "ping me at quinn.halvorsen@example.org",
];

/// Words of [`SECRETS_SPOKEN`] found nowhere else (the table holds other tests' data too):
/// any one of them readable is a leak.
const SPOKEN_MARKERS: [&str; 3] = ["Reykjavik", "Halvorsen", "halvorsen@example"];

/// What the local Deepgram hears in every recording.
const HEARD: &[(u32, f64, f64, &str)] = &[
    (
        0,
        0.0,
        4.0,
        "Thanks for joining. How do you onboard new reps today?",
    ),
    (
        1,
        4.5,
        10.0,
        "Slowly, and honestly the budget is frozen until the Halvorsen audit.",
    ),
    (
        0,
        10.5,
        14.0,
        "What would it be worth to ramp them in half the time?",
    ),
    (
        1,
        14.5,
        19.0,
        "A lot. Our renewal committee meets in Reykjavik, ping me at quinn.halvorsen@example.org.",
    ),
    (
        0,
        19.5,
        23.0,
        "I will send a proposal today. Can we meet Thursday at two?",
    ),
    (1, 23.5, 25.0, "Thursday at two works."),
];

/// The size of a run and its faults.
#[derive(Debug, Clone)]
pub struct ChaosPlan {
    pub seed: u64,
    pub calls: usize,
    pub tenants: usize,
    /// The share of every AWS request that faults (throttles, 500s, resets before and after).
    pub fault_share: f64,
    /// SIGKILLs of the scoring worker and upload trigger, mid-invocation.
    pub kills: usize,
    pub worker_instances: usize,
    pub trigger_instances: usize,
    /// Every n-th call is a recording (through Deepgram); the rest are transcripts.
    pub recording_every: usize,
    /// How long the calls may take to settle before the unsettled count as stuck.
    pub settle_within: Duration,
    /// Where the function processes' logs go.
    pub log_dir: PathBuf,
}

impl ChaosPlan {
    /// The full run of `make chaos`.
    pub fn full(seed: u64) -> Self {
        Self {
            seed,
            calls: 200,
            tenants: 20,
            fault_share: 0.10,
            kills: 6,
            worker_instances: 4,
            trigger_instances: 2,
            recording_every: 4,
            // A killed job comes back after its queue's visibility timeout (370 s), twice if
            // its redelivery is unlucky too.
            settle_within: Duration::from_secs(1200),
            log_dir: workspace_root().join(format!("target/chaos/seed-{seed}")),
        }
    }
}

/// What the run found.
#[derive(Debug, Default, Clone)]
pub struct ChaosReport {
    pub calls: usize,
    pub tenants: usize,
    pub fault_share: f64,
    pub kills: usize,
    pub scored: usize,
    pub failed_with_reason: usize,
    /// Calls the API refused to create (their request failed under the faults).
    pub not_created: usize,
    pub stuck: usize,
    pub duplicated: usize,
    pub leaked: usize,
    pub aws_requests: usize,
    pub faults_injected: usize,
    pub cold_starts: usize,
    /// Processes stopped at the function's timeout (as Lambda stops a sandbox).
    pub timed_out: usize,
    /// Calls deleted through the API (204, or 404 after an attempt that failed having deleted).
    pub deleted: usize,
    pub exports_ready: usize,
    pub successful_reads: usize,
    pub elapsed: Duration,
    /// Every broken rule, in words (no personal data: ids and counts only).
    pub problems: Vec<String>,
}

impl ChaosReport {
    pub fn summary(&self) -> String {
        format!(
            "chaos: {} calls, {} tenants, {:.0}% faults, {} kills: {} scored, {} failed with reason, {} stuck, {} duplicated, {} leaked",
            self.calls,
            self.tenants,
            self.fault_share * 100.0,
            self.kills,
            self.scored,
            self.failed_with_reason,
            self.stuck,
            self.duplicated,
            self.leaked
        )
    }

    /// The details behind the summary line.
    pub fn details(&self) -> String {
        format!(
            "  {} AWS requests through the proxy, {} faulted; {} cold starts, {} processes stopped at their timeout; {} calls not created (refused under faults); {} deleted and reaped; {} workspace exports ready; {} successful reads; {:.0} s\n{}",
            self.aws_requests,
            self.faults_injected,
            self.cold_starts,
            self.timed_out,
            self.not_created,
            self.deleted,
            self.exports_ready,
            self.successful_reads,
            self.elapsed.as_secs_f64(),
            self.problems
                .iter()
                .map(|p| format!("  problem: {p}\n"))
                .collect::<String>()
        )
    }

    pub fn clean(&self) -> bool {
        self.problems.is_empty()
            && self.stuck == 0
            && self.duplicated == 0
            && self.leaked == 0
            && self.scored + self.failed_with_reason + self.not_created == self.calls
    }
}

/// The repository's root (this crate is `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A splitmix64 stream: the run's own draws (providers' faults, kill timing), by seed.
pub(crate) struct Draws(pub(crate) u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One call the run created, and what it is.
#[derive(Debug, Clone)]
struct Made {
    tenant: TenantId,
    team: String,
    call: CallId,
    recording: bool,
}

/// The api in this process over the faulted SDK, and the tenancy check of every answer.
pub(crate) struct Frontend {
    api: Arc<api::Api<api::DeployedPorts>>,
    /// Every call id the run created, by the tenant that owns it.
    owners: Mutex<HashMap<String, TenantId>>,
    tenants: Mutex<Vec<TenantId>>,
    /// Answers that named another tenant or another tenant's call.
    leaks: Mutex<Vec<String>>,
    successful_reads: AtomicUsize,
}

impl Frontend {
    pub(crate) fn new(api: api::Api<api::DeployedPorts>) -> Self {
        Self {
            api: Arc::new(api),
            owners: Mutex::default(),
            tenants: Mutex::default(),
            leaks: Mutex::default(),
            successful_reads: AtomicUsize::new(0),
        }
    }

    /// The run's tenants: an answer to one that names another is a leak.
    pub(crate) fn know_tenants(&self, tenants: &[TenantId]) {
        *self.tenants.lock().unwrap_or_else(PoisonError::into_inner) = tenants.to_vec();
    }

    /// A call the run created, and its tenant.
    fn know_call(&self, call: &CallId, tenant: &TenantId) {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(call.to_string(), tenant.clone());
    }

    pub(crate) fn leak_count(&self) -> usize {
        self.leaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub(crate) fn leak_descriptions(&self) -> Vec<String> {
        self.leaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One request as API Gateway hands it over with verified claims; the body is checked
    /// against its caller before it is returned.
    pub(crate) async fn send(
        &self,
        tenant: &TenantId,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, bytes) = self
            .send_through(&self.api, tenant, user, method, path, body)
            .await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// As [`Self::send`], to another api (the load run's counted one), answering the body's
    /// bytes; a call the answer creates becomes one the tenancy check knows.
    pub(crate) async fn send_through(
        &self,
        api: &Arc<api::Api<api::DeployedPorts>>,
        tenant: &TenantId,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Vec<u8>) {
        let request = apigw::request(
            method,
            path,
            Some(apigw::claims(tenant.as_str(), user)),
            body.map(|b| b.to_string()),
        );
        let Ok(response) = api::router(Arc::clone(api)).oneshot(request).await;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        self.check_tenancy(tenant, method, path, &bytes);
        if method == "POST"
            && let Some(call) = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
                v["call"]["call_id"]
                    .as_str()
                    .and_then(|c| CallId::parse(c).ok())
            })
        {
            self.know_call(&call, tenant);
        }
        (status, bytes)
    }

    /// Like [`Self::send`], again while the answer is a 5xx or a 429 (as a frontend retries
    /// a read), up to five times.
    async fn read(&self, tenant: &TenantId, user: &str, path: &str) -> (u16, Value) {
        let mut answer = (0, Value::Null);
        for attempt in 0..5 {
            answer = self.send(tenant, user, "GET", path, None).await;
            if answer.0 < 500 && answer.0 != 429 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        answer
    }

    pub(crate) fn check_tenancy(&self, caller: &TenantId, method: &str, path: &str, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        let mut wrong = Vec::new();
        {
            let owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
            for (at, _) in text.match_indices("call_") {
                let id = text.get(at..at + 37).unwrap_or_default();
                if let Some(owner) = owners.get(id)
                    && owner != caller
                {
                    wrong.push("another tenant's call id");
                }
            }
        }
        for other in self
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            if other != caller && text.contains(other.as_str()) {
                wrong.push("another tenant's id");
            }
        }
        if !wrong.is_empty() {
            let route = path.split('/').take(3).collect::<Vec<_>>().join("/");
            self.leaks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("{method} {route}...: {}", wrong.join(", ")));
        }
    }
}

/// Runs the plan against the local AWS named by the environment.
pub async fn run(plan: &ChaosPlan) -> anyhow::Result<ChaosReport> {
    let started = Instant::now();
    let aws = LocalAws::connect().await;
    let plain_sqs = SqsClient::new(&aws.sdk);
    let mut draws = Draws(plan.seed ^ 0xC4A0_5000);
    let upstream = std::env::var("AWS_ENDPOINT_URL").context("the local AWS is running")?;
    let upload_events = purged_upload_events(&plain_sqs).await?;

    let share = plan.fault_share;
    let proxy = FaultProxy::start(
        &upstream,
        FaultPlan {
            seed: plan.seed,
            throttle: share * 0.4,
            internal_error: share * 0.3,
            reset_before: share * 0.1,
            reset_after: share * 0.2,
            max_latency: Duration::from_millis(5),
        },
    )
    .await?;
    let faulted = callcoach_shared::aws::sdk_loader()
        .endpoint_url(&proxy.url)
        .load()
        .await;
    let faulted_aws = AwsAdapters::new(&faulted, &aws.resources);

    // The providers' keys, in Secrets Manager as deployed.
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    let secret_arn = async |purpose: &str, value: &str| -> anyhow::Result<String> {
        let name = format!("chaos-{}-{purpose}-{}", plan.seed, draws_suffix());
        let made = secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await?;
        made.arn.context("the secret has an ARN")
    };
    let deepgram_secret = secret_arn("deepgram", DEEPGRAM_KEY).await?;
    let llm_secret = secret_arn("llm", LLM_KEY).await?;

    // The scoring queue as the template makes it: a DLQ after five receives.
    let dlq = own_queue(&plain_sqs, "chaos-scoring-dlq", &[]).await;
    let dlq_arn = plain_sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .context("the DLQ has an ARN")?;
    let scoring = own_queue(
        &plain_sqs,
        "chaos-scoring",
        &[
            (
                "RedrivePolicy",
                json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}).to_string(),
            ),
            // The template's order (visibility past the in-progress lease, past the
            // function's timeout) at the shortest length that keeps it.
            (
                "VisibilityTimeout",
                (callcoach_shared::usecases::score::IN_PROGRESS_TIMEOUT.as_secs() + 10).to_string(),
            ),
        ],
    )
    .await;
    let export_jobs = own_queue(&plain_sqs, "chaos-exports", &[]).await;

    // The providers, failing and stalling on a seeded share.
    let recordings = plan.calls.div_ceil(plan.recording_every.max(1));
    let deepgram = FakeDeepgram::start(DEEPGRAM_KEY, HEARD).await;
    deepgram.answer_next((0..recordings * 2).map(|_| match draws.unit() {
        x if x < 0.10 => Answer::Fail {
            status: 503,
            retry_after: None,
        },
        x if x < 0.20 => Answer::AcceptLate(Duration::from_millis(500 + draws.below(2_000))),
        _ => Answer::Accept,
    }));
    let llm = FakeLlm::start().await;
    llm.script((0..plan.calls * 2).map(|_| match draws.unit() {
        x if x < 0.10 => Reply::Status {
            status: 429,
            retry_after: Some("1"),
            error_code: Some("rate_limit_exceeded"),
        },
        // Past the worker's LLM timeout (LLM_TIMEOUT_SECONDS=2 below): the attempt times out.
        x if x < 0.15 => Reply::Stall(Duration::from_secs(3)),
        _ => Reply::Stall(Duration::ZERO),
    }));

    // The transcription callback behind the local gateway.
    let callback_deps = Arc::new(transcription_callback::Deps {
        store: faulted_aws.table.clone(),
        blobs: faulted_aws.blobs.clone(),
        envelope: faulted_aws.envelope(&aws.resources),
        scoring_queue: SqsQueue::new(SqsClient::new(&faulted), &scoring),
        clock: SystemClock,
    });
    let (callback_addr, callback_task) = gateway::serve(
        "POST",
        "/callbacks/deepgram/{tenant}/{call}",
        move |request| {
            let deps = Arc::clone(&callback_deps);
            async move {
                match transcription_callback::handle(
                    &deps,
                    LambdaEvent::new(request, lambda_context()),
                )
                .await
                {
                    Ok(answer) => answer,
                    // The function's error: API Gateway answers 500, and Deepgram retries.
                    Err(_) => {
                        let mut failed =
                            aws_lambda_events::event::apigw::ApiGatewayV2httpResponse::default();
                        failed.status_code = 500;
                        failed
                    }
                }
            }
        },
    )
    .await?;

    // The api, its deletions at once (no grace) so the reaper's run takes them.
    let frontend = Arc::new(Frontend::new(api::Api {
        ports: api::DeployedPorts::over_aws(
            &faulted,
            faulted_aws.clone(),
            &aws.resources,
            &scoring,
            &export_jobs,
        ),
        settings: api::Settings {
            deletion_grace: time::Duration::ZERO,
            ..api::Settings::default()
        },
    }));

    // The two killable functions, as processes.
    let root = workspace_root();
    let _ = std::fs::remove_dir_all(&plan.log_dir);
    let common = vec![
        ("AWS_ENDPOINT_URL".to_owned(), proxy.url.clone()),
        ("SCORING_QUEUE_URL".to_owned(), scoring.clone()),
        ("RUST_LOG".to_owned(), "info".to_owned()),
    ];
    let trigger = Arc::new(FunctionHost::start(FunctionSpec {
        name: "upload-trigger".into(),
        binary: built_function(&root, "upload-trigger")?,
        env: [
            common.clone(),
            vec![
                ("TRANSCRIPTION_PROVIDER".into(), "deepgram".into()),
                ("DEEPGRAM_API_URL".into(), deepgram.url()),
                (
                    "DEEPGRAM_CALLBACK_URL".into(),
                    format!("http://{callback_addr}/callbacks/deepgram"),
                ),
                ("DEEPGRAM_API_KEY_SECRET_ARN".into(), deepgram_secret),
            ],
        ]
        .concat(),
        timeout: Duration::from_secs(30),
        instances: plan.trigger_instances,
        log_dir: plan.log_dir.clone(),
    })?);
    let worker = Arc::new(FunctionHost::start(FunctionSpec {
        name: "scoring-worker".into(),
        binary: built_function(&root, "scoring-worker")?,
        env: [
            common,
            vec![
                ("LLM_1_API".into(), "openai".into()),
                ("LLM_1_URL".into(), llm.url()),
                ("LLM_1_MODEL".into(), "chaos-model".into()),
                ("LLM_1_API_KEY_SECRET_ARN".into(), llm_secret),
                ("LLM_TIMEOUT_SECONDS".into(), "2".into()),
                ("MAX_RECEIVE_COUNT".into(), "5".into()),
            ],
        ]
        .concat(),
        // The template's (the local Lambda stops a process at it, as Lambda does).
        timeout: Duration::from_secs(300),
        instances: plan.worker_instances,
        log_dir: plan.log_dir.clone(),
    })?);

    // The event source mappings: one poller per instance, each batch through the Runtime API.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut pollers = Vec::new();
    for (host, queue, count) in [
        (&trigger, &upload_events, plan.trigger_instances),
        (&worker, &scoring, plan.worker_instances),
    ] {
        for _ in 0..count {
            let source = SqsEventSource::new(plain_sqs.clone(), queue, host.timeout())
                .await?
                .honouring_visibility_timeout();
            pollers.push(tokio::spawn(poll_into(
                source,
                Arc::clone(host),
                stopped.clone(),
            )));
        }
    }
    let export_runner = {
        let source =
            SqsEventSource::new(plain_sqs.clone(), &export_jobs, Duration::from_secs(300)).await?;
        let (api, stopped) = (Arc::clone(&frontend.api), stopped.clone());
        // The api's queue entry is not `Send` across its borrows: it runs on its own thread,
        // as it runs in its own Lambda.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(run_export_jobs(source, api, stopped));
            }
        })
    };

    // The kills: alternately the worker and the trigger, each mid-invocation.
    let killer = {
        let (trigger, worker) = (Arc::clone(&trigger), Arc::clone(&worker));
        let mut draws = Draws(plan.seed ^ 0x0000_0B11);
        let (kills, stopped) = (plan.kills, stopped.clone());
        tokio::spawn(async move {
            let mut done = 0;
            let mut round = 0;
            while done < kills && !*stopped.borrow() {
                tokio::time::sleep(Duration::from_millis(100 + draws.below(400))).await;
                let host = if round % 2 == 0 { &worker } else { &trigger };
                round += 1;
                let after = Duration::from_millis(draws.below(150));
                let killed = tokio::time::timeout(
                    Duration::from_secs(5),
                    host.kill_during_next_invocation(after),
                )
                .await;
                if matches!(killed, Ok(true)) {
                    done += 1;
                }
            }
        })
    };

    let phase = |what: &str| eprintln!("chaos: {what} ({:.1} s)", started.elapsed().as_secs_f64());
    phase("pipeline up");
    // The tenants' work, all at once.
    let mut tenants = Vec::new();
    for _ in 0..plan.tenants {
        tenants.push(fresh_tenant());
    }
    frontend.know_tenants(&tenants);
    let mut report = ChaosReport {
        calls: plan.calls,
        tenants: plan.tenants,
        fault_share: plan.fault_share,
        ..ChaosReport::default()
    };
    let per_tenant = |t: usize| (plan.calls + plan.tenants - 1 - t) / plan.tenants;
    let mut work = Vec::new();
    let mut number = 0;
    for (t, tenant) in tenants.iter().enumerate() {
        let kinds: Vec<bool> = (0..per_tenant(t))
            .map(|_| {
                number += 1;
                number % plan.recording_every.max(1) == 0
            })
            .collect();
        work.push(create_calls(&aws, &frontend, tenant, kinds));
    }
    let mut made: Vec<Made> = Vec::new();
    for outcome in futures::future::join_all(work).await {
        let (calls, refused, problems) = outcome;
        made.extend(calls);
        report.not_created += refused;
        report.problems.extend(problems);
    }

    phase(&format!("{} calls created and uploaded", made.len()));
    // Until every call settles, or the time is up.
    let deadline = Instant::now() + plan.settle_within;
    let mut settled: BTreeMap<String, (CallStatus, Option<String>, u32)> = BTreeMap::new();
    while settled.len() < made.len() && Instant::now() < deadline {
        for m in &made {
            if settled.contains_key(m.call.as_str()) {
                continue;
            }
            if let Ok(Some(call)) = aws.adapters.table.get_call(&m.tenant, &m.call).await
                && matches!(call.status, CallStatus::Scored | CallStatus::Failed)
            {
                settled.insert(
                    m.call.to_string(),
                    (call.status, call.failure_reason, call.transcript_version),
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Kills that did not land while there was work are not made up afterwards.
    killer.abort();
    report.kills = worker.kills() + trigger.kills();
    report.stuck = made.len() - settled.len();
    for m in made
        .iter()
        .filter(|m| !settled.contains_key(m.call.as_str()))
    {
        let status = match aws.adapters.table.get_call(&m.tenant, &m.call).await {
            Ok(Some(call)) => call.status.as_str().to_owned(),
            other => format!("{other:?}"),
        };
        let kind = if m.recording {
            "recording"
        } else {
            "transcript"
        };
        report
            .problems
            .push(format!("a {kind} call stuck at {status}: {}", m.call));
    }
    for (status, reason, _) in settled.values() {
        match (status, reason) {
            (CallStatus::Scored, _) => report.scored += 1,
            (_, Some(reason)) if !reason.trim().is_empty() => report.failed_with_reason += 1,
            _ => report
                .problems
                .push("a call failed without a readable reason".into()),
        }
    }

    phase(&format!(
        "{} of {} calls settled",
        settled.len(),
        made.len()
    ));
    // Reads through the API, then the usage they recorded.
    let mut teams: BTreeMap<&str, (&TenantId, &str)> = BTreeMap::new();
    for m in &made {
        teams.insert(m.tenant.as_str(), (&m.tenant, &m.team));
    }
    for (tenant, team) in teams.values() {
        let (status, _) = frontend
            .read(tenant, MANAGER, &format!("/v1/calls?team_id={team}"))
            .await;
        if status != 200 {
            report
                .problems
                .push(format!("a list of calls answered {status}"));
        }
    }
    let mut reads_by_tenant: BTreeMap<String, usize> = BTreeMap::new();
    for m in &made {
        if !matches!(settled.get(m.call.as_str()), Some((CallStatus::Scored, ..))) {
            continue;
        }
        let (status, analysis) = frontend
            .read(
                &m.tenant,
                MANAGER,
                &format!("/v1/calls/{}/analysis", m.call),
            )
            .await;
        if status == 200 && analysis["call_id"] == m.call.as_str() {
            *reads_by_tenant.entry(m.tenant.to_string()).or_default() += 1;
            frontend.successful_reads.fetch_add(1, Ordering::Relaxed);
        } else {
            report
                .problems
                .push(format!("a scored call's analysis answered {status}"));
        }
    }
    // Each tenant's manager asks for the next tenant's calls: the one 404, like a missing call.
    for pair in made.windows(2) {
        let (mine, theirs) = (&pair[0], &pair[1]);
        if mine.tenant == theirs.tenant {
            continue;
        }
        for path in [
            format!("/v1/calls/{}", theirs.call),
            format!("/v1/calls/{}/analysis", theirs.call),
            format!("/v1/calls/{}/transcript", theirs.call),
        ] {
            let (status, _) = frontend
                .send(&mine.tenant, MANAGER, "GET", &path, None)
                .await;
            if status != 404 {
                report
                    .problems
                    .push(format!("another tenant's call answered {status}, not 404"));
                report.leaked += 1;
            }
        }
    }
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    for tenant in &tenants {
        let recorded = query_count(
            &ddb,
            &aws.resources.table_name,
            &format!("T#{tenant}#USAGE#{MANAGER}"),
            None,
        )
        .await?;
        let reads = reads_by_tenant
            .get(tenant.as_str())
            .copied()
            .unwrap_or_default();
        if recorded != reads {
            report.problems.push(format!(
                "{recorded} usage events for {reads} successful analysis reads"
            ));
        }
    }

    phase("reads checked");
    // One workspace export per tenant, through its job queue.
    let mut exports = Vec::new();
    for tenant in &tenants {
        let (status, job) = frontend
            .send(
                tenant,
                ADMIN,
                "POST",
                "/v1/exports",
                Some(json!({"scope": "workspace"})),
            )
            .await;
        match (status, job["export_id"].as_str()) {
            (202, Some(id)) => exports.push((tenant.clone(), id.to_owned())),
            _ => report
                .problems
                .push(format!("a workspace export was refused with {status}")),
        }
    }
    let export_deadline = Instant::now() + Duration::from_secs(120);
    for (tenant, id) in &exports {
        loop {
            let (_, job) = frontend
                .read(tenant, ADMIN, &format!("/v1/exports/{id}"))
                .await;
            match job["state"].as_str() {
                Some("ready") => {
                    report.exports_ready += 1;
                    break;
                }
                Some("failed") => {
                    report.problems.push("a workspace export failed".into());
                    break;
                }
                _ if Instant::now() > export_deadline => {
                    report
                        .problems
                        .push("a workspace export never finished".into());
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    phase("exports done");
    // Deletions: every tenth call, then the reaper.
    let deleted: Vec<&Made> = made.iter().step_by(10).collect();
    for m in &deleted {
        let path = format!("/v1/calls/{}", m.call);
        let mut status = 0;
        let mut retried = false;
        for attempt in 0..5 {
            status = frontend.send(&m.tenant, REP, "DELETE", &path, None).await.0;
            if status == 204 || status == 404 {
                break;
            }
            retried = true;
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        // A 404 after a failed attempt: that attempt deleted the call before it failed.
        if status == 204 || (status == 404 && retried) {
            report.deleted += 1;
        } else {
            report
                .problems
                .push(format!("a call's deletion answered {status}"));
        }
    }
    let signer = crate::LocalAws::receipt_signer(&aws);
    let clock = ManualClock::at(SystemClock.now() + time::Duration::HOUR);
    let reaper = Reaper {
        store: &faulted_aws.table,
        blobs: &faulted_aws.blobs,
        clock: &clock,
        signer: &signer,
    };
    let mut reaped = false;
    for _ in 0..5 {
        if reaper.run(Some(&tenants), false, || true).await.is_ok() {
            reaped = true;
            break;
        }
    }
    if !reaped {
        report
            .problems
            .push("the reaper failed five runs in a row".into());
    }
    phase("deleted and reaped");
    // A killed invocation's messages come back after their visibility timeout: the pipeline
    // runs until both queues are empty (a late redelivery is what could duplicate), then
    // nothing may have gone to the scoring DLQ.
    let drain_deadline = Instant::now() + Duration::from_secs(420);
    let mut drained = false;
    while Instant::now() < drain_deadline {
        let mut pending = 0;
        for queue in [&upload_events, &scoring] {
            pending += messages_pending(&plain_sqs, queue).await?;
        }
        if pending == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if !drained {
        report
            .problems
            .push("the queues still held messages 420 s after the last step".into());
    }
    let dead_letters = messages_pending(&plain_sqs, &dlq).await?;
    if dead_letters > 0 {
        report
            .problems
            .push(format!("{dead_letters} scoring jobs went to the DLQ"));
    }
    phase("queues drained");
    // Stop the pipeline before auditing the stores.
    stop.send_replace(true);
    for poller in pollers {
        let _ = poller.await;
    }
    let _ = tokio::task::spawn_blocking(move || export_runner.join()).await;
    callback_task.abort();

    audit_stores(
        &aws,
        &ddb,
        &made,
        &deleted,
        &settled,
        &tenants,
        plan,
        &mut report,
    )
    .await?;
    // The other tenants' calls, still there and theirs after the deletions.
    for m in made.iter().skip(1).step_by(10) {
        if matches!(settled.get(m.call.as_str()), Some((CallStatus::Scored, ..))) {
            let (status, _) = frontend
                .read(&m.tenant, MANAGER, &format!("/v1/calls/{}", m.call))
                .await;
            if status != 200 {
                report
                    .problems
                    .push(format!("a kept call answered {status} after the reaper"));
            }
        }
    }
    report.leaked += frontend.leak_count();
    report.problems.extend(frontend.leak_descriptions());
    report.successful_reads = frontend.successful_reads.load(Ordering::Relaxed);
    let seen = proxy.seen();
    report.aws_requests = seen.len();
    report.faults_injected = seen.iter().filter(|s| s.fault.is_some()).count();
    report.cold_starts = worker.starts() + trigger.starts();
    report.timed_out = worker.timeouts() + trigger.timeouts();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The provisioned queue S3 notifies of uploads, emptied: other runs' leftovers are not this
/// run's calls.
pub(crate) async fn purged_upload_events(sqs: &SqsClient) -> anyhow::Result<String> {
    let queue = std::env::var("UPLOAD_EVENTS_QUEUE_URL").context("the local AWS is provisioned")?;
    sqs.purge_queue().queue_url(&queue).send().await?;
    Ok(queue)
}

/// A short random suffix, so reruns on one stand-in do not collide.
fn draws_suffix() -> String {
    crate::mint::<CallId>().as_str()[5..13].to_owned()
}

/// One tenant's work: its workspace, a team, and its calls created and uploaded through the
/// API, one after the other. Answers the calls made, those refused, and broken rules.
async fn create_calls(
    aws: &LocalAws,
    frontend: &Frontend,
    tenant: &TenantId,
    recordings: Vec<bool>,
) -> (Vec<Made>, usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut refused = 0;
    let mut made = Vec::new();
    let team = match workspace_with_team(aws, frontend, tenant).await {
        Ok(team) => team,
        Err(problem) => {
            problems.push(problem);
            return (made, recordings.len(), problems);
        }
    };
    let http = reqwest::Client::new();
    for (n, recording) in recordings.into_iter().enumerate() {
        let (file, content_type, body) = if recording {
            ("call.wav", "audio/wav", wav_recording(16_000))
        } else {
            ("call.vtt", "text/vtt", transcript(n))
        };
        let (status, created) = frontend
            .send(
                tenant,
                REP,
                "POST",
                "/v1/calls",
                Some(json!({
                    "team_id": team, "title": "Discovery", "call_type": "discovery",
                    "file_name": file, "content_type": content_type,
                    "content_length": body.len(),
                })),
            )
            .await;
        let Some(call) = created["call"]["call_id"]
            .as_str()
            .and_then(|c| CallId::parse(c).ok())
        else {
            // Not retried: a create is not idempotent, and the caller cannot know whether a
            // failed one wrote. Counted as refused.
            problems.push(format!("a call's creation answered {status}: {created}"));
            refused += 1;
            continue;
        };
        if !upload(&http, &created["upload"], &body).await {
            problems.push("an upload failed six times".into());
        }
        made.push(Made {
            tenant: tenant.clone(),
            team: team.clone(),
            call,
            recording,
        });
    }
    (made, refused, problems)
}

/// A new workspace as sign-up makes it (the operator's path, without faults), with a team
/// that [`MANAGER`] owns and [`REP`] is a rep of, made through the API (again while it fails).
/// Answers the team's id, or what went wrong.
pub(crate) async fn workspace_with_team(
    aws: &LocalAws,
    frontend: &Frontend,
    tenant: &TenantId,
) -> Result<String, String> {
    let admin = UserId::parse(ADMIN).expect("a valid user id");
    // Sign-up lives outside the API: the operator's path, without faults.
    if let Err(error) = provision(
        &aws.adapters.table,
        tenant,
        &admin,
        SystemClock.now(),
        Provisioner::Operator,
    )
    .await
    {
        return Err(format!("provisioning failed: {error}"));
    }
    let mut team = None;
    for _ in 0..5 {
        let (status, body) = frontend
            .send(
                tenant,
                ADMIN,
                "POST",
                "/v1/teams",
                Some(json!({"name": "Chaos", "owner_id": MANAGER})),
            )
            .await;
        if status == 201 {
            team = body["team_id"].as_str().map(str::to_owned);
            break;
        }
    }
    let Some(team) = team else {
        return Err("a team could not be created".into());
    };
    let member = format!("/v1/teams/{team}/members/{REP}");
    let mut added = false;
    for _ in 0..5 {
        let (status, _) = frontend
            .send(
                tenant,
                MANAGER,
                "PUT",
                &member,
                Some(json!({"role": "rep"})),
            )
            .await;
        if status == 200 {
            added = true;
            break;
        }
    }
    if !added {
        return Err("the rep could not be added".into());
    }
    Ok(team)
}

/// PUTs `body` to the presigned upload, again after a fault (S3 throttles and resets too).
pub(crate) async fn upload(http: &reqwest::Client, upload: &Value, body: &[u8]) -> bool {
    for attempt in 0..6 {
        let mut put = http
            .put(upload["url"].as_str().unwrap_or_default())
            .body(body.to_vec());
        for (name, value) in upload["headers"].as_object().into_iter().flatten() {
            put = put.header(name, value.as_str().unwrap_or_default());
        }
        if put.send().await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    false
}

/// A short discovery call in WebVTT, the customer saying what must stay secret.
pub(crate) fn transcript(n: usize) -> Vec<u8> {
    let turns = [
        (
            "Rep",
            "Thanks for making time. How do you onboard new reps today?",
        ),
        ("Customer", SECRETS_SPOKEN[0]),
        ("Rep", "What would it be worth to cut ramp time in half?"),
        ("Customer", SECRETS_SPOKEN[1]),
        (
            "Rep",
            "I will send a proposal today. Can we meet Thursday at two?",
        ),
        ("Customer", SECRETS_SPOKEN[2]),
    ];
    let mut vtt = String::from("WEBVTT\n\n");
    for (i, (who, text)) in turns.iter().enumerate() {
        let start = i * 5 + n % 3;
        vtt.push_str(&format!(
            "00:00:{start:02}.000 --> 00:00:{:02}.500\n<v {who}>{text}\n\n",
            start + 4
        ));
    }
    vtt.into_bytes()
}

/// Plays one event source mapping: batches from `source` into the function, until stopped.
pub(crate) async fn poll_into(
    source: SqsEventSource,
    host: Arc<FunctionHost>,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let polled = source
            .poll_once(
                Duration::from_secs(1),
                async |event: LambdaEvent<SqsEvent>| {
                    let payload = serde_json::to_value(&event.payload)?;
                    match host.invoke(&payload).await {
                        Outcome::Response(body) => {
                            Ok(serde_json::from_slice::<SqsBatchResponse>(&body)?)
                        }
                        other => Err(format!("the invocation ended {other:?}").into()),
                    }
                },
            )
            .await;
        if polled.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The api's export-jobs queue, through its one entry point, until stopped.
async fn run_export_jobs(
    source: SqsEventSource,
    api: Arc<api::Api<api::DeployedPorts>>,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let polled = source
            .poll_once(Duration::from_secs(1), async |event| {
                api::entry::handle_queue_batch(&api, event).await
            })
            .await;
        if polled.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Messages on the queue, visible or in flight.
async fn messages_pending(sqs: &SqsClient, queue: &str) -> anyhow::Result<usize> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?;
    let count = |name: &A| -> usize {
        attributes
            .attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    };
    Ok(count(&A::ApproximateNumberOfMessages) + count(&A::ApproximateNumberOfMessagesNotVisible))
}

/// Items of partition `pk` (whose sort key begins with `prefix`, when given).
async fn query_count(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    prefix: Option<&str>,
) -> anyhow::Result<usize> {
    Ok(query_items(ddb, table, pk, prefix).await?.len())
}

async fn query_items(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    prefix: Option<&str>,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut request = ddb
        .query()
        .table_name(table)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()));
    request = match prefix {
        Some(prefix) => request
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":p", AttributeValue::S(prefix.to_owned())),
        None => request.key_condition_expression("pk = :pk"),
    };
    let mut items = Vec::new();
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        items.extend(page?.items.unwrap_or_default());
    }
    Ok(items)
}

fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// What every store holds once the pipeline has stopped.
#[allow(clippy::too_many_arguments)]
async fn audit_stores(
    aws: &LocalAws,
    ddb: &aws_sdk_dynamodb::Client,
    made: &[Made],
    deleted: &[&Made],
    settled: &BTreeMap<String, (CallStatus, Option<String>, u32)>,
    tenants: &[TenantId],
    plan: &ChaosPlan,
    report: &mut ChaosReport,
) -> anyhow::Result<()> {
    let table = &aws.resources.table_name;
    let gone: BTreeSet<&str> = deleted.iter().map(|m| m.call.as_str()).collect();
    // The audit trail: no event twice, and each scored call's scoring recorded once.
    let mut scorings: HashMap<String, usize> = HashMap::new();
    for tenant in tenants {
        let events = query_items(ddb, table, &format!("T#{tenant}#AUDIT"), None).await?;
        let mut ids = BTreeSet::new();
        for event in &events {
            let body: Value = serde_json::from_str(&text_of(event, "body")).unwrap_or(Value::Null);
            let id = body["event_id"].as_str().unwrap_or_default().to_owned();
            if !ids.insert(id) {
                report.duplicated += 1;
                report.problems.push(format!(
                    "audit event {} recorded twice",
                    body["action"].as_str().unwrap_or("?")
                ));
            }
            if body["action"] == "worker.call_scored"
                && let Some(call) = body["object"]
                    .as_str()
                    .and_then(|o| o.strip_prefix("call/"))
            {
                *scorings.entry(call.to_owned()).or_default() += 1;
            }
        }
    }
    for m in made {
        let call = m.call.as_str();
        let Some((status, _, transcript_version)) = settled.get(call) else {
            continue;
        };
        if *status == CallStatus::Scored {
            let times = scorings.get(call).copied().unwrap_or_default();
            if times != 1 {
                report.duplicated += usize::from(times > 1);
                report.problems.push(format!(
                    "a scored call's scoring was recorded {times} times"
                ));
            }
        }
        let partition = format!("T#{}#CALL#{call}", m.tenant);
        if gone.contains(call) {
            let left = query_count(ddb, table, &partition, None).await?;
            let mut objects = 0;
            for prefix in call_prefixes(&m.tenant, &m.call) {
                objects += versions_under(aws, &prefix).await?.len();
            }
            if left + objects > 0 {
                report.problems.push(format!(
                    "a deleted call left {left} items and {objects} object versions after the reaper"
                ));
            }
            continue;
        }
        if *status == CallStatus::Scored {
            let versions: Vec<String> = query_items(ddb, table, &partition, Some("DOC#analysis#v"))
                .await?
                .iter()
                .map(|i| text_of(i, "sk"))
                .collect();
            let expected = format!("DOC#analysis#v{transcript_version:010}");
            if versions != [expected] {
                report.duplicated += versions.len().saturating_sub(1);
                report.problems.push(format!(
                    "a scored call at transcript v{transcript_version} holds analyses {versions:?}"
                ));
            }
        }
        if m.recording && *status == CallStatus::Scored {
            let transcripts = query_count(ddb, table, &partition, Some("DOC#transcript#v")).await?;
            if transcripts != 1 {
                report.problems.push(format!(
                    "a scored recording holds {transcripts} transcripts"
                ));
            }
        }
    }

    // Nothing said in the calls is readable at rest: table items, objects, the functions' logs.
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut items = String::new();
    let mut scan = ddb.scan().table_name(table).into_paginator().send();
    while let Some(page) = scan.next().await {
        for item in page?.items.unwrap_or_default() {
            for value in item.values() {
                // Binary attributes (ciphertexts) are read as text too, in case one is not.
                match value {
                    AttributeValue::B(blob) => {
                        items.push_str(&String::from_utf8_lossy(blob.as_ref()));
                    }
                    other => items.push_str(&format!("{other:?}")),
                }
                items.push('\n');
            }
        }
    }
    sources.push(("the table".into(), items));
    for tenant in tenants {
        for prefix in tenant_prefixes(tenant) {
            let area = prefix.split('/').next().unwrap_or_default().to_owned();
            // Every version, not only the current one: an overwritten or deleted object's
            // older versions are at rest too.
            for version in versions_under(aws, &prefix).await? {
                if !version.delete_marker {
                    let bytes = version_bytes(aws, &version).await?;
                    let name = format!("an object version under {area}/ ({})", version.key);
                    sources.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        }
    }
    for entry in std::fs::read_dir(&plan.log_dir)?.flatten() {
        let name = format!("the log {}", entry.file_name().to_string_lossy());
        sources.push((
            name,
            std::fs::read_to_string(entry.path()).unwrap_or_default(),
        ));
    }
    for (name, text) in &sources {
        if SPOKEN_MARKERS.iter().any(|w| text.contains(w)) {
            report.leaked += 1;
            report
                .problems
                .push(format!("words of a transcript are readable in {name}"));
        }
    }
    Ok(())
}

/// Fails with the report's details when the run broke a rule.
pub fn ensure_clean(report: &ChaosReport) -> anyhow::Result<()> {
    if report.clean() {
        Ok(())
    } else {
        bail!("{}\n{}", report.summary(), report.details())
    }
}
