//! Scoring worker: `ScoreCall` jobs from the scoring queue, in batches with partial failure.
//!
//! Failures are classified here, at the queue's edge. A message that is not a job at all (not
//! JSON, no `type`) or another queue's job is dropped and counted (`PoisonMessagesDropped`):
//! no delivery can fix it; a job of a shape this version cannot read (a newer producer during
//! a deploy) is retried. A job whose call
//! cannot be scored for good (its transcript gone or unreadable) fails the call with that
//! reason and is counted (`ScoringFailedPermanently`). Only a transient failure (a backend, a
//! lost race, a coach that did not answer) fails its record alone, to be redelivered and
//! dead-lettered after maxReceiveCount. Scoring is idempotent per call, transcript version and
//! rubric version.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::crypto::Envelope;
use callcoach_shared::lambda::{drop_poison, handle_queue_records};
use callcoach_shared::messages::{PipelineMessage, Unreadable};
use callcoach_shared::ports::{BlobStore, Clock, IdGenerator, PipelineStore};
use callcoach_shared::telemetry::{Chain, emit_count};
use callcoach_shared::usecases::score::{Coach, Scorer};
use lambda_runtime::{Error, LambdaEvent};
use tracing::{Instrument, info_span};

/// The function's name on its metrics.
const FUNCTION: &str = "scoring-worker";

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
    let (tenant_id, call_id, transcript_version) =
        match PipelineMessage::read(message.body.as_deref()) {
            Ok(PipelineMessage::ScoreCall {
                tenant_id,
                call_id,
                transcript_version,
            }) => (tenant_id, call_id, transcript_version),
            Ok(_) | Err(Unreadable::Poison) => {
                return drop_poison(FUNCTION, message, "message is not a scoring job");
            }
            Err(Unreadable::UnknownShape) => {
                tracing::warn!("a job of a shape this version cannot read; it will be retried");
                return RecordOutcome::Retry;
            }
        };
    let scorer = deps.scorer();
    let last_attempt = is_last_delivery(message, deps.max_receive_count());
    let span = info_span!("score_call", tenant = %tenant_id, call = %call_id, transcript_version);
    let scored = scorer
        .score(&tenant_id, &call_id, transcript_version, last_attempt)
        .instrument(span)
        .await;
    match scored {
        Ok(outcome) => {
            tracing::info!(?outcome, "scoring job done");
            RecordOutcome::Done
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(error = %Chain(&e), call = %call_id, "scoring job failed for good; failing the call");
            match scorer
                .give_up(&tenant_id, &call_id, transcript_version, &e)
                .await
            {
                Ok(failed) => {
                    if failed {
                        emit_count(FUNCTION, "ScoringFailedPermanently", 1);
                    }
                    RecordOutcome::Done
                }
                Err(store) => {
                    tracing::warn!(error = %Chain(&store), "could not fail the call; the job will be retried");
                    RecordOutcome::Retry
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "scoring job will be retried");
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
    use callcoach_shared::domain::call::CallStatus;
    use callcoach_shared::fakes::kit::lambda::{context_with, sqs_event};
    use callcoach_shared::fakes::kit::seed::{CallSeed, seed_transcribed_call};
    use callcoach_shared::fakes::{
        FakeKeyManagement, InMemoryBlobStore, InMemoryStore, fake_cipher,
    };
    use callcoach_shared::ids::{TeamId, TenantId, UserId};
    use callcoach_shared::ports::CallRepository;
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

    /// The sample's valid job names a call that does not exist, and its other message is
    /// poison: both are done with, neither is retried (the poison is dropped and counted). Also
    /// with a 3 s timeout (Lambda's default, and cargo-lambda's): the time margin scales down
    /// instead of deferring every record.
    #[tokio::test]
    async fn sample_batch_drops_the_poison_message_and_retries_nothing() {
        for seconds in [60, 3] {
            let response = handle(&deps(), LambdaEvent::new(sample(), deadline_in(seconds)))
                .await
                .unwrap();
            assert!(
                response.batch_item_failures.is_empty(),
                "timeout {seconds} s: {:?}",
                response.batch_item_failures
            );
        }
    }

    /// A job that no delivery can complete (its transcript version is gone) fails its call with
    /// the reason at once, instead of burning the queue's receives.
    #[tokio::test]
    async fn a_job_that_can_never_succeed_fails_its_call_instead_of_being_retried() {
        let deps = deps();
        let tenant = TenantId::parse("acme").unwrap();
        let mut call = seed_transcribed_call(
            &deps.store,
            &deps.blobs,
            &deps.envelope,
            CallSeed {
                tenant: &tenant,
                team: &TeamId::parse("team_0123456789abcdef0123456789abcdef").unwrap(),
                rep: &UserId::parse("rep").unwrap(),
                utterances: 4,
                marker: "hello",
            },
        )
        .await;
        call.transcript_version = 2;
        deps.store.save_call(&mut call).await.unwrap();
        let job = |version: u32| {
            let body = serde_json::to_string(&PipelineMessage::ScoreCall {
                tenant_id: tenant.clone(),
                call_id: call.call_id.clone(),
                transcript_version: version,
            })
            .unwrap();
            LambdaEvent::new(sqs_event(&body, "m1"), deadline_in(60))
        };

        let response = handle(&deps, job(2)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let failed = deps
            .store
            .get_call(&tenant, &call.call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.status, CallStatus::Failed);
        assert!(
            failed
                .failure_reason
                .as_deref()
                .is_some_and(|r| r.contains("its transcript is missing")),
            "{:?}",
            failed.failure_reason
        );
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
