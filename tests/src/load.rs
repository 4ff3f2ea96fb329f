//! The load run: what the API and the pipeline hold with many tenants at once, on the local
//! AWS. `make load` runs it at full size and prints its tables; `tests/load_on_aws.rs` runs a
//! small version in `make test`, so the run keeps working and its rules keep holding. Local
//! only, and indicative: the local AWS is one Python process that serves one request at a
//! time, so most of each figure is time spent waiting for it (the tables say how much).
//!
//! Two parts, in this order:
//! - the pipeline: calls of every tenant created through the api, uploaded to their presigned
//!   URLs, and taken by the upload trigger and the scoring worker as built binaries behind the
//!   local Lambda Runtime API ([`crate::lambda_host`]), with one scoring worker instance and
//!   then with four. Upload to scored is timed from the end of the upload to the call's last
//!   write (its `updated_at`, set by the worker as it scores), so watching does not slow it;
//! - the API: the requests of a seeded mix of routes, many in flight at once, sent to the api
//!   handler in this process (as API Gateway hands them over, with verified claims) over the
//!   calls the pipeline scored. Each request's AWS requests are logged under its number by
//!   the SDK's own HTTP client ([`crate::counting`]), which gives the DynamoDB requests and
//!   round trips per route and the share of its time spent waiting on the local AWS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::SqsEventSource;
use callcoach_shared::aws::AwsAdapters;
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::ids::{CallId, TenantId};
use callcoach_shared::ports::CallRepository;
use futures::StreamExt;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::chaos::{
    Draws, Frontend, MANAGER, REP, poll_into, purged_upload_events, transcript, upload,
    workspace_root, workspace_with_team,
};
use crate::counting::{RequestLog, SentRequest, counted, round_trips, tagged};
use crate::lambda_host::{FunctionHost, FunctionSpec, built_function};
use crate::{LocalAws, fresh_tenant, own_queue};

/// The size of a run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub seed: u64,
    pub tenants: usize,
    /// API requests, after each tenant's warm-up requests (not counted).
    pub requests: usize,
    /// API requests in flight at once.
    pub concurrency: usize,
    /// Calls through the pipeline for each worker count.
    pub pipeline_calls: usize,
    /// The scoring worker instances of each pipeline pass, in order.
    pub worker_counts: Vec<usize>,
    /// How long a pipeline pass may take before its unscored calls count as a problem.
    pub settle_within: Duration,
    /// Where the function processes' logs go.
    pub log_dir: PathBuf,
}

impl LoadPlan {
    /// The full run of `make load`.
    pub fn full(seed: u64) -> Self {
        Self {
            seed,
            tenants: 50,
            requests: 2_000,
            concurrency: 16,
            pipeline_calls: 100,
            worker_counts: vec![1, 4],
            settle_within: Duration::from_secs(600),
            log_dir: workspace_root().join(format!("target/load/seed-{seed}")),
        }
    }
}

/// The routes of the mix, and the share of the requests each takes.
const MIX: [(Route, f64); 5] = [
    (Route::List, 0.25),
    (Route::Call, 0.20),
    (Route::Analysis, 0.30),
    (Route::Transcript, 0.10),
    (Route::Create, 0.15),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    List,
    Call,
    Analysis,
    Transcript,
    Create,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Self::List => "GET /v1/calls?team_id=",
            Self::Call => "GET /v1/calls/{id}",
            Self::Analysis => "GET /v1/calls/{id}/analysis",
            Self::Transcript => "GET /v1/calls/{id}/transcript",
            Self::Create => "POST /v1/calls",
        }
    }

    fn draw(draws: &mut Draws) -> Self {
        let mut x = draws.unit();
        for (route, share) in MIX {
            if x < share {
                return route;
            }
            x -= share;
        }
        Self::Create
    }
}

/// One route's figures.
#[derive(Debug, Clone)]
pub struct RouteFigures {
    pub route: Route,
    pub requests: usize,
    /// Answers other than the route's success status.
    pub failed: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// DynamoDB requests per request, on average and at most.
    pub dynamodb_mean: f64,
    pub dynamodb_max: usize,
    /// DynamoDB round trips (requests one after another), at most, of the requests that found
    /// their data keys cached.
    pub round_trips_max: usize,
    /// Requests that refilled a data key (the cache keeps one 300 s, so a run longer than that
    /// refills each key it uses): a `GetItem` of the wrapped key and a KMS `Decrypt` more.
    pub key_refills: usize,
    /// DynamoDB round trips, at most, of those requests.
    pub round_trips_max_refilling: usize,
    /// The share of the route's time its requests waited on the local AWS.
    pub aws_share: f64,
    /// The DynamoDB operations, in the order sent, of a request with the most round trips.
    pub longest_chain: Vec<String>,
}

