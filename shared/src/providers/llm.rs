//! The LLM coach's HTTP half: OpenAI-compatible chat completions and Anthropic Messages, in a
//! configured chain with retries, a circuit breaker per provider, and validation by
//! [`crate::scoring::llm::validate`].
//!
//! Per provider, in chain order: skipped while its breaker is open (after
//! [`BREAKER_THRESHOLD`] consecutive failed scorings, for its cooldown); otherwise up to
//! `retry.max_attempts` attempts: 429/408/5xx, timeouts and refused output are retried (waiting
//! at least `retry-after`), 400/401/403/404, 402 and OpenAI's `insufficient_quota` (spend
//! limits) are not. The first valid answer wins and the analysis records that provider and
//! model. Requests carry no tools, temperature 0, and a JSON-only answer format.
//!
//! Configuration (numbered, `N` = 1, 2, 3 in chain order): `LLM_N_API` (`openai` for any
//! OpenAI-compatible endpoint, or `anthropic`), `LLM_N_MODEL`, `LLM_N_API_KEY`, and `LLM_N_URL`
//! (default `https://api.openai.com` / `https://api.anthropic.com`). No `LLM_1_API`: no chain,
//! the deterministic coach scores alone.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::http::{
    ApiSecret, BodyError, RetryPolicy, is_transient, outbound_client, read_capped, require_https,
    retry_after,
};

/// The longest answer read from a provider: far above a judgement of `max_tokens` tokens.
const MAX_ANSWER_BYTES: usize = 1 << 20;
use crate::config::{ConfigError, bounded, required};
use crate::domain::analysis::{Analysis, Provenance};
use crate::scoring::coach::list_model_findings;
use crate::scoring::llm::{PROMPT_VERSION, Prompt, apply, build_prompt, validate};
use crate::scoring::{RUBRIC_VERSION, ScoringRequest};
use crate::system::RandomIds;
use crate::usecases::score::{Coach, CoachUnavailable, DeterministicCoach};

/// Consecutive failed scorings that open a provider's breaker.
pub const BREAKER_THRESHOLD: u32 = 3;
/// Transcript budget per request, in estimated tokens (4 characters each): about 90 minutes
/// of conversation, well inside current context windows.
pub const TRANSCRIPT_TOKEN_BUDGET: usize = 24_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmApi {
    OpenAiCompatible,
    Anthropic,
}

#[derive(Debug, Clone)]
pub struct LlmEndpoint {
    pub api: LlmApi,
    pub base_url: Url,
    pub api_key: ApiSecret,
    pub model: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub max_output_tokens: u32,
}

impl LlmEndpoint {
    /// The provider's name as analyses record it: the API and the host.
    pub fn name(&self) -> String {
        let api = match self.api {
            LlmApi::OpenAiCompatible => "openai-compatible",
            LlmApi::Anthropic => "anthropic",
        };
        format!("{api}@{}", self.base_url.host_str().unwrap_or("unknown"))
    }
}

/// How long one LLM request may take when `LLM_TIMEOUT_SECONDS` is unset.
pub const DEFAULT_LLM_TIMEOUT_SECONDS: u32 = 20;

/// The chain from `LLM_N_*` variables; `None` when `LLM_1_API` is unset.
pub fn endpoints_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<LlmEndpoint>, ConfigError> {
    const API: [&str; 3] = ["LLM_1_API", "LLM_2_API", "LLM_3_API"];
    const MODEL: [&str; 3] = ["LLM_1_MODEL", "LLM_2_MODEL", "LLM_3_MODEL"];
    const KEY: [&str; 3] = ["LLM_1_API_KEY", "LLM_2_API_KEY", "LLM_3_API_KEY"];
    const URL: [&str; 3] = ["LLM_1_URL", "LLM_2_URL", "LLM_3_URL"];
    // One attempt's limit. The worker's Lambda timeout must hold the chain's worst case
    // (3 providers x 3 attempts), so a deployment with a short function timeout lowers it.
    let timeout = Duration::from_secs(
        bounded(
            lookup,
            "LLM_TIMEOUT_SECONDS",
            1..=60,
            DEFAULT_LLM_TIMEOUT_SECONDS,
        )?
        .into(),
    );
    let mut chain = Vec::new();
    for n in 0..3 {
        let Some(api) = lookup(API[n]).filter(|v| !v.trim().is_empty()) else {
            break;
        };
        let (api, default_url) = match api.trim() {
            "openai" => (LlmApi::OpenAiCompatible, "https://api.openai.com"),
            "anthropic" => (LlmApi::Anthropic, "https://api.anthropic.com"),
            other => {
                return Err(ConfigError::Invalid {
                    name: API[n],
                    reason: format!("expected openai or anthropic, got {other:?}"),
                });
            }
        };
        let url = lookup(URL[n])
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default_url.into());
        let base_url = Url::parse(&url).map_err(|e| ConfigError::Invalid {
            name: URL[n],
            reason: e.to_string(),
        })?;
        require_https(&base_url).map_err(|reason| ConfigError::Invalid {
            name: URL[n],
            reason,
        })?;
        chain.push(LlmEndpoint {
            api,
            base_url,
            api_key: ApiSecret::new(required(lookup, KEY[n])?),
            model: required(lookup, MODEL[n])?,
            timeout,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(10),
            },
            max_output_tokens: 2_000,
        });
    }
    Ok(chain)
}

