//! What every outside HTTP client here shares: secrets that never print, retries with
//! exponential backoff that honour `retry-after`, and one way to build a client and read an
//! answer: no redirects, no Referer, bodies read up to a cap, https only (but on loopback).

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

/// `retry-after` as the server sent it: delay-seconds or an HTTP-date (RFC 9110). The value
/// comes from outside, so it is parsed defensively: a wait too long to represent (`1e300`,
/// `inf`, a date centuries ahead) is the longest wait there is, which [`RetryPolicy`] then
/// refuses to sit out; a date in the past is no wait; negative numbers, NaN and anything
/// unreadable are treated as if the header were absent.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, time::OffsetDateTime::now_utc())
}

/// [`retry_after`] of one header value, as of `now`.
pub fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for an f64 to take is still "a very long wait".
        return Some(Duration::MAX);
    }
    // IMF-fixdate, the form RFC 9110 tells senders to use.
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let wait = at - now;
    Some(if wait.is_negative() {
        Duration::ZERO
    } else {
        wait.try_into().unwrap_or(Duration::MAX)
    })
}

/// The one way an outside HTTP client is built. Redirects are not followed: a 3xx is the
/// answer, so an API key, a redacted transcript or a callback secret never follows one to
/// another host or down to plain http (a 307/308 would re-send the body and the key). No
/// Referer is sent either (the listen URL's callback parameter carries the job's secret).
pub fn outbound_client(timeout: Option<Duration>) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build()
}

/// An answer longer than its cap: dropped unread past the cap, so a hostile or broken
/// server cannot exhaust the function's memory.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is longer than {0} bytes")]
    TooLarge(usize),
    #[error("the answer could not be read")]
    Read(#[source] reqwest::Error),
}

/// Reads a response body of at most `cap` bytes.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(e.without_url()))?
    {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An outside endpoint is reached over https only; plain http is allowed on loopback alone
/// (the local fakes tests run against).
pub fn require_https(url: &reqwest::Url) -> Result<(), String> {
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!(
            "must be https (got {other}://), except on loopback"
        )),
    }
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

    #[test]
    fn outside_endpoints_are_https_but_on_loopback() {
        for (url, ok) in [
            ("https://api.openai.com", true),
            ("http://127.0.0.1:8080", true),
            ("http://localhost:9", true),
            ("http://[::1]:9", true),
            ("http://api.openai.com", false),
            ("http://10.0.0.5", false),
            ("ftp://api.deepgram.com", false),
        ] {
            let url = reqwest::Url::parse(url).unwrap();
            assert_eq!(require_https(&url).is_ok(), ok, "{url}");
        }
    }

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
    fn retry_after_takes_seconds_and_dates_and_survives_hostile_values() {
        let now = time::macros::datetime!(2026-10-21 07:28:00 UTC);
        let parse = |v: &str| parse_retry_after(v, now);
        assert_eq!(parse("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse("Wed, 21 Oct 2026 07:28:10 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse("Wed, 21 Oct 2026 07:00:00 GMT"), Some(Duration::ZERO));
        // Waits no one should sit out: the longest there is, which the policy refuses.
        for huge in ["1e300", "inf", "+Infinity", "184467440737095516160000"] {
            assert_eq!(parse(huge), Some(Duration::MAX), "{huge}");
            assert_eq!(POLICY.delay_after(1, parse(huge)), None, "{huge}");
        }
        let far = parse("Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert!(far > Duration::from_secs(250_000_000_000));
        assert_eq!(POLICY.delay_after(1, Some(far)), None);
        for garbage in [
            "-3",
            "-1e300",
            "NaN",
            "",
            "soon",
            "7 seconds",
            "0x10",
            "Tomorrow, 7 GMT",
        ] {
            assert_eq!(parse(garbage), None, "{garbage:?}");
        }
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "1e300".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::MAX));
    }

    #[test]
    fn secrets_never_print() {
        let key = ApiSecret::new("dg-live-123");
        assert!(!format!("{key:?}").contains("dg-live"));
    }
}
