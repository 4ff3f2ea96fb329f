//! Scoring worker: takes `ScoreCall` messages from the scoring queue in batches.
//!
//! At this stage it validates each message and checks that the call exists; a message that
//! does not parse is reported failed so it reaches the DLQ after maxReceiveCount.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::lambda::{DEFAULT_TIME_MARGIN, handle_sqs_batch};
use callcoach_shared::messages::PipelineMessage;
use callcoach_shared::ports::CallRepository;
use lambda_runtime::{Error, LambdaEvent};
use tracing::{Instrument, info_span};

pub struct Deps<R> {
    pub calls: R,
}

async fn handle_message<R: CallRepository>(deps: &Deps<R>, message: &SqsMessage) -> RecordOutcome {
    let Some(body) = message.body.as_deref() else {
        tracing::warn!("message without a body");
        return RecordOutcome::Retry;
    };
    let parsed: PipelineMessage = match serde_json::from_str(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "message does not parse");
            return RecordOutcome::Retry;
        }
    };
    let PipelineMessage::ScoreCall {
        tenant_id, call_id, ..
    } = &parsed;
    let span = info_span!("score_call", tenant = %tenant_id, call = %call_id);
    async {
        match deps.calls.get_call(tenant_id, call_id).await {
            Ok(Some(_)) => RecordOutcome::Done,
            Ok(None) => {
                tracing::warn!("call not found; dropping the message");
                RecordOutcome::Done
            }
            Err(e) => {
                tracing::error!(error = %e, "store failed");
                RecordOutcome::Retry
            }
        }
    }
    .instrument(span)
    .await
}

pub async fn handle<R: CallRepository>(
    deps: &Deps<R>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(handle_sqs_batch(event, DEFAULT_TIME_MARGIN, async |m| {
        handle_message(deps, m).await
    })
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callcoach_shared::fakes::InMemoryStore;
    use lambda_runtime::Context;

    #[tokio::test]
    async fn sample_batch_fails_only_the_poison_message() {
        let event: SqsEvent =
            serde_json::from_str(include_str!("../../../events/scoring-batch.json")).unwrap();
        let mut context = Context::default();
        // Plenty of time left: a deadline a minute away.
        context.deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(60))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let deps = Deps {
            calls: InMemoryStore::default(),
        };
        let response = handle(&deps, LambdaEvent::new(event, context))
            .await
            .unwrap();
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["0d6c1c7e-1b7a-4a52-9f4e-2f1c5b9a0a02"]);
    }
}
