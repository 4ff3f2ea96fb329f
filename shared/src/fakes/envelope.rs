//! The key service (KMS) port, and envelope ciphers over it and the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use super::{InMemoryStore, ManualClock};
use crate::crypto::{
    DataCategory, GeneratedDataKey, KeyManagement, KeyManagementError, PlaintextDataKey,
};
use crate::ports::Clock;

/// A key service that wraps data keys with a local master key per KMS key id and binds the
/// encryption context as associated data, like KMS does. Counts its requests.
#[derive(Default)]
pub struct FakeKeyManagement {
    requests: AtomicUsize,
}

impl FakeKeyManagement {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn master(kms_key_id: &str) -> LessSafeKey {
        let mut bytes = [7u8; 32];
        for (i, b) in kms_key_id.bytes().enumerate() {
            bytes[i % 32] ^= b;
        }
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).unwrap())
    }

    fn context_aad(context: &BTreeMap<String, String>) -> Vec<u8> {
        serde_json::to_vec(context).unwrap()
    }
}

fn fake_kms_error(message: &str) -> KeyManagementError {
    KeyManagementError::Rejected(message.to_owned().into())
}

impl KeyManagement for FakeKeyManagement {
    async fn generate_data_key(
        &self,
        kms_key_id: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<GeneratedDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut key).unwrap();
        getrandom::fill(&mut nonce).unwrap();
        let mut wrapped = key.to_vec();
        Self::master(kms_key_id)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::context_aad(context)),
                &mut wrapped,
            )
            .map_err(|_| fake_kms_error("seal"))?;
        wrapped.extend_from_slice(&nonce);
        Ok(GeneratedDataKey {
            plaintext: PlaintextDataKey::from_slice(&key).unwrap(),
            wrapped,
        })
    }

    async fn decrypt_data_key(
        &self,
        kms_key_id: &str,
        wrapped: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<PlaintextDataKey, KeyManagementError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if wrapped.len() < 12 {
            return Err(fake_kms_error("short"));
        }
        let (body, nonce) = wrapped.split_at(wrapped.len() - 12);
        let mut body = body.to_vec();
        let plain = Self::master(kms_key_id)
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).unwrap(),
                Aad::from(Self::context_aad(context)),
                &mut body,
            )
            .map_err(|_| fake_kms_error("InvalidCiphertextException"))?;
        PlaintextDataKey::from_slice(plain).ok_or(KeyManagementError::BadKeyLength)
    }
}

/// An envelope cipher over the fakes, with every category configured: the usual test setup.
pub fn fake_cipher<C: Clock>(
    clock: C,
) -> crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, C> {
    fake_cipher_over(InMemoryStore::default(), clock)
}

/// The envelope cipher of the use-case tests: fake KMS, keys in the in-memory store, the time
/// of a clock the test shares with the other ports.
pub type FakeCipher =
    crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, Arc<ManualClock>>;

/// A cipher keeping its wrapped data keys in `store` (a clone of the test's store).
pub fn fake_cipher_over<C: Clock>(
    store: InMemoryStore,
    clock: C,
) -> crate::crypto::EnvelopeCipher<FakeKeyManagement, InMemoryStore, C> {
    crate::crypto::EnvelopeCipher::new(
        FakeKeyManagement::default(),
        store,
        clock,
        crate::crypto::CategoryKeys::new(
            DataCategory::ALL.map(|c| (c, format!("fake-key-{}", c.as_str()))),
        ),
        crate::crypto::CachePolicy::default(),
    )
}
