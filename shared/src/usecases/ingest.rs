//! Ingestion of an uploaded object (the upload trigger's work).
//!
//! Steps: form-decode the key and check the upload layout `uploads/{tenant}/{call}/{file}`;
//! find the call; ignore events older than the upload the call reflects (S3 `sequencer`,
//! compared as hex after padding); claim an idempotency record; sniff the content by its
//! bytes; then either parse, encrypt and store the transcript, move the call to `transcribed`
//! and queue exactly one scoring job, or hand a recording to the transcription provider. A bad
//! file marks the call failed with a readable reason; infrastructure errors are retried.

use std::future::Future;
use std::time::Duration;

use tracing::info;

use crate::crypto::Envelope;
use crate::domain::call::{Call, CallStatus, FailureReason};
use crate::domain::transcription::{CallbackSecret, TranscriptionJob, TranscriptionService};
use crate::ids::{CallId, TenantId};
use crate::keys::UPLOADS_AREA;
use crate::parse::{AudioKind, Detected, SNIFF_LEN, detect};
use crate::ports::{
    BackendError, BlobStore, Claim, Clock, IdempotencyKey, PipelineStore, Queue, StoreError,
};
pub use crate::usecases::once::IDEMPOTENCY_TTL;
use crate::usecases::once::{Once, run_once};
use crate::usecases::transcribed::{Accepted, SinkError, TranscriptSink};
use crate::usecases::workspace::workspace_closed;

/// Largest transcript file accepted.
pub const MAX_TRANSCRIPT_BYTES: u64 = 20 * 1024 * 1024;
/// Largest recording accepted (Deepgram's limit for pre-recorded audio).
pub const MAX_RECORDING_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// How long a claimed upload may be in progress before another delivery may take it over.
pub const IN_PROGRESS_TIMEOUT: Duration = Duration::from_secs(120);

/// One S3 ObjectCreated record, as the notification carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEvent {
    pub bucket: String,
    /// Form-URL-encoded, as S3 sends it.
    pub encoded_key: String,
    pub size: Option<u64>,
    pub sequencer: Option<String>,
    pub etag: Option<String>,
}

