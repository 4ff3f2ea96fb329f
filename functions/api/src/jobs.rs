//! The api function's background work: workspace export jobs from the export-jobs queue (SQS,
//! partial batch failures). The same function serves HTTP; [`crate::entry`] tells the events
//! apart. A message that is not a job at all, or another queue's job, is dropped and counted
//! (`PoisonMessagesDropped`): no delivery can fix it; one of a shape this version cannot read
//! (a newer producer during a deploy) is retried. A job that fails for a backend is retried by the queue until its last receive, which
//! fails the job; one that fails for good is marked failed and acknowledged. A job held by
//! another delivery is handed back to the queue and comes again after the visibility timeout.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use callcoach_shared::batch::RecordOutcome;
use callcoach_shared::lambda::{
    DEFAULT_TIME_MARGIN, Deadline, WholeBatchFailed, drop_poison, handle_sqs_batch,
    is_last_delivery,
};
use callcoach_shared::messages::{PipelineMessage, Unreadable};
use callcoach_shared::usecases::export_job::{Delivery, JobOutcome, run_export_job};
use lambda_runtime::LambdaEvent;
use tracing::{Instrument, info, info_span, warn};

use crate::{Api, Ports};

/// The export-jobs queue's maxReceiveCount (`template.yaml`, checked by
/// `infra/check_template.py`): the receive that fails a job for good.
pub const EXPORT_JOBS_MAX_RECEIVES: u32 = 5;
/// What a run leaves of the invocation for the writes after it: the bundle's upload and the
/// job's record take longer than one queue record ([`DEFAULT_TIME_MARGIN`]).
const WRAP_UP: Duration = Duration::from_secs(20);

async fn handle_message<P: Ports>(
    api: &Api<P>,
    message: &SqsMessage,
    deadline: Deadline,
) -> RecordOutcome {
    let (tenant_id, export_id) = match PipelineMessage::read(message.body.as_deref()) {
        Ok(PipelineMessage::ExportWorkspace {
            tenant_id,
            export_id,
        }) => (tenant_id, export_id),
        Ok(_) | Err(Unreadable::Poison) => {
            return drop_poison("api", message, "message is not an export job");
        }
        Err(Unreadable::UnknownShape) => {
            warn!("a job of a shape this version cannot read; it will be retried");
            return RecordOutcome::Retry;
        }
    };
    let delivery = Delivery {
        budget: deadline.left_after(WRAP_UP),
        last: is_last_delivery(message, EXPORT_JOBS_MAX_RECEIVES),
    };
    let span = info_span!("export_job", tenant = %tenant_id, export = %export_id);
    let outcome = run_export_job(
        api.ports.store(),
        api.ports.blobs(),
        api.ports.envelope(),
        api.ports.clock(),
        (&tenant_id, &export_id),
        delivery,
    )
    .instrument(span)
    .await;
    match outcome {
        Ok(JobOutcome::Ready(counts)) => {
            info!(tenant = %tenant_id, export = %export_id, calls = counts.calls, "export ready");
            RecordOutcome::Done
        }
        Ok(JobOutcome::AlreadyDone) => RecordOutcome::Done,
        Ok(JobOutcome::Busy) => {
            info!(tenant = %tenant_id, export = %export_id, "export held by another delivery");
            RecordOutcome::Retry
        }
        Ok(JobOutcome::Failed(failure)) => {
            warn!(tenant = %tenant_id, export = %export_id, ?failure, "export job failed");
            RecordOutcome::Done
        }
        Err(error) if error.is_retryable() && !delivery.last => {
            warn!(tenant = %tenant_id, export = %export_id, error = %callcoach_shared::telemetry::Chain(&error), "export job will be retried");
            RecordOutcome::Retry
        }
        Err(error) => {
            warn!(tenant = %tenant_id, export = %export_id, error = %callcoach_shared::telemetry::Chain(&error), "export job failed");
            RecordOutcome::Done
        }
    }
}

/// A batch of export jobs.
pub async fn handle_jobs<P: Ports>(
    api: &Api<P>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, WholeBatchFailed> {
    let deadline = Deadline::of(&event.context);
    handle_sqs_batch(event, DEFAULT_TIME_MARGIN, async |m| {
        handle_message(api, m, deadline).await
    })
    .await
}
