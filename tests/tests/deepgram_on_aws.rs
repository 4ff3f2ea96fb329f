//! The audio path against the local stand-in and a local Deepgram: the upload trigger submits
//! a presigned GET of the recording, the fake fetches it and calls back over HTTP through the
//! local gateway into the transcription-callback function, which stores the transcript and
//! queues one scoring job. Also the provider's handling of Deepgram's errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::gateway;
use callcoach_shared::aws::{DynamoTable, S3BlobStore, SqsQueue};
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::call::{Call, CallStatus};
use callcoach_shared::domain::transcript::Transcript;
use callcoach_shared::domain::transcription::CallbackSecret;
use callcoach_shared::fakes::kit::lambda::s3_notification;
use callcoach_shared::fakes::kit::media::wav_recording;
use callcoach_shared::parse::AudioKind;
use callcoach_shared::ports::{BlobStore, DocumentKind};
use callcoach_shared::providers::deepgram::{DeepgramConfig, DeepgramTranscriber};
use callcoach_shared::providers::http::{ApiSecret, RetryPolicy};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::ingest::{
    TranscriptionError, TranscriptionProvider, TranscriptionRequest,
};
use callcoach_tests::fake_deepgram::{Answer, FakeDeepgram};
use callcoach_tests::{
    LocalAws, LocalCipher, fresh_tenant, lambda_context, messages_on, own_queue, sample_call,
};
use lambda_runtime::LambdaEvent;

const API_KEY: &str = "dg-local-test-key";
const TURNS: &[(u32, f64, f64, &str)] = &[
    (
        0,
        0.0,
        3.0,
        "Thanks for joining. What made you look at new tools this quarter?",
    ),
    (
        1,
        3.5,
        9.0,
        "Honestly the price of our current tool went up and the budget is tight.",
    ),
    (
        0,
        9.5,
        12.0,
        "Can we book thirty minutes on Tuesday at ten to walk your team through it?",
    ),
];

fn config(api_url: &str, callback: &str) -> DeepgramConfig {
    DeepgramConfig {
        api_url: api_url.parse().unwrap(),
        api_key: ApiSecret::new(API_KEY),
        model: "nova-3".into(),
        callback_url: callback.parse().unwrap(),
        fetch_window: Duration::from_secs(600),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(3),
        },
    }
}

async fn new_call(aws: &LocalAws) -> Call {
    sample_call(aws, &fresh_tenant(), "alex", &SystemClock).await
}