/// Why an event was refused without touching any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    BadEncoding,
    OutsideUploadLayout,
    BadId,
    UnknownCall,
    PayloadMismatch,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::BadEncoding => "key is not valid form-encoded UTF-8",
            Rejection::OutsideUploadLayout => "key is outside uploads/{tenant}/{call}/{file}",
            Rejection::BadId => "key names an invalid tenant or call id",
            Rejection::UnknownCall => "no such call for this tenant",
            Rejection::PayloadMismatch => "idempotency key reused with a different payload",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The transcript is stored and one scoring job is queued.
    Transcribed {
        transcript_version: u32,
    },
    /// The recording went to the transcription provider.
    SentForTranscription,
    /// The call was marked failed with this reason (a bad file, not a fault of ours).
    CallFailed(FailureReason),
    /// Nothing to do: a duplicate, an older event, or a test event.
    Ignored(&'static str),
    Rejected(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("another delivery of this upload is in progress")]
    InProgress,
    #[error("a store failed")]
    Store(#[from] StoreError),
    #[error("the object store failed")]
    Blob(#[from] crate::ports::BlobError),
    #[error("the document could not be stored")]
    Document(#[from] crate::usecases::documents::DocumentError),
    #[error("the queue failed")]
    Queue(#[from] crate::ports::QueueError),
    #[error("the transcription provider failed")]
    Provider(#[source] BackendError),
    #[error("the transcript could not be accepted")]
    Sink(#[from] SinkError),
}

/// A recording to transcribe.
#[derive(Debug, Clone)]
pub struct TranscriptionRequest<'a> {
    pub tenant: &'a TenantId,
    pub call: &'a CallId,
    pub object_key: &'a str,
    pub kind: AudioKind,
    /// The job's callback secret, for providers that call back.
    pub callback_secret: &'a CallbackSecret,
}

/// Why a provider did not take a job.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptionError {
    /// Not a fault of the file or a passing failure: the workspace has no provider.
    #[error("audio transcription is not configured for this workspace")]
    NotConfigured,
    /// The provider refused the job for good (for example an unsupported file), in our words:
    /// the provider's own message may repeat our request (a signed link) and is not kept.
    #[error("{0}")]
    Refused(FailureReason),
    #[error("the transcription provider is unavailable")]
    Unavailable(#[source] BackendError),
}

impl TranscriptionError {
    /// As the failed call's reason.
    fn into_failure(self) -> FailureReason {
        match self {
            TranscriptionError::Refused(reason) => reason,
            TranscriptionError::NotConfigured => {
                "audio transcription is not configured for this workspace".into()
            }
            TranscriptionError::Unavailable(_) => {
                "the transcription provider is unavailable".into()
            }
        }
    }
}

/// Starts transcription of a recording; the result arrives later (callback or event).
pub trait TranscriptionProvider: Send + Sync {
    /// The service behind this provider; `None` when audio transcription is off.
    fn service(&self) -> Option<TranscriptionService>;

    /// Returns the provider's job id.
    fn submit(
        &self,
        request: &TranscriptionRequest<'_>,
    ) -> impl Future<Output = Result<String, TranscriptionError>> + Send;
}

/// The provider of a deployment without audio transcription.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTranscription;

impl TranscriptionProvider for NoTranscription {
    fn service(&self) -> Option<TranscriptionService> {
        None
    }

    async fn submit(
        &self,
        _request: &TranscriptionRequest<'_>,
    ) -> Result<String, TranscriptionError> {
        Err(TranscriptionError::NotConfigured)
    }
}

/// `application/x-www-form-urlencoded` decoding of an S3 key (`+` is a space).
pub fn form_decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The tenant and call an upload key names, if it follows the layout exactly.
pub fn parse_upload_key(key: &str) -> Result<(TenantId, CallId), Rejection> {
    let rest = key
        .strip_prefix(UPLOADS_AREA)
        .ok_or(Rejection::OutsideUploadLayout)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [tenant, call, file] = parts.as_slice() else {
        return Err(Rejection::OutsideUploadLayout);
    };
    if file.is_empty() || *file == "." || *file == ".." || file.chars().any(char::is_control) {
        return Err(Rejection::OutsideUploadLayout);
    }
    let tenant = TenantId::parse(*tenant).map_err(|_| Rejection::BadId)?;
    let call = CallId::parse(*call).map_err(|_| Rejection::BadId)?;
    Ok((tenant, call))
}

/// Orders two S3 sequencers: hex strings compared after left-padding to equal length.
pub fn sequencer_is_newer(candidate: &str, current: &str) -> bool {
    let width = candidate.len().max(current.len());
    let pad = |s: &str| format!("{:0>width$}", s.to_ascii_uppercase());
    pad(candidate) > pad(current)
}

fn payload_hash(event: &UploadEvent) -> String {
    // FNV-1a over the fields that identify one upload; it only has to tell payloads apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        &event.bucket,
        &event.encoded_key,
        event.sequencer.as_deref().unwrap_or(""),
        event.etag.as_deref().unwrap_or(""),
    ] {
        for b in part.bytes().chain([0u8]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}-{}", event.size.unwrap_or(0))
}

/// Ports the ingestion needs; the table implements the three repository ports.
pub struct Ingestor<'a, S, B, E, Q, P, C> {
    pub store: &'a S,
    pub blobs: &'a B,
    pub envelope: &'a E,
    pub queue: &'a Q,
    pub provider: &'a P,
    pub clock: &'a C,
}

impl<S: PipelineStore, B: BlobStore, E: Envelope, Q: Queue, P: TranscriptionProvider, C: Clock>
    Ingestor<'_, S, B, E, Q, P, C>
{
    pub async fn ingest(&self, event: &UploadEvent) -> Result<IngestOutcome, IngestError> {
        let Some(key) = form_decode(&event.encoded_key) else {
            return Ok(IngestOutcome::Rejected(Rejection::BadEncoding));
        };
        let (tenant, call_id) = match parse_upload_key(&key) {
            Ok(ids) => ids,
            Err(rejection) => return Ok(IngestOutcome::Rejected(rejection)),
        };
        // An upload only a presigned URL of ours can make, for a call deleted or purged since
        // (the URL was still valid): the file has no call to belong to, so it is removed now
        // (nothing would ever purge it), and the event is an outcome, not a retry.
        let Some(call) = self.store.get_call(&tenant, &call_id).await? else {
            self.blobs.delete(std::slice::from_ref(&key)).await?;
            return Ok(IngestOutcome::Rejected(Rejection::UnknownCall));
        };
        if call.status == CallStatus::Deleted {
            self.blobs.delete(std::slice::from_ref(&key)).await?;
            return Ok(IngestOutcome::Ignored("the call was deleted"));
        }
        // A closed workspace's upload is not taken in: its file goes with the workspace, and
        // a call whose workspace is given back is failed by the waiting sweep, with a reason.
        if workspace_closed(self.store, &tenant).await? {
            return Ok(IngestOutcome::Ignored("the workspace is closed"));
        }
        if let (Some(incoming), Some(current)) = (&event.sequencer, &call.upload_sequencer) {
            if sequencer_is_newer(current, incoming) {
                return Ok(IngestOutcome::Ignored("an older event for this upload"));
            }
            // The same event again: it resumes a run that stopped at `uploaded` (a provider,
            // KMS or the table failed, or the function timed out); past that it is done.
            let same = !sequencer_is_newer(incoming, current);
            let stopped_at_uploaded =
                call.status == CallStatus::Uploaded && call.upload_key.as_deref() == Some(&*key);
            if same && !stopped_at_uploaded {
                // A run killed after sealing the transcript but before removing its file
                // removes it now (a recording's call has a transcription job, and stays).
                if call.transcription.is_none()
                    && call.transcript_version > 0
                    && call.upload_key.as_deref() == Some(&*key)
                {
                    self.drop_transcript_upload(&key, event).await;
                }
                return Ok(IngestOutcome::Ignored(
                    "this upload was already taken further",
                ));
            }
        }

        let idempotency_key = format!(
            "upload#{call_id}#{}",
            event
                .sequencer
                .as_deref()
                .or(event.etag.as_deref())
                .unwrap_or("-")
        );
        let hash = payload_hash(event);
        let record = IdempotencyKey {
            tenant: &tenant,
            call: Some(&call_id),
            key: &idempotency_key,
            payload_hash: &hash,
        };
        let work = self.process(call, &key, event);
        let outcome = run_once(
            self.store,
            &record,
            self.clock.now(),
            IN_PROGRESS_TIMEOUT,
            IDEMPOTENCY_TTL,
            work,
        )
        .await?;
        Ok(match outcome {
            Once::Ran(outcome) => outcome,
            Once::Skipped(Claim::PayloadMismatch) => {
                IngestOutcome::Rejected(Rejection::PayloadMismatch)
            }
            Once::Skipped(_) => IngestOutcome::Ignored("this upload was already ingested"),
            Once::InProgress => return Err(IngestError::InProgress),
        })
    }

    fn sink(&self) -> TranscriptSink<'_, S, B, E, Q, C> {
        TranscriptSink {
            store: self.store,
            blobs: self.blobs,
            envelope: self.envelope,
            queue: self.queue,
            clock: self.clock,
        }
    }

    async fn fail(
        &self,
        mut call: Call,
        reason: FailureReason,
    ) -> Result<IngestOutcome, IngestError> {
        self.sink().fail(&mut call, &reason).await?;
        Ok(IngestOutcome::CallFailed(reason))
    }

    async fn process(
        &self,
        mut call: Call,
        key: &str,
        event: &UploadEvent,
    ) -> Result<IngestOutcome, IngestError> {
        let sink = self.sink();
        let resuming =
            call.status == CallStatus::Uploaded && call.upload_key.as_deref() == Some(key);
        let head = self.blobs.get_prefix(key, SNIFF_LEN as u64).await?;
        if head.is_none()
            && !resuming
            && call.transcript_version > 0
            && call.upload_key.as_deref() == Some(key)
        {
            // The event of a write of the same file again (a client retrying its PUT), whose
            // versions went with the first once its transcript was sealed: nothing new.
            return Ok(IngestOutcome::Ignored(
                "the file was taken in and removed already",
            ));
        }
        if !resuming {
            if !call.status.can_move_to(CallStatus::Uploaded) {
                // Another file of the call is being taken in right now: a matter of seconds.
                // (A newer upload supersedes a transcription or scoring in flight.)
                return Err(IngestError::InProgress);
            }
            // A transcription of the old upload may still be writing its transcript as the
            // next version: that version is reserved for it, so the late write lands where
            // nothing reads it instead of over this upload's transcript.
            if call.status == CallStatus::Transcribing {
                call.transcript_floor = call.transcript_version.max(call.transcript_floor) + 1;
            }
            call.upload_generation += 1;
            call.upload_sequencer = event.sequencer.clone().or(call.upload_sequencer.take());
            call.upload_key = Some(key.to_owned());
            call.transcription = None;
            sink.move_call(&mut call, CallStatus::Uploaded).await?;
        } else if event.sequencer.is_some() && event.sequencer != call.upload_sequencer {
            // A newer write of the same key resumes the run: the call reflects it from now on,
            // so its own redelivery is not taken for newer again.
            call.upload_sequencer = event.sequencer.clone();
            sink.save(&mut call).await?;
        }

        let Some(head) = head else {
            return self.fail(call, "the uploaded file is missing".into()).await;
        };
        match detect(&head) {
            Detected::Empty => self.fail(call, "the uploaded file is empty".into()).await,
            Detected::Utf16Text => self.fail(call, crate::parse::ParseError::Utf16.as_failure()).await,
            Detected::Unknown => {
                self.fail(call, "the file is neither a supported recording (wav, mp3, m4a/mp4, webm, ogg, flac) nor a supported transcript (WebVTT, SRT, Deepgram or Transcribe JSON, \"Speaker: text\")".into()).await
            }
            Detected::Audio(kind) => {
                if event.size.unwrap_or(0) > MAX_RECORDING_BYTES {
                    return self.fail(call, FailureReason::composed(format!("the recording is larger than {} GB", MAX_RECORDING_BYTES >> 30))).await;
                }
                self.transcribe(call, key, kind).await
            }
            Detected::Transcript(format) => {
                if event.size.unwrap_or(0) > MAX_TRANSCRIPT_BYTES || head.len() as u64 > MAX_TRANSCRIPT_BYTES {
                    return self.fail(call, FailureReason::composed(format!("the transcript is larger than {} MB", MAX_TRANSCRIPT_BYTES >> 20))).await;
                }
                let bytes = if head.len() < SNIFF_LEN { head } else {
                    match self.blobs.get(key).await? {
                        Some(bytes) if bytes.len() as u64 <= MAX_TRANSCRIPT_BYTES => bytes,
                        Some(_) => return self.fail(call, FailureReason::composed(format!("the transcript is larger than {} MB", MAX_TRANSCRIPT_BYTES >> 20))).await,
                        None => return self.fail(call, "the uploaded file is missing".into()).await,
                    }
                };
                match sink.accept_bytes(&mut call, format, &bytes).await? {
                    Accepted::Stored { transcript_version } => {
                        self.drop_transcript_upload(key, event).await;
                        Ok(IngestOutcome::Transcribed { transcript_version })
                    }
                    Accepted::Unreadable { reason } => Ok(IngestOutcome::CallFailed(reason)),
                }
            }
        }
    }

    /// Removes a transcript file once its words are stored sealed: the bucket's own encryption
    /// is not the tenant's, so the plain file would stay readable after the workspace's keys
    /// are shredded (found by the chaos run). Every version of this content goes (the bucket
    /// is versioned; a client's retried PUT of the same file makes another), and a newer
    /// upload of other content stays for its own event. A failure leaves the file to the
    /// reaper's raw-upload window rather than failing the call now stored; a redelivery of
    /// this event tries again.
    async fn drop_transcript_upload(&self, key: &str, event: &UploadEvent) {
        let Some(etag) = event.etag.as_deref() else {
            return;
        };
        if let Err(error) = self.blobs.remove_versions_of(key, etag).await {
            tracing::warn!(error = %crate::telemetry::Chain(&error), "the transcript file stays until the reaper's raw-upload window");
        }
    }

    /// Hands a recording to the provider. The job and the digest of its fresh callback secret
    /// are saved on the call before submitting, so a callback that outruns the submission's
    /// answer is recognised (and asked to retry until the call is `transcribing`).
    async fn transcribe(
        &self,
        mut call: Call,
        key: &str,
        kind: AudioKind,
    ) -> Result<IngestOutcome, IngestError> {
        let sink = self.sink();
        let Some(service) = self.provider.service() else {
            return self
                .fail(call, TranscriptionError::NotConfigured.into_failure())
                .await;
        };
        let secret = CallbackSecret::generate();
        let uses_secret = service == TranscriptionService::Deepgram;
        call.transcription = Some(TranscriptionJob::new(
            service,
            uses_secret.then_some(&secret),
            self.clock.now(),
        ));
        sink.save(&mut call).await?;
        let request = TranscriptionRequest {
            tenant: &call.tenant_id,
            call: &call.call_id,
            object_key: key,
            kind,
            callback_secret: &secret,
        };
        match self.provider.submit(&request).await {
            Ok(job_id) => {
                if let Some(job) = call.transcription.as_mut() {
                    job.job_id = Some(job_id);
                }
                sink.move_call(&mut call, CallStatus::Transcribing).await?;
                info!(tenant = %call.tenant_id, call = %call.call_id, "recording sent for transcription");
                Ok(IngestOutcome::SentForTranscription)
            }
            Err(TranscriptionError::Unavailable(e)) => Err(IngestError::Provider(e)),
            Err(refused) => self.fail(call, refused.into_failure()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fakes::kit::rig::FakePorts;
    use crate::messages::PipelineMessage;
    use crate::ports::{CallRepository, DocumentKind, IdempotencyStore};

    crate::rig_over_fake_ports!(
        struct Rig {
            tenant: TenantId,
        }
    );

    impl Rig {
        fn new() -> Self {
            Self {
                ports: FakePorts::at(datetime!(2026-11-01 9:00 UTC)),
                tenant: TenantId::parse("acme").unwrap(),
            }
        }
        async fn ingest(&self, event: &UploadEvent) -> Result<IngestOutcome, IngestError> {
            let ingestor = Ingestor {
                store: &self.store,
                blobs: &self.blobs,
                envelope: &self.envelope,
                queue: &self.queue,
                provider: &NoTranscription,
                clock: &self.clock,
            };
            ingestor.ingest(event).await
        }
        async fn call(&self) -> Call {
            self.ports.call(&self.tenant).await
        }
        async fn transcript(
            &self,
            call: &Call,
            version: u32,
        ) -> crate::domain::transcript::Transcript {
            self.vault()
                .get(
                    &self.tenant,
                    &call.call_id,
                    DocumentKind::Transcript,
                    version,
                )
                .await
                .unwrap()
                .unwrap()
        }
        async fn upload(&self, call: &Call, file: &str, body: &[u8]) -> UploadEvent {
            let key = crate::keys::upload_key(&self.tenant, &call.call_id, file);
            self.blobs
                .put(&key, body.to_vec(), "application/octet-stream")
                .await
                .unwrap();
            UploadEvent {
                bucket: "b".into(),
                encoded_key: key.replace('/', "%2F").replace(' ', "+"),
                size: Some(body.len() as u64),
                sequencer: None,
                etag: Some("e1".into()),
            }
        }
    }

    impl Rig {
        /// The upload of `f.vtt` with S3's `sequencer`.
        async fn sequenced(&self, call: &Call, sequencer: &str) -> UploadEvent {
            let mut event = self.upload(call, "f.vtt", VTT).await;
            event.sequencer = Some(sequencer.into());
            event
        }

        /// The call as an earlier delivery of `event` left it, moved along `path`.
        async fn delivered(&self, call: &Call, event: &UploadEvent, path: &[CallStatus]) {
            let mut delivered = self.stored(call).await;
            delivered.upload_sequencer = event.sequencer.clone();
            delivered.upload_key = Some(form_decode(&event.encoded_key).unwrap());
            for next in path {
                delivered.transition(*next, self.clock.now()).unwrap();
            }
            self.store.save_call(&mut delivered).await.unwrap();
        }

        /// Another invocation's claim of `call`'s upload, for a payload of `payload_hash`.
        async fn claimed_elsewhere(&self, call: &Call, payload_hash: &str) -> Claim {
            let key = format!("upload#{}#e1", call.call_id);
            let record = IdempotencyKey {
                tenant: &self.tenant,
                call: Some(&call.call_id),
                key: &key,
                payload_hash,
            };
            let now = self.clock.now();
            let lease = crate::ports::ClaimLease {
                owner: "another-invocation",
                now,
                in_progress_until: now + IN_PROGRESS_TIMEOUT,
                expires_at: now + IDEMPOTENCY_TTL,
            };
            let claim = self.store.claim(&record, lease);
            claim.await.unwrap()
        }
    }

    const VTT: &[u8] = b"WEBVTT\n\n00:00.000 --> 00:02.000\n<v Dana>What brings you here?\n\n00:02.500 --> 00:05.000\n<v Sam>Our budget is tight.\n";

    #[tokio::test]
    async fn a_transcript_upload_is_stored_encrypted_and_queues_one_scoring_job() {
        let rig = Rig::new();
        let call = rig.call().await;
        let event = rig.upload(&call, "call notes.vtt", VTT).await;
        assert_eq!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 1
            }
        );
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.transcript_version),
            (CallStatus::Transcribed, 1)
        );
        assert_eq!(
            stored.upload_key.as_deref(),
            Some(&*format!("uploads/acme/{}/upload.vtt", call.call_id))
        );
        assert_eq!(
            rig.queue.messages(),
            vec![PipelineMessage::ScoreCall {
                tenant_id: rig.tenant.clone(),
                call_id: call.call_id.clone(),
                transcript_version: 1
            }]
        );
        let t = rig.transcript(&call, 1).await;
        assert_eq!(t.utterances.len(), 2);
        // The plain file is gone once its words are sealed.
        let key = crate::keys::upload_key(&rig.tenant, &call.call_id, "upload.vtt");
        assert!(rig.blobs.get(&key).await.unwrap().is_none());

        // Redelivery: nothing more happens.
        assert!(matches!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Ignored(_)
        ));
        assert_eq!(rig.queue.messages().len(), 1);
        // Each pipeline step is audited once (ids only), redelivery included.
        let steps: Vec<_> = rig
            .store
            .audit_events()
            .into_iter()
            .map(|e| (e.actor_kind, e.action, e.object))
            .collect();
        let object = format!("call/{}", call.call_id);
        assert_eq!(
            steps,
            [
                (
                    "pipeline".into(),
                    "pipeline.call_uploaded".into(),
                    object.clone()
                ),
                (
                    "pipeline".into(),
                    "pipeline.call_transcribed".into(),
                    object
                ),
            ]
        );
    }

    #[tokio::test]
    async fn keys_outside_the_layout_are_rejected_and_change_nothing() {
        let rig = Rig::new();
        let call = rig.call().await;
        let good = format!("uploads/acme/{}/f.vtt", call.call_id);
        for (key, rejection) in [
            ("uploads%2Facme%2F..%2Ff.vtt".to_owned(), Rejection::BadId),
            (
                format!("uploads/acme/{}/..", call.call_id),
                Rejection::OutsideUploadLayout,
            ),
            (
                format!("uploads/acme/{}/a/b.vtt", call.call_id),
                Rejection::OutsideUploadLayout,
            ),
            (
                format!("documents/acme/{}/f.vtt", call.call_id),
                Rejection::OutsideUploadLayout,
            ),
            (
                format!("uploads/ac+me/{}/f.vtt", call.call_id),
                Rejection::BadId,
            ),
            (
                format!("uploads/other/{}/f.vtt", call.call_id),
                Rejection::UnknownCall,
            ),
            (
                "uploads/acme/call_00000000000000000000000000000000/f.vtt".to_owned(),
                Rejection::UnknownCall,
            ),
            (format!("{good}%ZZ"), Rejection::BadEncoding),
            (format!("{good}%FF"), Rejection::BadEncoding),
        ] {
            let event = UploadEvent {
                bucket: "b".into(),
                encoded_key: key.clone(),
                size: Some(1),
                sequencer: None,
                etag: None,
            };
            assert_eq!(
                rig.ingest(&event).await.unwrap(),
                IngestOutcome::Rejected(rejection),
                "{key}"
            );
        }
        assert_eq!(rig.stored(&call).await.status, CallStatus::AwaitingUpload);
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn bad_files_fail_the_call_with_a_readable_reason() {
        let rig = Rig::new();
        for (body, expected) in [
            (&b""[..], "empty"),
            (b"%PDF-1.7 not a call", "neither a supported recording"),
            (b"WEBVTT\n\n00:00.000 --> 00:0x.000\nhi\n", "line 3"),
            (b"RIFF\0\0\0\0WAVEfmt ", "not configured"),
            // UTF-16LE text: its byte-order mark passes MP3's frame sync, yet it is no audio.
            (b"\xFF\xFEW\0E\0B\0V\0T\0T\0", "UTF-16"),
        ] {
            let call = rig.call().await;
            let event = rig.upload(&call, "f", body).await;
            let IngestOutcome::CallFailed(reason) = rig.ingest(&event).await.unwrap() else {
                panic!("{expected}")
            };
            assert!(reason.as_str().contains(expected), "{reason}");
            let stored = rig.stored(&call).await;
            assert_eq!(stored.status, CallStatus::Failed);
            assert_eq!(stored.failure_reason.as_deref(), Some(reason.as_str()));
            let object = format!("call/{}", call.call_id);
            let failures = rig
                .store
                .audit_events()
                .into_iter()
                .filter(|e| e.action == "pipeline.call_failed" && e.object == object)
                .count();
            assert_eq!(failures, 1, "the failure is audited, never the reason text");
            // The file that failed ages under the recordings window like any other.
            let aging = crate::ports::RetentionStore::due_calls(
                &rig.store,
                &call.tenant_id,
                crate::ports::AgeIndex::Recordings,
                rig.clock.now() + time::Duration::days(1),
                None,
                100,
            )
            .await
            .unwrap();
            assert!(
                aging.iter().any(|due| due.call_id == call.call_id),
                "{expected}"
            );
        }
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn in_progress_retries_then_runs_once_after_the_in_progress_expiry() {
        let rig = Rig::new();
        let call = rig.call().await;
        let event = rig.upload(&call, "f.vtt", VTT).await;
        // A crashed delivery took the record and never finished.
        let claim = rig.claimed_elsewhere(&call, &payload_hash(&event)).await;
        assert_eq!(claim, Claim::Acquired);
        assert!(matches!(
            rig.ingest(&event).await,
            Err(IngestError::InProgress)
        ));
        assert_eq!(rig.stored(&call).await.status, CallStatus::AwaitingUpload);
        rig.clock
            .advance(IN_PROGRESS_TIMEOUT + Duration::from_secs(1));
        assert_eq!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 1
            }
        );
        assert_eq!(rig.queue.messages().len(), 1);
    }

    #[tokio::test]
    async fn same_key_with_another_payload_is_an_error_without_side_effects() {
        let rig = Rig::new();
        let call = rig.call().await;
        let event = rig.upload(&call, "f.vtt", VTT).await;
        rig.claimed_elsewhere(&call, "another").await;
        assert_eq!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Rejected(Rejection::PayloadMismatch)
        );
        assert_eq!(rig.stored(&call).await.status, CallStatus::AwaitingUpload);
        assert!(rig.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn an_expired_record_not_yet_removed_counts_as_absent() {
        let rig = Rig::new();
        let call = rig.call().await;
        let event = rig.upload(&call, "f.vtt", VTT).await;
        rig.ingest(&event).await.unwrap();
        // A day later the completed record is past its expiry: a new upload of the same file
        // (the call was reset by the user) is processed again, not dropped as a duplicate.
        rig.clock.advance(IDEMPOTENCY_TTL + Duration::from_secs(1));
        let mut stored = rig.stored(&call).await;
        stored.fail(&"reset".into(), rig.clock.now()).unwrap();
        rig.store.save_call(&mut stored).await.unwrap();
        let again = rig.upload(&call, "f.vtt", VTT).await;
        assert_eq!(again, event, "the same file makes the same event");
        assert_eq!(
            rig.ingest(&again).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 2
            }
        );
    }

    #[tokio::test]
    async fn overwrites_delivered_in_reverse_order_keep_the_higher_sequencer() {
        let rig = Rig::new();
        let call = rig.call().await;
        let old_body = b"WEBVTT\n\n00:00.000 --> 00:01.000\n<v A>old version\n";
        let newer = rig.sequenced(&call, "0062E99A88DC407460").await;
        let mut older = newer.clone();
        older.sequencer = Some("62E99A88DC407450".into());
        older.size = Some(old_body.len() as u64);
        assert_eq!(
            rig.ingest(&newer).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 1
            }
        );
        assert!(matches!(
            rig.ingest(&older).await.unwrap(),
            IngestOutcome::Ignored(_)
        ));
        let stored = rig.stored(&call).await;
        assert_eq!(
            stored.upload_sequencer.as_deref(),
            Some("0062E99A88DC407460")
        );
        assert_eq!(stored.transcript_version, 1);
        assert!(sequencer_is_newer("0A", "9"));
        assert!(!sequencer_is_newer("009", "9"));
    }

    #[tokio::test]
    async fn the_same_event_again_resumes_a_run_that_stopped_at_uploaded() {
        let rig = Rig::new();
        let call = rig.call().await;
        let event = rig.sequenced(&call, "0062E99A88DC407460").await;
        // The first delivery moved the call to `uploaded` and then failed (its idempotency
        // claim released); S3's event comes again with the same sequencer.
        rig.delivered(&call, &event, &[CallStatus::Uploaded]).await;
        assert_eq!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 1
            }
        );
        assert_eq!(rig.queue.messages().len(), 1, "scoring is queued");
        // Once taken further, the same event changes nothing, even after its idempotency
        // record is gone.
        rig.clock
            .advance(std::time::Duration::from_secs(3 * 86_400));
        assert!(matches!(
            rig.ingest(&event).await.unwrap(),
            IngestOutcome::Ignored(_)
        ));
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.transcript_version),
            (CallStatus::Transcribed, 1)
        );
        assert_eq!(rig.queue.messages().len(), 1);
    }

    #[tokio::test]
    async fn a_newer_upload_supersedes_a_transcription_in_flight_and_a_deleted_call_is_final() {
        let rig = Rig::new();
        let call = rig.call().await;
        let first = rig.sequenced(&call, "0062E99A88DC407460").await;
        // The first upload went to a provider, which may take hours.
        let path = [CallStatus::Uploaded, CallStatus::Transcribing];
        rig.delivered(&call, &first, &path).await;
        // The old job's finisher has read the call and is about to store its transcript.
        let mut old_job = rig.stored(&call).await;
        let newer = rig.sequenced(&call, "0062E99A88DC407470").await;
        // The version the old job would write is skipped.
        assert_eq!(
            rig.ingest(&newer).await.unwrap(),
            IngestOutcome::Transcribed {
                transcript_version: 2
            }
        );
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.transcription.is_none()),
            (CallStatus::Transcribed, true),
            "the old job is no longer the call's"
        );
        // Its late result lands where nothing reads it and moves nothing.
        let old_words = crate::parse::parse_vtt(
            "WEBVTT\n\n00:00.000 --> 00:01.000\n<v A>words of the old upload\n",
        )
        .unwrap();
        assert!(rig.sink().accept(&mut old_job, &old_words).await.is_err());
        let stored = rig.stored(&call).await;
        assert_eq!(
            (stored.status, stored.transcript_version),
            (CallStatus::Transcribed, 2)
        );
        let current = rig.transcript(&call, 2).await;
        assert_eq!(current.utterances[1].text, "Our budget is tight.");

        // Deleted: an upload arriving afterwards (a URL still valid) is an outcome, not a retry.
        let mut deleted = stored;
        deleted
            .transition(CallStatus::Deleted, rig.clock.now())
            .unwrap();
        rig.store.save_call(&mut deleted).await.unwrap();
        let late = rig.sequenced(&call, "0062E99A88DC407480").await;
        assert_eq!(
            rig.ingest(&late).await.unwrap(),
            IngestOutcome::Ignored("the call was deleted")
        );
        assert_eq!(rig.stored(&call).await.status, CallStatus::Deleted);
        let late_key = form_decode(&late.encoded_key).unwrap();
        assert!(
            rig.blobs.get(&late_key).await.unwrap().is_none(),
            "the late upload is removed"
        );

        // Purged: the same for an upload whose call is gone altogether.
        crate::ports::RetentionStore::delete_call_items(&rig.store, &rig.tenant, &call.call_id)
            .await
            .unwrap();
        let after_purge = rig.upload(&call, "f.vtt", VTT).await;
        assert_eq!(
            rig.ingest(&after_purge).await.unwrap(),
            IngestOutcome::Rejected(Rejection::UnknownCall)
        );
        assert!(rig.blobs.get(&late_key).await.unwrap().is_none());
    }

    #[test]
    fn form_decoding_follows_s3() {
        assert_eq!(
            form_decode("uploads%2Facme%2Fa+b.vtt").as_deref(),
            Some("uploads/acme/a b.vtt")
        );
        assert_eq!(form_decode("a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("bad%C3%28"), None);
    }
}
