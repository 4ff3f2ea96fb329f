//! Transcription callback: Deepgram POSTs a finished transcript to
//! `/callbacks/deepgram/{tenant}/{call}` through API Gateway (no authorizer: the per-job secret
//! in the Basic Auth credentials is the authentication, checked by
//! [`CallbackReceiver::deepgram`]). The answer is quick: store, enqueue, return.
//!
//! The same function takes Amazon Transcribe's "Transcribe Job State Change" events and a
//! schedule that sweeps for finished jobs whose event never came ([`handle_event`]).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use callcoach_shared::crypto::Envelope;
use callcoach_shared::lambda::{DEFAULT_TIME_MARGIN, Deadline};
use callcoach_shared::ports::{BlobStore, Clock, PipelineStore, Queue};
use callcoach_shared::usecases::callback::{
    CallbackAnswer, CallbackError, CallbackReceiver, DeepgramDelivery, MAX_CALLBACK_BYTES,
};
use callcoach_shared::usecases::transcribe::{TranscribeFinisher, TranscribeJobs};
use callcoach_shared::usecases::transcribed::TranscriptSink;
use callcoach_shared::usecases::waiting::{Deadlines, WaitingSweep};
use lambda_runtime::{Error, LambdaEvent};
use tracing::{info, warn};

pub struct Deps<S, B, E, Q, C> {
    pub store: S,
    pub blobs: B,
    pub envelope: E,
    pub scoring_queue: Q,
    pub clock: C,
}

/// The ports the callback works through, under one name: its [`Deps`] over the deployment's
/// adapters or the tests' fakes.
pub trait CallbackPorts {
    type Store: PipelineStore;
    type Blobs: BlobStore;
    type Envelope: Envelope;
    type Queue: Queue;
    type Clock: Clock;
    /// Where finished transcripts go, whoever delivers them.
    #[allow(clippy::type_complexity)] // the use case over each port, spelled out once
    fn sink(
        &self,
    ) -> TranscriptSink<'_, Self::Store, Self::Blobs, Self::Envelope, Self::Queue, Self::Clock>;
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, C: Clock> CallbackPorts
    for Deps<S, B, E, Q, C>
{
    type Store = S;
    type Blobs = B;
    type Envelope = E;
    type Queue = Q;
    type Clock = C;
    fn sink(&self) -> TranscriptSink<'_, S, B, E, Q, C> {
        TranscriptSink {
            store: &self.store,
            blobs: &self.blobs,
            envelope: &self.envelope,
            queue: &self.scoring_queue,
            clock: &self.clock,
        }
    }
}

/// Shared deps (one callback bundle behind several servers) are the same ports.
impl<D: CallbackPorts> CallbackPorts for std::sync::Arc<D> {
    type Store = D::Store;
    type Blobs = D::Blobs;
    type Envelope = D::Envelope;
    type Queue = D::Queue;
    type Clock = D::Clock;
    fn sink(&self) -> TranscriptSink<'_, D::Store, D::Blobs, D::Envelope, D::Queue, D::Clock> {
        D::sink(self)
    }
}

fn respond(status: u16, outcome: &str) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(
        "content-type",
        "application/json".parse().expect("a valid header value"),
    );
    response.body = Some(Body::Text(
        serde_json::json!({ "outcome": outcome }).to_string(),
    ));
    response
}

/// The body as bytes; API Gateway base64-encodes bodies it does not consider text.
fn body_bytes(request: &ApiGatewayV2httpRequest) -> Option<Vec<u8>> {
    let body = request.body.as_deref().unwrap_or("");
    if request.is_base64_encoded {
        // Decoded size is 3/4 of the encoded size: refuse huge bodies before decoding them.
        if body.len() / 4 * 3 > MAX_CALLBACK_BYTES + 3 {
            return Some(vec![0; MAX_CALLBACK_BYTES + 1]);
        }
        STANDARD.decode(body).ok()
    } else {
        Some(body.as_bytes().to_vec())
    }
}

pub async fn handle(
    deps: &impl CallbackPorts,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let request = event.payload;
    let param = |name: &str| {
        request
            .path_parameters
            .get(name)
            .map(String::as_str)
            .unwrap_or("")
    };
    let Some(body) = body_bytes(&request) else {
        return Ok(respond(400, "body is not valid base64"));
    };
    let delivery = DeepgramDelivery {
        tenant: param("tenant"),
        call: param("call"),
        authorization: request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        body: &body,
    };
    let receiver = CallbackReceiver { sink: deps.sink() };
    Ok(match receiver.deepgram(&delivery).await {
        Ok(CallbackAnswer::Accepted { transcript_version }) => {
            info!(transcript_version, "callback accepted");
            respond(200, "accepted")
        }
        Ok(CallbackAnswer::CallFailed) => respond(200, "call_failed"),
        Ok(CallbackAnswer::Replay) => respond(200, "already_accepted"),
        Ok(CallbackAnswer::Discarded) => respond(200, "discarded"),
        Err(error) => {
            let status = error.status();
            match &error {
                CallbackError::Store(_) | CallbackError::Sink(_) => {
                    warn!(error = %callcoach_shared::telemetry::Chain(&error), "callback failed; Deepgram will retry");
                }
                _ => warn!(error = %error, status, "callback refused"),
            }
            respond(status, error_outcome(&error))
        }
    })
}

