//! The api function's one entry point: API Gateway's HTTP requests go to the router, batches
//! from the export-jobs queue to [`crate::jobs`]. Lambda hands both to the same function, so
//! the event's shape tells them apart: an SQS batch carries `Records`, an HTTP API request
//! never does.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crate::{Api, Ports, jobs, router};

/// What one invocation carried.
enum Invocation {
    Http(Box<LambdaRequest>),
    ExportJobs(SqsEvent),
}

fn classify(payload: Value) -> Result<Invocation, serde_json::Error> {
    if payload.get("Records").is_some() {
        serde_json::from_value(payload).map(Invocation::ExportJobs)
    } else {
        serde_json::from_value(payload).map(|r| Invocation::Http(Box::new(r)))
    }
}

/// Handles one invocation; the answer is what Lambda returns to its caller.
pub async fn handle<P: Ports>(
    api: &Arc<Api<P>>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let LambdaEvent { payload, context } = event;
    match classify(payload)? {
        Invocation::ExportJobs(batch) => {
            let answer = jobs::handle_jobs(api, LambdaEvent::new(batch, context)).await?;
            Ok(serde_json::to_value(answer)?)
        }
        Invocation::Http(request) => {
            // The adapter is not Send (it names the response type by reference): it makes
            // the response future and goes, so this future stays Send.
            let response = {
                let mut http = Adapter::from(router(Arc::clone(api)));
                http.call(LambdaEvent::new(*request, context))
            };
            let answer = response.await?;
            Ok(serde_json::to_value(answer)?)
        }
    }
}

/// An SQS batch through [`handle`] as Lambda hands it over, JSON in and JSON out: for the
/// local event sources that play Lambda's queue polling.
pub async fn handle_queue_batch<P: Ports>(
    api: &Arc<Api<P>>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let LambdaEvent { payload, context } = event;
    let answer = handle(
        api,
        LambdaEvent::new(serde_json::to_value(payload)?, context),
    )
    .await?;
    Ok(serde_json::from_value(answer)?)
}

/// Runs the function: every invocation through [`handle`].
pub async fn serve<P: Ports>(api: Arc<Api<P>>) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let api = Arc::clone(&api);
        async move { handle(&api, event).await }
    }))
    .await
}
