//! Deepgram pre-recorded transcription with a callback.
//!
//! `POST {api}/v1/listen` with `Authorization: Token <key>` and the JSON body
//! `{"url": <presigned GET of the recording>}`, and the query: the model, `diarize`,
//! `utterances`, `smart_format`, `punctuate`, `mip_opt_out=true` (keeps the audio out of
//! Deepgram's model improvement programme) and `callback`. The callback URL is
//! `{DEEPGRAM_CALLBACK_URL}/{tenant}/{call}` carrying the job's secret as Basic Auth
//! credentials; it is a credential, so neither it nor the presigned URL is ever logged.
//! Deepgram answers `{"request_id": ...}` at once and POSTs the result later.
//!
//! Failures: 429, 408 and 5xx, timeouts and connection errors are retried with backoff
//! (honouring `retry-after`), then reported as unavailable so the queue redelivers; 401/403
//! mean our key is wrong (unavailable, never the file's fault); any other 4xx refuses the
//! recording for good, with Deepgram's message.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tracing::warn;

use super::http::{
    ApiSecret, RetryPolicy, is_transient, outbound_client, read_capped, require_https, retry_after,
};

/// The longest answer read from Deepgram's submission endpoint (an id, or an error).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
use crate::config::{ConfigError, required};
use crate::domain::call::FailureReason;
use crate::domain::transcription::TranscriptionService;
use crate::ports::{BackendError, BlobStore};
use crate::usecases::ingest::{TranscriptionError, TranscriptionProvider, TranscriptionRequest};

pub const DEFAULT_API_URL: &str = "https://api.deepgram.com";
/// Deepgram's current general model; `nova-2-meeting` remains available through `DEEPGRAM_MODEL`.
pub const DEFAULT_MODEL: &str = "nova-3";
/// The only ports Deepgram delivers callbacks to.
pub const CALLBACK_PORTS: [u16; 4] = [80, 443, 8080, 8443];
/// The user name in the callback's Basic Auth credentials (the password is the job secret).
pub const CALLBACK_USER: &str = "callcoach";

#[derive(Debug, Clone)]
pub struct DeepgramConfig {
    pub api_url: Url,
    pub api_key: ApiSecret,
    pub model: String,
    /// Public URL of the callback route, without the `/{tenant}/{call}` suffix.
    pub callback_url: Url,
    /// How long Deepgram may take to fetch the recording.
    pub fetch_window: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl DeepgramConfig {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = |name: &'static str, value: String| {
            Url::parse(&value).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        };
        let api_url = url(
            "DEEPGRAM_API_URL",
            lookup("DEEPGRAM_API_URL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_API_URL.into()),
        )?;
        require_https(&api_url).map_err(|reason| ConfigError::Invalid {
            name: "DEEPGRAM_API_URL",
            reason,
        })?;
        let callback_url = url(
            "DEEPGRAM_CALLBACK_URL",
            required(lookup, "DEEPGRAM_CALLBACK_URL")?,
        )?;
        check_callback_url(&callback_url).map_err(|reason| ConfigError::Invalid {
            name: "DEEPGRAM_CALLBACK_URL",
            reason,
        })?;
        Ok(Self {
            api_url,
            api_key: ApiSecret::new(required(lookup, "DEEPGRAM_API_KEY")?),
            model: lookup("DEEPGRAM_MODEL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_MODEL.into()),
            callback_url,
            fetch_window: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
            },
        })
    }
}

/// Deepgram calls back only on a few ports, over https (the URL carries the job's secret as
/// Basic Auth), plain http on loopback alone; credentials are ours to add.
fn check_callback_url(url: &Url) -> Result<(), String> {
    require_https(url)?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err("must carry no credentials and no query".into());
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.port_or_known_default() {
        Some(port) if loopback || CALLBACK_PORTS.contains(&port) => Ok(()),
        _ => Err(format!(
            "Deepgram calls back only on ports {CALLBACK_PORTS:?}"
        )),
    }
}

pub struct DeepgramTranscriber<B> {
    http: reqwest::Client,
    config: DeepgramConfig,
    blobs: B,
}

#[derive(Deserialize)]
struct Accepted {
    request_id: String,
}

impl<B: BlobStore> DeepgramTranscriber<B> {
    pub fn new(config: DeepgramConfig, blobs: B) -> Result<Self, reqwest::Error> {
        let http = outbound_client(Some(config.request_timeout))?;
        Ok(Self {
            http,
            config,
            blobs,
        })
    }