#[tokio::test]
async fn a_recording_goes_through_deepgram_and_its_callback_to_one_scoring_job() {
    let rig = AudioRig::new("sales call.wav").await;
    let AudioRig {
        aws,
        sqs,
        scoring_url,
        deepgram,
        gateway_addr,
        call,
        key,
        audio,
        trigger,
        ..
    } = &rig;
    // The notification delivered twice: one submission to Deepgram.
    for id in ["m1", "m2"] {
        let response = upload_trigger::handle(
            trigger,
            LambdaEvent::new(s3_notification(key, audio.len(), id), lambda_context()),
        )
        .await
        .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    let submissions = deepgram.submissions();
    assert_eq!(submissions.len(), 1, "one transcription job");
    let submitted = &submissions[0];
    assert_eq!(
        submitted.authorization.as_deref(),
        Some("Token dg-local-test-key")
    );
    for (param, value) in [
        ("model", "nova-3"),
        ("diarize", "true"),
        ("utterances", "true"),
        ("smart_format", "true"),
        ("mip_opt_out", "true"),
    ] {
        assert_eq!(submitted.param(param), Some(value), "{param}");
    }
    let callback_url: reqwest::Url = submitted.param("callback").unwrap().parse().unwrap();
    assert_eq!(
        callback_url.path(),
        format!("/callbacks/deepgram/{}/{}", call.tenant_id, call.call_id)
    );
    let secret = callback_url
        .password()
        .expect("the job secret rides as Basic Auth");
    assert!(secret.len() >= 43);

    // The fake fetches the recording through the presigned GET and calls back.
    let statuses = deepgram.settled(10, Duration::from_secs(20)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert_eq!(deepgram.audio_bytes_fetched(), [audio.len()]);
    let stored = aws.stored(call).await;
    assert_eq!(stored.status, CallStatus::Transcribed);
    assert_eq!(stored.transcript_version, 1);
    let job = stored.transcription.clone().unwrap();
    assert!(job.completed_at.is_some());
    assert!(job.job_id.is_some());
    // The secret itself is never stored, only its digest.
    let item = serde_json::to_string(&stored).unwrap();
    assert!(!item.contains(secret));

    let (reader, _) = aws.cipher(CachePolicy::default());
    let vault = aws.vault(&reader);
    let transcript: Transcript = vault
        .get(&call.tenant_id, &call.call_id, DocumentKind::Transcript, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transcript.utterances.len(), 3);
    assert_eq!(transcript.speakers.len(), 2);
    assert_eq!(
        messages_on(sqs, scoring_url).await.len(),
        1,
        "one scoring job"
    );

    // Deepgram retrying a delivered result: 2xx, nothing changes.
    let http = reqwest::Client::new();
    let callback_path = format!("http://{gateway_addr}{}", callback_url.path());
    let result = callcoach_shared::fakes::deepgram_result(job.job_id.as_deref().unwrap(), TURNS);
    let replay = http
        .post(&callback_path)
        .basic_auth("callcoach", Some(secret))
        .json(&result)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(aws.stored(call).await, stored);

    // A wrong secret and an oversized body are refused over HTTP.
    let forged = http
        .post(&callback_path)
        .basic_auth("callcoach", Some(CallbackSecret::generate().expose()))
        .json(&result)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let oversized = http
        .post(&callback_path)
        .basic_auth("callcoach", Some(secret))
        .body(vec![b' '; 5 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert_eq!(aws.stored(call).await, stored);
    assert!(
        messages_on(sqs, scoring_url).await.is_empty(),
        "the one job was taken above; no new one"
    );
}

type Trigger = upload_trigger::Deps<
    DynamoTable,
    S3BlobStore,
    LocalCipher,
    SqsQueue,
    DeepgramTranscriber<S3BlobStore>,
    SystemClock,
>;

/// A recording uploaded for a fresh call, a local Deepgram, the callback function behind the
/// local gateway, and the upload trigger wired to them with a scoring queue of its own.
struct AudioRig {
    aws: LocalAws,
    sqs: SqsClient,
    scoring_url: String,
    deepgram: FakeDeepgram,
    gateway_addr: std::net::SocketAddr,
    _gateway: tokio::task::JoinHandle<()>,
    call: Call,
    key: String,
    audio: Vec<u8>,
    trigger: Trigger,
}

impl AudioRig {
    async fn new(file_name: &str) -> Self {
        let aws = LocalAws::connect().await;
        let sqs = SqsClient::new(&aws.sdk);
        let scoring_url = own_queue(&sqs, "scoring", &[]).await;
        let deepgram = FakeDeepgram::start(API_KEY, TURNS).await;
        let (gateway_addr, gateway) = callback_gateway(&aws, &sqs, &scoring_url).await;
        let call = new_call(&aws).await;
        let key = format!("uploads/{}/{}/{file_name}", call.tenant_id, call.call_id);
        let audio = wav_recording(4096);
        aws.adapters
            .blobs
            .put(&key, audio.clone(), "audio/wav")
            .await
            .unwrap();
        let (cipher, _) = aws.cipher(CachePolicy::default());
        let trigger = upload_trigger::Deps {
            store: aws.adapters.table.clone(),
            blobs: aws.adapters.blobs.clone(),
            envelope: cipher,
            scoring_queue: SqsQueue::new(sqs.clone(), &scoring_url),
            provider: DeepgramTranscriber::new(
                config(
                    &deepgram.url(),
                    &format!("http://{gateway_addr}/callbacks/deepgram"),
                ),
                aws.adapters.blobs.clone(),
            )
            .unwrap(),
            clock: SystemClock,
        };
        Self {
            aws,
            sqs,
            scoring_url,
            deepgram,
            gateway_addr,
            _gateway: gateway,
            call,
            key,
            audio,
            trigger,
        }
    }
}

/// The transcription-callback function behind the local gateway, as API Gateway routes to it.
async fn callback_gateway(
    aws: &LocalAws,
    sqs: &SqsClient,
    scoring_url: &str,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let callback_deps = Arc::new(transcription_callback::Deps {
        store: aws.adapters.table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: cipher,
        scoring_queue: SqsQueue::new(sqs.clone(), scoring_url),
        clock: SystemClock,
    });
    gateway::serve(
        "POST",
        "/callbacks/deepgram/{tenant}/{call}",
        move |request| {
            let deps = Arc::clone(&callback_deps);
            async move {
                transcription_callback::handle(&deps, LambdaEvent::new(request, lambda_context()))
                    .await
                    .expect("the callback handler answers every request")
            }
        },
    )
    .await
    .unwrap()
}

/// Issue 3: one recording's notification delivered ten times at once (SQS at-least-once with
/// concurrent pollers) makes one Deepgram submission, one transcript and one scoring job.
#[tokio::test]
async fn a_recording_delivered_ten_times_concurrently_is_submitted_once() {
    let rig = AudioRig::new("team call.wav").await;
    let AudioRig {
        aws,
        sqs,
        scoring_url,
        deepgram,
        call,
        key,
        audio,
        trigger,
        ..
    } = &rig;
    let deliveries = (0..10).map(|i| {
        let event = s3_notification(key, audio.len(), &format!("m{i}"));
        upload_trigger::handle(trigger, LambdaEvent::new(event, lambda_context()))
    });
    let mut retries = 0;
    for response in futures::future::join_all(deliveries).await {
        retries += response.unwrap().batch_item_failures.len();
    }
    // Deliveries that met the work in progress asked SQS for a retry; the retries find it done.
    for i in 0..retries {
        let event = s3_notification(key, audio.len(), &format!("r{i}"));
        let response = upload_trigger::handle(trigger, LambdaEvent::new(event, lambda_context()))
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(deepgram.submissions().len(), 1, "one transcription job");
    let statuses = deepgram.settled(10, Duration::from_secs(20)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    let stored = aws.stored(call).await;
    assert_eq!(
        (stored.status, stored.transcript_version),
        (CallStatus::Transcribed, 1)
    );
    assert_eq!(
        messages_on(sqs, scoring_url).await.len(),
        1,
        "one scoring job"
    );
}

async fn submit_once(
    transcriber: &DeepgramTranscriber<S3BlobStore>,
    call: &Call,
) -> Result<String, TranscriptionError> {
    let secret = CallbackSecret::generate();
    transcriber
        .submit(&TranscriptionRequest {
            tenant: &call.tenant_id,
            call: &call.call_id,
            object_key: &format!("uploads/{}/{}/a.wav", call.tenant_id, call.call_id),
            kind: AudioKind::Wav,
            callback_secret: &secret,
        })
        .await
}

#[tokio::test]
async fn deepgram_errors_are_retried_refused_or_reported_as_unavailable() {
    let aws = LocalAws::connect().await;
    let call = new_call(&aws).await;
    let deepgram = FakeDeepgram::start(API_KEY, TURNS).await;
    let no_callbacks_here = "http://127.0.0.1:9/callbacks/deepgram";
    let transcriber = DeepgramTranscriber::new(
        config(&deepgram.url(), no_callbacks_here),
        aws.adapters.blobs.clone(),
    )
    .unwrap();

    // Two server errors, then success: three attempts.
    deepgram.answer_next([
        Answer::Fail {
            status: 500,
            retry_after: None,
        },
        Answer::Fail {
            status: 503,
            retry_after: None,
        },
    ]);
    assert!(submit_once(&transcriber, &call).await.is_ok());
    assert_eq!(deepgram.submissions().len(), 3);

    // 429 with retry-after: 1 -> the next attempt waits at least a second.
    deepgram.answer_next([Answer::Fail {
        status: 429,
        retry_after: Some(1),
    }]);
    let before = deepgram.submissions().len();
    assert!(submit_once(&transcriber, &call).await.is_ok());
    let tried = deepgram.submissions();
    assert_eq!(tried.len(), before + 2);
    assert!(tried[before + 1].at - tried[before].at >= Duration::from_secs(1));

    // 400 refuses the recording for good, without a retry.
    deepgram.answer_next([Answer::Fail {
        status: 400,
        retry_after: None,
    }]);
    let before = deepgram.submissions().len();
    let Err(TranscriptionError::Refused(reason)) = submit_once(&transcriber, &call).await else {
        panic!("a 400 refuses the recording");
    };
    assert_eq!(deepgram.submissions().len(), before + 1);
    // The call's reason is kept in plaintext: our words and the status, not Deepgram's text
    // (which can repeat the request, the signed audio link included).
    assert!(reason.as_str().contains("HTTP 400"), "{reason}");
    assert!(!reason.as_str().contains("Scripted failure"), "{reason}");

    // Errors that persist past the attempts: unavailable, so the queue redelivers.
    deepgram.answer_next(std::iter::repeat_n(
        Answer::Fail {
            status: 502,
            retry_after: None,
        },
        3,
    ));
    assert!(matches!(
        submit_once(&transcriber, &call).await,
        Err(TranscriptionError::Unavailable(_))
    ));

    // A wrong API key is our fault, never the file's: unavailable, not retried.
    let mut wrong_key = config(&deepgram.url(), no_callbacks_here);
    wrong_key.api_key = ApiSecret::new("not-the-key");
    let misconfigured = DeepgramTranscriber::new(wrong_key, aws.adapters.blobs.clone()).unwrap();
    let before = deepgram.submissions().len();
    assert!(matches!(
        submit_once(&misconfigured, &call).await,
        Err(TranscriptionError::Unavailable(_))
    ));
    assert_eq!(deepgram.submissions().len(), before + 1);

    // A stalled Deepgram hits the request timeout on every attempt.
    let mut impatient = config(&deepgram.url(), no_callbacks_here);
    impatient.request_timeout = Duration::from_millis(200);
    impatient.retry.max_attempts = 2;
    let impatient = DeepgramTranscriber::new(impatient, aws.adapters.blobs.clone()).unwrap();
    deepgram.answer_next([
        Answer::Stall(Duration::from_secs(2)),
        Answer::Stall(Duration::from_secs(2)),
    ]);
    let started = Instant::now();
    assert!(matches!(
        submit_once(&impatient, &call).await,
        Err(TranscriptionError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(2));

    // A redirect is not followed: neither the key nor the audio link (nor the callback with
    // its secret) reaches the other host; unavailable, one attempt, no Referer sent.
    let elsewhere = FakeDeepgram::start(API_KEY, TURNS).await;
    for status in [307, 308, 301] {
        deepgram.answer_next([Answer::Redirect {
            status,
            location: format!("{}/v1/listen", elsewhere.url()),
        }]);
        let before = deepgram.submissions().len();
        assert!(matches!(
            submit_once(&transcriber, &call).await,
            Err(TranscriptionError::Unavailable(_))
        ));
        assert_eq!(deepgram.submissions().len(), before + 1, "{status}");
    }
    assert!(elsewhere.submissions().is_empty());
}
