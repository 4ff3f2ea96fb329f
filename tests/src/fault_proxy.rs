//! A fault-injecting HTTP proxy between the SDK and the local AWS (local only, for tests).
//!
//! The SDK is pointed at the proxy's URL instead of the stand-in's. Each request, by a seeded
//! draw, is answered with its service's own throttling error or a 500, dropped before it is
//! forwarded, forwarded and then dropped before the answer (the write happened, the answer was
//! lost), or passed through, after an optional delay. The SDK sees only HTTP on a socket, so its
//! own retries, backoff and error classification are what the tests exercise.
//!
//! Replay: the n-th request the proxy receives gets the n-th draw of the seed, so sequential
//! work replays exactly; under concurrency the arrival order, and so which request draws
//! which fault, can differ between runs, while the share of faults stays the seed's.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the proxy does to requests: each share is a probability per request of DynamoDB, KMS,
/// S3 or SQS (other services pass through untouched).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    pub seed: u64,
    /// Answered with the service's throttling error.
    pub throttle: f64,
    /// Answered 500 `InternalError`.
    pub internal_error: f64,
    /// The connection is closed before the request is forwarded.
    pub reset_before: f64,
    /// Forwarded, then the connection is closed before the answer.
    pub reset_after: f64,
    /// Every forwarded request waits a drawn delay of up to this long.
    pub max_latency: Duration,
}

impl FaultPlan {
    pub fn pass_through(seed: u64) -> Self {
        Self {
            seed,
            throttle: 0.0,
            internal_error: 0.0,
            reset_before: 0.0,
            reset_after: 0.0,
            max_latency: Duration::ZERO,
        }
    }
}

/// A fault the proxy injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    InternalError,
    ResetBefore,
    ResetAfter,
}

/// The service a request is for, told apart the way the SDK addresses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    DynamoDb,
    Kms,
    S3,
    Sqs,
    /// Anything else (Transcribe, Secrets Manager, STS): never faulted.
    Other,
}

impl Service {
    fn of(request: &Request<Incoming>) -> Self {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok());
        match target {
            Some(t) if t.starts_with("DynamoDB_") => Service::DynamoDb,
            Some(t) if t.starts_with("TrentService.") => Service::Kms,
            Some(t) if t.starts_with("AmazonSQS.") => Service::Sqs,
            Some(_) => Service::Other,
            // The JSON protocols name their operation in the target header; S3 does not.
            None => Service::S3,
        }
    }
}

/// One request the proxy saw, and what it did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub service: Service,
    pub fault: Option<Fault>,
}

struct Shared {
    upstream: String,
    plan: FaultPlan,
    next: AtomicU64,
    seen: Mutex<Vec<Seen>>,
    client: reqwest::Client,
    /// Transactions answered, by their `ClientRequestToken` (see [`transaction_token`]).
    transactions: Mutex<std::collections::HashMap<String, Answered>>,
}

/// The connection is dropped on purpose (hyper closes a connection whose service fails,
/// without answering).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (the stand-in's URL).
    pub async fn start(upstream: &str, plan: FaultPlan) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            plan,
            next: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(std::io::Error::other)?,
            transactions: Mutex::default(),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Self {
            url,
            shared,
            accepting,
        })
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many of `fault` were injected into requests for `service`.
    pub fn injected(&self, service: Service, fault: Fault) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.service == service && s.fault == Some(fault))
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { shared.handle(request).await }
            });
            // A dropped connection ends here with an error: that is the point of it.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A uniform draw in [0, 1) for request `n`, independent per `salt` (splitmix64).