/// How one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt, after at least this long when the server said so.
    Transient(String, Option<Duration>),
    /// Not worth another attempt at this provider.
    Permanent(String),
}

/// Why a provider's attempts ended without an analysis.
#[derive(Debug)]
struct GaveUp {
    reason: String,
    /// Whether any attempt failed at the provider (an error, a timeout, no answer), rather
    /// than every answer being refused by validation.
    provider_failed: bool,
}

#[derive(Debug, Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// An LLM chain as the scoring worker's coach.
pub struct LlmChain {
    http: reqwest::Client,
    endpoints: Vec<LlmEndpoint>,
    breakers: Vec<Mutex<Breaker>>,
    cooldown: Duration,
    transcript_budget: usize,
}

impl LlmChain {
    pub fn new(endpoints: Vec<LlmEndpoint>, cooldown: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: outbound_client(None)?,
            breakers: endpoints.iter().map(|_| Mutex::default()).collect(),
            endpoints,
            cooldown,
            transcript_budget: TRANSCRIPT_TOKEN_BUDGET,
        })
    }

    fn breaker(&self, index: usize) -> std::sync::MutexGuard<'_, Breaker> {
        self.breakers[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_open(&self, index: usize) -> bool {
        self.breaker(index)
            .open_until
            .is_some_and(|until| Instant::now() < until)
    }

    fn record(&self, index: usize, success: bool) {
        let mut breaker = self.breaker(index);
        if success {
            *breaker = Breaker::default();
            return;
        }
        breaker.consecutive_failures += 1;
        if breaker.consecutive_failures >= BREAKER_THRESHOLD {
            breaker.open_until = Some(Instant::now() + self.cooldown);
            breaker.consecutive_failures = 0;
        }
    }

    async fn attempt(&self, endpoint: &LlmEndpoint, prompt: &Prompt) -> Result<String, Failure> {
        let request = match endpoint.api {
            LlmApi::OpenAiCompatible => self
                .http
                .post(join(&endpoint.base_url, &["v1", "chat", "completions"]))
                .bearer_auth(endpoint.api_key.expose())
                .json(&json!({
                    "model": endpoint.model,
                    "temperature": 0,
                    "max_tokens": endpoint.max_output_tokens,
                    // OpenAI keeps no copy of completions made with `store: false`.
                    "store": false,
                    "response_format": {"type": "json_object"},
                    "messages": [
                        {"role": "system", "content": prompt.system},
                        {"role": "user", "content": prompt.user},
                    ],
                })),
            LlmApi::Anthropic => self
                .http
                .post(join(&endpoint.base_url, &["v1", "messages"]))
                .header("x-api-key", endpoint.api_key.expose())
                .header("anthropic-version", "2023-06-01")
                .json(&json!({
                    "model": endpoint.model,
                    "temperature": 0,
                    "max_tokens": endpoint.max_output_tokens,
                    "system": prompt.system,
                    "messages": [{"role": "user", "content": prompt.user}],
                })),
        };
        let response = match request.timeout(endpoint.timeout).send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(Failure::Transient("timed out".into(), None)),
            Err(e) => return Err(Failure::Transient(e.without_url().to_string(), None)),
        };
        let status = response.status();
        let wait = retry_after(response.headers());
        if status.is_redirection() {
            // Not followed (see `outbound_client`): a provider does not move its API.
            return Err(Failure::Permanent(format!(
                "answered {status} (a redirect)"
            )));
        }
        let body: Value = match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(too_long @ BodyError::TooLarge(_)) => {
                return Err(Failure::Transient(too_long.to_string(), None));
            }
            Err(BodyError::Read(_)) => Value::Null,
        };
        if status.is_success() {
            let text = match endpoint.api {
                LlmApi::OpenAiCompatible => body.pointer("/choices/0/message/content"),
                LlmApi::Anthropic => body.pointer("/content/0/text"),
            };
            return text
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Failure::Transient("the answer has no text".into(), None));
        }
        let code = body
            .pointer("/error/code")
            .or_else(|| body.pointer("/error/type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if status == StatusCode::PAYMENT_REQUIRED || code == "insufficient_quota" {
            return Err(Failure::Permanent(format!(
                "spend limit reached ({status})"
            )));
        }
        if is_transient(status) {
            return Err(Failure::Transient(format!("answered {status}"), wait));
        }
        Err(Failure::Permanent(format!("answered {status}")))
    }

    /// One provider's attempts; the valid analysis, or why it gave up.
    async fn try_endpoint(
        &self,
        endpoint: &LlmEndpoint,
        prompt: &Prompt,
        duration_ms: u64,
        baseline: &Analysis,
    ) -> Result<Analysis, GaveUp> {
        let mut attempt = 0;
        let mut provider_failed = false;
        loop {
            attempt += 1;
            let outcome = self.attempt(endpoint, prompt).await;
            provider_failed |= outcome.is_err();
            let (reason, wait) = match outcome {
                Ok(answer) => match validate(&answer, prompt, duration_ms, &RandomIds) {
                    Ok(judgement) => {
                        let provenance = Provenance {
                            provider: endpoint.name(),
                            model: Some(endpoint.model.clone()),
                            rubric_version: RUBRIC_VERSION.into(),
                            prompt_version: Some(PROMPT_VERSION.into()),
                            degraded: false,
                        };
                        return Ok(apply(baseline.clone(), judgement, provenance));
                    }
                    Err(invalid) => (format!("refused output: {invalid}"), None),
                },
                Err(Failure::Permanent(reason)) => {
                    return Err(GaveUp {
                        reason,
                        provider_failed,
                    });
                }
                Err(Failure::Transient(reason, wait)) => (reason, wait),
            };
            match endpoint.retry.delay_after(attempt, wait) {
                Some(delay) => {
                    warn!(provider = %endpoint.name(), attempt, reason = %reason, "LLM attempt failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    return Err(GaveUp {
                        reason,
                        provider_failed,
                    });
                }
            }
        }
    }
}

fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

impl Coach for LlmChain {
    /// The prompt as it would be sent plus the first provider's output cap (a fallback costs
    /// about the same again; the quota counts one scoring's worth).
    fn token_estimate(&self, request: &ScoringRequest<'_>) -> Option<u64> {
        let prompt = build_prompt(
            request.transcript,
            request.playbook,
            None,
            self.transcript_budget,
        );
        let output = self.endpoints.first().map_or(0, |e| e.max_output_tokens);
        Some(prompt.estimated_tokens as u64 + u64::from(output))
    }

    async fn judge(
        &self,
        request: &ScoringRequest<'_>,
        baseline: Analysis,
    ) -> Result<Analysis, CoachUnavailable> {
        let prompt = build_prompt(
            request.transcript,
            request.playbook,
            baseline.metrics.rep_speaker,
            self.transcript_budget,
        );
        let duration_ms = request
            .transcript
            .utterances
            .iter()
            .map(|u| u.end_ms)
            .max()
            .unwrap_or(0);
        let mut reasons = Vec::new();
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            if self.is_open(index) {
                reasons.push(format!("{}: circuit open", endpoint.name()));
                continue;
            }
            match self
                .try_endpoint(endpoint, &prompt, duration_ms, &baseline)
                .await
            {
                Ok(mut analysis) => {
                    self.record(index, true);
                    list_model_findings(&mut analysis, request.transcript);
                    info!(provider = %endpoint.name(), omitted = prompt.omitted_utterances, "LLM coach scored the call");
                    return Ok(analysis);
                }
                Err(GaveUp {
                    reason,
                    provider_failed,
                }) => {
                    // Only the provider's own failures count towards its breaker: output
                    // refused for one call's content (an injected transcript) says nothing
                    // about the provider, and must not take it away from every tenant.
                    if provider_failed {
                        self.record(index, false);
                    }
                    warn!(provider = %endpoint.name(), reason = %reason, "LLM provider gave up");
                    reasons.push(format!("{}: {reason}", endpoint.name()));
                }
            }
        }
        Err(CoachUnavailable(reasons.join("; ")))
    }
}

/// The deployment's coach: the LLM chain when `LLM_1_API` is set, the rubric otherwise.
pub enum ConfiguredCoach {
    Deterministic(DeterministicCoach),
    Llm(Box<LlmChain>),
}

/// How long an open breaker skips its provider.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(60);

impl ConfiguredCoach {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let endpoints = endpoints_from_lookup(lookup)?;
        if endpoints.is_empty() {
            return Ok(Self::Deterministic(DeterministicCoach));
        }
        let chain =
            LlmChain::new(endpoints, BREAKER_COOLDOWN).map_err(|e| ConfigError::Invalid {
                name: "LLM_1_API",
                reason: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(Self::Llm(Box::new(chain)))
    }

    /// What the coach is, for the start-up log line (never keys).
    pub fn describe(&self) -> String {
        match self {
            Self::Deterministic(_) => "deterministic rubric".into(),
            Self::Llm(chain) => chain
                .endpoints
                .iter()
                .map(|e| format!("{} {}", e.name(), e.model))
                .collect::<Vec<_>>()
                .join(" -> "),
        }
    }
}

impl Coach for ConfiguredCoach {
    async fn judge(
        &self,
        request: &ScoringRequest<'_>,
        baseline: Analysis,
    ) -> Result<Analysis, CoachUnavailable> {
        match self {
            Self::Deterministic(coach) => coach.judge(request, baseline).await,
            Self::Llm(chain) => chain.judge(request, baseline).await,
        }
    }

    fn token_estimate(&self, request: &ScoringRequest<'_>) -> Option<u64> {
        match self {
            Self::Deterministic(_) => None,
            Self::Llm(chain) => chain.token_estimate(request),
        }
    }
}
