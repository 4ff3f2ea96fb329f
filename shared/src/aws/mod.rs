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

use aws_config::{BehaviorVersion, SdkConfig};

/// One SDK configuration per process, from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` for the local stand-in).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
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
