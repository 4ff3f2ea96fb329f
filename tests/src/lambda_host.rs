//! A local Lambda for one function: its built binary run as real processes against a Lambda
//! Runtime API served here (`GET .../invocation/next`, `POST .../{id}/response|error`), so a
//! test can SIGKILL an instance in the middle of an invocation the way a sandbox dies. Local
//! only, for the chaos run.
//!
//! Every instance of a function takes invocations from one queue, as Lambda hands events to
//! whichever of its sandboxes is free. Each process gets a Runtime API of its own: when the
//! process dies, its server goes with it, and every invocation it had taken fails (as Lambda
//! reports a crashed invocation), then a fresh process starts cold. An invocation still held
//! at the function's timeout stops its process the same way, as Lambda stops the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Notify, mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler's answer.
    Response(Vec<u8>),
    /// The handler returned an error (the runtime posted it).
    Error(Vec<u8>),
    /// The process died before answering.
    Crashed,
    /// No answer within the function's timeout: the process holding it was stopped (or no
    /// instance took it within twice the timeout).
    TimedOut,
}

struct Invocation {
    body: Vec<u8>,
    answer: oneshot::Sender<Outcome>,
    /// Told when an instance takes it: from then on the function's timeout runs.
    taken: oneshot::Sender<()>,
}

type InFlight = Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>;

#[derive(Clone)]
struct Runtime {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    in_flight: InFlight,
    taken: Arc<Notify>,
    next_id: Arc<AtomicUsize>,
    timeout: Duration,
    function: String,
    /// Turns true when this generation's process is gone: a request it left open must not
    /// take an invocation.
    gone: tokio::sync::watch::Receiver<bool>,
    /// Tells the supervisor an invocation's time is up (its id): Lambda stops the sandbox.
    expired: mpsc::UnboundedSender<String>,
}

/// What a function's processes need: the binary, its environment, its timeout.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub binary: PathBuf,
    /// Added to (and overriding) this process's environment.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub instances: usize,
    /// Where each process's output goes (one file per process, for scanning).
    pub log_dir: PathBuf,
}

struct Instance {
    /// Asks the supervisor to SIGKILL the current process if it holds an invocation; the
    /// answer says whether it did.
    kill: mpsc::Sender<oneshot::Sender<bool>>,
    taken: Arc<Notify>,
}

/// A running function: its instances and the queue they take invocations from.
pub struct FunctionHost {
    spec: FunctionSpec,
    invocations: mpsc::Sender<Invocation>,
    instances: Vec<Instance>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    kills: Arc<AtomicUsize>,
    starts: Arc<AtomicUsize>,
    timeouts: Arc<AtomicUsize>,
}

impl FunctionHost {
    /// Starts `spec.instances` processes of the function.
    pub fn start(spec: FunctionSpec) -> std::io::Result<Self> {
        std::fs::create_dir_all(&spec.log_dir)?;
        let (invocations, queue) = mpsc::channel(1024);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let next_id = Arc::new(AtomicUsize::new(0));
        let starts = Arc::new(AtomicUsize::new(0));
        let timeouts = Arc::new(AtomicUsize::new(0));
        let mut instances = Vec::new();
        let mut tasks = Vec::new();
        for number in 0..spec.instances {
            let (kill, kills) = mpsc::channel(4);
            let instance = Instance {
                kill,
                taken: Arc::new(Notify::new()),
            };
            let runtime = Runtime {
                queue: Arc::clone(&queue),
                in_flight: InFlight::default(),
                taken: Arc::clone(&instance.taken),
                next_id: Arc::clone(&next_id),
                timeout: spec.timeout,
                function: spec.name.clone(),
                gone: tokio::sync::watch::channel(false).1,
                expired: mpsc::unbounded_channel().0,
            };
            tasks.push(tokio::spawn(supervise(
                spec.clone(),
                number,
                runtime,
                kills,
                Counters {
                    starts: Arc::clone(&starts),
                    timeouts: Arc::clone(&timeouts),
                },
            )));
            instances.push(instance);
        }
        Ok(Self {
            spec,
            invocations,
            instances,
            tasks,
            kills: Arc::new(AtomicUsize::new(0)),
            starts,
            timeouts,
        })
    }

