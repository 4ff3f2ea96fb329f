//! What one call costs in AWS requests, counted: a one-hour call (9,000 words) goes from
//! `POST /v1/calls` to its scored analysis read once, through the real function handlers over
//! the local AWS stand-in, on each of the three ways in (a transcript upload, a Deepgram
//! recording, an Amazon Transcribe recording). Every function's SDK clients go through a
//! counting HTTP client (`callcoach_tests::counting`), one log per function, so the table says
//! which function made which request.
//!
//! Each path takes two calls in the same warm processes and counts the second: the first
//! unwraps the workspace's data keys and opens connections, as the first call after a cold
//! start does. The bounds below are the counts measured when they were written: a change that
//! adds a request per call fails here and has to say why (and update the README's table). Each
//! test writes its counts and handler times to `target/requests-per-call/{path}.json`, which
//! `infra/cost_per_call.py` turns into the README's request and cost tables.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use api::DeployedPorts;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client as SqsClient;
use axum::http::StatusCode;
use callcoach_local_router::{SqsEventSource, apigw, gateway};
use callcoach_shared::aws::transcribe::TranscribeService;
use callcoach_shared::aws::{AwsAdapters, AwsEnvelope, DynamoTable, S3BlobStore, SqsQueue};
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::fakes::kit::lambda::sqs_event;
use callcoach_shared::fakes::kit::media::wav_recording;
use callcoach_shared::fakes::transcribe_output;
use callcoach_shared::ids::{CallId, TenantId, UserId};
use callcoach_shared::ports::{BlobStore, CallRepository, Clock};
use callcoach_shared::providers::deepgram::{DeepgramConfig, DeepgramTranscriber};
use callcoach_shared::providers::http::{ApiSecret, RetryPolicy};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::score::DeterministicCoach;
use callcoach_shared::usecases::transcribe::{JobState, TranscribeJobs, output_key};
use callcoach_shared::usecases::waiting::Deadlines;
use callcoach_tests::counting::{RequestLog, counted};
use callcoach_tests::fake_deepgram::FakeDeepgram;
use callcoach_tests::{LocalAws, fresh_tenant, lambda_context, notification_for, own_queue};
use http_body_util::BodyExt;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use tower::ServiceExt;
use transcription_callback::{TranscribeDeps, handle_event};

const ADMIN: &str = "ada";
const MANAGER: &str = "maria";
const REP: &str = "alex";
const DEEPGRAM_KEY: &str = "dg-cost-key";

/// What rep and customer say in turn, 15 words a line.
const LINES: [&str; 6] = [
    "Thanks for the time today, can you walk me through how onboarding works now?",
    "Right now it takes about three months and our managers review every call by hand.",
    "What happens to the pipeline while new reps are still learning the product and process?",
    "Honestly we lose deals, and the budget for new tools is tight until next quarter.",
    "If we cut ramp time to six weeks, what would that be worth to your team?",
    "A lot, send me a proposal and we can review it with finance next Thursday.",
];

/// An hour of talk: 600 turns of 15 words, rep (0) and customer (1) in turn, 6 s each.
fn an_hour_of_talk() -> Vec<(u32, f64, f64, String)> {
    (0..600u32)
        .map(|i| {
            let start = f64::from(i) * 6.0;
            let line = LINES[i as usize % LINES.len()];
            (i % 2, start, start + 5.5, line.to_owned())
        })
        .collect()
}

fn borrowed(talk: &[(u32, f64, f64, String)]) -> Vec<(u32, f64, f64, &str)> {
    talk.iter()
        .map(|(speaker, start, end, text)| (*speaker, *start, *end, text.as_str()))
        .collect()
}

