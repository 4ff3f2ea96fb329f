//! `events/deepgram-callback.json` deserializes and is handled: with the job it was made for it
//! stores the transcript and queues scoring; for a call with no such job it is refused.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use callcoach_shared::domain::call::{CallStatus, CallType};
use callcoach_shared::domain::transcription::{
    CallbackSecret, TranscriptionJob, TranscriptionService,
};
use callcoach_shared::fakes::kit::lambda::context_with;
use callcoach_shared::fakes::{InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher};
use callcoach_shared::ids::{CallId, TeamId, TenantId, UserId};
use callcoach_shared::ports::CallRepository;
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::calls::{NewCall, create_call};
use lambda_runtime::{Context, LambdaEvent};
use transcription_callback::{Deps, handle};

const SAMPLE: &str = include_str!("../../../events/deepgram-callback.json");
const SAMPLE_SECRET: &str = "sample-callback-secret-not-for-production";
const SAMPLE_REQUEST_ID: &str = "5d6e1f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6";

fn deps() -> Deps<
    InMemoryStore,
    InMemoryBlobStore,
    impl callcoach_shared::crypto::Envelope,
    InMemoryQueue,
    SystemClock,
> {
    Deps {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        envelope: fake_cipher(SystemClock),
        scoring_queue: InMemoryQueue::default(),
        clock: SystemClock,
    }
}

/// Seeds the call the sample names, waiting for Deepgram with the given secret.
async fn seed_waiting_call(store: &InMemoryStore, secret: &str) {
    let tenant = TenantId::parse("demo-tenant").unwrap();
    let team: TeamId = callcoach_shared::ports::IdGenerator::mint(&RandomIds);
    let new = NewCall {
        team_id: team,
        rep_id: UserId::parse("demo-rep").unwrap(),
        call_type: CallType::Discovery,
        details: Default::default(),
    };
    let scratch = InMemoryStore::default();
    let mut call = create_call(&scratch, &SystemClock, &RandomIds, &tenant, new)
        .await
        .unwrap();
    call.call_id = CallId::parse("call_0123456789abcdef0123456789abcdef").unwrap();
    call.status = CallStatus::Transcribing;
    let mut job = TranscriptionJob::new(
        TranscriptionService::Deepgram,
        Some(&CallbackSecret::from_value(secret)),
        time::OffsetDateTime::now_utc(),
    );
    job.job_id = Some(SAMPLE_REQUEST_ID.into());
    call.transcription = Some(job);
    store.create_call(&call).await.unwrap();
}

fn invoke_sample() -> LambdaEvent<ApiGatewayV2httpRequest> {
    LambdaEvent::new(serde_json::from_str(SAMPLE).unwrap(), Context::default())
}

#[tokio::test]
async fn the_sample_callback_is_accepted_for_its_job() {
    let deps = deps();
    seed_waiting_call(&deps.store, SAMPLE_SECRET).await;
    let response = handle(&deps, invoke_sample()).await.unwrap();
    assert_eq!(response.status_code, 200);
    assert_eq!(deps.scoring_queue.messages().len(), 1);
}

#[tokio::test]
async fn the_sample_callback_is_refused_when_the_secret_is_not_the_jobs() {
    let deps = deps();
    seed_waiting_call(&deps.store, "a-different-secret").await;
    let response = handle(&deps, invoke_sample()).await.unwrap();
    assert_eq!(response.status_code, 401);
    assert!(deps.scoring_queue.messages().is_empty());
}

const TRANSCRIBE_EVENT: &str = include_str!("../../../events/transcribe-job-state-change.json");
const SWEEP_EVENT: &str = include_str!("../../../events/transcription-sweep.json");

