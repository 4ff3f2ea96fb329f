//! Adapters for outside HTTP services (feature `providers`). Each is tested against a local
//! fake that speaks the service's documented wire format.

pub mod deepgram;
pub mod http;
pub mod llm;

use crate::config::ConfigError;
use crate::domain::transcription::TranscriptionService;
use crate::ports::BlobStore;
use crate::usecases::ingest::{
    NoTranscription, TranscriptionError, TranscriptionProvider, TranscriptionRequest,
};
use deepgram::{DeepgramConfig, DeepgramTranscriber};

/// The deployment's transcription provider, chosen by `TRANSCRIPTION_PROVIDER` (`none`, the
/// default, `deepgram`, or `transcribe`, which needs the AWS client: see
/// [`ConfiguredProvider::transcribe`]).
pub enum ConfiguredProvider<B> {
    None(NoTranscription),
    Deepgram(Box<DeepgramTranscriber<B>>),
    #[cfg(feature = "transcribe")]
    Transcribe(crate::aws::transcribe::TranscribeService),
}

/// `TRANSCRIBE_LANGUAGE`: the language code Amazon Transcribe is asked for (default `en-US`).
pub fn transcribe_language(lookup: &impl Fn(&str) -> Option<String>) -> String {
    lookup("TRANSCRIBE_LANGUAGE")
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "en-US".to_owned())
}

#[cfg(feature = "transcribe")]
impl<B: BlobStore> ConfiguredProvider<B> {
    /// The provider `TRANSCRIPTION_PROVIDER` names; Amazon Transcribe through `sdk`, writing
    /// its output into `bucket`.
    pub fn transcribe(
        lookup: &impl Fn(&str) -> Option<String>,
        blobs: B,
        sdk: &aws_config::SdkConfig,
        bucket: &str,
    ) -> Result<Self, ConfigError> {
        if lookup("TRANSCRIPTION_PROVIDER").as_deref().map(str::trim) == Some("transcribe") {
            return Ok(Self::Transcribe(
                crate::aws::transcribe::TranscribeService::new(
                    aws_sdk_transcribe::Client::new(sdk),
                    bucket,
                    transcribe_language(lookup),
                ),
            ));
        }
        Self::from_lookup(lookup, blobs)
    }
}

impl<B: BlobStore> ConfiguredProvider<B> {
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        blobs: B,
    ) -> Result<Self, ConfigError> {
        match lookup("TRANSCRIPTION_PROVIDER").as_deref().map(str::trim) {
            None | Some("" | "none") => Ok(Self::None(NoTranscription)),
            Some("deepgram") => {
                let config = DeepgramConfig::from_lookup(lookup)?;
                let transcriber =
                    DeepgramTranscriber::new(config, blobs).map_err(|e| ConfigError::Invalid {
                        name: "TRANSCRIPTION_PROVIDER",
                        reason: format!("could not build the HTTP client: {e}"),
                    })?;
                Ok(Self::Deepgram(Box::new(transcriber)))
            }
            Some(other) => Err(ConfigError::Invalid {
                name: "TRANSCRIPTION_PROVIDER",
                reason: format!("expected none, deepgram or transcribe, got {other:?}"),
            }),
        }
    }
}

impl<B: BlobStore> TranscriptionProvider for ConfiguredProvider<B> {
    fn service(&self) -> Option<TranscriptionService> {
        match self {
            Self::None(p) => p.service(),
            Self::Deepgram(p) => p.service(),
            #[cfg(feature = "transcribe")]
            Self::Transcribe(p) => p.service(),
        }
    }

    async fn submit(
        &self,
        request: &TranscriptionRequest<'_>,
    ) -> Result<String, TranscriptionError> {
        match self {
            Self::None(p) => p.submit(request).await,
            Self::Deepgram(p) => p.submit(request).await,
            #[cfg(feature = "transcribe")]
            Self::Transcribe(p) => p.submit(request).await,
        }
    }
}