/// One pipeline pass's figures.
#[derive(Debug, Clone)]
pub struct PipelineFigures {
    pub workers: usize,
    pub calls: usize,
    pub scored: usize,
    /// Calls scored per minute from the end of the first upload to the last call scored, and
    /// that divided by the worker instances.
    pub per_minute: f64,
    pub per_minute_per_worker: f64,
    pub p50_s: f64,
    pub p99_s: f64,
}

/// What the run measured.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub tenants: usize,
    pub concurrency: usize,
    pub routes: Vec<RouteFigures>,
    pub pipelines: Vec<PipelineFigures>,
    /// The API part's AWS requests, and those the local AWS failed (retried by the SDK).
    pub api_aws_requests: usize,
    pub api_aws_failed_attempts: usize,
    /// AWS requests of the API part logged without the number of a request: work the figures
    /// would miss (a task the api spawned, say). None is a rule of the run.
    pub untagged: usize,
    /// Answers that named another tenant or another tenant's call.
    pub leaked: usize,
    pub elapsed: Duration,
    /// Every broken rule, in words (ids and counts only).
    pub problems: Vec<String>,
}

impl LoadReport {
    /// The tables `make load` prints (Markdown, as the README holds them).
    pub fn tables(&self) -> String {
        let requests: usize = self.routes.iter().map(|r| r.requests).sum();
        let mut out = format!(
            "load: {requests} API requests from {} tenants, {} in flight; {} AWS requests ({} failed by the local AWS and retried); {} leaked\n\n",
            self.tenants,
            self.concurrency,
            self.api_aws_requests,
            self.api_aws_failed_attempts,
            self.leaked
        );
        out.push_str("| route | requests | not 2xx | p50 ms | p95 ms | p99 ms | DynamoDB requests (mean, max) | round trips (max) | key refills (their max trips) | waiting on the local AWS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.routes {
            out.push_str(&format!(
                "| `{}` | {} | {} | {:.1} | {:.1} | {:.1} | {:.1}, {} | {} | {} ({}) | {:.0}% |\n",
                r.route.name(),
                r.requests,
                r.failed,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.dynamodb_mean,
                r.dynamodb_max,
                r.round_trips_max,
                r.key_refills,
                r.round_trips_max_refilling,
                r.aws_share * 100.0
            ));
        }
        out.push('\n');
        for r in &self.routes {
            out.push_str(&format!(
                "longest chain of `{}` (keys cached): {}\n",
                r.route.name(),
                r.longest_chain.join(", ")
            ));
        }
        out.push_str("\n| scoring workers | calls | scored | scored per minute | per worker | upload to scored p50 s | p99 s |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        for p in &self.pipelines {
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} |\n",
                p.workers,
                p.calls,
                p.scored,
                p.per_minute,
                p.per_minute_per_worker,
                p.p50_s,
                p.p99_s
            ));
        }
        out.push_str(&format!("\n{:.0} s\n", self.elapsed.as_secs_f64()));
        for problem in &self.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
        out
    }

    pub fn clean(&self) -> bool {
        self.problems.is_empty() && self.leaked == 0
    }
}

/// A call the pipeline scored, for the API part to read.
#[derive(Debug, Clone)]
struct Scored {
    tenant: TenantId,
    call: CallId,
}

/// A tenant's workspace and team.
#[derive(Debug, Clone)]
struct Workspace {
    tenant: TenantId,
    team: String,
}

