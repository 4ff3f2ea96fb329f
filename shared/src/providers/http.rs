//! What every outside HTTP client here shares: secrets that never print, and retries with
//! exponential backoff that honour `retry-after`.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

/// An API key or token. `Debug` prints a redaction, so it cannot leak through a log line.
#[derive(Clone)]
pub struct ApiSecret(Zeroizing<String>);

impl ApiSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

/// How many times to try and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// Longest wait, also the cap on a server's `retry-after`: past it, give up and let the
    /// queue redeliver rather than hold a Lambda invocation open.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1), or `None` when the
    /// attempts are spent or the server asks for longer than `max_delay`.
    pub fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_delay => None,
            Some(wait) => Some(wait),
            None => {
                let factor = 1u32 << (attempt - 1).min(16);
                Some((self.base_delay * factor).min(self.max_delay))
            }
        }
    }
}

/// `retry-after` as delay-seconds (the HTTP-date form is rare in APIs and treated as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Whether a status is worth another attempt: rate limits and server errors.
pub fn is_transient(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
    };

    #[test]
    fn backoff_doubles_until_the_attempts_are_spent() {
        let waits: Vec<_> = (1..=4).map(|a| POLICY.delay_after(a, None)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(400)),
                None
            ]
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(
            POLICY.delay_after(1, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(POLICY.delay_after(1, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "-3".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn secrets_never_print() {
        let key = ApiSecret::new("dg-live-123");
        assert!(!format!("{key:?}").contains("dg-live"));
    }
}