    /// Invokes the function once with `payload` on whichever instance is free.
    pub async fn invoke(&self, payload: &serde_json::Value) -> Outcome {
        let (answer, answered) = oneshot::channel();
        let (taken, taken_seen) = oneshot::channel();
        let invocation = Invocation {
            body: payload.to_string().into_bytes(),
            answer,
            taken,
        };
        if self.invocations.send(invocation).await.is_err() {
            return Outcome::Crashed;
        }
        // An instance is free within one timeout (each stops at its timeout); an invocation
        // none took by then is given up, and no instance runs it late.
        if !matches!(
            tokio::time::timeout(self.spec.timeout, taken_seen).await,
            Ok(Ok(()))
        ) {
            return Outcome::TimedOut;
        }
        // Taken: the supervisor answers by the timeout, stopping the process if it must; the
        // margin is for the stop itself.
        match tokio::time::timeout(self.spec.timeout + Duration::from_secs(5), answered).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::Crashed,
            Err(_) => Outcome::TimedOut,
        }
    }

    /// SIGKILLs whichever instance takes the next invocation, `after` it took it. Waits until
    /// that happened; false when the invocation ended first.
    pub async fn kill_during_next_invocation(&self, after: Duration) -> bool {
        let taken = self
            .instances
            .iter()
            .map(|i| Box::pin(i.taken.notified()))
            .collect::<Vec<_>>();
        let ((), number, _) = futures::future::select_all(taken).await;
        let instance = &self.instances[number];
        tokio::time::sleep(after).await;
        let (asked, answer) = oneshot::channel();
        if instance.kill.send(asked).await.is_err() {
            return false;
        }
        // Counted only when the supervisor found the process holding an invocation.
        let killed = answer.await.unwrap_or(false);
        if killed {
            self.kills.fetch_add(1, Ordering::Relaxed);
        }
        killed
    }

    /// The function's timeout.
    pub fn timeout(&self) -> Duration {
        self.spec.timeout
    }

    pub fn instances(&self) -> usize {
        self.instances.len()
    }

    /// Processes killed mid-invocation so far.
    pub fn kills(&self) -> usize {
        self.kills.load(Ordering::Relaxed)
    }

    /// Processes started so far (cold starts).
    pub fn starts(&self) -> usize {
        self.starts.load(Ordering::Relaxed)
    }

    /// Processes stopped because an invocation outlasted the function's timeout.
    pub fn timeouts(&self) -> usize {
        self.timeouts.load(Ordering::Relaxed)
    }
}

/// What the supervisors count for their host.
struct Counters {
    starts: Arc<AtomicUsize>,
    timeouts: Arc<AtomicUsize>,
}

