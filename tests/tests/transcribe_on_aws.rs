//! The Amazon Transcribe path against the local stand-in, through the real SDK: the upload
//! trigger starts one batch job with speaker labels and the output in our bucket; the
//! callback function finishes it from the job's EventBridge event, or the sweep finishes it
//! when no event came. Moto plays the Transcribe API (a job advances one state each time it
//! is described) but writes no transcript, so the test puts the job's output where the
//! service would, in the service's documented shape.

use aws_sdk_sqs::Client as SqsClient;
use callcoach_shared::aws::SqsQueue;
use callcoach_shared::aws::transcribe::TranscribeService;
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::call::{Call, CallStatus};
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::fakes::kit::lambda::s3_notification;
use callcoach_shared::fakes::kit::media::wav_recording;
use callcoach_shared::fakes::transcribe_output;
use callcoach_shared::ports::{AgeIndex, BlobStore, DocumentKind, RetentionStore};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::transcribe::{JobState, TranscribeJobs, output_key};
use callcoach_shared::usecases::transcribed::TranscriptSink;
use callcoach_shared::usecases::waiting::{Deadlines, WaitingSweep};
use callcoach_tests::{
    LocalAws, fresh_tenant, lambda_context, messages_on, own_queue, sample_call, take_messages,
};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use transcription_callback::{Deps, TranscribeDeps, handle_event};

const HEARD: &[(u32, f64, f64, &str)] = &[
    (0, 0.0, 3.0, "What made you look at new tools this quarter?"),
    (
        1,
        3.5,
        8.0,
        "Our onboarding is slow and the budget is tight.",
    ),
    (
        0,
        8.5,
        11.0,
        "Can we meet Tuesday at ten with your manager?",
    ),
];

struct Rig {
    aws: LocalAws,
    sqs: SqsClient,
    scoring_url: String,
    service: TranscribeService,
}

impl Rig {
    async fn new() -> Self {
        let aws = LocalAws::connect().await;
        let sqs = SqsClient::new(&aws.sdk);
        let scoring_url = own_queue(&sqs, "transcribe", &[]).await;
        let service = TranscribeService::new(
            aws_sdk_transcribe::Client::new(&aws.sdk),
            &aws.resources.bucket_name,
            "en-US",
        );
        Self {
            aws,
            sqs,
            scoring_url,
            service,
        }
    }

    /// A call whose recording was uploaded and handed to Transcribe (notification twice).
    async fn submitted(&self) -> (Call, String) {
        let call = sample_call(&self.aws, &fresh_tenant(), "alex", &SystemClock).await;
        let key = format!("uploads/{}/{}/call.wav", call.tenant_id, call.call_id);
        let audio = wav_recording(2048);
        self.aws
            .adapters
            .blobs
            .put(&key, audio.clone(), "audio/wav")
            .await
            .unwrap();
        let (cipher, _) = self.aws.cipher(CachePolicy::default());
        let trigger = upload_trigger::Deps {
            store: self.aws.adapters.table.clone(),
            blobs: self.aws.adapters.blobs.clone(),
            envelope: cipher,
            scoring_queue: SqsQueue::new(self.sqs.clone(), &self.scoring_url),
            provider: self.service.clone(),
            clock: SystemClock,
        };
        for id in ["m1", "m2"] {
            let event = s3_notification(&key, audio.len(), id);
            let answer =
                upload_trigger::handle(&trigger, LambdaEvent::new(event, lambda_context()))
                    .await
                    .unwrap();
            assert!(answer.batch_item_failures.is_empty());
        }
        let call = self.aws.stored(&call).await;
        assert_eq!(call.status, CallStatus::Transcribing);
        let job = call.transcription.as_ref().unwrap().job_id.clone().unwrap();
        (call, job)
    }

    /// The job's output, where the service writes it.
    async fn write_output(&self, job: &str) {
        let body = serde_json::to_vec(&transcribe_output(job, HEARD)).unwrap();
        self.aws
            .adapters
            .blobs
            .put(&output_key(job).unwrap(), body, "application/json")
            .await
            .unwrap();
    }

    fn callback(
        &self,
    ) -> (
        Deps<
            callcoach_shared::aws::DynamoTable,
            callcoach_shared::aws::S3BlobStore,
            impl callcoach_shared::crypto::Envelope,
            SqsQueue,
            SystemClock,
        >,
        TranscribeDeps<TranscribeService>,
    ) {
        let (cipher, _) = self.aws.cipher(CachePolicy::default());
        (
            Deps {
                store: self.aws.adapters.table.clone(),
                blobs: self.aws.adapters.blobs.clone(),
                envelope: cipher,
                scoring_queue: SqsQueue::new(self.sqs.clone(), &self.scoring_url),
                clock: SystemClock,
            },
            TranscribeDeps {
                jobs: self.service.clone(),
                delete_output: true,
                deadlines: Deadlines::default(),
            },
        )
    }

