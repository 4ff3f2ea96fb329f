//! The sample in `events/` deserializes and is handled: the test event is skipped, and the
//! notification for a call that does not exist is rejected (not retried, nothing written).

use aws_lambda_events::event::sqs::SqsEvent;
use callcoach_shared::fakes::kit::lambda::context_with;
use callcoach_shared::fakes::{InMemoryBlobStore, InMemoryQueue, InMemoryStore, fake_cipher};
use callcoach_shared::system::SystemClock;
use callcoach_shared::usecases::ingest::NoTranscription;
use lambda_runtime::LambdaEvent;
use upload_trigger::{Deps, handle};

#[tokio::test]
async fn sample_notification_batch_is_handled() {
    let event: SqsEvent =
        serde_json::from_str(include_str!("../../../events/upload-notification.json")).unwrap();
    let context = context_with(std::time::Duration::from_secs(30));
    let deps = Deps {
        store: InMemoryStore::default(),
        blobs: InMemoryBlobStore::default(),
        envelope: fake_cipher(SystemClock),
        scoring_queue: InMemoryQueue::default(),
        provider: NoTranscription,
        clock: SystemClock,
    };
    let response = handle(&deps, LambdaEvent::new(event, context))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(deps.scoring_queue.messages().is_empty());
    assert!(deps.blobs.keys().is_empty());
}
