//! Provider keys from Secrets Manager through the real SDK, against the local stand-in: read
//! once at start from `{NAME}_SECRET_ARN`, never accepted as a plain variable inside Lambda,
//! never printed.

use std::collections::HashMap;

use callcoach_shared::aws::secrets::{SecretError, resolve};
use callcoach_shared::providers::llm::ConfiguredCoach;
use callcoach_tests::LocalAws;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

async fn secret(aws: &LocalAws, value: &str) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    let name = format!(
        "callcoach-test/{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn provider_keys_are_read_from_secrets_manager_once_at_start() {
    let aws = LocalAws::connect().await;
    let arn = secret(&aws, "sk-from-secrets-manager").await;
    let lookup = env(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "callcoach-scoring-worker"),
        ("LLM_1_API", "openai"),
        ("LLM_1_MODEL", "gpt-local"),
        ("LLM_1_API_KEY_SECRET_ARN", &arn),
    ]);
    let resolved = resolve(&aws.sdk, lookup, &["LLM_1_API_KEY", "LLM_2_API_KEY"])
        .await
        .unwrap();
    assert_eq!(
        resolved.get("LLM_1_API_KEY").as_deref(),
        Some("sk-from-secrets-manager")
    );
    assert_eq!(resolved.get("LLM_2_API_KEY"), None, "not configured");
    assert_eq!(resolved.get("LLM_1_MODEL").as_deref(), Some("gpt-local"));
    assert!(
        !format!("{resolved:?}").contains("sk-from"),
        "never printed"
    );
    // The coach is built from it, as the worker's main does.
    let coach = ConfiguredCoach::from_lookup(&|name| resolved.get(name)).unwrap();
    assert!(
        coach.describe().contains("gpt-local"),
        "{}",
        coach.describe()
    );
}

#[tokio::test]
async fn a_plain_key_in_lambda_or_an_unreadable_secret_stops_the_start() {
    let aws = LocalAws::connect().await;
    let in_lambda = env(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "callcoach-upload-trigger"),
        ("DEEPGRAM_API_KEY", "dg-plain"),
    ]);
    let refused = resolve(&aws.sdk, in_lambda, &["DEEPGRAM_API_KEY"]).await;
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("DEEPGRAM_API_KEY_SECRET_ARN"), "{message}");
    assert!(!message.contains("dg-plain"));
    // Locally a plain key still works (tests, the demo).
    let local = resolve(
        &aws.sdk,
        env(&[("DEEPGRAM_API_KEY", "dg-local")]),
        &["DEEPGRAM_API_KEY"],
    )
    .await
    .unwrap();
    assert_eq!(local.get("DEEPGRAM_API_KEY").as_deref(), Some("dg-local"));
    let missing = env(&[(
        "DEEPGRAM_API_KEY_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf",
    )]);
    let failed = resolve(&aws.sdk, missing, &["DEEPGRAM_API_KEY"]).await;
    assert!(
        matches!(
            failed,
            Err(SecretError::Read {
                name: "DEEPGRAM_API_KEY",
                ..
            })
        ),
        "{failed:?}"
    );
}