/// `events/transcribe-job-state-change.json` finishes the job it names: the output in the
/// bucket becomes the call's transcript and one scoring job; the sweep sample then finds
/// nothing left to do.
#[tokio::test]
async fn the_transcribe_samples_are_handled() {
    use callcoach_shared::fakes::{FakeTranscribeJobs, transcribe_output};
    use callcoach_shared::ports::BlobStore;
    use callcoach_shared::usecases::transcribe::{JobState, output_key};
    use transcription_callback::{TranscribeDeps, handle_event};

    let deps = deps();
    seed_waiting_call(&deps.store, SAMPLE_SECRET).await;
    let event: serde_json::Value = serde_json::from_str(TRANSCRIBE_EVENT).unwrap();
    let job = event["detail"]["TranscriptionJobName"].as_str().unwrap();
    let tenant = TenantId::parse("demo-tenant").unwrap();
    let call_id = CallId::parse("call_0123456789abcdef0123456789abcdef").unwrap();
    let mut call = deps
        .store
        .get_call(&tenant, &call_id)
        .await
        .unwrap()
        .unwrap();
    let mut pending = TranscriptionJob::new(
        TranscriptionService::AmazonTranscribe,
        None,
        time::OffsetDateTime::now_utc(),
    );
    pending.job_id = Some(job.to_owned());
    call.transcription = Some(pending);
    deps.store.save_call(&mut call).await.unwrap();
    let turns = [
        (0, 0.0, 2.0, "What is your budget?"),
        (1, 2.5, 4.0, "It is frozen."),
    ];
    let output = serde_json::to_vec(&transcribe_output(job, &turns)).unwrap();
    let key = output_key(job).unwrap();
    deps.blobs
        .put(&key, output, "application/json")
        .await
        .unwrap();
    let transcribe = TranscribeDeps {
        jobs: FakeTranscribeJobs::default(),
        delete_output: true,
        deadlines: Default::default(),
    };
    transcribe.jobs.set(job, JobState::Completed);

    let answer = handle_event(
        &deps,
        &transcribe,
        LambdaEvent::new(event, Context::default()),
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
    let stored = deps
        .store
        .get_call(&tenant, &call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CallStatus::Transcribed);
    assert_eq!(deps.scoring_queue.messages().len(), 1);
    assert!(
        deps.blobs.get(&key).await.unwrap().is_none(),
        "raw output deleted"
    );

    let sweep: serde_json::Value = serde_json::from_str(SWEEP_EVENT).unwrap();
    let context = context_with(std::time::Duration::from_secs(60));
    let report = handle_event(&deps, &transcribe, LambdaEvent::new(sweep, context))
        .await
        .unwrap();
    assert_eq!(
        (report["seen"].as_u64(), report["transcribed"].as_u64()),
        (Some(0), Some(0)),
        "the job was deleted once taken in, so the sweep meets it no more"
    );
    assert_eq!(deps.scoring_queue.messages().len(), 1, "nothing twice");
}

/// The entry the deployed binary runs tells the two kinds of event apart: the Deepgram sample
/// gets an HTTP answer, a Transcribe job event the finisher's outcome.
#[tokio::test]
async fn the_entry_routes_http_requests_and_eventbridge_events() {
    use callcoach_shared::fakes::FakeTranscribeJobs;
    use transcription_callback::{TranscribeDeps, handle_any};

    let deps = deps();
    seed_waiting_call(&deps.store, SAMPLE_SECRET).await;
    let transcribe = TranscribeDeps {
        jobs: FakeTranscribeJobs::default(),
        delete_output: true,
        deadlines: Default::default(),
    };
    let http: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    let answer = handle_any(
        &deps,
        &transcribe,
        LambdaEvent::new(http, Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let job_event: serde_json::Value = serde_json::from_str(TRANSCRIBE_EVENT).unwrap();
    let answer = handle_any(
        &deps,
        &transcribe,
        LambdaEvent::new(job_event, Context::default()),
    )
    .await
    .unwrap();
    assert!(
        answer["outcome"].as_str().unwrap().starts_with("Ignored"),
        "the call waits for Deepgram, not for this job: {answer}"
    );
    let unknown = serde_json::json!({"detail-type": "Something Else", "detail": {}});
    assert!(
        handle_any(
            &deps,
            &transcribe,
            LambdaEvent::new(unknown, Context::default())
        )
        .await
        .is_err()
    );
}

/// The sweep schedule also fails calls whose transcript never came (either provider), once.
#[tokio::test]
async fn the_sweep_fails_a_call_whose_transcript_never_came() {
    use callcoach_shared::domain::org::Tenant;

    use callcoach_shared::fakes::FakeTranscribeJobs;
    use callcoach_shared::ports::TenantRepository;
    use callcoach_shared::usecases::transcribed::TranscriptSink;
    use transcription_callback::{TranscribeDeps, handle_event};

    let deps = deps();
    let tenant = TenantId::parse("demo-tenant").unwrap();
    deps.store
        .create_tenant(&Tenant::active(
            tenant.clone(),
            "Demo",
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
    let new = NewCall {
        team_id: callcoach_shared::ports::IdGenerator::mint(&RandomIds),
        rep_id: UserId::parse("demo-rep").unwrap(),
        call_type: CallType::Discovery,
        details: Default::default(),
    };
    let mut call = create_call(&deps.store, &SystemClock, &RandomIds, &tenant, new)
        .await
        .unwrap();
    let sink = TranscriptSink {
        store: &deps.store,
        blobs: &deps.blobs,
        envelope: &deps.envelope,
        queue: &deps.scoring_queue,
        clock: &deps.clock,
    };
    sink.move_call(&mut call, CallStatus::Uploaded)
        .await
        .unwrap();
    sink.move_call(&mut call, CallStatus::Transcribing)
        .await
        .unwrap();

    // A zero deadline makes the call overdue at once.
    let transcribe = TranscribeDeps {
        jobs: FakeTranscribeJobs::default(),
        delete_output: true,
        deadlines: callcoach_shared::usecases::waiting::Deadlines {
            transcription: time::Duration::ZERO,
            ..Default::default()
        },
    };
    let sweep = || serde_json::from_str::<serde_json::Value>(SWEEP_EVENT).unwrap();
    let report = handle_event(
        &deps,
        &transcribe,
        LambdaEvent::new(sweep(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(report["overdue"]["failed"], 1, "{report}");
    let stored = deps
        .store
        .get_call(&tenant, &call.call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CallStatus::Failed);
    let again = handle_event(
        &deps,
        &transcribe,
        LambdaEvent::new(sweep(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(again["overdue"]["seen"], 0, "{again}");
}

#[test]
fn the_deadlines_of_the_waiting_states_are_bounded() {
    use transcription_callback::deadlines;
    let with = |name: &'static str, value: &'static str| {
        move |asked: &str| (asked == name).then(|| value.to_owned())
    };
    let hours = time::Duration::hours;
    let defaults = deadlines(&|_| None).unwrap();
    assert_eq!(
        (defaults.upload, defaults.transcription, defaults.scoring),
        (hours(1), hours(6), hours(3))
    );
    assert_eq!(
        deadlines(&with("TRANSCRIPTION_DEADLINE_HOURS", "24"))
            .unwrap()
            .transcription,
        hours(24)
    );
    for (name, bad) in [
        ("TRANSCRIPTION_DEADLINE_HOURS", "0"),
        ("TRANSCRIPTION_DEADLINE_HOURS", "73"),
        ("TRANSCRIPTION_DEADLINE_HOURS", "six"),
        ("UPLOAD_DEADLINE_HOURS", "0"),
        ("UPLOAD_DEADLINE_HOURS", "25"),
        // Under the 2.5 hours the scoring queue takes to give up.
        ("SCORING_DEADLINE_HOURS", "2"),
        ("SCORING_DEADLINE_HOURS", "49"),
    ] {
        assert!(deadlines(&with(name, bad)).is_err(), "{name}={bad}");
    }
}