fn error_outcome(error: &CallbackError) -> &'static str {
    match error {
        CallbackError::TooLarge => "too_large",
        CallbackError::Unauthorized => "unauthorized",
        CallbackError::NotReady | CallbackError::InProgress => "retry_later",
        CallbackError::Store(_) | CallbackError::Sink(_) => "unavailable",
    }
}

/// What the function does besides answering Deepgram: Amazon Transcribe's job events, and the
/// scheduled sweep for jobs whose event never came.
pub struct TranscribeDeps<J> {
    pub jobs: J,
    /// `TRANSCRIBE_DELETE_OUTPUT`: drop the service's raw output once stored (default true).
    pub delete_output: bool,
    /// How long a call may wait in each waiting state before the sweep retries or fails it.
    pub deadlines: Deadlines,
}

/// Reads the deadlines of the waiting states (hours; a bad value fails the cold start):
/// `UPLOAD_DEADLINE_HOURS` (1-24, default 1), `TRANSCRIPTION_DEADLINE_HOURS` (1-72, default
/// 6), `SCORING_DEADLINE_HOURS` (3-48, default 3: the scoring queue takes 2.5 hours to give
/// up, and the sweep acts only after it).
pub fn deadlines(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Deadlines, callcoach_shared::config::ConfigError> {
    use callcoach_shared::config::bounded;
    let hours = |n: u32| time::Duration::hours(i64::from(n));
    Ok(Deadlines {
        upload: hours(bounded(lookup, "UPLOAD_DEADLINE_HOURS", 1..=24, 1)?),
        transcription: hours(bounded(lookup, "TRANSCRIPTION_DEADLINE_HOURS", 1..=72, 6)?),
        scoring: hours(bounded(lookup, "SCORING_DEADLINE_HOURS", 3..=48, 3)?),
    })
}

/// The EventBridge events this function takes.
#[derive(Debug, serde::Deserialize)]
struct EventBridgeEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    detail: serde_json::Value,
}

/// Handles a "Transcribe Job State Change" event (the job named in it) or a "Scheduled Event"
/// (a sweep). Anything else is refused as an error, so a misrouted event is seen, not lost.
pub async fn handle_event(
    deps: &impl CallbackPorts,
    transcribe: &TranscribeDeps<impl TranscribeJobs>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let deadline = Deadline::of(&event.context);
    let parsed: EventBridgeEvent = serde_json::from_value(event.payload)?;
    let finisher = TranscribeFinisher {
        sink: deps.sink(),
        jobs: &transcribe.jobs,
        delete_output: transcribe.delete_output,
    };
    match parsed.detail_type.as_str() {
        "Transcribe Job State Change" => {
            let job = parsed
                .detail
                .get("TranscriptionJobName")
                .and_then(serde_json::Value::as_str)
                .ok_or("the event names no transcription job")?;
            let outcome = finisher.finish(job).await?;
            info!(outcome = ?outcome, "transcription job event handled");
            Ok(serde_json::json!({"outcome": format!("{outcome:?}")}))
        }
        "Scheduled Event" => {
            // Stop short of the deadline; the next scheduled sweep continues.
            let has_time = deadline.has_time(DEFAULT_TIME_MARGIN);
            let report = finisher.sweep(has_time).await?;
            // Finished jobs first, so a job whose event was lost is not failed as overdue.
            let overdue = WaitingSweep {
                sink: finisher.sink,
                deadlines: transcribe.deadlines,
            }
            .run(has_time)
            .await?;
            info!(
                seen = report.seen,
                transcribed = report.transcribed,
                failed = report.failed,
                errors = report.errors,
                overdue_failed = overdue.failed,
                overdue_retried = overdue.retried,
                "transcription sweep done"
            );
            Ok(serde_json::json!({
                "seen": report.seen, "transcribed": report.transcribed,
                "failed": report.failed, "errors": report.errors,
                "overdue": overdue,
            }))
        }
        other => {
            warn!(
                detail_type = other,
                "an event this function does not handle"
            );
            Err(format!("unexpected event type {other:?}").into())
        }
    }
}

/// The function's entry: API Gateway requests (Deepgram's callbacks) carry a request context
/// and get an HTTP answer; EventBridge events (Transcribe job changes, the sweep schedule) go
/// to [`handle_event`].
pub async fn handle_any(
    deps: &impl CallbackPorts,
    transcribe: &TranscribeDeps<impl TranscribeJobs>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let LambdaEvent { payload, context } = event;
    if payload.get("requestContext").is_some() {
        let request: ApiGatewayV2httpRequest = serde_json::from_value(payload)?;
        let response = handle(deps, LambdaEvent::new(request, context)).await?;
        Ok(serde_json::to_value(response)?)
    } else {
        handle_event(deps, transcribe, LambdaEvent::new(payload, context)).await
    }
}
