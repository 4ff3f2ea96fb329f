//! The ingestion and scoring functions end to end against the local stand-in: a real presigned
//! upload, the notification moto delivers to the upload-events queue, the upload trigger, the
//! scoring queue and the scoring worker.

use std::time::Duration;

use aws_sdk_sqs::Client as SqsClient;
use callcoach_local_router::SqsEventSource;
use callcoach_shared::aws::SqsQueue;
use callcoach_shared::crypto::CachePolicy;
use callcoach_shared::domain::analysis::Analysis;
use callcoach_shared::domain::call::CallStatus;
use callcoach_shared::fakes::kit::lambda::sqs_event;
use callcoach_shared::messages::PipelineMessage;
use callcoach_shared::ports::{BlobStore, CallRepository, DocumentKind, Queue};
use callcoach_shared::system::{RandomIds, SystemClock};
use callcoach_shared::usecases::ingest::NoTranscription;
use callcoach_tests::{
    LocalAws, fresh_tenant, lambda_context as context, mint, notification_for, own_queue,
    sample_call,
};
use lambda_runtime::LambdaEvent;
use serde_json::json;

const SAMPLE: &[u8] = include_bytes!("../../events/discovery-call.vtt");

#[tokio::test]
async fn an_upload_delivered_ten_times_concurrently_is_ingested_once_then_scored() {
    let aws = LocalAws::connect().await;
    let sqs = SqsClient::new(&aws.sdk);
    let upload_events = std::env::var("UPLOAD_EVENTS_QUEUE_URL").expect("provisioned");
    let scoring_url = own_queue(&sqs, "scoring", &[]).await;
    let tenant = fresh_tenant();
    let call = sample_call(&aws, &tenant, "alex", &SystemClock).await;

    // The client uploads through the presigned PUT, as the frontend would.
    let key = format!("uploads/{tenant}/{}/discovery call.vtt", call.call_id);
    let put = aws
        .adapters
        .blobs
        .presign_put(
            &key,
            "text/vtt",
            SAMPLE.len() as u64,
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    let mut request = reqwest::Client::new().put(&put.url).body(SAMPLE.to_vec());
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    assert!(request.send().await.unwrap().status().is_success());
    let body = notification_for(&sqs, &upload_events, call.call_id.as_str()).await;

    let (cipher, _) = aws.cipher(CachePolicy::default());
    let deps = upload_trigger::Deps {
        store: aws.adapters.table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: cipher,
        scoring_queue: SqsQueue::new(sqs.clone(), &scoring_url),
        provider: NoTranscription,
        clock: SystemClock,
    };
    let event_for = |id: usize| sqs_event(&body, &format!("m{id}"));
    // Ten deliveries in flight at once: they interleave at every request to the stand-in.
    let deliveries =
        (0..10).map(|i| upload_trigger::handle(&deps, LambdaEvent::new(event_for(i), context())));
    let mut succeeded = 0;
    for response in futures::future::join_all(deliveries).await {
        if response.unwrap().batch_item_failures.is_empty() {
            succeeded += 1;
        }
    }
    // Those that found the work in progress asked for a retry; the retries find it done.
    for i in 0..10 - succeeded {
        let response =
            upload_trigger::handle(&deps, LambdaEvent::new(event_for(100 + i), context()))
                .await
                .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }

    let stored = aws.stored(&call).await;
    assert_eq!(
        (stored.status, stored.transcript_version),
        (CallStatus::Transcribed, 1)
    );
    let jobs = sqs
        .receive_message()
        .queue_url(&scoring_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.messages().len(), 1, "exactly one scoring job");
    let job: PipelineMessage = serde_json::from_str(jobs.messages()[0].body().unwrap()).unwrap();
    assert_eq!(
        job,
        PipelineMessage::ScoreCall {
            tenant_id: tenant.clone(),
            call_id: call.call_id.clone(),
            transcript_version: 1
        }
    );
    sqs.change_message_visibility()
        .queue_url(&scoring_url)
        .receipt_handle(jobs.messages()[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();

    // The scoring worker, fed by the local event source mapping.
    let (worker_cipher, _) = aws.cipher(CachePolicy::default());
    let worker = scoring_worker::Deps {
        store: aws.adapters.table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: worker_cipher,
        clock: SystemClock,
        ids: RandomIds,
        coach: callcoach_shared::usecases::score::DeterministicCoach,
        max_receive_count: 5,
        quotas: Default::default(),
    };
    let source = SqsEventSource::new(sqs.clone(), &scoring_url, Duration::from_secs(60))
        .await
        .unwrap();
    let report = source
        .poll_once(Duration::from_secs(1), async |event| {
            scoring_worker::handle(&worker, event).await
        })
        .await
        .unwrap();
    assert_eq!((report.received, report.succeeded), (1, 1));
    let scored = aws.stored(&call).await;
    assert_eq!(scored.status, CallStatus::Scored);
    let (reader, _) = aws.cipher(CachePolicy::default());
    let vault = aws.vault(&reader);
    let analysis: Analysis = vault
        .get(&tenant, &call.call_id, DocumentKind::Analysis, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(analysis.metrics.speakers.len(), 2);
    assert!(analysis.metrics.rep_questions >= 10);
    sqs.delete_queue()
        .queue_url(&scoring_url)
        .send()
        .await
        .unwrap();
}

/// A message that is not a scoring job can never succeed: it is dropped on its first receive
/// (and counted), so it neither burns five receives nor holds up its batch, and only a
/// transient failure is left for the queue's redrive.
#[tokio::test]
async fn a_poison_message_is_dropped_at_once_and_never_retried() {
    let aws = LocalAws::connect().await;
    let sqs = SqsClient::new(&aws.sdk);
    let dlq_url = own_queue(&sqs, "dlq", &[]).await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}).to_string();
    let queue_url = own_queue(&sqs, "jobs", &[("RedrivePolicy", redrive)]).await;

    let tenant = fresh_tenant();
    let jobs: Vec<PipelineMessage> = (0..9)
        .map(|v| PipelineMessage::ScoreCall {
            tenant_id: tenant.clone(),
            call_id: mint(),
            transcript_version: v,
        })
        .collect();
    SqsQueue::new(sqs.clone(), &queue_url)
        .send_batch(&jobs)
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("{\"type\":\"score_call\",\"poison\":")
        .send()
        .await
        .unwrap();

    let (cipher, _) = aws.cipher(CachePolicy::default());
    let worker = scoring_worker::Deps {
        store: aws.adapters.table.clone(),
        blobs: aws.adapters.blobs.clone(),
        envelope: cipher,
        clock: SystemClock,
        ids: RandomIds,
        coach: callcoach_shared::usecases::score::DeterministicCoach,
        max_receive_count: 5,
        quotas: Default::default(),
    };
    let source = SqsEventSource::new(sqs.clone(), &queue_url, Duration::from_secs(60))
        .await
        .unwrap();
    let (mut succeeded, mut failed) = (0, 0);
    for _ in 0..10 {
        let report = source
            .poll_once(Duration::from_secs(1), async |event| {
                scoring_worker::handle(&worker, event).await
            })
            .await
            .unwrap();
        succeeded += report.succeeded;
        failed += report.failed;
    }
    assert_eq!(
        (succeeded, failed),
        (10, 0),
        "the nine good jobs commit once, the poison message is dropped on its first receive"
    );
    for url in [&queue_url, &dlq_url] {
        let left = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert!(left.messages().is_empty(), "nothing is left on {url}");
    }
    for url in [&queue_url, &dlq_url] {
        sqs.delete_queue().queue_url(url).send().await.unwrap();
    }
}

/// A coach during whose run the owner puts the call under legal hold, through the one entry
/// point for call changes, on DynamoDB.
struct RacedCoach {
    table: callcoach_shared::aws::DynamoTable,
}

impl callcoach_shared::usecases::score::Coach for RacedCoach {
    async fn judge(
        &self,
        request: &callcoach_shared::scoring::ScoringRequest<'_>,
        baseline: Analysis,
    ) -> Result<Analysis, callcoach_shared::usecases::score::CoachUnavailable> {
        use callcoach_shared::usecases::call_lifecycle::{CallLifecycle, Change, Mover};
        let mut call = self
            .table
            .get_call(request.tenant_id, request.call_id)
            .await
            .unwrap()
            .unwrap();
        CallLifecycle::new(&self.table, Mover::Api)
            .update(&mut call, |c| {
                c.legal_hold = true;
                Ok::<_, callcoach_shared::ports::StoreError>(Change::Write(()))
            })
            .await
            .unwrap();
        Ok(baseline)
    }
}

/// The worker reads the call, the LLM runs for a while, and it writes the call back: a hold
/// set meanwhile survives that write on DynamoDB (a whole-item put on the status alone used
/// to undo it), and the call is still marked scored.
#[tokio::test]
async fn a_hold_set_during_scoring_survives_the_workers_write_on_dynamodb() {
    use callcoach_shared::fakes::{CallSeed, seed_transcribed_call};
    use callcoach_shared::usecases::score::Scorer;
    let aws = LocalAws::connect().await;
    let tenant = fresh_tenant();
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let call = seed_transcribed_call(
        &aws.adapters.table,
        &aws.adapters.blobs,
        &cipher,
        CallSeed {
            tenant: &tenant,
            team: &mint(),
            rep: &callcoach_shared::ids::UserId::parse("alex").unwrap(),
            utterances: 12,
            marker: "raced",
        },
    )
    .await;
    let coach = RacedCoach {
        table: aws.adapters.table.clone(),
    };
    let quotas = Default::default();
    let scorer = Scorer {
        store: &aws.adapters.table,
        blobs: &aws.adapters.blobs,
        envelope: &cipher,
        clock: &SystemClock,
        ids: &RandomIds,
        coach: &coach,
        quotas: &quotas,
    };
    scorer
        .score(&tenant, &call.call_id, call.transcript_version, false)
        .await
        .unwrap();
    let stored = aws.stored(&call).await;
    assert_eq!(
        (stored.status, stored.legal_hold),
        (CallStatus::Scored, true)
    );
}
