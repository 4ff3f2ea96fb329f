//! KMS as the key management port.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_kms::Client;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MessageType, SigningAlgorithmSpec};

use super::backend;
use crate::crypto::{GeneratedDataKey, KeyManagement, KeyManagementError, PlaintextDataKey};

#[derive(Debug, Clone)]
pub struct KmsKeyManagement {
    client: Client,
}

impl KmsKeyManagement {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn context_map(context: &BTreeMap<String, String>) -> HashMap<String, String> {
    context
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl KeyManagement for KmsKeyManagement {
    async fn generate_data_key(
        &self,
        kms_key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<GeneratedDataKey, KeyManagementError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(kms_key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| KeyManagementError::Backend(backend(e)))?;
        let plaintext = out
            .plaintext()
            .and_then(|b| PlaintextDataKey::from_slice(b.as_ref()))
            .ok_or(KeyManagementError::BadKeyLength)?;
        let wrapped = out
            .ciphertext_blob()
            .map(|b| b.as_ref().to_vec())
            .ok_or(KeyManagementError::BadKeyLength)?;
        Ok(GeneratedDataKey { plaintext, wrapped })
    }

    async fn decrypt_data_key(
        &self,
        kms_key_id: &str,
        wrapped: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<PlaintextDataKey, KeyManagementError> {
        let out = self
            .client
            .decrypt()
            .key_id(kms_key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se)
                    if se.err().is_invalid_ciphertext_exception()
                        || se.err().is_incorrect_key_exception() =>
                {
                    KeyManagementError::Rejected(backend(e))
                }
                _ => KeyManagementError::Backend(backend(e)),
            })?;
        out.plaintext()
            .and_then(|b| PlaintextDataKey::from_slice(b.as_ref()))
            .ok_or(KeyManagementError::BadKeyLength)
    }
}

/// Deletion receipts signed with an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): the
/// private half never leaves KMS.
#[derive(Debug, Clone)]
pub struct KmsReceiptSigner {
    client: Client,
    key_id: String,
}

impl KmsReceiptSigner {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

impl crate::ports::ReceiptSigner for KmsReceiptSigner {
    async fn sign(
        &self,
        message: &[u8],
    ) -> Result<crate::domain::receipt::ReceiptSignature, crate::ports::BackendError> {
        use base64::Engine;
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(backend)?;
        let signature = out.signature().ok_or("KMS answered no signature")?;
        Ok(crate::domain::receipt::ReceiptSignature {
            key_id: out.key_id().unwrap_or(&self.key_id).to_owned(),
            algorithm: crate::domain::receipt::RECEIPT_ALGORITHM.into(),
            value: base64::engine::general_purpose::STANDARD.encode(signature.as_ref()),
        })
    }

    async fn public_key(&self) -> Result<Vec<u8>, crate::ports::BackendError> {
        let out = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .public_key()
            .ok_or("KMS answered no public key")?
            .as_ref()
            .to_vec())
    }
}