impl Drop for FunctionHost {
    fn drop(&mut self) {
        // Aborting a supervisor drops its child, which `kill_on_drop` kills.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Runs instance `number`: a process and its own Runtime API, restarted cold whenever it dies.
async fn supervise(
    spec: FunctionSpec,
    number: usize,
    runtime: Runtime,
    mut kills: mpsc::Receiver<oneshot::Sender<bool>>,
    counters: Counters,
) {
    for generation in 0.. {
        let in_flight = InFlight::default();
        let (gone, gone_seen) = tokio::sync::watch::channel(false);
        let (expired, mut expirations) = mpsc::unbounded_channel();
        let runtime = Runtime {
            in_flight: Arc::clone(&in_flight),
            gone: gone_seen,
            expired,
            ..runtime.clone()
        };
        let app = axum::Router::new()
            .route(
                "/2018-06-01/runtime/invocation/next",
                axum::routing::get(next),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                axum::routing::post(respond),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                axum::routing::post(fail),
            )
            .route(
                "/2018-06-01/runtime/init/error",
                axum::routing::post(|| async { StatusCode::ACCEPTED }),
            )
            .with_state(runtime);
        let (addr, server) = crate::serve_locally(app).await;
        let child = spawn(&spec, number, generation, &addr.to_string());
        counters.starts.fetch_add(1, Ordering::Relaxed);
        match child {
            Ok(mut child) => loop {
                tokio::select! {
                    _ = child.wait() => break,
                    Some(asked) = kills.recv() => {
                        let busy = !in_flight
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .is_empty();
                        if busy {
                            let _ = child.start_kill();
                            let _ = child.wait().await;
                        }
                        let _ = asked.send(busy);
                        if busy {
                            break;
                        }
                    }
                    // As Lambda does at the timeout: the sandbox stops, the invocation fails.
                    Some(id) = expirations.recv() => {
                        let holding = in_flight
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .contains_key(&id);
                        if holding {
                            let _ = child.start_kill();
                            let _ = child.wait().await;
                            // Counted unless its answer came in while it was being stopped.
                            if settle(&in_flight, &id, Outcome::TimedOut) == StatusCode::ACCEPTED {
                                counters.timeouts.fetch_add(1, Ordering::Relaxed);
                            }
                            break;
                        }
                    }
                }
            },
            Err(error) => eprintln!("{}: cannot start: {error}", spec.name),
        }
        // The process is gone: its server, and with it every invocation it had taken.
        gone.send_replace(true);
        server.abort();
        let _ = server.await;
        for (_, answer) in in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
        {
            let _ = answer.send(Outcome::Crashed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn(
    spec: &FunctionSpec,
    number: usize,
    generation: usize,
    runtime_api: &str,
) -> std::io::Result<tokio::process::Child> {
    let log = std::fs::File::create(
        spec.log_dir
            .join(format!("{}-{number}-{generation}.log", spec.name)),
    )?;
    let mut command = tokio::process::Command::new(&spec.binary);
    command
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("{number}-{generation}"),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    command.spawn()
}

async fn next(State(runtime): State<Runtime>) -> Response {
    let mut gone = runtime.gone.clone();
    let invocation = loop {
        let taken = tokio::select! {
            // A request left open by a dead process takes nothing.
            biased;
            _ = gone.wait_for(|gone| *gone) => None,
            taken = async { runtime.queue.lock().await.recv().await } => taken,
        };
        match taken {
            // Its caller gave up waiting: it is not run late.
            Some(invocation) if invocation.answer.is_closed() => {}
            Some(invocation) => break invocation,
            None => return StatusCode::GONE.into_response(),
        }
    };
    let id = format!(
        "local-{}-{}",
        runtime.function,
        runtime.next_id.fetch_add(1, Ordering::Relaxed)
    );
    runtime
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), invocation.answer);
    let _ = invocation.taken.send(());
    if *runtime.gone.borrow() {
        // Its process died meanwhile, after the supervisor failed what it had taken.
        settle(&runtime.in_flight, &id, Outcome::Crashed);
        return StatusCode::GONE.into_response();
    }
    runtime.taken.notify_waiters();
    let (expired, expiring, timeout) = (runtime.expired.clone(), id.clone(), runtime.timeout);
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        // Nobody listens once the process is gone; nothing to stop then.
        let _ = expired.send(expiring);
    });
    let deadline = SystemTime::now() + runtime.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            runtime.function
        ),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    set("content-type", "application/json".into());
    (headers, invocation.body).into_response()
}

fn settle(in_flight: &InFlight, id: &str, outcome: Outcome) -> StatusCode {
    let answer = in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id);
    match answer {
        Some(answer) => {
            let _ = answer.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(
    State(runtime): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    settle(&runtime.in_flight, &id, Outcome::Response(body.to_vec()))
}

async fn fail(
    State(runtime): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    settle(&runtime.in_flight, &id, Outcome::Error(body.to_vec()))
}

/// The workspace's build of `function` (`cargo build -p <function>`), built first when missing
/// or older than the sources would make it: cargo decides.
pub fn built_function(workspace: &Path, function: &str) -> std::io::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", function])
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "cargo build -p {function} failed"
        )));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    Ok(target.join("debug").join(function))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A function in shell speaking the Runtime API: it answers at once, or, when the event
    /// says `slow`, sleeps well past any timeout first.
    const SLEEPER: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
headers="$(mktemp)"
while true; do
  body=$(curl -s -D "$headers" "$api/next")
  id=$(tr -d '\r' < "$headers" | sed -n 's/^lambda-runtime-aws-request-id: //Ip')
  case "$body" in *slow*) exec sleep 30 ;; esac
  curl -s -X POST -d '{"ok":true}' "$api/$id/response" > /dev/null
done
"#;

    #[tokio::test]
    async fn an_invocation_past_the_timeout_stops_its_process_which_starts_again_cold() {
        let dir = std::env::temp_dir().join(format!("lambda-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("sleeper.sh");
        std::fs::write(&binary, SLEEPER).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = FunctionHost::start(FunctionSpec {
            name: "sleeper".into(),
            binary,
            env: vec![],
            timeout: Duration::from_millis(800),
            instances: 1,
            log_dir: dir.clone(),
        })
        .unwrap();
        let fast = serde_json::json!({"pace": "fast"});
        assert_eq!(
            host.invoke(&fast).await,
            Outcome::Response(br#"{"ok":true}"#.to_vec())
        );
        assert_eq!(host.timeouts(), 0, "an answer in time stops nothing");
        let outcome = host.invoke(&serde_json::json!({"pace": "slow"})).await;
        assert_eq!(outcome, Outcome::TimedOut);
        assert_eq!(host.timeouts(), 1);
        // A fresh process takes the next invocation, cold.
        assert_eq!(
            host.invoke(&fast).await,
            Outcome::Response(br#"{"ok":true}"#.to_vec())
        );
        assert_eq!(host.starts(), 2);
        drop(host);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
