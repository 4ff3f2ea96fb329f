//! Counts the AWS requests a piece of work makes, in the SDK's own HTTP client: every request
//! still goes over HTTP to the local stand-in, with the SDK's retries and timeouts, and the log
//! notes what each one asked for and when it went out and came back.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

/// One request the SDK sent: the operation it asked for, when it went out, when it came back,
/// and the bytes of its body and of the answer's (what DynamoDB's capacity units are counted
/// from).
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub operation: String,
    pub sent: Instant,
    pub answered: Instant,
    pub sent_bytes: usize,
    pub received_bytes: usize,
    /// The piece of work it was made for, when that work ran under [`tagged`].
    pub work: Option<u64>,
}

tokio::task_local! {
    static WORK: u64;
}

/// Runs `future` with every request its clients send logged under `work`: concurrent pieces of
/// work over one config (a load run's requests) are told apart. The SDK hands the request to
/// the HTTP client inside the task that awaits it, which is what makes the tag visible there.
pub async fn tagged<F: std::future::Future>(work: u64, future: F) -> F::Output {
    WORK.scope(work, future).await
}

/// The requests made through the clients of one [`counted`] config, in the order they ended.
/// An attempt the local AWS failed (a 5xx, no answer, or none in the SDK's attempt timeout) is
/// not the design's request: the SDK
/// sends it again, and the retry is logged. Such attempts are only counted apart (moto answers
/// 500 now and then when tests write to it at once).
#[derive(Debug, Clone, Default)]
pub struct RequestLog(
    Arc<Mutex<Vec<SentRequest>>>,
    Arc<std::sync::atomic::AtomicUsize>,
);

impl RequestLog {
    /// Forgets what was logged so far (the next piece of work starts a fresh count).
    pub fn clear(&self) {
        self.entries().clear();
    }

    pub fn requests(&self) -> Vec<SentRequest> {
        self.entries().clone()
    }

    /// The operations in the order they were sent, e.g. `dynamodb.GetItem`.
    pub fn operations(&self) -> Vec<String> {
        let mut requests = self.requests();
        requests.sort_by_key(|r| r.sent);
        requests.into_iter().map(|r| r.operation).collect()
    }

    /// How many times the work waited on the network: the longest chain of requests in which
    /// each went out after the one before it came back. Requests in flight together count once.
    pub fn round_trips(&self) -> usize {
        round_trips(&self.requests())
    }

    /// Attempts the local AWS failed, which the SDK retried.
    pub fn failed_attempts(&self) -> usize {
        self.1.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<SentRequest>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The longest chain of requests each sent after the one before it was answered: what a caller
/// waits for, one after another.
pub fn round_trips(requests: &[SentRequest]) -> usize {
    let mut by_start: Vec<&SentRequest> = requests.iter().collect();
    by_start.sort_by_key(|r| r.sent);
    // depth[i]: the longest chain ending with request i.
    let mut depth = vec![0usize; by_start.len()];
    for i in 0..by_start.len() {
        let before = (0..i)
            .filter(|&j| by_start[j].answered <= by_start[i].sent)
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth[i] = before + 1;
    }
    depth.into_iter().max().unwrap_or(0)
}

/// `sdk` with an HTTP client that logs every request before passing it on to the client the
/// SDK uses by default (hyper and rustls over aws-lc), and the log it writes to. Clients built
/// from the returned config share the log.
pub fn counted(sdk: &SdkConfig) -> (SdkConfig, RequestLog) {
    let inner = sdk.http_client().unwrap_or_else(|| {
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build_https()
    });
    let log = RequestLog::default();
    let writer = log.clone();
    let client = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Counting {
            inner: inner.http_connector(settings, components),
            log: writer.clone(),
        })
    });
    (sdk.to_builder().http_client(client).build(), log)
}

#[derive(Debug)]
struct Counting {
    inner: SharedHttpConnector,
    log: RequestLog,
}

impl HttpConnector for Counting {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation_of(&request);
        let work = WORK.try_with(|work| *work).ok();
        let sent_bytes = request
            .body()
            .bytes()
            .map_or_else(|| content_length(request.headers()), <[u8]>::len);
        let inner = self.inner.clone();
        let log = self.log.clone();
        HttpConnectorFuture::new(async move {
            let sent = Instant::now();
            // An attempt the SDK gives up on (its attempt timeout) drops this future unanswered:
            // counted as failed too.
            let mut unanswered = FailedIfDropped(Some(Arc::clone(&log.1)));
            let answer = inner.call(request).await;
            unanswered.0 = None;
            if answer
                .as_ref()
                .map_or(true, |response| response.status().is_server_error())
            {
                log.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return answer;
            }
            let received_bytes = answer
                .as_ref()
                .map_or(0, |response| content_length(response.headers()));
            log.entries().push(SentRequest {
                operation,
                sent,
                answered: Instant::now(),
                sent_bytes,
                received_bytes,
                work,
            });
            answer
        })
    }
}

/// Counts a failed attempt when dropped while still armed.
struct FailedIfDropped(Option<Arc<std::sync::atomic::AtomicUsize>>);

impl Drop for FailedIfDropped {
    fn drop(&mut self) {
        if let Some(failed) = self.0.take() {
            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn content_length(headers: &aws_smithy_runtime_api::http::Headers) -> usize {
    headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0)
}

/// `service.Operation`: JSON protocols name it in `X-Amz-Target`; S3 is told apart by method
/// and query.
fn operation_of(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap_or((target, ""));
        let service = match service.split('_').next().unwrap_or(service) {
            "DynamoDB" => "dynamodb",
            "TrentService" => "kms",
            "AmazonSQS" => "sqs",
            "secretsmanager" => "secretsmanager",
            "Transcribe" => "transcribe",
            other => other,
        };
        return format!("{service}.{operation}");
    }
    let query = request.uri().split_once('?').map_or("", |(_, q)| q);
    let s3_operation = match (request.method(), query) {
        ("GET", q) if q.contains("list-type=2") => "ListObjectsV2",
        ("GET", q) if q.contains("versions") => "ListObjectVersions",
        ("POST", q) if q.contains("delete") => "DeleteObjects",
        ("GET", _) => "GetObject",
        ("PUT", _) => "PutObject",
        ("HEAD", _) => "HeadObject",
        ("DELETE", _) => "DeleteObject",
        (method, _) => method,
    };
    format!("s3.{s3_operation}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(start: Instant, from_ms: u64, to_ms: u64) -> SentRequest {
        SentRequest {
            operation: "op".into(),
            sent: start + Duration::from_millis(from_ms),
            answered: start + Duration::from_millis(to_ms),
            sent_bytes: 0,
            received_bytes: 0,
            work: None,
        }
    }

    #[test]
    fn requests_in_flight_together_count_as_one_round_trip() {
        let t = Instant::now();
        let together = [at(t, 0, 10), at(t, 1, 12), at(t, 13, 20)];
        assert_eq!(round_trips(&together), 2);
        let one_after_another = [at(t, 0, 10), at(t, 11, 20), at(t, 21, 30)];
        assert_eq!(round_trips(&one_after_another), 3);
        assert_eq!(round_trips(&[]), 0);
    }
}