    /// The URL Deepgram will POST the result to, credentials included.
    fn callback_for(&self, request: &TranscriptionRequest<'_>) -> Url {
        let mut url = self.config.callback_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(request.tenant.as_str())
                .push(request.call.as_str());
        }
        // Both setters fail only for URLs that cannot carry credentials, excluded at start-up.
        let _ = url.set_username(CALLBACK_USER);
        let _ = url.set_password(Some(request.callback_secret.expose()));
        url
    }

    fn listen_url(&self, callback: &Url) -> Url {
        let mut url = self.config.api_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("v1").push("listen");
        }
        url.query_pairs_mut()
            .append_pair("model", &self.config.model)
            .append_pair("diarize", "true")
            .append_pair("utterances", "true")
            .append_pair("smart_format", "true")
            .append_pair("punctuate", "true")
            .append_pair("mip_opt_out", "true")
            .append_pair("callback", callback.as_str());
        url
    }
}

fn unavailable(error: impl Into<BackendError>) -> TranscriptionError {
    TranscriptionError::Unavailable(error.into())
}

impl<B: BlobStore> TranscriptionProvider for DeepgramTranscriber<B> {
    fn service(&self) -> Option<TranscriptionService> {
        Some(TranscriptionService::Deepgram)
    }

    async fn submit(
        &self,
        request: &TranscriptionRequest<'_>,
    ) -> Result<String, TranscriptionError> {
        let audio = self
            .blobs
            .presign_get(request.object_key, self.config.fetch_window)
            .await
            .map_err(unavailable)?;
        let listen = self.listen_url(&self.callback_for(request));
        let body = serde_json::json!({ "url": audio.url });
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .post(listen.clone())
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("Token {}", self.config.api_key.expose()),
                )
                .json(&body)
                .send()
                .await;
            let (wait, failure) = match sent {
                Ok(response) if response.status().is_success() => {
                    let body = read_capped(response, MAX_ANSWER_BYTES)
                        .await
                        .map_err(unavailable)?;
                    let accepted: Accepted = serde_json::from_slice(&body).map_err(unavailable)?;
                    return Ok(accepted.request_id);
                }
                // Not followed (see `outbound_client`): the audio link and our key stay here.
                Ok(response) if response.status().is_redirection() => {
                    return Err(unavailable(format!(
                        "Deepgram answered {} (a redirect, not followed)",
                        response.status()
                    )));
                }
                Ok(response) if is_transient(response.status()) => {
                    let status = response.status();
                    (
                        retry_after(response.headers()),
                        unavailable(format!("Deepgram answered {status}")),
                    )
                }
                Ok(response)
                    if matches!(
                        response.status(),
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                    ) =>
                {
                    warn!(status = %response.status(), "Deepgram refused our API key");
                    return Err(unavailable(format!(
                        "Deepgram refused the API key ({})",
                        response.status()
                    )));
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    return Err(TranscriptionError::Refused(FailureReason::composed(
                        format!(
                            "Deepgram refused the recording (HTTP {status}); check that it is a supported audio file"
                        ),
                    )));
                }
                // The error's text may include the URL with its credentials: keep it out.
                Err(e) => (None, unavailable(e.without_url())),
            };
            match self.config.retry.delay_after(attempt, wait) {
                Some(delay) => {
                    warn!(attempt, "Deepgram submission failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(failure),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn configuration_has_defaults_and_names_what_is_missing() {
        let config = DeepgramConfig::from_lookup(&lookup(&[
            ("DEEPGRAM_API_KEY", "k"),
            (
                "DEEPGRAM_CALLBACK_URL",
                "https://api.example.com/callbacks/deepgram",
            ),
        ]))
        .unwrap();
        assert_eq!(config.model, DEFAULT_MODEL);
        assert_eq!(config.api_url.as_str(), "https://api.deepgram.com/");
        assert_eq!(
            DeepgramConfig::from_lookup(&lookup(&[("DEEPGRAM_API_KEY", "k")])).unwrap_err(),
            ConfigError::Missing("DEEPGRAM_CALLBACK_URL")
        );
    }

    #[test]
    fn callback_urls_deepgram_cannot_reach_are_refused_at_start() {
        for bad in [
            "https://api.example.com:9000/cb",
            "ftp://api.example.com/cb",
            "https://user:pw@api.example.com/cb",
            "https://api.example.com/cb?x=1",
            // The job's secret would cross the network in the clear.
            "http://api.example.com/cb",
        ] {
            let result = DeepgramConfig::from_lookup(&lookup(&[
                ("DEEPGRAM_API_KEY", "k"),
                ("DEEPGRAM_CALLBACK_URL", bad),
            ]));
            assert!(
                matches!(
                    result,
                    Err(ConfigError::Invalid {
                        name: "DEEPGRAM_CALLBACK_URL",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        for good in [
            "https://api.example.com:8443/cb",
            "http://127.0.0.1:41234/callbacks/deepgram",
        ] {
            assert!(
                check_callback_url(&Url::parse(good).unwrap()).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn debug_of_the_configuration_hides_the_key() {
        let config = DeepgramConfig::from_lookup(&lookup(&[
            ("DEEPGRAM_API_KEY", "dg-secret-key"),
            ("DEEPGRAM_CALLBACK_URL", "https://api.example.com/cb"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("dg-secret-key"));
    }
}