/// The hour as a WebVTT transcript with voice tags.
fn an_hour_of_vtt() -> Vec<u8> {
    let stamp = |seconds: f64| {
        let ms = (seconds * 1000.0).round() as u64;
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    let mut vtt = String::from("WEBVTT\n\n");
    for (speaker, start, end, text) in an_hour_of_talk() {
        let who = if speaker == 0 { "Dana" } else { "Sam" };
        vtt.push_str(&format!(
            "{} --> {}\n<v {who}>{text}\n\n",
            stamp(start),
            stamp(end)
        ));
    }
    vtt.into_bytes()
}

/// One function's process: its SDK config with a counting HTTP client, its adapters, its log.
struct Process {
    sdk: SdkConfig,
    adapters: AwsAdapters,
    log: RequestLog,
}

impl Process {
    fn new(aws: &LocalAws) -> Self {
        let (sdk, log) = counted(&aws.sdk);
        let adapters = AwsAdapters::new(&sdk, &aws.resources);
        Self { sdk, adapters, log }
    }

    fn queue(&self, url: &str) -> SqsQueue {
        SqsQueue::new(SqsClient::new(&self.sdk), url)
    }
}

type Worker = scoring_worker::Deps<
    DynamoTable,
    S3BlobStore,
    AwsEnvelope,
    SystemClock,
    RandomIds,
    DeterministicCoach,
>;

/// The functions every path goes through (the api, the scoring worker), a workspace with a
/// team, and the requests made by others than our functions for the call at hand.
struct Rig {
    aws: LocalAws,
    plain_sqs: SqsClient,
    upload_events: String,
    scoring_url: String,
    tenant: TenantId,
    team: String,
    api: Process,
    frontend: Arc<api::Api<DeployedPorts>>,
    worker: Process,
    worker_deps: Worker,
    jobs: SqsEventSource,
    /// Requests not made by our functions' SDK clients (the client's upload, a provider's
    /// fetch), named by who makes them.
    others: BTreeMap<String, usize>,
    /// Milliseconds each function spent on the counted call.
    handler_ms: std::sync::Mutex<BTreeMap<&'static str, f64>>,
    /// The counting logs of the functions the path goes through, by function.
    logs: Vec<(&'static str, RequestLog)>,
    /// The warm-up call's requests, by function and operation.
    first_call: BTreeMap<&'static str, BTreeMap<String, usize>>,
}

impl Rig {
    async fn new(name: &str) -> Self {
        let aws = LocalAws::connect().await;
        let plain_sqs = SqsClient::new(&aws.sdk);
        let upload_events = std::env::var("UPLOAD_EVENTS_QUEUE_URL").expect("provisioned");
        let scoring_url = own_queue(&plain_sqs, &format!("cost-{name}"), &[]).await;
        let jobs_url = own_queue(&plain_sqs, &format!("cost-{name}-exports"), &[]).await;
        let api = Process::new(&aws);
        let ports = DeployedPorts::over_aws(
            &api.sdk,
            api.adapters.clone(),
            &aws.resources,
            &scoring_url,
            &jobs_url,
        );
        let frontend = Arc::new(api::Api {
            ports,
            settings: api::Settings::default(),
        });
        let worker = Process::new(&aws);
        let worker_deps = scoring_worker::Deps {
            store: worker.adapters.table.clone(),
            blobs: worker.adapters.blobs.clone(),
            envelope: worker.adapters.envelope(&aws.resources),
            clock: SystemClock,
            ids: RandomIds,
            coach: DeterministicCoach,
            max_receive_count: 5,
            quotas: Default::default(),
        };
        let jobs = SqsEventSource::new(plain_sqs.clone(), &scoring_url, Duration::from_secs(60))
            .await
            .unwrap();
        let tenant = fresh_tenant();
        callcoach_shared::usecases::workspace::provision(
            &aws.adapters.table,
            &tenant,
            &UserId::parse(ADMIN).unwrap(),
            SystemClock.now(),
            callcoach_shared::usecases::workspace::Provisioner::Operator,
        )
        .await
        .unwrap();
        let mut rig = Self {
            aws,
            plain_sqs,
            upload_events,
            scoring_url,
            tenant,
            team: String::new(),
            api,
            frontend,
            worker,
            worker_deps,
            jobs,
            others: BTreeMap::new(),
            handler_ms: Default::default(),
            logs: Vec::new(),
            first_call: BTreeMap::new(),
        };
        let (api_log, worker_log) = (rig.api.log.clone(), rig.worker.log.clone());
        rig.logs.push(("api", api_log));
        rig.logs.push(("scoring-worker", worker_log));
        let (status, team) = rig
            .send(
                ADMIN,
                "POST",
                "/v1/teams",
                Some(json!({"name": "Renewals", "owner_id": MANAGER})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        rig.team = team["team_id"].as_str().unwrap().to_owned();
        // The workspace's setup is not the call's.
        let path = format!("/v1/teams/{}/members/{REP}", rig.team);
        let (status, _) = rig
            .send(MANAGER, "PUT", &path, Some(json!({"role": "rep"})))
            .await;
        assert_eq!(status, StatusCode::OK);
        for (_, log) in &rig.logs {
            log.clear();
        }
        rig
    }

    async fn send(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = apigw::request(
            method,
            path,
            Some(apigw::claims(self.tenant.as_str(), user)),
            body.map(|b| b.to_string()),
        );
        let response = api::router(Arc::clone(&self.frontend))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Times `work` as the function `name`'s share of the call.
    async fn timed<T>(&self, name: &'static str, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = work.await;
        self.spent(name, started.elapsed().as_secs_f64() * 1000.0);
        out
    }

    fn spent(&self, name: &'static str, ms: f64) {
        *self.handler_ms.lock().unwrap().entry(name).or_default() += ms;
    }

    fn by_others(&mut self, who: &str) {
        *self.others.entry(who.to_owned()).or_default() += 1;
    }

    /// The rep creates the call through the API and uploads `body` to the link it answers.
    async fn create_and_upload(&mut self, file: &str, content_type: &str, body: &[u8]) -> CallId {
        let request = json!({
            "team_id": self.team, "title": "Renewal review", "call_type": "discovery",
            "company_domain": "initech.example", "file_name": file,
            "content_type": content_type, "content_length": body.len(),
        });
        let (status, created) = self
            .timed("api", async {
                self.send(REP, "POST", "/v1/calls", Some(request)).await
            })
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let upload = &created["upload"];
        let mut put = reqwest::Client::new()
            .put(upload["url"].as_str().unwrap())
            .body(body.to_vec());
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        assert!(put.send().await.unwrap().status().is_success());
        self.by_others("client: s3.PutObject (the presigned upload)");
        CallId::parse(created["call"]["call_id"].as_str().unwrap()).unwrap()
    }

    /// S3's notification of the upload, through the upload trigger `deps`.
    async fn trigger(&mut self, deps: &impl upload_trigger::UploadPorts, call: &CallId) {
        let body = notification_for(&self.plain_sqs, &self.upload_events, call.as_str()).await;
        let event = LambdaEvent::new(sqs_event(&body, call.as_str()), lambda_context());
        let answer = self
            .timed("upload-trigger", upload_trigger::handle(deps, event))
            .await
            .unwrap();
        assert!(answer.batch_item_failures.is_empty());
    }

    /// The scoring worker takes the call's job; the manager reads the analysis once.
    async fn score_and_read(&mut self, call: &CallId) {
        let started = Instant::now();
        let mut scored = 0;
        while scored == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no scoring job"
            );
            let deps = &self.worker_deps;
            let report = self
                .jobs
                .poll_once(Duration::from_secs(1), async |event| {
                    let started = Instant::now();
                    let answer = scoring_worker::handle(deps, event).await;
                    WORKER_MS.with(|ms| ms.set(started.elapsed().as_secs_f64() * 1000.0));
                    answer
                })
                .await
                .unwrap();
            scored = report.succeeded;
        }
        let worker_ms = WORKER_MS.with(std::cell::Cell::get);
        self.spent("scoring-worker", worker_ms);
        let path = format!("/v1/calls/{call}/analysis");
        let (status, analysis) = self
            .timed("api", async {
                self.send(MANAGER, "GET", &path, None).await
            })
            .await;
        assert_eq!(status, StatusCode::OK, "{analysis}");
        assert!(analysis["overall_score"].as_u64().is_some());
    }

    /// Counts `process`'s requests as the function `name`'s.
    fn watch(&mut self, name: &'static str, process: &Process) {
        self.logs.push((name, process.log.clone()));
    }

    /// Each watched function's requests so far, by operation.
    fn tally(&self) -> BTreeMap<&'static str, BTreeMap<String, usize>> {
        let mut requests: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
        for (name, log) in &self.logs {
            for operation in log.operations() {
                *requests
                    .entry(name)
                    .or_default()
                    .entry(operation)
                    .or_default() += 1;
            }
        }
        requests
    }

    /// Each watched function's DynamoDB requests so far, one `[operation, bytes sent, bytes
    /// received]` each: what the cost script counts capacity units from.
    fn dynamodb_bytes(&self) -> BTreeMap<&'static str, Vec<(String, usize, usize)>> {
        let mut sizes: BTreeMap<&str, Vec<(String, usize, usize)>> = BTreeMap::new();
        for (name, log) in &self.logs {
            for request in log.requests() {
                if request.operation.starts_with("dynamodb.") {
                    sizes.entry(name).or_default().push((
                        request.operation,
                        request.sent_bytes,
                        request.received_bytes,
                    ));
                }
            }
        }
        sizes
    }

    /// Keeps the warm-up call's requests (as the first call of a cold process makes them)
    /// and starts a fresh count for the counted call.
    fn start_counting(&mut self) {
        self.first_call = self.tally();
        for (_, log) in &self.logs {
            log.clear();
        }
        self.others.clear();
        self.handler_ms.lock().unwrap().clear();
    }

    /// The counted call's requests by function and operation, written for the cost script,
    /// with the handler times; the total per function.
    fn report(&self, path: &str) -> BTreeMap<String, usize> {
        let requests = self.tally();
        let totals = requests
            .iter()
            .map(|(name, ops)| ((*name).to_owned(), ops.values().sum()))
            .collect();
        let report = json!({
            "path": path,
            "words": 9000,
            "minutes": 60,
            "requests": requests,
            "first_call_requests": self.first_call,
            "dynamodb_bytes": self.dynamodb_bytes(),
            "by_others": self.others,
            "handler_ms": *self.handler_ms.lock().unwrap(),
        });
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/requests-per-call");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{path}.json")),
            serde_json::to_vec_pretty(&report).unwrap(),
        )
        .unwrap();
        println!("{}", serde_json::to_string_pretty(&report).unwrap());
        totals
    }
}

