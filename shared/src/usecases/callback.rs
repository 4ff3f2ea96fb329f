//! Deepgram's callback: the transcript of a recording we submitted, POSTed to
//! `/callbacks/deepgram/{tenant}/{call}` with the job's secret as the Basic Auth password.
//!
//! Order of checks, each failing closed before anything is written: body size (413); ids,
//! call, job and secret, compared in constant time against the stored digest, and the job's
//! expiry (all 401, alike, so a caller learns nothing about which calls exist); then the
//! `request_id` in the body must be the job's. A replay of an accepted result answers 2xx and
//! changes nothing (Deepgram retries any non-2xx ten times, 30 s apart). Processing is
//! idempotent on the request id, and a delivery that failed halfway resumes where it stopped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use std::time::Duration;
use tracing::{info, warn};

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus};
use crate::ids::{CallId, TenantId};
use crate::parse::TranscriptFormat;
use crate::ports::{BlobStore, Claim, Clock, IdempotencyKey, PipelineStore, Queue, StoreError};
use crate::usecases::once::{Once, run_once};
use crate::usecases::transcribed::{Accepted, SinkError, TranscriptSink};
use crate::usecases::workspace::workspace_closed;

/// Largest callback body accepted: an hour of audio with word timings is about 3 MB, and a
/// synchronous Lambda invocation carries at most 6 MB.
pub const MAX_CALLBACK_BYTES: usize = 5 * 1024 * 1024;
const IN_PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);
const RECORD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// One callback request as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct DeepgramDelivery<'a> {
    pub tenant: &'a str,
    pub call: &'a str,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackAnswer {
    /// The transcript is stored and scoring is queued.
    Accepted { transcript_version: u32 },
    /// Deepgram reported a failure, or sent a body that is not a transcript: the call is
    /// marked failed (retrying the same body would not help).
    CallFailed,
    /// This result was already accepted; nothing changed.
    Replay,
    /// The call's workspace is closed: the result is dropped unread and nothing is stored
    /// (answered as received, so the provider does not send it again).
    Discarded,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback body is larger than {MAX_CALLBACK_BYTES} bytes")]
    TooLarge,
    #[error("the callback is not authenticated for this job")]
    Unauthorized,
    /// The job's submission has not been recorded yet; Deepgram will retry.
    #[error("the job is not ready for its result yet")]
    NotReady,
    #[error("another delivery of this result is in progress")]
    InProgress,
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the transcript could not be accepted")]
    Sink(#[from] SinkError),
}

impl CallbackError {
    /// The HTTP status to answer; everything but 401 and 413 asks Deepgram to retry.
    pub fn status(&self) -> u16 {
        match self {
            CallbackError::TooLarge => 413,
            CallbackError::Unauthorized => 401,
            CallbackError::NotReady | CallbackError::InProgress => 409,
            CallbackError::Store(_) | CallbackError::Sink(_) => 503,
        }
    }
}

/// The fields read before the full parse: the request id, and an error report if any.
#[derive(Debug, Deserialize)]
struct ResultHead {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    err_code: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    results: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    request_id: Option<String>,
}

/// The password of an HTTP Basic `Authorization` header.
pub fn basic_auth_password(header: &str) -> Option<String> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_owned())
}

