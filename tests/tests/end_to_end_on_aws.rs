//! The whole product on the local stand-in, through the real function handlers: a transcript
//! and a recording enter through the API's presigned uploads and S3's own notifications, the
//! recording goes through a local Deepgram that calls back over HTTP, both are scored by the
//! worker and read through the API; then a workspace export, a call deletion, a reaper run,
//! the workspace's deletion and the reaper's last run, asserting what every store holds after
//! each step: the table (by query), the bucket (every object version), the queues.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client as SqsClient;
use axum::http::StatusCode;
use callcoach_local_router::{SqsEventSource, apigw, gateway};
use callcoach_shared::aws::SqsQueue;
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::domain::receipt::{ReceiptError, verify};
use callcoach_shared::domain::retention::AccountState;
use callcoach_shared::fakes::ManualClock;
use callcoach_shared::fakes::kit::lambda::sqs_event;
use callcoach_shared::fakes::kit::media::wav_recording;
use callcoach_shared::ids::{CallId, TenantId, UserId};
use callcoach_shared::ports::ReceiptSigner;
use callcoach_shared::ports::{CallRepository, Clock, TenantRepository};
use callcoach_shared::providers::deepgram::{DeepgramConfig, DeepgramTranscriber};
use callcoach_shared::providers::http::{ApiSecret, RetryPolicy};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::reaper::Reaper;
use callcoach_shared::usecases::score::DeterministicCoach;
use callcoach_tests::fake_deepgram::{Answer, FakeDeepgram};
use callcoach_tests::{
    LocalAws, capture_all_logs, fresh_tenant, items_text_under, items_under, lambda_context,
    messages_on, notification_for, object_versions_of, objects_text_under, own_queue,
    wrapped_keys_of,
};
use http_body_util::BodyExt;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

const DEEPGRAM_KEY: &str = "dg-e2e-key";
const ADMIN: &str = "ada";
const MANAGER: &str = "maria";
const REP: &str = "alex";
const TRANSCRIPT: &[u8] = include_bytes!("../../events/discovery-call.vtt");

/// What the local Deepgram "hears" in the recording: rep (0) and customer (1).
const HEARD: &[(u32, f64, f64, &str)] = &[
    (
        0,
        0.0,
        4.0,
        "Thanks for making time. What does onboarding look like for new reps today?",
    ),
    (
        1,
        4.5,
        11.0,
        "Slow. It takes three months and honestly the tool is too expensive for us. Write to jordan.lee@initech.example.",
    ),
    (
        0,
        11.5,
        15.0,
        "What would it be worth to cut that to six weeks?",
    ),
    (1, 15.5, 19.0, "A lot. Send me a proposal."),
    (
        0,
        19.5,
        24.0,
        "I will send it today. Can we meet Thursday at two to review it?",
    ),
    (1, 24.5, 26.0, "Thursday at two works."),
];

/// The api function's router, as API Gateway reaches it with verified claims.
struct Frontend {
    api: Arc<api::Api<api::DeployedPorts>>,
    tenant: TenantId,
}