thread_local! {
    /// The scoring worker's time on the batch of the last poll.
    static WORKER_MS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Asserts each function's request count for one call stays within its bound.
fn assert_within(path: &str, totals: &BTreeMap<String, usize>, bounds: &[(&str, usize)]) {
    for (function, bound) in bounds {
        let made = totals.get(*function).copied().unwrap_or(0);
        assert!(
            made <= *bound,
            "{path}: {function} made {made} AWS requests for one call, the bound is {bound}: \
             say why in the README's table and raise the bound"
        );
    }
    let named: Vec<&str> = bounds.iter().map(|(f, _)| *f).collect();
    for function in totals.keys() {
        assert!(
            named.contains(&function.as_str()),
            "{path}: {function} has no bound"
        );
    }
}

/// The Deepgram side of a deployment: the upload trigger handing recordings to a local
/// Deepgram, and the transcription callback behind the local gateway, each its own process.
struct DeepgramSide {
    trigger: Process,
    callback: Process,
    deepgram: FakeDeepgram,
    _gateway: tokio::task::JoinHandle<()>,
    deps: DeepgramTrigger,
}

type DeepgramTrigger = upload_trigger::Deps<
    DynamoTable,
    S3BlobStore,
    AwsEnvelope,
    SqsQueue,
    DeepgramTranscriber<S3BlobStore>,
    SystemClock,
>;

/// Microseconds the callback function spent on the callbacks so far.
static CALLBACK_MICROS: AtomicU64 = AtomicU64::new(0);

impl DeepgramSide {
    async fn start(rig: &Rig) -> Self {
        let callback = Process::new(&rig.aws);
        let callback_deps = Arc::new(transcription_callback::Deps {
            store: callback.adapters.table.clone(),
            blobs: callback.adapters.blobs.clone(),
            envelope: callback.adapters.envelope(&rig.aws.resources),
            scoring_queue: callback.queue(&rig.scoring_url),
            clock: SystemClock,
        });
        let (gateway_addr, gateway) = gateway::serve(
            "POST",
            "/callbacks/deepgram/{tenant}/{call}",
            move |request| {
                let deps = Arc::clone(&callback_deps);
                async move {
                    let started = Instant::now();
                    let event = LambdaEvent::new(request, lambda_context());
                    let answer = transcription_callback::handle(&deps, event)
                        .await
                        .expect("the callback answers every request");
                    let spent = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    CALLBACK_MICROS.fetch_add(spent, Ordering::Relaxed);
                    answer
                }
            },
        )
        .await
        .unwrap();
        let deepgram = FakeDeepgram::start(DEEPGRAM_KEY, &borrowed(&an_hour_of_talk())).await;
        let trigger = Process::new(&rig.aws);
        let deps = upload_trigger::Deps {
            store: trigger.adapters.table.clone(),
            blobs: trigger.adapters.blobs.clone(),
            envelope: trigger.adapters.envelope(&rig.aws.resources),
            scoring_queue: trigger.queue(&rig.scoring_url),
            provider: DeepgramTranscriber::new(
                DeepgramConfig {
                    api_url: deepgram.url().parse().unwrap(),
                    api_key: ApiSecret::new(DEEPGRAM_KEY),
                    model: "nova-3".into(),
                    callback_url: format!("http://{gateway_addr}/callbacks/deepgram")
                        .parse()
                        .unwrap(),
                    fetch_window: Duration::from_secs(600),
                    request_timeout: Duration::from_secs(5),
                    retry: RetryPolicy {
                        max_attempts: 3,
                        base_delay: Duration::from_millis(50),
                        max_delay: Duration::from_secs(2),
                    },
                },
                trigger.adapters.blobs.clone(),
            )
            .unwrap(),
            clock: SystemClock,
        };
        Self {
            trigger,
            callback,
            deepgram,
            _gateway: gateway,
            deps,
        }
    }
}

#[tokio::test]
async fn a_transcript_uploads_requests_per_call_stay_within_their_bounds() {
    let mut rig = Rig::new("transcript").await;
    let side = DeepgramSide::start(&rig).await;
    rig.watch("upload-trigger", &side.trigger);
    let vtt = an_hour_of_vtt();
    for counted in [false, true] {
        if counted {
            rig.start_counting();
        }
        let call = rig.create_and_upload("renewal.vtt", "text/vtt", &vtt).await;
        rig.trigger(&side.deps, &call).await;
        rig.score_and_read(&call).await;
    }
    assert!(
        side.deepgram.submissions().is_empty(),
        "a transcript is not transcribed"
    );
    let totals = rig.report("transcript");
    assert_within(
        "transcript",
        &totals,
        &[("api", 12), ("upload-trigger", 13), ("scoring-worker", 14)],
    );
}

#[tokio::test]
async fn a_deepgram_recordings_requests_per_call_stay_within_their_bounds() {
    let mut rig = Rig::new("deepgram").await;
    let side = DeepgramSide::start(&rig).await;
    rig.watch("upload-trigger", &side.trigger);
    rig.watch("transcription-callback", &side.callback);
    let audio = wav_recording(4096);
    for counted in [false, true] {
        if counted {
            rig.start_counting();
            CALLBACK_MICROS.store(0, Ordering::Relaxed);
        }
        let call = rig
            .create_and_upload("renewal.wav", "audio/wav", &audio)
            .await;
        let answered = side.deepgram.callback_statuses().len();
        rig.trigger(&side.deps, &call).await;
        let statuses = side
            .deepgram
            .settled_after(answered, Duration::from_secs(30))
            .await;
        assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
        rig.score_and_read(&call).await;
    }
    rig.by_others("deepgram: s3.GetObject (the presigned fetch of the recording)");
    let callback_ms = CALLBACK_MICROS.load(Ordering::Relaxed) as f64 / 1000.0;
    rig.spent("transcription-callback", callback_ms);
    let totals = rig.report("deepgram");
    assert_within(
        "deepgram",
        &totals,
        &[
            ("api", 12),
            ("upload-trigger", 8),
            ("transcription-callback", 9),
            ("scoring-worker", 15),
        ],
    );
}

/// The EventBridge event of `job`'s completion, as the callback function is invoked with it.
fn job_completed(job: &str) -> LambdaEvent<Value> {
    let event = json!({"version": "0", "id": "e1", "detail-type": "Transcribe Job State Change",
        "source": "aws.transcribe", "account": "123456789012", "time": "2026-12-04T10:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"}});
    LambdaEvent::new(event, lambda_context())
}

