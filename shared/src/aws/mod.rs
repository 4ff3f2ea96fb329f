//! AWS adapters of the ports (feature `aws`). AWS SDK types stay inside this module.

pub mod dynamo;
pub mod kms;
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
pub mod sqs;
#[cfg(feature = "transcribe")]
pub mod transcribe;

pub use dynamo::{DynamoKeyTable, DynamoTable};
pub use kms::{KmsKeyManagement, KmsReceiptSigner};
pub use s3::S3BlobStore;
pub use sqs::SqsQueue;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Attempts per AWS request, the first included (the SDK's default is 3). DynamoDB and KMS
/// throttle in bursts and S3 answers `SlowDown` while it scales a prefix; at a tenth of
/// requests refused, three attempts leave one request in a thousand failed, five one in a
/// hundred thousand. Retries are the SDK's standard mode: exponential backoff with full jitter
/// and a retry quota per client, which stops retrying when most requests fail, so an outage
/// does not turn into a retry storm. (Adaptive mode adds a client-side rate limiter, which
/// helps a client that sends much; a Lambda process sends a few requests per event.)
pub const MAX_ATTEMPTS: u32 = 5;

/// The first retry waits up to this long, each next one up to twice as long: five attempts
/// wait at most 0.1 + 0.2 + 0.4 + 0.8 = 1.5 s in all, small against the 30 s of the shortest
/// function timeouts. The SDK's default (1 s) would wait up to 15 s.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The retry policy every function's clients use.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
}

/// A connection to an AWS endpoint in the Region is made in milliseconds; 3 s means the
/// endpoint is unreachable, and another attempt is better spent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one request: DynamoDB, KMS and SQS answer in milliseconds, an S3 part of
/// 5 MiB in well under a second; 10 s is a stuck attempt, which the retry replaces.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A request with all its attempts and backoff: under the 30 s of the shortest function
/// timeouts (and API Gateway's), so a function answers or fails cleanly before it is killed.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// The timeouts every function's clients use.
pub fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// One SDK configuration per process, from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` for the local stand-in), with [`retry_config`] and [`timeout_config`].
pub async fn load_sdk_config() -> SdkConfig {
    sdk_loader().load().await
}

/// The loader [`load_sdk_config`] runs, for a caller that sets more before loading (a test
/// that points the clients at a fault-injecting proxy).
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

fn backend<E: std::error::Error + Send + Sync + 'static>(err: E) -> crate::ports::BackendError {
    Box::new(err)
}

use crate::config::ResourceConfig;
use crate::crypto::{CachePolicy, EnvelopeCipher};
use crate::system::SystemClock;

/// The adapters one function builds at cold start.
#[derive(Clone)]
pub struct AwsAdapters {
    pub table: DynamoTable,
    pub blobs: S3BlobStore,
    pub kms: KmsKeyManagement,
}

/// Envelope encryption as deployed: data keys from KMS, wrapped keys in the keys table.
pub type AwsEnvelope = EnvelopeCipher<KmsKeyManagement, DynamoKeyTable, SystemClock>;

impl AwsAdapters {
    pub fn new(sdk: &SdkConfig, resources: &ResourceConfig) -> Self {
        Self {
            table: DynamoTable::new(
                aws_sdk_dynamodb::Client::new(sdk),
                &resources.table_name,
                &resources.keys_table_name,
            ),
            blobs: S3BlobStore::new(
                S3BlobStore::client(sdk, resources.s3_force_path_style),
                &resources.bucket_name,
                Some(resources.storage_kms_key.clone()),
            ),
            kms: KmsKeyManagement::new(aws_sdk_kms::Client::new(sdk)),
        }
    }

    /// Envelope encryption over KMS and the table, with the default cache bounds.
    pub fn envelope(&self, resources: &ResourceConfig) -> AwsEnvelope {
        EnvelopeCipher::new(
            self.kms.clone(),
            self.table.data_keys().clone(),
            SystemClock,
            resources.category_keys.clone(),
            CachePolicy::default(),
        )
    }
}

/// What every function builds at cold start, in this order: telemetry, its resources (with
/// the key domains it may use), the SDK config and the adapters over them.
/// Names the KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`) that signs deletion receipts.
pub const RECEIPTS_KEY_VAR: &str = "RECEIPTS_KEY_ID";

pub struct ColdStart {
    pub resources: ResourceConfig,
    pub sdk: SdkConfig,
    pub aws: AwsAdapters,
}

impl ColdStart {
    pub async fn new(
        categories: &[crate::crypto::DataCategory],
    ) -> Result<Self, crate::config::ConfigError> {
        crate::telemetry::init();
        let resources = ResourceConfig::from_env(categories)?;
        let sdk = load_sdk_config().await;
        let aws = AwsAdapters::new(&sdk, &resources);
        Ok(Self {
            resources,
            sdk,
            aws,
        })
    }

    /// The signer of deletion receipts: the asymmetric KMS key `RECEIPTS_KEY_ID` names.
    pub fn receipt_signer(&self) -> Result<KmsReceiptSigner, crate::config::ConfigError> {
        let key = crate::config::required(&crate::config::process_env, RECEIPTS_KEY_VAR)?;
        Ok(KmsReceiptSigner::new(
            aws_sdk_kms::Client::new(&self.sdk),
            key,
        ))
    }

    /// The queue whose URL the environment variable `url_variable` holds.
    pub fn queue(
        &self,
        url_variable: &'static str,
    ) -> Result<SqsQueue, crate::config::ConfigError> {
        let url = crate::config::required(&crate::config::process_env, url_variable)?;
        Ok(SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), url))
    }
}
