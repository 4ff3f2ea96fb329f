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

/// The deployment's transcription provider, chosen by `TRANSCRIPTION_PROVIDER`
/// (`none`, the default, or `deepgram`).
pub enum ConfiguredProvider<B> {
    None(NoTranscription),
    Deepgram(Box<DeepgramTranscriber<B>>),
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
                reason: format!("expected none or deepgram, got {other:?}"),
            }),
        }
    }
}

impl<B: BlobStore> TranscriptionProvider for ConfiguredProvider<B> {
    fn service(&self) -> Option<TranscriptionService> {
        match self {
            Self::None(p) => p.service(),
            Self::Deepgram(p) => p.service(),
        }
    }

    async fn submit(
        &self,
        request: &TranscriptionRequest<'_>,
    ) -> Result<String, TranscriptionError> {
        match self {
            Self::None(p) => p.submit(request).await,
            Self::Deepgram(p) => p.submit(request).await,
        }
    }
}
