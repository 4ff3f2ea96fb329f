//! Helpers for tests that run against the local AWS stand-in (moto server).
//!
//! `make test` starts the stand-in, provisions it and exports its environment
//! (`infra/local-aws.sh run ...`); these helpers read that environment.

pub mod fake_deepgram;
pub mod fake_llm;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use callcoach_shared::aws::{AwsAdapters, KmsKeyManagement};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::crypto::{
    CachePolicy, DataCategory, EnvelopeCipher, GeneratedDataKey, KeyManagement, KeyManagementError,
    PlaintextDataKey,
};
use callcoach_shared::ids::{CallId, MintedId, TenantId};
use callcoach_shared::ports::IdGenerator;
use callcoach_shared::system::{RandomIds, SystemClock};

/// Everything a test needs to reach the local stand-in.
pub struct LocalAws {
    pub sdk: aws_config::SdkConfig,
    pub resources: ResourceConfig,
    pub adapters: AwsAdapters,
}

impl LocalAws {
    /// Connects to the stand-in named by the environment; panics with instructions when the
    /// tests were not started through `make test` (or `infra/local-aws.sh run`).
    pub async fn connect() -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "these tests need the local AWS stand-in: run `make test`, or \
             `infra/local-aws.sh run cargo test -p callcoach-tests`"
        );
        let resources = ResourceConfig::from_env(&DataCategory::ALL)
            .expect("the local environment is provisioned (see infra/local-aws.sh)");
        let sdk = callcoach_shared::aws::load_sdk_config().await;
        let adapters = AwsAdapters::new(&sdk, &resources);
        Self {
            sdk,
            resources,
            adapters,
        }
    }

    /// A cipher as one process would hold it, counting its KMS requests.
    pub fn cipher(
        &self,
        policy: CachePolicy,
    ) -> (
        EnvelopeCipher<CountingKms, callcoach_shared::aws::DynamoTable, SystemClock>,
        Arc<AtomicUsize>,
    ) {
        let counter = Arc::new(AtomicUsize::new(0));
        let kms = CountingKms {
            inner: self.adapters.kms.clone(),
            requests: Arc::clone(&counter),
        };
        let cipher = EnvelopeCipher::new(
            kms,
            self.adapters.table.clone(),
            SystemClock,
            self.resources.category_keys.clone(),
            policy,
        );
        (cipher, counter)
    }
}

/// A fresh tenant id per test, so tests never see each other's data.
pub fn fresh_tenant() -> TenantId {
    let id: callcoach_shared::ids::TeamId = RandomIds.mint();
    TenantId::parse(format!("t-{}", &id.as_str()[5..17])).unwrap()
}

pub fn mint<T: MintedId>() -> T {
    RandomIds.mint()
}

/// Counts the requests that reach the real KMS adapter (each call is one KMS API request).
#[derive(Clone)]
pub struct CountingKms {
    inner: KmsKeyManagement,
    requests: Arc<AtomicUsize>,
}

impl KeyManagement for CountingKms {
    async fn generate_data_key(
        &self,
        kms_key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<GeneratedDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.inner.generate_data_key(kms_key_id, context).await
    }
    async fn decrypt_data_key(
        &self,
        kms_key_id: &str,
        wrapped: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<PlaintextDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.inner
            .decrypt_data_key(kms_key_id, wrapped, context)
            .await
    }
}

/// A queue of the test's own, so tests never read each other's messages.
pub async fn own_queue(
    sqs: &aws_sdk_sqs::Client,
    purpose: &str,
    attributes: &[(&str, String)],
) -> String {
    let name = format!("test-{purpose}-{}", &mint::<CallId>().as_str()[5..17]);
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::from(*k), v);
    }
    request.send().await.unwrap().queue_url.unwrap()
}

/// Receives what is on `queue_url` now (one long poll of a second).
pub async fn messages_on(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect()
}

/// A Lambda context with a minute left, as a fresh invocation has.
pub fn lambda_context() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context
}
