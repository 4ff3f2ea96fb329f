//! Helpers for tests that run against the local AWS stand-in (moto server).
//!
//! `make test` starts the stand-in, provisions it and exports its environment
//! (`infra/local-aws.sh run ...`); these helpers read that environment.

pub mod chaos;
pub mod counting;
pub mod fake_deepgram;
pub mod fake_llm;
pub mod fault_proxy;
pub mod lambda_host;
pub mod load;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use callcoach_shared::aws::{AwsAdapters, KmsKeyManagement};
use callcoach_shared::config::ResourceConfig;
use callcoach_shared::crypto::{CachePolicy, DataCategory, EnvelopeCipher};
use callcoach_shared::ids::{CallId, MintedId, TenantId};
use callcoach_shared::ports::IdGenerator;
use callcoach_shared::system::{RandomIds, SystemClock};

/// The envelope cipher a function holds over the stand-in's KMS and keys table.
pub type LocalCipher =
    EnvelopeCipher<KmsKeyManagement, callcoach_shared::aws::DynamoKeyTable, SystemClock>;

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

    /// The reaper's receipt signer: the stand-in's asymmetric key that provisioning made.
    pub fn receipt_signer(&self) -> callcoach_shared::aws::KmsReceiptSigner {
        let key = std::env::var(callcoach_shared::aws::RECEIPTS_KEY_VAR)
            .expect("the local environment names the receipts key (infra/provision_local.py)");
        callcoach_shared::aws::KmsReceiptSigner::new(aws_sdk_kms::Client::new(&self.sdk), key)
    }

    /// `call` as the table holds it now.
    pub async fn stored(
        &self,
        call: &callcoach_shared::domain::call::Call,
    ) -> callcoach_shared::domain::call::Call {
        use callcoach_shared::ports::CallRepository;
        let stored = self.adapters.table.get_call(&call.tenant_id, &call.call_id);
        stored
            .await
            .expect("the table answers")
            .expect("the call is stored")
    }

    /// The document vault over the stand-in's table and bucket, sealing with `envelope`.
    pub fn vault<'a, E>(
        &'a self,
        envelope: &'a E,
    ) -> callcoach_shared::usecases::documents::DocumentVault<
        'a,
        callcoach_shared::aws::DynamoTable,
        callcoach_shared::aws::S3BlobStore,
        E,
    > {
        callcoach_shared::usecases::documents::DocumentVault {
            repository: &self.adapters.table,
            blobs: &self.adapters.blobs,
            envelope,
        }
    }

    /// A cipher as one process would hold it, with its own KMS client, counting the requests
    /// that client sends.
    pub fn cipher(&self, policy: CachePolicy) -> (LocalCipher, Arc<AtomicUsize>) {
        let counter = Arc::new(AtomicUsize::new(0));
        let config = aws_sdk_kms::config::Builder::from(&self.sdk)
            .interceptor(CountRequests(Arc::clone(&counter)))
            .build();
        let kms = KmsKeyManagement::new(aws_sdk_kms::Client::from_conf(config));
        let cipher = EnvelopeCipher::new(
            kms,
            self.adapters.table.data_keys().clone(),
            SystemClock,
            self.resources.category_keys.clone(),
            policy,
        );
        (cipher, counter)
    }
}

/// A discovery call by `rep` in a fresh team of `tenant`, created at `clock`'s time.
pub async fn sample_call(
    aws: &LocalAws,
    tenant: &TenantId,
    rep: &str,
    clock: &impl callcoach_shared::ports::Clock,
) -> callcoach_shared::domain::call::Call {
    let new = callcoach_shared::usecases::calls::NewCall {
        rep_id: callcoach_shared::ids::UserId::parse(rep).expect("a valid user id"),
        ..callcoach_shared::fakes::sample_new_call()
    };
    callcoach_shared::usecases::calls::create_call(
        &aws.adapters.table,
        clock,
        &RandomIds,
        tenant,
        new,
    )
    .await
    .expect("the call is created")
}

/// A fresh tenant id per test, so tests never see each other's data.
pub fn fresh_tenant() -> TenantId {
    let id: callcoach_shared::ids::TeamId = RandomIds.mint();
    TenantId::parse(format!("t-{}", &id.as_str()[5..17])).unwrap()
}