#[tokio::test]
async fn an_amazon_transcribe_recordings_requests_per_call_stay_within_their_bounds() {
    let mut rig = Rig::new("transcribe").await;
    let language = "en-US";
    let bucket = rig.aws.resources.bucket_name.clone();
    let trigger = Process::new(&rig.aws);
    let trigger_deps = upload_trigger::Deps {
        store: trigger.adapters.table.clone(),
        blobs: trigger.adapters.blobs.clone(),
        envelope: trigger.adapters.envelope(&rig.aws.resources),
        scoring_queue: trigger.queue(&rig.scoring_url),
        provider: TranscribeService::new(
            aws_sdk_transcribe::Client::new(&trigger.sdk),
            &bucket,
            language,
        ),
        clock: SystemClock,
    };
    let callback = Process::new(&rig.aws);
    let callback_deps = transcription_callback::Deps {
        store: callback.adapters.table.clone(),
        blobs: callback.adapters.blobs.clone(),
        envelope: callback.adapters.envelope(&rig.aws.resources),
        scoring_queue: callback.queue(&rig.scoring_url),
        clock: SystemClock,
    };
    let finisher = TranscribeDeps {
        jobs: TranscribeService::new(
            aws_sdk_transcribe::Client::new(&callback.sdk),
            &bucket,
            language,
        ),
        delete_output: true,
        deadlines: Deadlines::default(),
    };
    // The service's side, uncounted: moto moves a job one state each time it is described
    // and writes no output, so the test writes it where the service would.
    let service = TranscribeService::new(
        aws_sdk_transcribe::Client::new(&rig.aws.sdk),
        &bucket,
        language,
    );
    rig.watch("upload-trigger", &trigger);
    rig.watch("transcription-callback", &callback);
    let talk = an_hour_of_talk();
    let audio = wav_recording(4096);
    for counted in [false, true] {
        if counted {
            rig.start_counting();
        }
        let call = rig
            .create_and_upload("renewal.wav", "audio/wav", &audio)
            .await;
        rig.trigger(&trigger_deps, &call).await;
        let stored = rig.aws.adapters.table.get_call(&rig.tenant, &call).await;
        let stored = stored.unwrap().expect("the call is stored");
        assert_eq!(stored.status, CallStatus::Transcribing);
        let job = stored.transcription.unwrap().job_id.unwrap();
        let output = serde_json::to_vec(&transcribe_output(&job, &borrowed(&talk))).unwrap();
        rig.aws
            .adapters
            .blobs
            .put(&output_key(&job).unwrap(), output, "application/json")
            .await
            .unwrap();
        while service.state(&job).await.unwrap() != JobState::Completed {}
        let answer = rig
            .timed(
                "transcription-callback",
                handle_event(&callback_deps, &finisher, job_completed(&job)),
            )
            .await
            .unwrap();
        assert!(
            answer["outcome"]
                .as_str()
                .unwrap()
                .starts_with("Transcribed"),
            "{answer}"
        );
        rig.score_and_read(&call).await;
    }
    rig.by_others("transcribe: s3.GetObject (the service reads the recording)");
    rig.by_others("transcribe: s3.PutObject (the service writes its output)");
    let totals = rig.report("transcribe");
    assert_within(
        "transcribe",
        &totals,
        &[
            ("api", 12),
            ("upload-trigger", 9),
            ("transcription-callback", 11),
            ("scoring-worker", 15),
        ],
    );
}
