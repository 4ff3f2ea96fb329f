//! Scoring worker: `ScoreCall` jobs from the scoring queue, in batches with partial failure.
//!
//! A job that cannot be parsed, or whose scoring hits an infrastructure error, fails alone and
//! is redelivered (then dead-lettered after maxReceiveCount). Scoring is idempotent per call,
//! transcript version and rubric version.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::crypto::Envelope;
use callcoach_shared::lambda::handle_queue_records;
use callcoach_shared::messages::PipelineMessage;
use callcoach_shared::ports::{BlobStore, Clock, IdGenerator, PipelineStore};
use callcoach_shared::usecases::score::{Coach, Scorer};
use lambda_runtime::{Error, LambdaEvent};
use tracing::{Instrument, info_span};

pub struct Deps<S, B, E, C, I, K> {
    pub store: S,
    pub blobs: B,
    pub envelope: E,
    pub clock: C,
    pub ids: I,
    pub coach: K,
    /// The queue's maxReceiveCount: the delivery with this receive count is the last one.
    pub max_receive_count: u32,
    /// The deployment's quotas (LLM tokens per month); a workspace may have its own.
    pub quotas: callcoach_shared::usecases::quota::Quotas,
}

pub use callcoach_shared::lambda::is_last_delivery;

/// The ports the scoring worker works through, under one name: its [`Deps`] over the
/// deployment's adapters or the tests' fakes.
pub trait ScoringPorts {
    type Store: PipelineStore;
    type Blobs: BlobStore;
    type Envelope: Envelope;
    type Clock: Clock;
    type Ids: IdGenerator;
    type Coach: Coach;
    #[allow(clippy::type_complexity)] // the use case over each port, spelled out once
    fn scorer(
        &self,
    ) -> Scorer<'_, Self::Store, Self::Blobs, Self::Envelope, Self::Clock, Self::Ids, Self::Coach>;
    /// The queue's maxReceiveCount.
    fn max_receive_count(&self) -> u32;
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, C: Clock, I: IdGenerator, K: Coach> ScoringPorts
    for Deps<S, B, E, C, I, K>
{
    type Store = S;
    type Blobs = B;
    type Envelope = E;
    type Clock = C;
    type Ids = I;
    type Coach = K;
    fn scorer(&self) -> Scorer<'_, S, B, E, C, I, K> {
        Scorer {
            store: &self.store,
            blobs: &self.blobs,
            envelope: &self.envelope,
            clock: &self.clock,
            ids: &self.ids,
            coach: &self.coach,
            quotas: &self.quotas,
        }
    }
    fn max_receive_count(&self) -> u32 {
        self.max_receive_count
    }
}

async fn handle_message(deps: &impl ScoringPorts, message: &SqsMessage) -> RecordOutcome {
    let parsed = message
        .body
        .as_deref()
        .map(serde_json::from_str::<PipelineMessage>);
    let Some(Ok(PipelineMessage::ScoreCall {
        tenant_id,
        call_id,
        transcript_version,
    })) = parsed
    else {
        tracing::warn!("message is not a scoring job");
        return RecordOutcome::Retry;
    };
    let scorer = deps.scorer();
    let last_attempt = is_last_delivery(message, deps.max_receive_count());
    let span = info_span!("score_call", tenant = %tenant_id, call = %call_id, transcript_version);
    match scorer
        .score(&tenant_id, &call_id, transcript_version, last_attempt)
        .instrument(span)
        .await
    {
        Ok(outcome) => {
            tracing::info!(?outcome, "scoring job done");
            RecordOutcome::Done
        }
        Err(e) => {
            tracing::warn!(error = %callcoach_shared::telemetry::Chain(&e), "scoring job will be retried");
            RecordOutcome::Retry
        }
    }
}

pub async fn handle(
    deps: &impl ScoringPorts,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    handle_queue_records(event, async |m| handle_message(deps, m).await).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use callcoach_shared::crypto::EnvelopeCipher;
    use callcoach_shared::fakes::kit::lambda::context_with;
    use callcoach_shared::fakes::{
        FakeKeyManagement, InMemoryBlobStore, InMemoryStore, fake_cipher,
    };
    use callcoach_shared::system::{RandomIds, SystemClock};
    use callcoach_shared::usecases::score::DeterministicCoach;
    use lambda_runtime::Context;

    type TestDeps = Deps<
        InMemoryStore,
        InMemoryBlobStore,
        EnvelopeCipher<FakeKeyManagement, InMemoryStore, SystemClock>,
        SystemClock,
        RandomIds,
        DeterministicCoach,
    >;

    fn deps() -> TestDeps {
        Deps {
            store: InMemoryStore::default(),
            blobs: InMemoryBlobStore::default(),
            envelope: fake_cipher(SystemClock),
            clock: SystemClock,
            ids: RandomIds,
            coach: DeterministicCoach,
            max_receive_count: 5,
            quotas: Default::default(),
        }
    }

    fn deadline_in(seconds: u64) -> Context {
        context_with(std::time::Duration::from_secs(seconds))
    }

    fn sample() -> SqsEvent {
        serde_json::from_str(include_str!("../../../events/scoring-batch.json")).unwrap()
    }

    /// The sample's valid job names a call that does not exist: it is dropped (done), while the
    /// poison message fails alone. Also with a 3 s timeout (Lambda's default, and
    /// cargo-lambda's): the time margin scales down instead of deferring every record.
    #[tokio::test]
    async fn sample_batch_fails_only_the_poison_message() {
        for seconds in [60, 3] {
            let response = handle(&deps(), LambdaEvent::new(sample(), deadline_in(seconds)))
                .await
                .unwrap();
            let failed: Vec<_> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            assert_eq!(
                failed,
                ["0d6c1c7e-1b7a-4a52-9f4e-2f1c5b9a0a02"],
                "timeout {seconds} s"
            );
        }
    }

    #[test]
    fn the_last_delivery_is_the_one_at_max_receive_count() {
        let mut message = SqsMessage::default();
        assert!(
            !is_last_delivery(&message, 5),
            "no count: not known to be the last"
        );
        for (count, last) in [
            ("1", false),
            ("4", false),
            ("5", true),
            ("6", true),
            ("x", false),
        ] {
            message
                .attributes
                .insert("ApproximateReceiveCount".into(), count.into());
            assert_eq!(is_last_delivery(&message, 5), last, "{count}");
        }
    }

    /// With no time left, records are not started and every one is reported failed.
    #[tokio::test]
    async fn no_time_left_defers_every_record() {
        let response = handle(&deps(), LambdaEvent::new(sample(), deadline_in(0)))
            .await
            .unwrap();
        assert_eq!(response.batch_item_failures.len(), 2);
    }
}
