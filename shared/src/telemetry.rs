//! Logging and metrics, set up once per process.
//!
//! In Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) logs are JSON unless `AWS_LAMBDA_LOG_FORMAT` says
//! `Text`; locally they are human-readable. The level comes from `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, default `info`; it applies to callcoach's own crates only. Every other crate
//! (the AWS SDK, hyper, rustls, the Lambda runtime) is held at `info` whatever the setting:
//! at `debug` and `trace` they log request and response bodies and the events a function
//! receives, which carry transcripts and credentials. Spans carry ids only (request, tenant,
//! call): never names, emails or transcript text. Metrics are CloudWatch
//! embedded-metric-format lines on stdout.

use std::io::Write;

use serde_json::json;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// The format Lambda asks for, or text when run locally.
    pub fn from_env() -> Self {
        let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
        match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Ok(v) if v.eq_ignore_ascii_case("text") => LogFormat::Text,
            _ if in_lambda => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

fn level_setting() -> String {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_ascii_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned())
}

/// The crates whose `debug` and `trace` logs may be shown: callcoach's own.
const OWN_CRATES: [&str; 9] = [
    "callcoach_shared",
    "api",
    "upload_trigger",
    "transcription_callback",
    "scoring_worker",
    "retention_reaper",
    "callcoach",
    "callcoach_local_router",
    "callcoach_tests",
];

fn is_own(target: &str) -> bool {
    OWN_CRATES.iter().any(|own| {
        target
            .strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// An error and every cause under it, `top: cause: root`, for the one log line at an edge
/// (a handler's `%error` shows only the top, and the SDK's reason sits at the bottom).
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// A subscriber writing to `writer` at `level` (`EnvFilter` syntax) for callcoach's crates and
/// at most `info` for every other crate.
pub fn subscriber<W>(
    format: LogFormat,
    level: &str,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{LevelFilter, filter_fn};
    use tracing_subscriber::layer::SubscriberExt;
    let env = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let others_at_info =
        filter_fn(|meta| is_own(meta.target()) || LevelFilter::INFO >= *meta.level());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(false);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => layer.boxed(),
    };
    Box::new(
        tracing_subscriber::registry().with(layer.with_filter(env).with_filter(others_at_info)),
    )
}

/// Installs the global subscriber writing to `writer`. Returns false if one was already set.
pub fn init_with<W>(format: LogFormat, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing::subscriber::set_global_default(subscriber(format, &level_setting(), writer)).is_ok()
}

/// Sets up logging for a function or tool, from the environment. Call once in `main`.
pub fn init() {
    init_with(LogFormat::from_env(), std::io::stdout);
}

/// One CloudWatch metric in embedded metric format.
#[derive(Debug, Clone, Copy)]
pub struct Metric<'a> {
    pub name: &'a str,
    pub value: f64,
    /// A CloudWatch unit: `Count`, `Milliseconds`, `Seconds`, ...
    pub unit: &'a str,
}

pub const METRIC_NAMESPACE: &str = "callcoach";

/// The EMF document for these metrics with one dimension set (ids only, never personal data).
pub fn emf_line(
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    metrics: &[Metric<'_>],
) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    for (k, v) in dimensions {
        doc.insert((*k).to_owned(), json!(v));
    }
    for m in metrics {
        doc.insert(m.name.to_owned(), json!(m.value));
    }
    doc.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit})).collect::<Vec<_>>(),
            }]
        }),
    );
    serde_json::Value::Object(doc)
}

/// Writes an EMF line to stdout, where the Lambda log agent picks it up.
pub fn emit_metrics(timestamp_ms: i64, dimensions: &[(&str, &str)], metrics: &[Metric<'_>]) {
    let line = emf_line(timestamp_ms, dimensions, metrics);
    let mut out = std::io::stdout().lock();
    // A lost metric line must never fail the invocation.
    let _ = writeln!(out, "{line}");
}

/// One count of `function`'s, now: the usual metric of a handler (`UploadsRejected`, an
/// audit write that failed ...).
pub fn emit_count(function: &str, name: &str, value: u32) {
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    emit_metrics(
        now_ms,
        &[("Function", function)],
        &[Metric {
            name,
            value: f64::from(value),
            unit: "Count",
        }],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_shows_every_cause_down_to_the_root() {
        #[derive(Debug, thiserror::Error)]
        #[error("the transcript could not be stored")]
        struct Top(#[source] Middle);
        #[derive(Debug, thiserror::Error)]
        #[error("a store failed")]
        struct Middle(#[source] std::io::Error);
        let error = Top(Middle(std::io::Error::other("throttled by the service")));
        assert_eq!(
            Chain(&error).to_string(),
            "the transcript could not be stored: a store failed: throttled by the service"
        );
    }

    #[test]
    fn other_crates_stay_at_info_whatever_the_level_asked_for() {
        for level in [
            "trace",
            "aws_smithy_runtime=trace,trace",
            "info,aws_smithy_runtime::client::orchestrator=trace,lambda_runtime=debug",
        ] {
            let captured = crate::fakes::CapturedLogs::default();
            let subscriber = subscriber(LogFormat::Json, level, captured.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "request body: SECRET-BODY");
                tracing::debug!(target: "lambda_runtime", "event: SECRET-EVENT");
                tracing::trace!(target: "hyper::proto", "SECRET-WIRE");
                tracing::info!(target: "aws_config", "credentials loaded");
                tracing::trace!(target: "callcoach_shared::usecases", "our own trace");
                tracing::trace!(target: "callcoach_shared_impostor", "IMPOSTOR");
            });
            let text = captured.text();
            for secret in ["SECRET-BODY", "SECRET-EVENT", "SECRET-WIRE", "IMPOSTOR"] {
                assert!(!text.contains(secret), "{level}: {secret} logged");
            }
            assert!(
                text.contains("credentials loaded"),
                "{level}: info still logs"
            );
            if level == "trace" {
                assert!(
                    text.contains("our own trace"),
                    "our crates follow the setting"
                );
            }
        }
    }

    #[test]
    fn emf_declares_every_metric_and_dimension() {
        let line = emf_line(
            1_700_000_000_000,
            &[("Function", "retention-reaper")],
            &[
                Metric {
                    name: "ItemsDeleted",
                    value: 3.0,
                    unit: "Count",
                },
                Metric {
                    name: "LatenessMs",
                    value: 1500.0,
                    unit: "Milliseconds",
                },
            ],
        );
        assert_eq!(line["ItemsDeleted"], 3.0);
        assert_eq!(line["Function"], "retention-reaper");
        let spec = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], METRIC_NAMESPACE);
        assert_eq!(spec["Dimensions"][0][0], "Function");
        assert_eq!(spec["Metrics"][1]["Name"], "LatenessMs");
        assert_eq!(spec["Metrics"][1]["Unit"], "Milliseconds");
    }
}
