//! Amazon Transcribe batch jobs (feature `transcribe`): submission with speaker labels and the
//! output written into our bucket under the call's documents prefix, the job's state, and the
//! list of our finished jobs for the sweeper.

use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::error::SdkError;
use aws_sdk_transcribe::types::{
    LanguageCode, Media, MediaFormat, Settings, TranscriptionJobStatus,
};
use time::OffsetDateTime;

use super::backend;
use crate::domain::transcription::TranscriptionService;
use crate::parse::AudioKind;
use crate::ports::BackendError;
use crate::usecases::ingest::{TranscriptionError, TranscriptionProvider, TranscriptionRequest};
use crate::usecases::transcribe::{JOB_PREFIX, JobState, TranscribeJobs, job_name, output_key};

/// Speakers Transcribe tells apart (a sales call rarely has more).
const MAX_SPEAKERS: i32 = 10;
/// Finished jobs the sweeper reads per run (newest first), per status.
const SWEEP_LIMIT: usize = 500;

#[derive(Debug, Clone)]
pub struct TranscribeService {
    client: Client,
    bucket: String,
    language: String,
}

impl TranscribeService {
    /// `bucket` holds both the recordings and the jobs' output; `language` is a Transcribe
    /// language code such as `en-US`.
    pub fn new(client: Client, bucket: impl Into<String>, language: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            language: language.into(),
        }
    }
}

fn media_format(kind: AudioKind) -> MediaFormat {
    match kind {
        AudioKind::Wav => MediaFormat::Wav,
        AudioKind::Mp3 => MediaFormat::Mp3,
        AudioKind::Mp4 => MediaFormat::Mp4,
        AudioKind::WebM => MediaFormat::Webm,
        AudioKind::Ogg => MediaFormat::Ogg,
        AudioKind::Flac => MediaFormat::Flac,
    }
}

impl TranscriptionProvider for TranscribeService {
    fn service(&self) -> Option<TranscriptionService> {
        Some(TranscriptionService::AmazonTranscribe)
    }

    async fn submit(
        &self,
        request: &TranscriptionRequest<'_>,
    ) -> Result<String, TranscriptionError> {
        let name = job_name(request.tenant, request.call, OffsetDateTime::now_utc());
        let output = output_key(&name).ok_or_else(|| {
            TranscriptionError::Refused(
                "the ids do not make a valid Amazon Transcribe job name".into(),
            )
        })?;
        let result = self
            .client
            .start_transcription_job()
            .transcription_job_name(&name)
            .media(
                Media::builder()
                    .media_file_uri(format!("s3://{}/{}", self.bucket, request.object_key))
                    .build(),
            )
            .media_format(media_format(request.kind))
            .language_code(LanguageCode::from(self.language.as_str()))
            .settings(
                Settings::builder()
                    .show_speaker_labels(true)
                    .max_speaker_labels(MAX_SPEAKERS)
                    .build(),
            )
            .output_bucket_name(&self.bucket)
            .output_key(output)
            .send()
            .await;
        match result {
            Ok(_) => Ok(name),
            Err(SdkError::ServiceError(e)) if e.err().is_bad_request_exception() => Err(
                TranscriptionError::Refused("Amazon Transcribe refused the recording".into()),
            ),
            Err(e) => Err(TranscriptionError::Unavailable(backend(e))),
        }
    }
}

impl TranscribeJobs for TranscribeService {
    async fn state(&self, job: &str) -> Result<JobState, BackendError> {
        let read = self
            .client
            .get_transcription_job()
            .transcription_job_name(job)
            .send()
            .await;
        let out = match read {
            Ok(out) => out,
            // The service's answer for a name it does not hold (ours are all well-formed).
            Err(SdkError::ServiceError(e)) if e.err().is_bad_request_exception() => {
                return Ok(JobState::Deleted);
            }
            Err(error) => return Err(backend(error)),
        };
        let status = out
            .transcription_job()
            .and_then(|j| j.transcription_job_status());
        Ok(match status {
            Some(TranscriptionJobStatus::Completed) => JobState::Completed,
            Some(TranscriptionJobStatus::Failed) => JobState::Failed,
            _ => JobState::Running,
        })
    }

    async fn finished(&self) -> Result<Vec<String>, BackendError> {
        let mut names = Vec::new();
        for status in [
            TranscriptionJobStatus::Completed,
            TranscriptionJobStatus::Failed,
        ] {
            let mut pages = self
                .client
                .list_transcription_jobs()
                .status(status)
                .job_name_contains(JOB_PREFIX)
                .max_results(100)
                .into_paginator()
                .send();
            let mut taken = 0;
            while let Some(page) = pages.next().await {
                for summary in page.map_err(backend)?.transcription_job_summaries() {
                    if let Some(name) = summary.transcription_job_name()
                        && name.starts_with(JOB_PREFIX)
                    {
                        names.push(name.to_owned());
                    }
                    taken += 1;
                }
                if taken >= SWEEP_LIMIT {
                    break;
                }
            }
        }
        Ok(names)
    }

    async fn forget(&self, job: &str) -> Result<(), BackendError> {
        let deleted = self
            .client
            .delete_transcription_job()
            .transcription_job_name(job)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Only ended jobs are deleted, so this is one deleted already.
            Err(SdkError::ServiceError(e)) if e.err().is_bad_request_exception() => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }
}