pub struct CallbackReceiver<'a, S, B, E, Q, C> {
    pub sink: TranscriptSink<'a, S, B, E, Q, C>,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, C: Clock>
    CallbackReceiver<'_, S, B, E, Q, C>
{
    pub async fn deepgram(
        &self,
        delivery: &DeepgramDelivery<'_>,
    ) -> Result<CallbackAnswer, CallbackError> {
        if delivery.body.len() > MAX_CALLBACK_BYTES {
            return Err(CallbackError::TooLarge);
        }
        let call = self.authenticate(delivery).await?;
        if workspace_closed(self.sink.store, &call.tenant_id).await? {
            info!(tenant = %call.tenant_id, call = %call.call_id, "transcription result dropped: the workspace is closed");
            return Ok(CallbackAnswer::Discarded);
        }
        let job_id = call
            .transcription
            .as_ref()
            .and_then(|job| job.job_id.clone());
        let Ok(head) = serde_json::from_slice::<ResultHead>(delivery.body) else {
            return self
                .give_up(call, "the transcription result is not JSON")
                .await;
        };
        let request_id = head
            .metadata
            .as_ref()
            .and_then(|m| m.request_id.clone())
            .or(head.request_id.clone());
        match (&job_id, &request_id) {
            (Some(expected), Some(got)) if expected != got => {
                warn!("callback names another request of this call");
                return Err(CallbackError::Unauthorized);
            }
            // The secret matched but our submission's answer is not stored yet.
            (None, _) => return Err(CallbackError::NotReady),
            _ => {}
        }
        let job_id = job_id.unwrap_or_default();
        if head.results.is_none() && (head.err_code.is_some() || head.category.is_some()) {
            return self
                .give_up(
                    call,
                    "the transcription provider could not transcribe the recording",
                )
                .await;
        }

        let idempotency_key = format!("deepgram#{}#{job_id}", call.call_id);
        let (tenant, call_id) = (call.tenant_id.clone(), call.call_id.clone());
        let record = IdempotencyKey {
            tenant: &tenant,
            call: Some(&call_id),
            key: &idempotency_key,
            payload_hash: &job_id,
        };
        let work = self.complete(call, delivery.body);
        let outcome = run_once(
            self.sink.store,
            &record,
            self.sink.clock.now(),
            IN_PROGRESS_TIMEOUT,
            RECORD_TTL,
            work,
        )
        .await?;
        match outcome {
            Once::Ran(answer) => Ok(answer),
            Once::Skipped(Claim::PayloadMismatch) | Once::Skipped(_) => {
                info!(tenant = %tenant, "callback replay answered without changes");
                Ok(CallbackAnswer::Replay)
            }
            Once::InProgress => Err(CallbackError::InProgress),
        }
    }

    /// The call whose job this secret belongs to, or `Unauthorized` for every kind of miss.
    async fn authenticate(&self, delivery: &DeepgramDelivery<'_>) -> Result<Call, CallbackError> {
        let (Ok(tenant), Ok(call_id)) = (
            TenantId::parse(delivery.tenant),
            CallId::parse(delivery.call),
        ) else {
            return Err(CallbackError::Unauthorized);
        };
        let Some(presented) = delivery.authorization.and_then(basic_auth_password) else {
            return Err(CallbackError::Unauthorized);
        };
        let Some(call) = self.sink.store.get_call(&tenant, &call_id).await? else {
            return Err(CallbackError::Unauthorized);
        };
        let now = self.sink.clock.now();
        match &call.transcription {
            Some(job) if job.secret_matches(&presented) && !job.is_expired(now) => Ok(call),
            _ => {
                warn!(tenant = %tenant, call = %call_id, "callback refused: secret missing, wrong or expired");
                Err(CallbackError::Unauthorized)
            }
        }
    }

    async fn complete(&self, mut call: Call, body: &[u8]) -> Result<CallbackAnswer, CallbackError> {
        match call.status {
            CallStatus::Transcribing => {
                let format = TranscriptFormat::Deepgram;
                match self.sink.accept_bytes(&mut call, format, body).await? {
                    Accepted::Stored { transcript_version } => {
                        Ok(CallbackAnswer::Accepted { transcript_version })
                    }
                    Accepted::Unreadable { .. } => Ok(CallbackAnswer::CallFailed),
                }
            }
            // Stored and moved before a failure to queue: finish the queueing only.
            CallStatus::Transcribed
                if call
                    .transcription
                    .as_ref()
                    .is_some_and(|j| j.completed_at.is_some()) =>
            {
                self.sink.queue_scoring(&call).await?;
                Ok(CallbackAnswer::Accepted {
                    transcript_version: call.transcript_version,
                })
            }
            CallStatus::Uploaded => Err(CallbackError::NotReady),
            _ => Ok(CallbackAnswer::Replay),
        }
    }

    async fn give_up(
        &self,
        mut call: Call,
        reason: &'static str,
    ) -> Result<CallbackAnswer, CallbackError> {
        if call.status == CallStatus::Transcribing {
            self.sink.fail(&mut call, &reason.into()).await?;
            return Ok(CallbackAnswer::CallFailed);
        }
        Ok(CallbackAnswer::Replay)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use time::macros::datetime;

    use super::*;
    use crate::domain::transcription::{CALLBACK_SECRET_LIFETIME, TranscriptionService};
    use crate::fakes::deepgram_result;
    use crate::fakes::kit::media::wav_recording;
    use crate::fakes::kit::rig::FakePorts;
    use crate::ports::CallRepository;
    use crate::usecases::ingest::{
        IngestOutcome, Ingestor, TranscriptionError, TranscriptionProvider, TranscriptionRequest,
        UploadEvent,
    };

    /// Takes every job, answering with a fixed request id and keeping the secret it was given.
    #[derive(Default)]
    struct CapturingProvider(Mutex<Vec<String>>);

    impl TranscriptionProvider for CapturingProvider {
        fn service(&self) -> Option<TranscriptionService> {
            Some(TranscriptionService::Deepgram)
        }
        async fn submit(
            &self,
            request: &TranscriptionRequest<'_>,
        ) -> Result<String, TranscriptionError> {
            let mut secrets = self.0.lock().unwrap();
            secrets.push(request.callback_secret.expose().to_owned());
            Ok(format!("req-{}", secrets.len()))
        }
    }

    crate::rig_over_fake_ports!(
        struct Rig {
            provider: CapturingProvider,
            tenant: TenantId,
        }
    );

    impl Rig {
        fn new() -> Self {
            Self {
                ports: FakePorts::at(datetime!(2026-11-01 9:00 UTC)),
                provider: CapturingProvider::default(),
                tenant: TenantId::parse("acme").unwrap(),
            }
        }

        async fn deepgram(
            &self,
            delivery: &DeepgramDelivery<'_>,
        ) -> Result<CallbackAnswer, CallbackError> {
            CallbackReceiver { sink: self.sink() }
                .deepgram(delivery)
                .await
        }

        /// A call whose recording was submitted; returns it with the secret Deepgram got.
        async fn submitted_call(&self) -> (Call, String) {
            let call = self.call(&self.tenant).await;
            let key = crate::keys::upload_key(&self.tenant, &call.call_id, "call.wav");
            let recording = wav_recording(0);
            let size = recording.len() as u64;
            self.blobs.put(&key, recording, "audio/wav").await.unwrap();
            let ingestor = Ingestor {
                store: &self.store,
                blobs: &self.blobs,
                envelope: &self.envelope,
                queue: &self.queue,
                provider: &self.provider,
                clock: &self.clock,
            };
            let event = UploadEvent {
                bucket: "b".into(),
                encoded_key: key,
                size: Some(size),
                sequencer: Some("01".into()),
                etag: None,
            };
            assert_eq!(
                ingestor.ingest(&event).await.unwrap(),
                IngestOutcome::SentForTranscription
            );
            let secret = self.provider.0.lock().unwrap().last().cloned().unwrap();
            (self.stored(&call).await, secret)
        }
    }

    fn basic(password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("callcoach:{password}")))
    }

    fn result_body(request_id: &str) -> Vec<u8> {
        deepgram_result(
            request_id,
            &[
                (0, 0.0, 2.0, "What made you look at new tools?"),
                (
                    1,
                    2.5,
                    6.0,
                    "Our renewal is in March and the budget is tight.",
                ),
            ],
        )
        .to_string()
        .into_bytes()
    }

    fn delivery<'a>(call: &'a Call, auth: Option<&'a str>, body: &'a [u8]) -> DeepgramDelivery<'a> {
        DeepgramDelivery {
            tenant: call.tenant_id.as_str(),
            call: call.call_id.as_str(),
            authorization: auth,
            body,
        }
    }

    #[tokio::test]
    async fn the_jobs_secret_stores_the_transcript_and_queues_one_scoring_job() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        assert_eq!(call.status, CallStatus::Transcribing);
        let auth = basic(&secret);
        let body = result_body("req-1");
        let answer = rig
            .deepgram(&delivery(&call, Some(&auth), &body))
            .await
            .unwrap();
        assert_eq!(
            answer,
            CallbackAnswer::Accepted {
                transcript_version: 1
            }
        );
        rig.assert_transcribed_and_queued(&call).await;
    }

    #[tokio::test]
    async fn a_replay_answers_ok_and_changes_nothing() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        let auth = basic(&secret);
        let body = result_body("req-1");
        rig.deepgram(&delivery(&call, Some(&auth), &body))
            .await
            .unwrap();
        let after_first = rig.stored(&call).await;
        for _ in 0..3 {
            assert_eq!(
                rig.deepgram(&delivery(&call, Some(&auth), &body))
                    .await
                    .unwrap(),
                CallbackAnswer::Replay
            );
        }
        assert_eq!(rig.stored(&call).await, after_first);
        assert_eq!(rig.queue.messages().len(), 1);
    }

    #[tokio::test]
    async fn missing_wrong_other_call_and_expired_secrets_change_nothing() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        let (other_call, other_secret) = rig.submitted_call().await;
        let body = result_body("req-1");
        let wrong = basic("not-the-secret");
        let others = basic(&other_secret);
        let not_basic = format!("Bearer {secret}");
        let cases: [(&str, Option<&str>); 4] = [
            ("missing", None),
            ("wrong", Some(&wrong)),
            ("other call's", Some(&others)),
            ("not basic", Some(&not_basic)),
        ];
        for (name, auth) in cases {
            let error = rig
                .deepgram(&delivery(&call, auth, &body))
                .await
                .unwrap_err();
            assert!(
                matches!(error, CallbackError::Unauthorized),
                "{name}: {error:?}"
            );
            assert_eq!(error.status(), 401);
        }
        // A malformed id in the path answers like a wrong secret.
        let right = basic(&secret);
        let bad_path = DeepgramDelivery {
            call: "../x",
            ..delivery(&call, Some(&right), &body)
        };
        assert_eq!(rig.deepgram(&bad_path).await.unwrap_err().status(), 401);

        rig.clock.advance(CALLBACK_SECRET_LIFETIME.unsigned_abs());
        let expired = rig
            .deepgram(&delivery(&call, Some(&right), &body))
            .await
            .unwrap_err();
        assert_eq!(expired.status(), 401);
        assert_eq!(rig.stored(&call).await.status, CallStatus::Transcribing);
        assert_eq!(
            rig.stored(&other_call).await.status,
            CallStatus::Transcribing
        );
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_before_anything_is_read() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        let auth = basic(&secret);
        let body = vec![b' '; MAX_CALLBACK_BYTES + 1];
        let error = rig
            .deepgram(&delivery(&call, Some(&auth), &body))
            .await
            .unwrap_err();
        assert_eq!(error.status(), 413);
        assert_eq!(rig.stored(&call).await.status, CallStatus::Transcribing);
    }

    #[tokio::test]
    async fn a_result_for_another_request_of_the_call_is_refused() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        let auth = basic(&secret);
        let body = result_body("req-someone-else");
        let error = rig
            .deepgram(&delivery(&call, Some(&auth), &body))
            .await
            .unwrap_err();
        assert_eq!(error.status(), 401);
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn a_provider_error_marks_the_call_failed_and_is_acknowledged() {
        let rig = Rig::new();
        let (call, secret) = rig.submitted_call().await;
        let auth = basic(&secret);
        let body = br#"{"err_code":"Bad Request","err_msg":"corrupt or unsupported data","request_id":"req-1"}"#;
        let answer = rig
            .deepgram(&delivery(&call, Some(&auth), body))
            .await
            .unwrap();
        assert_eq!(answer, CallbackAnswer::CallFailed);
        let stored = rig.stored(&call).await;
        assert_eq!(stored.status, CallStatus::Failed);
        assert!(
            stored
                .failure_reason
                .unwrap()
                .contains("could not transcribe")
        );
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn a_callback_that_outruns_the_submission_is_asked_to_retry() {
        let rig = Rig::new();
        let (mut call, secret) = rig.submitted_call().await;
        // As if the submission's answer had not been saved yet.
        call.transcription.as_mut().unwrap().job_id = None;
        call.status = CallStatus::Uploaded;
        rig.store.save_call(&mut call).await.unwrap();
        let auth = basic(&secret);
        let body = result_body("req-1");
        let error = rig
            .deepgram(&delivery(&call, Some(&auth), &body))
            .await
            .unwrap_err();
        assert_eq!(error.status(), 409);
        assert_eq!(rig.stored(&call).await.status, CallStatus::Uploaded);
    }

    #[test]
    fn basic_auth_passwords_are_read_only_from_basic_credentials() {
        assert_eq!(
            basic_auth_password(&basic("s3cret")).as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            basic_auth_password("basic Y2M6YTpi").as_deref(),
            Some("a:b")
        );
        assert_eq!(basic_auth_password("Bearer abc"), None);
        assert_eq!(basic_auth_password("Basic !!!"), None);
        assert_eq!(basic_auth_password("Basic"), None);
    }
}