    /// The call failed, for a reason that says `why`.
    async fn assert_failed(&self, call: &Call, why: &str) {
        let failed = self.aws.stored(call).await;
        assert_eq!(failed.status, CallStatus::Failed);
        assert!(failed.failure_reason.unwrap().contains(why));
    }

    /// The transcript stored for the call, one scoring job, and no raw output left.
    async fn assert_transcribed(&self, call: &Call, job: &str) {
        let stored = self.aws.stored(call).await;
        assert_eq!(
            (stored.status, stored.transcript_version),
            (CallStatus::Transcribed, 1)
        );
        let (reader, _) = self.aws.cipher(CachePolicy::default());
        let transcript: Transcript = self
            .aws
            .vault(&reader)
            .get(&call.tenant_id, &call.call_id, DocumentKind::Transcript, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(transcript.speakers.len(), 2);
        assert_eq!(transcript.utterances.len(), 3);
        assert!(
            self.aws
                .adapters
                .blobs
                .get(&output_key(job).unwrap())
                .await
                .unwrap()
                .is_none(),
            "the service's raw output is deleted"
        );
        assert_eq!(
            self.service.state(job).await.unwrap(),
            JobState::Deleted,
            "and the job itself, which names the uploaded file"
        );
        assert_eq!(take_messages(&self.sqs, &self.scoring_url).await.len(), 1);
    }
}

/// The EventBridge event of `job`'s completion, as the callback function is invoked with it.
fn job_event(job: &str) -> LambdaEvent<serde_json::Value> {
    let event = json!({"version": "0", "id": "e1", "detail-type": "Transcribe Job State Change",
        "source": "aws.transcribe", "account": "123456789012", "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"}});
    LambdaEvent::new(event, lambda_context())
}

#[tokio::test]
async fn recordings_go_through_amazon_transcribe_by_event_or_by_sweep() {
    let rig = Rig::new().await;
    the_event_finishes_the_job(&rig).await;
    the_sweep_finishes_a_job_whose_event_never_came(&rig).await;
    a_lost_job_fails_its_call_at_the_deadline(&rig).await;
}

/// The waiting-call sweep over the callback function's ports.
fn sweep_over<S, B, E, Q, C>(
    deps: &Deps<S, B, E, Q, C>,
    deadlines: Deadlines,
) -> WaitingSweep<'_, S, B, E, Q, C> {
    WaitingSweep {
        sink: TranscriptSink {
            store: &deps.store,
            blobs: &deps.blobs,
            envelope: &deps.envelope,
            queue: &deps.scoring_queue,
            clock: &deps.clock,
        },
        deadlines,
    }
}

/// The service never finishes the job: past the transcription deadline the call fails with a
/// readable reason instead of waiting forever, and a late event changes nothing.
async fn a_lost_job_fails_its_call_at_the_deadline(rig: &Rig) {
    let (call, job) = rig.submitted().await;
    let waiting = || async {
        rig.aws
            .adapters
            .table
            .due_calls(
                &call.tenant_id,
                AgeIndex::Waiting,
                time::OffsetDateTime::now_utc() + time::Duration::days(1),
                None,
                10,
            )
            .await
            .unwrap()
            .into_iter()
            .filter(|due| due.call_id == call.call_id)
            .count()
    };
    assert_eq!(waiting().await, 1, "a submitted call waits, in the index");

    let (deps, _) = rig.callback();
    let sweep = |deadlines| sweep_over(&deps, deadlines);
    let on_time = sweep(Deadlines::default())
        .run_in(&call.tenant_id)
        .await
        .unwrap();
    assert_eq!(on_time.failed, 0, "not overdue yet");
    // A zero deadline: the job is overdue now.
    let overdue = sweep(Deadlines {
        transcription: time::Duration::ZERO,
        ..Deadlines::default()
    })
    .run_in(&call.tenant_id)
    .await
    .unwrap();
    assert_eq!(overdue.failed, 1);
    rig.assert_failed(&call, "upload the recording again").await;
    assert_eq!(
        waiting().await,
        0,
        "a failed call leaves the index with its save"
    );

    rig.write_output(&job).await;
    let (deps, transcribe) = rig.callback();
    handle_event(&deps, &transcribe, job_event(&job))
        .await
        .unwrap();
    assert_eq!(rig.aws.stored(&call).await.status, CallStatus::Failed);
    assert!(messages_on(&rig.sqs, &rig.scoring_url).await.is_empty());
}

