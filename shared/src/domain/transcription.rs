//! A recording's transcription job and the per-job secret its callback must present.
//!
//! Deepgram signs nothing, so each job gets its own random secret, sent once inside the callback
//! URL (Basic Auth). Only its SHA-256 digest is stored, on the call, with an expiry: a leaked
//! table row cannot forge a callback, and a callback for another call or an earlier job fails
//! the comparison. The comparison runs in constant time.

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// How long a callback secret is accepted after submission. Long enough for a long recording
/// plus Deepgram's ten retries, 30 s apart; a job still running after that is left to fail.
pub const CALLBACK_SECRET_LIFETIME: Duration = Duration::hours(6);

/// Which service transcribes a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptionService {
    Deepgram,
    AmazonTranscribe,
}

/// The job a call in `transcribing` waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptionJob {
    pub service: TranscriptionService,
    /// The provider's id (Deepgram `request_id`, Transcribe job name), once it answered.
    pub job_id: Option<String>,
    /// Hex SHA-256 of the callback secret; absent for services that do not call back.
    pub secret_sha256: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Set when the result was accepted; later deliveries of it are replays.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

impl TranscriptionJob {
    pub fn new(
        service: TranscriptionService,
        secret: Option<&CallbackSecret>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            service,
            job_id: None,
            secret_sha256: secret.map(CallbackSecret::digest_hex),
            submitted_at: now,
            expires_at: now + CALLBACK_SECRET_LIFETIME,
            completed_at: None,
        }
    }

    /// Whether `presented` is this job's secret (constant time in the secret's content).
    pub fn secret_matches(&self, presented: &str) -> bool {
        let Some(expected) = &self.secret_sha256 else {
            return false;
        };
        let presented = digest_hex(presented.as_bytes());
        presented.len() == expected.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                presented.as_bytes(),
                expected.as_bytes(),
            )
            .is_ok()
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// A fresh per-job secret: 256 random bits, URL-safe base64. Never printed.
pub struct CallbackSecret(Zeroizing<String>);

impl CallbackSecret {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).expect("the operating system provides randomness");
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// A secret with a known value: for tests and the sample callback event only.
    pub fn from_value(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself, only for building the callback URL.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest_hex(&self) -> String {
        digest_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackSecret(<redacted>)")
    }
}

fn digest_hex(bytes: &[u8]) -> String {
    digest::digest(&digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn only_the_jobs_own_secret_matches() {
        let secret = CallbackSecret::generate();
        let other = CallbackSecret::generate();
        let job = TranscriptionJob::new(
            TranscriptionService::Deepgram,
            Some(&secret),
            datetime!(2026-11-01 9:00 UTC),
        );
        assert!(job.secret_matches(secret.expose()));
        assert!(!job.secret_matches(other.expose()));
        assert!(!job.secret_matches(""));
        assert!(!job.secret_matches(&secret.expose()[1..]));
        assert_ne!(secret.expose(), other.expose());
        assert_eq!(secret.expose().len(), 43);
    }

    #[test]
    fn a_job_without_a_secret_accepts_none() {
        let job = TranscriptionJob::new(
            TranscriptionService::AmazonTranscribe,
            None,
            datetime!(2026-11-01 9:00 UTC),
        );
        assert!(!job.secret_matches(""));
        assert!(!job.secret_matches("anything"));
    }

    #[test]
    fn the_secret_expires_at_its_lifetime() {
        let submitted = datetime!(2026-11-01 9:00 UTC);
        let job = TranscriptionJob::new(TranscriptionService::Deepgram, None, submitted);
        assert!(!job.is_expired(submitted + CALLBACK_SECRET_LIFETIME - Duration::SECOND));
        assert!(job.is_expired(submitted + CALLBACK_SECRET_LIFETIME));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = CallbackSecret::generate();
        let shown = format!("{secret:?}");
        assert!(!shown.contains(secret.expose()));
        assert!(shown.contains("redacted"));
    }
}