pub fn mint<T: MintedId>() -> T {
    RandomIds.mint()
}

/// Counts the KMS requests a client sends, one per operation (`GenerateDataKey`, `Decrypt`; a
/// retried one counts once). An SDK interceptor rather than a wrapper of the key management
/// port, so the tests count what reaches KMS without restating the port's methods.
#[derive(Debug)]
struct CountRequests(Arc<AtomicUsize>);

impl aws_sdk_kms::config::Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_kms::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_kms::config::ConfigBag,
    ) -> Result<(), aws_sdk_kms::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Serves `app` over HTTP on a free local port, until the returned task is aborted.
pub async fn serve_locally(
    app: axum::Router,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
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
    receive(sqs, queue_url)
        .await
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect()
}

/// Up to ten messages, waiting a second for the first.
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

/// Deletes a received message: it does not come again.
async fn delete_received(sqs: &aws_sdk_sqs::Client, queue_url: &str, receipt_handle: &str) {
    let delete = sqs.delete_message().queue_url(queue_url);
    delete.receipt_handle(receipt_handle).send().await.unwrap();
}

/// Like [`messages_on`], and deletes what it received: the next look sees only newer
/// messages, however long a test runs (a received message would reappear once its
/// visibility timeout ends).
pub async fn take_messages(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for message in receive(sqs, queue_url).await {
        if let Some(handle) = message.receipt_handle() {
            delete_received(sqs, queue_url, handle).await;
        }
        bodies.extend(message.body().map(str::to_owned));
    }
    bodies
}

/// A Lambda context with a minute left, as a fresh invocation has.
pub fn lambda_context() -> lambda_runtime::Context {
    callcoach_shared::fakes::kit::lambda::context_with(std::time::Duration::from_secs(60))
}

/// Waits for the notification of `needle`'s upload on the shared upload-events queue, leaving
/// other tests' messages in place.
pub async fn notification_for(sqs: &aws_sdk_sqs::Client, queue_url: &str, needle: &str) -> String {
    let mut seen = 0;
    for _ in 0..30 {
        let mut found = None;
        for m in receive(sqs, queue_url).await {
            seen += 1;
            let body = m.body().unwrap_or_default();
            let handle = m.receipt_handle().unwrap();
            if found.is_none() && body.contains(needle) {
                delete_received(sqs, queue_url, handle).await;
                found = Some(body.to_owned());
                continue;
            }
            // Every other message received with it goes back at once, for whoever waits on it.
            sqs.change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
        if let Some(body) = found {
            return body;
        }
    }
    panic!("no S3 notification for {needle} among {seen} received");
}

/// Every item of these partitions (pk), and of these expiry-index partitions.
pub async fn items_under(
    aws: &LocalAws,
    partitions: &[String],
    index_partitions: &[String],
) -> usize {
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let mut count = 0;
    for (index, key, values) in [
        (None, "pk", partitions),
        (Some("expiry"), "exp_pk", index_partitions),
    ] {
        for pk in values {
            count += ddb
                .query()
                .table_name(&aws.resources.table_name)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#k = :pk")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
                )
                .send()
                .await
                .unwrap()
                .count as usize;
        }
    }
    count
}

/// How many wrapped data keys of `tenant` each table holds: (main table, keys table).
pub async fn wrapped_keys_of(aws: &LocalAws, tenant: &TenantId) -> (usize, usize) {
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let mut counts = [0; 2];
    for (count, table) in counts
        .iter_mut()
        .zip([&aws.resources.table_name, &aws.resources.keys_table_name])
    {
        *count = ddb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}#KEYS")),
            )
            .send()
            .await
            .unwrap()
            .count as usize;
    }
    (counts[0], counts[1])
}

/// Every item of these partitions, printed: for scanning the table for plaintext.
pub async fn items_text_under(aws: &LocalAws, partitions: &[String]) -> String {
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let mut text = String::new();
    for pk in partitions {
        let mut pages = ddb
            .query()
            .table_name(&aws.resources.table_name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page.unwrap().items.unwrap_or_default() {
                text.push_str(&format!("{item:?}\n"));
            }
        }
    }
    text
}