async fn the_event_finishes_the_job(rig: &Rig) {
    let (call, job) = rig.submitted().await;
    // One job, as the service recorded it: the recording in our bucket, speaker labels, the
    // output into our bucket under the call's documents prefix.
    let recorded = aws_sdk_transcribe::Client::new(&rig.aws.sdk)
        .get_transcription_job()
        .transcription_job_name(&job)
        .send()
        .await
        .unwrap();
    let recorded = recorded.transcription_job().unwrap();
    assert_eq!(
        recorded.media().and_then(|m| m.media_file_uri()),
        Some(
            format!(
                "s3://{}/uploads/{}/{}/call.wav",
                rig.aws.resources.bucket_name, call.tenant_id, call.call_id
            )
            .as_str()
        )
    );
    assert_eq!(
        recorded.settings().and_then(|s| s.show_speaker_labels()),
        Some(true)
    );
    rig.write_output(&job).await;

    // Events may come before the service says "completed" when asked: those change nothing.
    let (deps, transcribe) = rig.callback();
    for _ in 0..5 {
        handle_event(&deps, &transcribe, job_event(&job))
            .await
            .unwrap();
        if rig.aws.stored(&call).await.status == CallStatus::Transcribed {
            break;
        }
    }
    rig.assert_transcribed(&call, &job).await;
    // A replayed event: nothing more.
    let answer = handle_event(&deps, &transcribe, job_event(&job))
        .await
        .unwrap();
    assert!(
        answer["outcome"].as_str().unwrap().starts_with("Ignored"),
        "{answer}"
    );
    assert!(messages_on(&rig.sqs, &rig.scoring_url).await.is_empty());
}

/// One test for both paths: a sweep finishes every finished job of ours in the service, so
/// two tests in parallel would finish each other's jobs into the wrong scoring queue.
async fn the_sweep_finishes_a_job_whose_event_never_came(rig: &Rig) {
    let (call, job) = rig.submitted().await;
    rig.write_output(&job).await;
    // Time passes: the service moves the job to completed (moto: one state per description).
    for _ in 0..5 {
        if rig.service.state(&job).await.unwrap() == JobState::Completed {
            break;
        }
    }
    let (deps, transcribe) = rig.callback();
    let sweep = json!({"version": "0", "id": "s1", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012", "time": "2026-11-23T10:30:00Z",
        "region": "us-east-1", "resources": [], "detail": {}});
    let report = handle_event(
        &deps,
        &transcribe,
        LambdaEvent::new(sweep, lambda_context()),
    )
    .await
    .unwrap();
    assert!(report["seen"].as_u64().unwrap() >= 1, "{report}");
    rig.assert_transcribed(&call, &job).await;
}

/// `TRANSCRIPTION_PROVIDER` picks the provider the upload trigger builds at cold start.
#[tokio::test]
async fn the_configured_provider_is_the_one_the_environment_names() {
    use callcoach_shared::domain::transcription::TranscriptionService;
    use callcoach_shared::providers::ConfiguredProvider;
    use callcoach_shared::usecases::ingest::TranscriptionProvider;
    let aws = LocalAws::connect().await;
    let bucket = &aws.resources.bucket_name;
    let provider = |value: &'static str| {
        let lookup = move |name: &str| (name == "TRANSCRIPTION_PROVIDER").then(|| value.to_owned());
        ConfiguredProvider::transcribe(&lookup, aws.adapters.blobs.clone(), &aws.sdk, bucket)
    };
    assert_eq!(
        provider("transcribe").unwrap().service(),
        Some(TranscriptionService::AmazonTranscribe)
    );
    assert_eq!(provider("none").unwrap().service(), None);
    assert_eq!(provider("").unwrap().service(), None);
    // Deepgram without its key and callback URL, or an unknown name, fails the cold start.
    assert!(provider("deepgram").is_err());
    assert!(provider("whisper").is_err());
}

/// A scoring job that ran out of receives (the dead-letter queue has it) leaves its call in
/// `scoring`: the call is in the waiting index on DynamoDB, and the sweep queues its job again
/// once, then fails it with a readable reason.
#[tokio::test]
async fn a_call_left_in_scoring_is_retried_once_then_failed_on_dynamodb() {
    use callcoach_shared::usecases::call_lifecycle::{CallLifecycle, Mover};
    let rig = Rig::new().await;
    let table = &rig.aws.adapters.table;
    let mut call = sample_call(&rig.aws, &fresh_tenant(), "alex", &SystemClock).await;
    for next in [
        CallStatus::Uploaded,
        CallStatus::Transcribed,
        CallStatus::Scoring,
    ] {
        CallLifecycle::new(table, Mover::Pipeline)
            .move_to(&mut call, next, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    let (deps, _) = rig.callback();
    let overdue = Deadlines {
        scoring: time::Duration::ZERO,
        ..Deadlines::default()
    };
    let sweep = sweep_over(&deps, overdue);
    let first = sweep.run_in(&call.tenant_id).await.unwrap();
    assert_eq!((first.retried, first.failed), (1, 0));
    let queued = take_messages(&rig.sqs, &rig.scoring_url).await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains(call.call_id.as_str()), "{queued:?}");
    let retried = rig.aws.stored(&call).await;
    assert_eq!(
        (retried.status, retried.waiting_retries),
        (CallStatus::Scoring, 1)
    );

    let second = sweep.run_in(&call.tenant_id).await.unwrap();
    assert_eq!((second.retried, second.failed), (0, 1));
    rig.assert_failed(&call, "scoring did not finish").await;
    assert!(take_messages(&rig.sqs, &rig.scoring_url).await.is_empty());
}