fn draw(seed: u64, n: u64, salt: u64) -> f64 {
    let mut z =
        seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl FaultPlan {
    /// What the plan does to the `n`-th request (counted from 0) the proxy receives.
    pub fn fault_for(&self, n: u64) -> Option<Fault> {
        let plan = self;
        let mut at = draw(plan.seed, n, 1);
        for (share, fault) in [
            (plan.throttle, Fault::Throttle),
            (plan.internal_error, Fault::InternalError),
            (plan.reset_before, Fault::ResetBefore),
            (plan.reset_after, Fault::ResetAfter),
        ] {
            if at < share {
                return Some(fault);
            }
            at -= share;
        }
        None
    }
}

impl Shared {
    fn fault_for(&self, n: u64) -> Option<Fault> {
        self.plan.fault_for(n)
    }

    fn note(&self, service: Service, fault: Option<Fault>) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen { service, fault });
    }

    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let service = Service::of(&request);
        let fault = (service != Service::Other)
            .then(|| self.fault_for(n))
            .flatten();
        self.note(service, fault);
        match fault {
            Some(Fault::Throttle) => return Ok(throttled(service, n)),
            Some(Fault::InternalError) => return Ok(internal_error(service)),
            Some(Fault::ResetBefore) => return Err(Dropped),
            _ => {}
        }
        let delay = self.plan.max_latency.mul_f64(draw(self.plan.seed, n, 2));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let answer = self.forward(request).await?;
        if fault == Some(Fault::ResetAfter) {
            return Err(Dropped);
        }
        Ok(answer)
    }

    async fn forward(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
        let token = transaction_token(&parts.headers, &body);
        if let Some(answered) = token.as_ref().and_then(|t| {
            self.transactions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(t)
                .cloned()
        }) {
            return answered.response();
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut headers = parts.headers;
        for hop in [HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
            headers.remove(hop);
        }
        let upstream = self
            .client
            .request(parts.method, format!("{}{path}", self.upstream))
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|_| Dropped)?;
        let mut answer = Response::builder().status(upstream.status());
        for (name, value) in upstream.headers() {
            if ![CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING].contains(name) {
                answer = answer.header(name, value);
            }
        }
        let status = upstream.status();
        let kept: Vec<_> = upstream
            .headers()
            .iter()
            .filter(|(name, _)| ![CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING].contains(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let bytes = upstream.bytes().await.map_err(|_| Dropped)?;
        if let Some(token) = token
            && status.is_success()
        {
            let answered = Answered {
                status,
                headers: kept,
                body: bytes.clone(),
            };
            self.transactions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(token, answered);
        }
        answer.body(Full::new(bytes)).map_err(|_| Dropped)
    }
}

/// An answer kept for a repeated transaction.
#[derive(Clone)]
struct Answered {
    status: StatusCode,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
}

impl Answered {
    fn response(&self) -> Result<Response<Full<Bytes>>, Dropped> {
        let mut answer = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            answer = answer.header(name, value);
        }
        answer
            .body(Full::new(self.body.clone()))
            .map_err(|_| Dropped)
    }
}

/// The `ClientRequestToken` of a `TransactWriteItems` request. DynamoDB answers a repeat of
/// a token it completed (within 10 minutes) as it answered the first, without writing again,
/// and the SDK keeps one token across its retries; the local AWS (moto) ignores the token, so
/// the proxy keeps that promise in its place. Without it, a transaction whose answer the proxy
/// dropped would be retried into its own conditions, which AWS never does.
fn transaction_token(headers: &hyper::HeaderMap, body: &[u8]) -> Option<String> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    if target != "DynamoDB_20120810.TransactWriteItems" {
        return None;
    }
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    request["ClientRequestToken"].as_str().map(str::to_owned)
}

/// The throttling error each service really answers with (DynamoDB alternates its two).
fn throttled(service: Service, n: u64) -> Response<Full<Bytes>> {
    const SAID: &str = "injected by the local fault proxy";
    match service {
        Service::DynamoDb => {
            let code = if n.is_multiple_of(2) {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            } else {
                "com.amazon.coral.availability#ThrottlingException"
            };
            json_error(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                code,
                SAID,
            )
        }
        Service::Kms => json_error(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.1",
            "ThrottlingException",
            SAID,
        ),
        Service::Sqs => {
            let mut answer = json_error(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                "com.amazonaws.sqs#RequestThrottled",
                SAID,
            );
            answer.headers_mut().insert(
                "x-amzn-query-error",
                hyper::header::HeaderValue::from_static("RequestThrottled;Sender"),
            );
            answer
        }
        Service::S3 | Service::Other => {
            xml_error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown", SAID)
        }
    }
}

fn internal_error(service: Service) -> Response<Full<Bytes>> {
    const SAID: &str = "internal error injected by the local fault proxy";
    match service {
        Service::S3 | Service::Other => {
            xml_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", SAID)
        }
        Service::Kms => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.1",
            "InternalError",
            SAID,
        ),
        Service::DynamoDb | Service::Sqs => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.0",
            "InternalError",
            SAID,
        ),
    }
}

fn json_error(
    status: StatusCode,
    content_type: &str,
    code: &str,
    message: &str,
) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        answer.headers_mut().insert(CONTENT_TYPE, value);
    }
    answer
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"#
    );
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_and_replayable() {
        let plan = FaultPlan {
            throttle: 0.1,
            internal_error: 0.1,
            ..FaultPlan::pass_through(42)
        };
        let shared = |plan| Shared {
            upstream: String::new(),
            plan,
            next: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
            client: reqwest::Client::new(),
            transactions: Mutex::default(),
        };
        let (a, b) = (shared(plan), shared(plan));
        let faults: Vec<_> = (0..10_000).map(|n| a.fault_for(n)).collect();
        assert_eq!(
            faults,
            (0..10_000).map(|n| b.fault_for(n)).collect::<Vec<_>>()
        );
        let throttled = faults
            .iter()
            .filter(|f| **f == Some(Fault::Throttle))
            .count();
        let failed = faults
            .iter()
            .filter(|f| **f == Some(Fault::InternalError))
            .count();
        assert!((900..1100).contains(&throttled) && (900..1100).contains(&failed));
        let other_seed = shared(FaultPlan { seed: 43, ..plan });
        assert_ne!(
            faults,
            (0..10_000)
                .map(|n| other_seed.fault_for(n))
                .collect::<Vec<_>>()
        );
    }
}
