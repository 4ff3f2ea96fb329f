//! The sample in `events/` deserializes and is handled: the test event is skipped, and the
//! notification for a call that does not exist is rejected (not retried, nothing written). A
//! message that is not a notification at all is dropped, not retried.

use aws_lambda_events::event::sqs::SqsEvent;
use callcoach_shared::crypto::EnvelopeCipher;
use callcoach_shared::fakes::kit::lambda::{context_with, sqs_event};
use callcoach_shared::fakes::{
    FakeKeyManagement, InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher,
};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::ingest::NoTranscription;
use lambda_runtime::LambdaEvent;
use upload_trigger::{Deps, handle};

type Cipher = EnvelopeCipher<FakeKeyManagement, InMemoryStore, SystemClock>;
type FakeDeps =
    Deps<InMemoryStore, InMemoryBlobStore, Cipher, InMemoryQueue, NoTranscription, SystemClock>;

fn deps() -> FakeDeps {
    Deps {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        envelope: fake_cipher(SystemClock),
        scoring_queue: InMemoryQueue::default(),
        provider: NoTranscription,
        clock: SystemClock,
    }
}

async fn answer(deps: &FakeDeps, event: SqsEvent) -> Vec<String> {
    let context = context_with(std::time::Duration::from_secs(30));
    let response = handle(deps, LambdaEvent::new(event, context))
        .await
        .unwrap();
    let failed = response.batch_item_failures.into_iter();
    failed.map(|f| f.item_identifier).collect()
}

#[tokio::test]
async fn sample_notification_batch_is_handled() {
    let event: SqsEvent =
        serde_json::from_str(include_str!("../../../events/upload-notification.json")).unwrap();
    let deps = deps();
    assert!(answer(&deps, event).await.is_empty());
    assert!(deps.scoring_queue.messages().is_empty());
    assert!(deps.blobs.keys().is_empty());
}

/// A message that is not an S3 notification can never be ingested: it is dropped on its first
/// receive rather than retried until the dead-letter queue.
#[tokio::test]
async fn a_message_that_is_not_a_notification_is_dropped_not_retried() {
    let deps = deps();
    for body in ["not json", "{\"Records\": 7}"] {
        assert!(
            answer(&deps, sqs_event(body, "m1")).await.is_empty(),
            "{body}"
        );
    }
    assert!(deps.scoring_queue.messages().is_empty());
}