impl Frontend {
    async fn send(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.fetch(user, method, path, body).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    /// The answer's status and body as the client receives them.
    async fn fetch(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Vec<u8>) {
        let request = apigw::request(
            method,
            path,
            Some(apigw::claims(self.tenant.as_str(), user)),
            body.map(|b| b.to_string()),
        );
        let response = api::router(Arc::clone(&self.api))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    /// Creates a call through the API and uploads `body` to the presigned URL it answers.
    async fn upload(
        &self,
        team: &str,
        title: &str,
        file: &str,
        content_type: &str,
        body: &[u8],
    ) -> CallId {
        let (status, created) = self
            .send(
                REP,
                "POST",
                "/v1/calls",
                Some(json!({
                    "team_id": team, "title": title, "call_type": "discovery",
                    "company_domain": "initech.example", "file_name": file,
                    "buyer_persona": "Head of Field Operations",
                    "content_type": content_type, "content_length": body.len(),
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let upload = &created["upload"];
        let mut put = reqwest::Client::new()
            .put(upload["url"].as_str().unwrap())
            .body(body.to_vec());
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let answer = put.send().await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        CallId::parse(created["call"]["call_id"].as_str().unwrap()).unwrap()
    }
}

/// S3's notification of `call`'s upload, through the upload trigger.
async fn deliver_upload(
    trigger: &impl upload_trigger::UploadPorts,
    sqs: &SqsClient,
    upload_events: &str,
    call: &CallId,
) {
    let body = notification_for(sqs, upload_events, call.as_str()).await;
    let answer = upload_trigger::handle(
        trigger,
        LambdaEvent::new(sqs_event(&body, call.as_str()), lambda_context()),
    )
    .await
    .unwrap();
    assert!(answer.batch_item_failures.is_empty());
}

/// Every table partition and index partition that can hold the workspace's data.
/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn partitions(tenant: &TenantId, team: &str, calls: &[&CallId]) -> (Vec<String>, Vec<String>) {
    let mut table = vec![
        format!("T#{tenant}#TEAM#{team}"),
        format!("T#{tenant}#KEYS"),
        format!("T#{tenant}#QUOTA"),
    ];
    for user in [ADMIN, MANAGER, REP] {
        table.push(format!("T#{tenant}#USER#{user}"));
        table.push(format!("T#{tenant}#USAGE#{user}"));
    }
    table.extend(calls.iter().map(|c| format!("T#{tenant}#CALL#{c}")));
    let index = ["calls", "deleted", "recordings", "usage_events"]
        .map(|i| format!("T#{tenant}#AGE#{i}"))
        .to_vec();
    (table, index)
}

#[tokio::test]
async fn a_transcript_and_a_recording_go_through_everything_to_deletion() {
    let logs = capture_all_logs();
    let aws = LocalAws::connect().await;
    let sqs = SqsClient::new(&aws.sdk);
    let upload_events = std::env::var("UPLOAD_EVENTS_QUEUE_URL").expect("provisioned");
    let scoring_url = own_queue(&sqs, "e2e-scoring", &[]).await;
    let export_jobs_url = own_queue(&sqs, "e2e-export-jobs", &[]).await;
    let table = aws.adapters.table.clone();
    let tenant = fresh_tenant();
    let frontend = Frontend {
        api: Arc::new(api::Api {
            ports: api::Adapters {
                envelope: aws.adapters.envelope(&aws.resources),
                store: table.clone(),
                blobs: aws.adapters.blobs.clone(),
                queue: SqsQueue::new(sqs.clone(), &scoring_url),
                jobs: SqsQueue::new(sqs.clone(), &export_jobs_url),
                clock: SystemClock,
                ids: RandomIds,
            },
            // The two-step deletion's grace period is proven in the route suite; here the
            // admin's deletion shreds at once and the next reaper run destroys the rest.
            settings: api::Settings {
                deletion_grace: time::Duration::ZERO,
                ..api::Settings::default()
            },
        }),
        tenant: tenant.clone(),
    };
    callcoach_shared::usecases::workspace::provision(
        &table,
        &tenant,
        &UserId::parse(ADMIN).unwrap(),
        SystemClock.now(),
        callcoach_shared::usecases::workspace::Provisioner::Operator,
    )
    .await
    .unwrap();

    // The transcription callback behind the local gateway, and a local Deepgram.
    let (callback_cipher, _) = aws.cipher(CachePolicy::default());
    let callback = Arc::new(transcription_callback::Deps {
        store: table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: callback_cipher,
        scoring_queue: SqsQueue::new(sqs.clone(), &scoring_url),
        clock: SystemClock,
    });
    let (gateway_addr, _gateway) = gateway::serve(
        "POST",
        "/callbacks/deepgram/{tenant}/{call}",
        move |request| {
            let deps = Arc::clone(&callback);
            async move {
                transcription_callback::handle(&deps, LambdaEvent::new(request, lambda_context()))
                    .await
                    .expect("the callback answers every request")
            }
        },
    )
    .await
    .unwrap();
    let deepgram = FakeDeepgram::start(DEEPGRAM_KEY, HEARD).await;
    let (trigger_cipher, _) = aws.cipher(CachePolicy::default());
    let trigger = upload_trigger::Deps {
        store: table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: trigger_cipher,
        scoring_queue: SqsQueue::new(sqs.clone(), &scoring_url),
        provider: DeepgramTranscriber::new(
            DeepgramConfig {
                api_url: deepgram.url().parse().unwrap(),
                api_key: ApiSecret::new(DEEPGRAM_KEY),
                model: "nova-3".into(),
                callback_url: format!("http://{gateway_addr}/callbacks/deepgram")
                    .parse()
                    .unwrap(),
                fetch_window: Duration::from_secs(600),
                request_timeout: Duration::from_secs(2),
                retry: RetryPolicy {
                    max_attempts: 3,
                    base_delay: Duration::from_millis(50),
                    max_delay: Duration::from_secs(2),
                },
            },
            aws.adapters.blobs.clone(),
        )
        .unwrap(),
        clock: SystemClock,
    };

    // The admin makes the manager's team; the rep uploads a transcript and a recording.
    let (status, team) = frontend
        .send(
            ADMIN,
            "POST",
            "/v1/teams",
            Some(json!({"name": "Initech renewals west", "owner_id": MANAGER})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team = team["team_id"].as_str().unwrap().to_owned();
    let (status, _) = frontend
        .send(
            MANAGER,
            "PUT",
            &format!("/v1/teams/{team}/members/{REP}"),
            Some(json!({"role": "rep"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let written = frontend
        .upload(
            &team,
            "Initech discovery",
            "initech.vtt",
            "text/vtt",
            TRANSCRIPT,
        )
        .await;
    let audio = wav_recording(4096);
    let recorded = frontend
        .upload(
            &team,
            "Initech follow-up",
            "follow-up.wav",
            "audio/wav",
            &audio,
        )
        .await;

    // S3's own notifications, through the upload trigger; the recording to Deepgram and back.
    for call in [&written, &recorded] {
        deliver_upload(&trigger, &sqs, &upload_events, call).await;
    }
    let callbacks = deepgram.settled(10, Duration::from_secs(20)).await;
    assert_eq!(callbacks.last(), Some(&200), "{callbacks:?}");
    assert_eq!(
        deepgram.submissions().len(),
        1,
        "only the recording is transcribed"
    );

    // The scoring worker takes both jobs from the queue.
    let (worker_cipher, _) = aws.cipher(CachePolicy::default());
    let worker = scoring_worker::Deps {
        store: table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: worker_cipher,
        clock: SystemClock,
        ids: RandomIds,
        coach: DeterministicCoach,
        max_receive_count: 5,
        quotas: Default::default(),
    };
    let jobs = SqsEventSource::new(sqs.clone(), &scoring_url, Duration::from_secs(60))
        .await
        .unwrap();
    let mut scored = 0;
    for _ in 0..10 {
        let report = jobs
            .poll_once(Duration::from_secs(1), async |event| {
                scoring_worker::handle(&worker, event).await
            })
            .await
            .unwrap();
        scored += report.succeeded;
        if scored >= 2 {
            break;
        }
    }
    assert_eq!(scored, 2);

    // The manager reads both analyses through the API.
    for (call, questions_at_least) in [(&written, 5), (&recorded, 2)] {
        let (status, analysis) = frontend
            .send(MANAGER, "GET", &format!("/v1/calls/{call}/analysis"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{analysis}");
        let score = analysis["overall_score"].as_u64().unwrap();
        assert!((1..=100).contains(&score));
        assert!(analysis["metrics"]["rep_questions"].as_u64().unwrap() >= questions_at_least);
        assert!(!analysis["highlights"].as_array().unwrap().is_empty());
        assert!(!analysis["suggestions"].as_array().unwrap().is_empty());
    }
    let (_, follow_up) = frontend
        .send(
            MANAGER,
            "GET",
            &format!("/v1/calls/{recorded}/analysis"),
            None,
        )
        .await;
    let kinds: Vec<_> = follow_up["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        kinds.iter().any(|k| k == "objection"),
        "the price objection: {kinds:?}"
    );

    // No personal data in any log line, nor as plaintext in the table or the documents:
    // speakers' names, what they said, an e-mail address the customer spoke, call titles,
    // the customer's domain, the buyer persona, the upload's file name, the team's name.
    let personal = [
        "Alex Morgan",
        "Jordan Lee",
        "call notes by hand",
        "too expensive for us",
        "jordan.lee@initech.example",
        "Initech discovery",
        "Initech follow-up",
        "initech.example",
        "Head of Field Operations",
        "renewals west",
        "initech.vtt",
    ];
    let logged = logs.text();
    assert!(
        logged.contains(tenant.as_str()) && logged.contains("transcript stored; scoring queued"),
        "the capture holds the pipeline's lines"
    );
    let (mut table_partitions, _) = partitions(&tenant, &team, &[&written, &recorded]);
    // The workspace's own partition: its record, teams and playbooks.
    table_partitions.push(format!("T#{tenant}"));
    let stored = items_text_under(&aws, &table_partitions).await;
    let (documents, sealed) = objects_text_under(&aws, &format!("documents/{tenant}/")).await;
    assert!(
        stored.contains("DOC#transcript"),
        "the scan reads the documents' items"
    );
    for text in personal {
        assert!(!logged.contains(text), "{text:?} in the logs");
        assert!(!stored.contains(text), "{text:?} as plaintext in the table");
        assert!(
            !sealed.contains(text),
            "{text:?} in {documents} document objects"
        );
    }

    // The workspace's wrapped data keys are in the keys table only, apart from its data.
    let (beside_data, apart) = wrapped_keys_of(&aws, &tenant).await;
    assert!(beside_data == 0 && apart >= 2, "{beside_data} / {apart}");

    // A workspace export (the admin's) is a background job: 202 and a status resource; the
    // job reaches the api function from its queue, through the function's one entry point;
    // then the status gives a short-lived link to a bundle holding both calls.
    let (status, job) = frontend
        .send(
            ADMIN,
            "POST",
            "/v1/exports",
            Some(json!({"scope": "workspace"})),
        )
        .await;
    assert_eq!(
        (status, &job["state"]),
        (StatusCode::ACCEPTED, &json!("queued")),
        "{job}"
    );
    let status_url = job["status_url"].as_str().unwrap().to_owned();
    let export_jobs = SqsEventSource::new(sqs.clone(), &export_jobs_url, Duration::from_secs(300))
        .await
        .unwrap();
    let mut exported = 0;
    for _ in 0..10 {
        let report = export_jobs
            .poll_once(Duration::from_secs(1), async |event| {
                api::entry::handle_queue_batch(&frontend.api, event).await
            })
            .await
            .unwrap();
        exported += report.succeeded;
        if exported >= 1 {
            break;
        }
    }
    assert_eq!(exported, 1);
    let (status, export) = frontend.send(ADMIN, "GET", &status_url, None).await;
    assert_eq!(
        (status, &export["state"]),
        (StatusCode::OK, &json!("ready")),
        "{export}"
    );
    assert_eq!(export["counts"]["calls"], 2);
    assert_eq!(export["counts"]["analyses"], 2);
    let link = export["download_url"].as_str().unwrap().to_owned();
    let download = reqwest::get(&link).await.unwrap().bytes().await.unwrap();
    let bundle_key = export["bundle_key"].as_str().unwrap();
    let bundle = callcoach_tests::open_export(&download, bundle_key);
    assert_eq!(bundle["schema"], "callcoach.export.v1");
    assert_eq!(
        callcoach_tests::export_schema_errors(&bundle),
        Vec::<String>::new()
    );
    assert_eq!(bundle["calls"].as_array().unwrap().len(), 2);
    // The bundle carries the calls' words; the bucket (and every backup or old version of
    // it) holds them only sealed, under a key the job's record keeps under the tenant's keys.
    let opened = bundle.to_string();
    assert!(opened.contains("too expensive for us") && opened.contains("Jordan Lee"));
    let (bundles, exported) = objects_text_under(&aws, &format!("exports/{tenant}/")).await;
    assert_eq!(bundles, 1);
    for text in personal {
        assert!(
            !exported.contains(text),
            "{text:?} readable in the stored bundle"
        );
    }

    // Its idempotency records (upload, scoring) live with the call, so its cascade takes them.
    let idempotency_records = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .query()
        .table_name(&aws.resources.table_name)
        .key_condition_expression("pk = :pk AND begins_with(sk, :idem)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}#CALL#{written}")),
        )
        .expression_attribute_values(
            ":idem",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEM#".into()),
        )
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(
        idempotency_records, 2,
        "one for the upload, one for the scoring"
    );

    // The rep deletes the transcript call: 404 at once, gone after the reaper's next run.
    let (status, _) = frontend
        .send(REP, "DELETE", &format!("/v1/calls/{written}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = frontend
        .send(MANAGER, "GET", &format!("/v1/calls/{written}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The workspace bundle held the call: it is withdrawn, and its link dies with it.
    let dead = reqwest::get(&link).await.unwrap().status();
    assert_eq!(
        dead,
        reqwest::StatusCode::NOT_FOUND,
        "the link outlived its bundle"
    );
    let (_, export) = frontend.send(ADMIN, "GET", &status_url, None).await;
    assert_eq!(export["state"], "withdrawn", "{export}");
    let now = OffsetDateTime::now_utc();
    let clock = ManualClock::at(now + time::Duration::HOUR);
    let signer = aws.receipt_signer();
    let reaper = Reaper {
        store: &table,
        blobs: &aws.adapters.blobs,
        clock: &clock,
        signer: &signer,
    };
    let scope = [tenant.clone()];
    let report = reaper.run(Some(&scope), false, || true).await.unwrap();
    assert_eq!(report.calls.get("deleted"), Some(&1), "{report:?}");
    // The purge completed the rep's deletion: its receipt is signed, for admins only.
    let (status, receipts) = frontend.send(ADMIN, "GET", "/v1/receipts", None).await;
    assert_eq!(status, StatusCode::OK);
    let call_receipt = &receipts["items"][0]["receipt"];
    assert_eq!(call_receipt["subject"]["kind"], "call", "{receipts}");
    assert_eq!(call_receipt["subject"]["id"], written.as_str());
    assert_eq!(call_receipt["requested_by"], REP);
    // The purge was all of it: what the reaper counted is what the receipt states.
    assert_eq!(
        call_receipt["removed"]["object_versions"].as_u64(),
        Some(report.object_versions),
        "{call_receipt}"
    );
    assert_eq!(
        call_receipt["removed"]["table_items"].as_u64(),
        Some(report.table_items),
        "{call_receipt}"
    );
    for who in [MANAGER, REP] {
        let (status, _) = frontend.send(who, "GET", "/v1/receipts", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} reads no receipt");
    }
    let call_partition = format!("T#{tenant}#CALL#{written}");
    assert_eq!(
        items_under(&aws, &[call_partition], &[]).await,
        0,
        "the deleted call's items"
    );
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    for area in ["uploads", "documents"] {
        let left = s3
            .list_object_versions()
            .bucket(&aws.resources.bucket_name)
            .prefix(format!("{area}/{tenant}/{written}/"))
            .send()
            .await
            .unwrap();
        assert!(
            left.versions().is_empty() && left.delete_markers().is_empty(),
            "{area}"
        );
    }
    let kept = table.get_call(&tenant, &recorded).await.unwrap().unwrap();
    assert_eq!(kept.status, CallStatus::Scored, "the other call stays");
    let (status, _) = frontend
        .send(
            MANAGER,
            "GET",
            &format!("/v1/calls/{recorded}/transcript"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Work in flight when the workspace goes: a transcript uploaded whose notification comes
    // late, and a recording whose Deepgram result comes back late.
    let late_upload = frontend
        .upload(&team, "Late notes", "late.vtt", "text/vtt", TRANSCRIPT)
        .await;
    let late_recording = frontend
        .upload(&team, "Late call", "late.wav", "audio/wav", &audio)
        .await;
    deepgram.answer_next([Answer::AcceptHeld]);
    deliver_upload(&trigger, &sqs, &upload_events, &late_recording).await;
    assert_eq!(
        deepgram.submissions().len(),
        2,
        "the late recording is submitted"
    );

    // The workspace is deleted: 410 at once; the reaper's next run leaves nothing of it.
    let (status, _) = frontend
        .send(MANAGER, "DELETE", "/v1/workspace", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "owning a team is not enough");
    let (status, _) = frontend.send(ADMIN, "DELETE", "/v1/workspace", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = frontend
        .send(MANAGER, "GET", &format!("/v1/calls/{recorded}"), None)
        .await;
    assert_eq!(status, StatusCode::GONE);

    // The late upload and the late result are refused: no key, no document, no analysis.
    deliver_upload(&trigger, &sqs, &upload_events, &late_upload).await;
    let answered = deepgram.callback_statuses().len();
    deepgram.release_callbacks();
    let statuses = deepgram
        .settled_after(answered, Duration::from_secs(20))
        .await;
    assert_eq!(
        statuses.last(),
        Some(&200),
        "answered, so not sent again: {statuses:?}"
    );
    for (call, waiting_in) in [
        (&late_upload, CallStatus::AwaitingUpload),
        (&late_recording, CallStatus::Transcribing),
    ] {
        let untouched = table.get_call(&tenant, call).await.unwrap().unwrap();
        assert_eq!(untouched.status, waiting_in);
        assert_eq!(untouched.transcript_version, 0);
        let documents = s3
            .list_object_versions()
            .bucket(&aws.resources.bucket_name)
            .prefix(format!("documents/{tenant}/{call}/"))
            .send()
            .await
            .unwrap();
        assert!(documents.versions().is_empty(), "no document of {call}");
    }
    assert_eq!(
        wrapped_keys_of(&aws, &tenant).await,
        (0, 0),
        "no data key is made for a deleted workspace"
    );
    assert!(
        messages_on(&sqs, &scoring_url).await.is_empty(),
        "no scoring job, so no analysis"
    );
    let report = reaper.run(Some(&scope), false, || true).await.unwrap();
    assert_eq!(report.accounts_destroyed, 1, "{report:?}");
    // Each deletion left an id-only log line, which a restore from backup replays.
    let logged = logs.text();
    let line_with = |message: &str, id: &str| {
        logged
            .lines()
            .any(|line| line.contains(message) && line.contains(id))
    };
    assert!(line_with("\"call deleted\"", written.as_str()));
    assert!(line_with(
        "workspace deleted: data keys shredded",
        tenant.as_str()
    ));
    assert!(line_with("retention deletion done", written.as_str()));
    let (everything, index) = partitions(
        &tenant,
        &team,
        &[&written, &recorded, &late_upload, &late_recording],
    );
    assert_eq!(
        wrapped_keys_of(&aws, &tenant).await,
        (0, 0),
        "no wrapped key of the workspace in either table"
    );
    assert_eq!(
        items_under(&aws, &everything, &index).await,
        0,
        "no item of the workspace"
    );
    assert_eq!(
        object_versions_of(&aws, &tenant).await,
        0,
        "no upload, document or export version"
    );
    assert_eq!(
        items_under(&aws, &[format!("T#{tenant}")], &[]).await,
        1,
        "only the tombstone"
    );
    let record = table.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(record.state, AccountState::Destroyed);

    // The admin who asked keeps the receipts of a workspace that is gone, and each verifies
    // offline with the signing key's public half; one byte changed, it does not.
    let (status, receipts) = frontend.send(ADMIN, "GET", "/v1/receipts", None).await;
    assert_eq!(status, StatusCode::OK, "{receipts}");
    let items = receipts["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the call's and the workspace's: {receipts}");
    let newest = items
        .iter()
        .map(|r| &r["receipt"])
        .find(|r| r["subject"]["kind"] == "workspace")
        .expect("the workspace's receipt");
    assert_eq!(newest["requested_by"], ADMIN);
    assert!(
        newest["removed"]["data_keys"].as_u64() >= Some(2),
        "{newest}"
    );
    assert!(newest["keys_shredded_at"].is_string());
    let id = newest["receipt_id"].as_str().unwrap();
    let (status, file) = frontend
        .fetch(ADMIN, "GET", &format!("/v1/receipts/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let public_key = signer.public_key().await.unwrap();
    let verified = verify(&file, &public_key).expect("the receipt verifies offline");
    assert_eq!(verified.tenant_id, tenant);
    // One byte: the first digit of the count of data keys.
    let mut altered = file.clone();
    let at = find(&altered, b"\"data_keys\": ").expect("the file names its keys") + 13;
    altered[at] = b'0' + (altered[at] - b'0' + 1) % 10;
    assert!(matches!(
        verify(&altered, &public_key),
        Err(ReceiptError::BadSignature)
    ));
    let (status, _) = frontend.send(MANAGER, "GET", "/v1/receipts", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the others of a destroyed workspace read none"
    );
    assert!(
        messages_on(&sqs, &scoring_url).await.is_empty(),
        "no job left behind"
    );
    sqs.delete_queue()
        .queue_url(&scoring_url)
        .send()
        .await
        .unwrap();
}