/// Runs the plan against the local AWS named by the environment.
pub async fn run(plan: &LoadPlan) -> anyhow::Result<LoadReport> {
    let started = Instant::now();
    let aws = LocalAws::connect().await;
    let plain_sqs = SqsClient::new(&aws.sdk);
    let upload_events = purged_upload_events(&plain_sqs).await?;
    // The template's visibility timeout, past the worker's timeout.
    let scoring = own_queue(
        &plain_sqs,
        "load-scoring",
        &[("VisibilityTimeout", "1800".to_owned())],
    )
    .await;
    let export_jobs = own_queue(&plain_sqs, "load-exports", &[]).await;
    let phase = |what: &str| eprintln!("load: {what} ({:.1} s)", started.elapsed().as_secs_f64());
    let mut report = LoadReport {
        tenants: plan.tenants,
        concurrency: plan.concurrency,
        ..LoadReport::default()
    };

    // Set-up through an api that is not counted.
    let setup = Arc::new(Frontend::new(api::Api {
        ports: api::DeployedPorts::over_aws(
            &aws.sdk,
            aws.adapters.clone(),
            &aws.resources,
            &scoring,
            &export_jobs,
        ),
        settings: api::Settings::default(),
    }));
    let tenants: Vec<TenantId> = (0..plan.tenants).map(|_| fresh_tenant()).collect();
    setup.know_tenants(&tenants);
    let mut workspaces = Vec::new();
    let made = futures::stream::iter(tenants.iter().map(|tenant| {
        let setup = Arc::clone(&setup);
        let aws = &aws;
        async move { (tenant, workspace_with_team(aws, &setup, tenant).await) }
    }))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await;
    for (tenant, team) in made {
        match team {
            Ok(team) => workspaces.push(Workspace {
                tenant: tenant.clone(),
                team,
            }),
            Err(problem) => report.problems.push(problem),
        }
    }
    anyhow::ensure!(!workspaces.is_empty(), "no workspace could be set up");
    phase(&format!("{} workspaces", workspaces.len()));

    let mut scored = Vec::new();
    for &workers in &plan.worker_counts {
        let (figures, calls) = pipeline_pass(
            plan,
            &aws,
            &setup,
            &workspaces,
            &upload_events,
            &scoring,
            workers,
        )
        .await?;
        phase(&format!(
            "pipeline with {workers} workers: {} of {} scored",
            figures.scored, figures.calls
        ));
        if figures.scored < figures.calls {
            report.problems.push(format!(
                "{} of {} calls were not scored with {workers} workers",
                figures.calls - figures.scored,
                figures.calls
            ));
        }
        report.pipelines.push(figures);
        scored.extend(calls);
    }
    anyhow::ensure!(!scored.is_empty(), "the pipeline scored no call");

    api_pass(
        plan,
        &aws,
        &setup,
        &workspaces,
        &scored,
        &scoring,
        &export_jobs,
        &mut report,
    )
    .await?;
    phase("API requests done");
    report.leaked += setup.leak_count();
    report.problems.extend(setup.leak_descriptions());
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Calls of every tenant through the upload trigger and `workers` scoring worker processes.
async fn pipeline_pass(
    plan: &LoadPlan,
    aws: &LocalAws,
    setup: &Arc<Frontend>,
    workspaces: &[Workspace],
    upload_events: &str,
    scoring: &str,
    workers: usize,
) -> anyhow::Result<(PipelineFigures, Vec<Scored>)> {
    let root = workspace_root();
    let log_dir = plan.log_dir.join(format!("workers-{workers}"));
    let _ = std::fs::remove_dir_all(&log_dir);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("the local AWS is running")?;
    let env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), endpoint),
        ("SCORING_QUEUE_URL".to_owned(), scoring.to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ];
    // As many trigger instances as workers: the trigger is not what is measured.
    let trigger = Arc::new(FunctionHost::start(FunctionSpec {
        name: "upload-trigger".into(),
        binary: built_function(&root, "upload-trigger")?,
        env: env.clone(),
        timeout: Duration::from_secs(30),
        instances: workers,
        log_dir: log_dir.clone(),
    })?);
    let worker = Arc::new(FunctionHost::start(FunctionSpec {
        name: "scoring-worker".into(),
        binary: built_function(&root, "scoring-worker")?,
        env,
        // The template's (the local Lambda stops a process at it, as Lambda does).
        timeout: Duration::from_secs(300),
        instances: workers,
        log_dir,
    })?);
    let sqs = SqsClient::new(&aws.sdk);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Every event source made before any poller starts: a failure leaves none running.
    let mut sources = Vec::new();
    for (host, queue) in [(&trigger, upload_events), (&worker, scoring)] {
        for _ in 0..workers {
            let source = SqsEventSource::new(sqs.clone(), queue, host.timeout()).await?;
            sources.push((source, Arc::clone(host)));
        }
    }
    let pollers: Vec<_> = sources
        .into_iter()
        .map(|(source, host)| tokio::spawn(poll_into(source, host, stopped.clone())))
        .collect();

    // The calls, created and uploaded a few at a time, round the tenants.
    let http = reqwest::Client::new();
    let uploaded = futures::stream::iter((0..plan.pipeline_calls).map(|n| {
        let workspace = &workspaces[n % workspaces.len()];
        let (setup, http) = (Arc::clone(setup), &http);
        async move {
            let call = create_call(&setup, workspace, n).await?;
            upload(http, &call.1, &transcript(n))
                .await
                .then(|| (workspace.tenant.clone(), call.0, OffsetDateTime::now_utc()))
        }
    }))
    .buffer_unordered(8)
    .filter_map(|made| async move { made })
    .collect::<Vec<_>>()
    .await;

    // Watched once a second, one call at a time, so that watching adds little load.
    let deadline = Instant::now() + plan.settle_within;
    let mut settled: BTreeMap<&str, (CallStatus, OffsetDateTime)> = BTreeMap::new();
    while settled.len() < uploaded.len() && Instant::now() < deadline {
        for (tenant, call, _) in &uploaded {
            if settled.contains_key(call.as_str()) {
                continue;
            }
            if let Ok(Some(stored)) = aws.adapters.table.get_call(tenant, call).await
                && matches!(stored.status, CallStatus::Scored | CallStatus::Failed)
            {
                settled.insert(call.as_str(), (stored.status, stored.updated_at));
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.send_replace(true);
    for poller in pollers {
        let _ = poller.await;
    }

    let first_upload = uploaded
        .iter()
        .map(|(_, _, at)| *at)
        .min()
        .unwrap_or_else(OffsetDateTime::now_utc);
    let mut waits = Vec::new();
    let mut last_scored = first_upload;
    let mut calls = Vec::new();
    for (tenant, call, at) in &uploaded {
        if let Some((CallStatus::Scored, scored_at)) = settled.get(call.as_str()) {
            waits.push((*scored_at - *at).as_seconds_f64());
            last_scored = last_scored.max(*scored_at);
            calls.push(Scored {
                tenant: tenant.clone(),
                call: call.clone(),
            });
        }
    }
    let minutes = (last_scored - first_upload).as_seconds_f64() / 60.0;
    let per_minute = if minutes > 0.0 {
        calls.len() as f64 / minutes
    } else {
        0.0
    };
    let figures = PipelineFigures {
        workers,
        calls: plan.pipeline_calls,
        scored: calls.len(),
        per_minute,
        per_minute_per_worker: per_minute / workers.max(1) as f64,
        p50_s: percentile(&mut waits, 50.0),
        p99_s: percentile(&mut waits, 99.0),
    };
    Ok((figures, calls))
}

/// Creates one call of `workspace`'s rep through the api: its id and its upload.
async fn create_call(setup: &Frontend, workspace: &Workspace, n: usize) -> Option<(CallId, Value)> {
    let (status, created) = setup
        .send(
            &workspace.tenant,
            REP,
            "POST",
            "/v1/calls",
            Some(create_body(&workspace.team, transcript(n).len())),
        )
        .await;
    let call = created["call"]["call_id"]
        .as_str()
        .and_then(|c| CallId::parse(c).ok());
    if call.is_none() {
        eprintln!("load: a call's creation answered {status}");
    }
    Some((call?, created["upload"].clone()))
}

fn create_body(team: &str, length: usize) -> Value {
    json!({
        "team_id": team, "title": "Discovery", "call_type": "discovery",
        "file_name": "call.vtt", "content_type": "text/vtt", "content_length": length,
    })
}

/// One API request of the mix, as drawn.
#[derive(Debug, Clone)]
struct Planned {
    route: Route,
    tenant: TenantId,
    user: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
}

/// One request's answer and time.
struct Answered {
    route: Route,
    ok: bool,
    took: Duration,
    started: Instant,
}

#[allow(clippy::too_many_arguments)]
async fn api_pass(
    plan: &LoadPlan,
    aws: &LocalAws,
    setup: &Arc<Frontend>,
    workspaces: &[Workspace],
    scored: &[Scored],
    scoring: &str,
    export_jobs: &str,
    report: &mut LoadReport,
) -> anyhow::Result<()> {
    // The api measured: one process's clients, each request logged by the HTTP client.
    let (sdk, log) = counted(&aws.sdk);
    let api = Arc::new(api::Api {
        ports: api::DeployedPorts::over_aws(
            &sdk,
            AwsAdapters::new(&sdk, &aws.resources),
            &aws.resources,
            scoring,
            export_jobs,
        ),
        settings: api::Settings::default(),
    });
    // A warm process: each workspace's data keys unwrapped once per data category (the
    // call's details, its transcript, its analysis), as after its first requests.
    let by_tenant: BTreeMap<&str, &Workspace> =
        workspaces.iter().map(|w| (w.tenant.as_str(), w)).collect();
    let first_of_each: BTreeMap<&str, &Scored> =
        scored.iter().fold(BTreeMap::new(), |mut first, s| {
            first.entry(s.tenant.as_str()).or_insert(s);
            first
        });
    for call in first_of_each.values() {
        for path in [
            format!("/v1/calls/{}", call.call),
            format!("/v1/calls/{}/transcript", call.call),
        ] {
            send(&api, setup, &call.tenant, MANAGER, "GET", &path, None).await;
        }
        if let Some(workspace) = by_tenant.get(call.tenant.as_str()) {
            let body = Some(create_body(&workspace.team, 4_096));
            send(&api, setup, &call.tenant, REP, "POST", "/v1/calls", body).await;
        }
    }
    log.clear();

    let mut draws = Draws(plan.seed ^ 0x10AD_0000);
    let planned: Vec<Planned> = (0..plan.requests)
        .filter_map(|_| {
            let route = Route::draw(&mut draws);
            let call = &scored[draws.below(scored.len() as u64) as usize];
            let workspace = by_tenant.get(call.tenant.as_str())?;
            let (user, method, path, body) = match route {
                Route::List => (
                    MANAGER,
                    "GET",
                    format!("/v1/calls?team_id={}", workspace.team),
                    None,
                ),
                Route::Call => (MANAGER, "GET", format!("/v1/calls/{}", call.call), None),
                Route::Analysis => (
                    MANAGER,
                    "GET",
                    format!("/v1/calls/{}/analysis", call.call),
                    None,
                ),
                Route::Transcript => (
                    MANAGER,
                    "GET",
                    format!("/v1/calls/{}/transcript", call.call),
                    None,
                ),
                Route::Create => (
                    REP,
                    "POST",
                    "/v1/calls".to_owned(),
                    Some(create_body(&workspace.team, 4_096)),
                ),
            };
            Some(Planned {
                route,
                tenant: call.tenant.clone(),
                user,
                method,
                path,
                body,
            })
        })
        .collect();

    let answered: Vec<(u64, Answered)> =
        futures::stream::iter(planned.into_iter().enumerate().map(|(n, request)| {
            let (api, setup) = (Arc::clone(&api), Arc::clone(setup));
            let n = n as u64;
            async move {
                let started = Instant::now();
                let status = tagged(
                    n,
                    send(
                        &api,
                        &setup,
                        &request.tenant,
                        request.user,
                        request.method,
                        &request.path,
                        request.body,
                    ),
                )
                .await;
                let ok = match request.route {
                    Route::Create => status == 201,
                    _ => status == 200,
                };
                let took = started.elapsed();
                (
                    n,
                    Answered {
                        route: request.route,
                        ok,
                        took,
                        started,
                    },
                )
            }
        }))
        .buffer_unordered(plan.concurrency.max(1))
        .collect()
        .await;

    report.api_aws_requests = log.requests().len();
    report.api_aws_failed_attempts = log.failed_attempts();
    report.untagged = log.requests().iter().filter(|r| r.work.is_none()).count();
    if report.untagged > 0 {
        report.problems.push(format!(
            "{} AWS requests were made outside any API request's task",
            report.untagged
        ));
    }
    report.routes = route_figures(&answered, &log);
    Ok(())
}

/// Sends one request to the measured `api` through `setup`'s tenancy check; its status.
async fn send(
    api: &Arc<api::Api<api::DeployedPorts>>,
    setup: &Frontend,
    tenant: &TenantId,
    user: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> u16 {
    setup
        .send_through(api, tenant, user, method, path, body)
        .await
        .0
}

fn route_figures(answered: &[(u64, Answered)], log: &RequestLog) -> Vec<RouteFigures> {
    let mut by_work: BTreeMap<u64, Vec<SentRequest>> = BTreeMap::new();
    for request in log.requests() {
        if let Some(work) = request.work {
            by_work.entry(work).or_default().push(request);
        }
    }
    let mut by_route: BTreeMap<Route, Vec<(&Answered, &[SentRequest])>> = BTreeMap::new();
    for (n, answer) in answered {
        let sent = by_work.get(n).map_or(&[][..], Vec::as_slice);
        by_route
            .entry(answer.route)
            .or_default()
            .push((answer, sent));
    }
    by_route
        .into_iter()
        .map(|(route, requests)| {
            let mut millis: Vec<f64> = requests
                .iter()
                .map(|(a, _)| a.took.as_secs_f64() * 1000.0)
                .collect();
            let dynamodb: Vec<(bool, Vec<SentRequest>)> = requests
                .iter()
                .map(|(_, sent)| {
                    let refilled = sent.iter().any(|r| r.operation.starts_with("kms."));
                    let dynamodb = sent
                        .iter()
                        .filter(|r| r.operation.starts_with("dynamodb."))
                        .cloned()
                        .collect();
                    (refilled, dynamodb)
                })
                .collect();
            let trips_of = |refilled: bool| {
                dynamodb
                    .iter()
                    .filter(|(r, _)| *r == refilled)
                    .map(|(_, sent)| round_trips(sent))
                    .max()
                    .unwrap_or(0)
            };
            let total: f64 = requests.iter().map(|(a, _)| a.took.as_secs_f64()).sum();
            let waiting: f64 = requests
                .iter()
                .map(|(a, sent)| time_waiting(a.started, sent).as_secs_f64())
                .sum();
            RouteFigures {
                route,
                requests: requests.len(),
                failed: requests.iter().filter(|(a, _)| !a.ok).count(),
                p50_ms: percentile(&mut millis, 50.0),
                p95_ms: percentile(&mut millis, 95.0),
                p99_ms: percentile(&mut millis, 99.0),
                dynamodb_mean: dynamodb.iter().map(|(_, d)| d.len()).sum::<usize>() as f64
                    / requests.len().max(1) as f64,
                dynamodb_max: dynamodb.iter().map(|(_, d)| d.len()).max().unwrap_or(0),
                round_trips_max: trips_of(false),
                key_refills: dynamodb.iter().filter(|(r, _)| *r).count(),
                round_trips_max_refilling: trips_of(true),
                aws_share: if total > 0.0 { waiting / total } else { 0.0 },
                longest_chain: dynamodb
                    .iter()
                    .filter(|(refilled, _)| !refilled)
                    .map(|(_, sent)| sent)
                    .max_by_key(|sent| round_trips(sent))
                    .map(|sent| {
                        let mut sent = sent.clone();
                        sent.sort_by_key(|r| r.sent);
                        sent.into_iter().map(|r| r.operation).collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// How long a request had at least one AWS request in flight: the union of their spans.
fn time_waiting(started: Instant, sent: &[SentRequest]) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = sent
        .iter()
        .map(|r| (r.sent.max(started), r.answered.max(started)))
        .collect();
    spans.sort();
    let mut waited = Duration::ZERO;
    let mut covered_to = started;
    for (from, to) in spans {
        let from = from.max(covered_to);
        if to > from {
            waited += to - from;
            covered_to = to;
        }
    }
    waited
}

/// The nearest-rank percentile of `values` (sorted in place); 0 when there are none.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut values, 50.0), 50.0);
        assert_eq!(percentile(&mut values, 99.0), 99.0);
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&mut [], 99.0), 0.0);
    }

    #[test]
    fn waiting_counts_overlapping_requests_once() {
        let t = Instant::now();
        let at = |from: u64, to: u64| SentRequest {
            operation: "dynamodb.GetItem".into(),
            sent: t + Duration::from_millis(from),
            answered: t + Duration::from_millis(to),
            sent_bytes: 0,
            received_bytes: 0,
            work: Some(0),
        };
        let waited = time_waiting(t, &[at(0, 10), at(5, 12), at(20, 25)]);
        assert_eq!(waited, Duration::from_millis(17));
    }

    #[test]
    fn the_mix_draws_every_route_near_its_share() {
        let mut draws = Draws(7);
        let mut counts: BTreeMap<Route, usize> = BTreeMap::new();
        for _ in 0..10_000 {
            *counts.entry(Route::draw(&mut draws)).or_default() += 1;
        }
        for (route, share) in MIX {
            let drawn = counts.get(&route).copied().unwrap_or(0) as f64 / 10_000.0;
            assert!((drawn - share).abs() < 0.02, "{route:?}: {drawn}");
        }
    }
}
