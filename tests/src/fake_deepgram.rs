//! A local Deepgram that speaks its documented pre-recorded API: `POST /v1/listen` with
//! `Authorization: Token <key>` and `{"url": ...}` answers `{"request_id": ...}` at once, then
//! fetches the audio from that URL and POSTs the result to the `callback` URL, with the Basic
//! Auth credentials that URL carries, retrying any non-2xx answer like Deepgram does (ten
//! times; 30 s apart there, `retry_delay` here). What it "hears" is the script it was given.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use callcoach_shared::fakes::deepgram_result;
use serde_json::{Value, json};

/// How the fake answers the next submission.
#[derive(Debug, Clone)]
pub enum Answer {
    Accept,
    /// Accepts the job but calls back only once [`FakeDeepgram::release_callbacks`] is called.
    AcceptHeld,
    /// Accepts the job and calls back this long after (a slow transcription).
    AcceptLate(Duration),
    Fail {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Answers only after this long (to exercise the client's timeout).
    Stall(Duration),
    /// A redirect (307 re-sends the body and its headers, if followed) to `location`.
    Redirect {
        status: u16,
        location: String,
    },
}

/// One submission as received.
#[derive(Debug, Clone)]
pub struct Submission {
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub audio_url: Option<String>,
    pub at: std::time::Instant,
}

impl Submission {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    answers: VecDeque<Answer>,
    submissions: Vec<Submission>,
    callback_statuses: Vec<u16>,
    audio_bytes_fetched: Vec<usize>,
    next_id: u32,
}

pub struct FakeDeepgram {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
    released: tokio::sync::watch::Sender<bool>,
}

#[derive(Clone)]
struct Shared {
    api_key: String,
    turns: Vec<(u32, f64, f64, String)>,
    retry_delay: Duration,
    inner: Arc<Mutex<Inner>>,
    released: tokio::sync::watch::Sender<bool>,
}

impl FakeDeepgram {
    /// Starts on an ephemeral port; every accepted job "hears" `turns`.
    pub async fn start(api_key: &str, turns: &[(u32, f64, f64, &str)]) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Shared {
            api_key: api_key.to_owned(),
            turns: turns
                .iter()
                .map(|&(s, a, b, t)| (s, a, b, t.to_owned()))
                .collect(),
            retry_delay: Duration::from_millis(200),
            inner: Arc::clone(&inner),
            released: tokio::sync::watch::Sender::new(false),
        };
        let released = shared.released.clone();
        let app = axum::Router::new()
            .route("/v1/listen", axum::routing::post(listen))
            .with_state(shared);
        let (addr, task) = crate::serve_locally(app).await;
        Self {
            addr,
            inner,
            task,
            released,
        }
    }

    /// Lets the held jobs' callbacks go.
    pub fn release_callbacks(&self) {
        self.released.send_replace(true);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues answers for the next submissions (then it accepts).
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().answers.extend(answers);
    }

    pub fn submissions(&self) -> Vec<Submission> {
        self.inner.lock().unwrap().submissions.clone()
    }

    /// The status of every callback attempt so far, in order.
    pub fn callback_statuses(&self) -> Vec<u16> {
        self.inner.lock().unwrap().callback_statuses.clone()
    }

    pub fn audio_bytes_fetched(&self) -> Vec<usize> {
        self.inner.lock().unwrap().audio_bytes_fetched.clone()
    }

    /// Waits until a callback after the first `answered` ones got a 2xx, or `within` passed.
    pub async fn settled_after(&self, answered: usize, within: Duration) -> Vec<u16> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let statuses = self.callback_statuses();
            let later = statuses.get(answered..).unwrap_or_default();
            if later.iter().any(|s| (200..300).contains(s))
                || tokio::time::Instant::now() > deadline
            {
                return statuses;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until a callback got a 2xx or `attempts` callback attempts were made.
    pub async fn settled(&self, attempts: usize, within: Duration) -> Vec<u16> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let statuses = self.callback_statuses();
            if statuses.iter().any(|s| (200..300).contains(s)) || statuses.len() >= attempts {
                return statuses;
            }
            if tokio::time::Instant::now() > deadline {
                return statuses;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for FakeDeepgram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen(
    State(shared): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let audio_url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("url")?.as_str().map(str::to_owned));
    let answer = {
        let mut inner = shared.inner.lock().unwrap();
        inner.submissions.push(Submission {
            query: query.clone(),
            authorization: authorization.clone(),
            audio_url: audio_url.clone(),
            at: std::time::Instant::now(),
        });
        inner.answers.pop_front().unwrap_or(Answer::Accept)
    };
    if authorization.as_deref() != Some(&format!("Token {}", shared.api_key)) {
        let body = json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "none"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let held = matches!(answer, Answer::AcceptHeld);
    let late = match answer {
        Answer::AcceptLate(delay) => delay,
        _ => Duration::ZERO,
    };
    match answer {
        Answer::Fail {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap();
            let body = json!({"err_code": status.canonical_reason(), "err_msg": "Scripted failure.", "request_id": "none"});
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().unwrap());
            }
            return response;
        }
        Answer::Stall(delay) => tokio::time::sleep(delay).await,
        Answer::Redirect { status, location } => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            response
                .headers_mut()
                .insert("location", location.parse().unwrap());
            return response;
        }
        Answer::Accept | Answer::AcceptHeld | Answer::AcceptLate(_) => {}
    }
    let Some(audio_url) = audio_url else {
        let body = json!({"err_code": "Bad Request", "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data", "request_id": "none"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let request_id = {
        let mut inner = shared.inner.lock().unwrap();
        inner.next_id += 1;
        format!("00000000-0000-4000-8000-{:012}", inner.next_id)
    };
    let callback = query
        .iter()
        .find(|(k, _)| k == "callback")
        .map(|(_, v)| v.clone());
    if let Some(callback) = callback {
        let shared = shared.clone();
        let request_id = request_id.clone();
        tokio::spawn(async move {
            if held {
                let mut released = shared.released.subscribe();
                let _ = released.wait_for(|go| *go).await;
            }
            tokio::time::sleep(late).await;
            call_back(shared, request_id, audio_url, callback).await;
        });
    }
    Json(json!({ "request_id": request_id })).into_response()
}

async fn call_back(shared: Shared, request_id: String, audio_url: String, callback: String) {
    let client = reqwest::Client::new();
    // A fetch that fails is tried again twice before the job fails.
    let mut fetched = None;
    for _ in 0..3 {
        fetched = match client.get(&audio_url).send().await {
            Ok(response) if response.status().is_success() => {
                response.bytes().await.ok().map(|b| b.len())
            }
            _ => None,
        };
        if fetched.is_some() {
            break;
        }
        tokio::time::sleep(shared.retry_delay).await;
    }
    let body = match fetched {
        Some(len) => {
            shared.inner.lock().unwrap().audio_bytes_fetched.push(len);
            let turns: Vec<_> = shared
                .turns
                .iter()
                .map(|(s, a, b, t)| (*s, *a, *b, t.as_str()))
                .collect();
            deepgram_result(&request_id, &turns)
        }
        None => {
            json!({"err_code": "Bad Request", "err_msg": "Failed to fetch the audio.", "request_id": request_id})
        }
    };
    let Ok(mut url) = reqwest::Url::parse(&callback) else {
        return;
    };
    let user = url.username().to_owned();
    let password = url.password().map(str::to_owned);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    for _ in 0..10 {
        let mut request = client.post(url.clone()).json(&body);
        if !user.is_empty() || password.is_some() {
            request = request.basic_auth(&user, password.as_deref());
        }
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        shared.inner.lock().unwrap().callback_statuses.push(status);
        if (200..300).contains(&status) {
            return;
        }
        tokio::time::sleep(shared.retry_delay).await;
    }
}