/// Every object under `prefix`, read back as text (lossy): for scanning the bucket.
pub async fn objects_text_under(aws: &LocalAws, prefix: &str) -> (usize, String) {
    use callcoach_shared::ports::BlobStore;
    let blobs = &aws.adapters.blobs;
    let keys = blobs.list(prefix).await.unwrap();
    let mut text = String::new();
    for key in &keys {
        let bytes = blobs.get(key).await.unwrap().unwrap_or_default();
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    (keys.len(), text)
}

/// Captures every log line of the process: `trace` for callcoach's own crates (stricter than
/// production's `info`), `info` for the rest. Once per test binary.
pub fn capture_all_logs() -> callcoach_shared::fakes::CapturedLogs {
    let captured = callcoach_shared::fakes::CapturedLogs::default();
    captured.install_globally(
        "info,callcoach_shared=trace,api=trace,upload_trigger=trace,\
         transcription_callback=trace,scoring_worker=trace,retention_reaper=trace",
    );
    captured
}

/// Object versions and delete markers under every area of the tenant.
pub async fn object_versions_of(aws: &LocalAws, tenant: &TenantId) -> usize {
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let mut versions = 0;
    for prefix in callcoach_shared::keys::tenant_prefixes(tenant) {
        let out = s3
            .list_object_versions()
            .bucket(&aws.resources.bucket_name)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        versions += out.versions().len() + out.delete_markers().len();
    }
    versions
}

/// An export bundle as its requester reads it: the downloaded bytes opened with the key the
/// API answered with.
pub fn open_export(sealed: &[u8], bundle_key: &str) -> serde_json::Value {
    use callcoach_shared::crypto::bundle::{BundleKey, open_bundle};
    let key = BundleKey::from_base64(bundle_key).expect("the answer's key is well formed");
    let plain = open_bundle(&key, sealed).expect("the bundle opens with its key");
    serde_json::from_slice(&plain).expect("an opened bundle is JSON")
}

/// The published JSON Schema of export bundles.
pub const EXPORT_SCHEMA_JSON: &str = include_str!("../../shared/schemas/export.v1.schema.json");

/// Why `bundle` does not pass the export schema; empty when it does.
pub fn export_schema_errors(bundle: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_str(EXPORT_SCHEMA_JSON).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(bundle)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// The number after `name` in a command line's `args` (the chaos and load runs' options).
pub fn number_flag<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<Option<T>> {
    let Some(i) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    args.get(i + 1)
        .and_then(|value| value.parse().ok())
        .map(Some)
        .ok_or_else(|| anyhow::anyhow!("{name} takes a number"))
}

/// One stored version of an object, or a delete marker, as S3 lists it.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub key: String,
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// Every version and delete marker under `prefix`, over all pages: what "physically gone"
/// and "nothing readable at rest" are checked against (older versions included).
pub async fn versions_under(aws: &LocalAws, prefix: &str) -> anyhow::Result<Vec<StoredVersion>> {
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let mut listed = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(&aws.resources.bucket_name)
            .prefix(prefix)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await?;
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id(), false));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id(), true));
        for (key, version_id, delete_marker) in versions.chain(markers) {
            if let Some(key) = key {
                listed.push(StoredVersion {
                    key: key.to_owned(),
                    version_id: version_id.map(str::to_owned),
                    delete_marker,
                });
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(listed);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        // A truncated page without a marker would list the first page again, forever.
        anyhow::ensure!(
            key_marker.is_some() || version_marker.is_some(),
            "a truncated listing of versions under {prefix} named no next marker"
        );
    }
}

/// The bytes of one stored version (not a delete marker).
pub async fn version_bytes(aws: &LocalAws, version: &StoredVersion) -> anyhow::Result<Vec<u8>> {
    let s3 = aws_sdk_s3::Client::new(&aws.sdk);
    let object = s3
        .get_object()
        .bucket(&aws.resources.bucket_name)
        .key(&version.key)
        .set_version_id(version.version_id.clone())
        .send()
        .await?;
    Ok(object.body.collect().await?.into_bytes().to_vec())
}
