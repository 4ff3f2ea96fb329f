//! The envelope cipher: data keys from KMS, cached briefly, wrapped copies in a store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::aead::LessSafeKey;
use time::OffsetDateTime;

use super::format::{aead_key, key_version, open, seal};
use super::{
    Binding, CryptoError, DataCategory, DataKeyStore, Envelope, KeyManagement, WrappedDataKey,
    encryption_context,
};
use crate::ids::TenantId;
use crate::ports::{Clock, StoreError};

/// Bounds on how long and how much a plaintext data key is used.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// A cached plaintext key is dropped after this age; a shredded tenant stops decrypting
    /// in every warm process within it.
    pub max_age: Duration,
    /// Encryptions one process may do with one cache fill (reserved in the store up front).
    pub encryptions_per_fill: u64,
    /// Encryptions reserved under one data key, across all processes, before a new version
    /// is made. Far below 2^32, the bound for random 96-bit GCM nonces.
    pub encryptions_per_key: u64,
    /// A data key older than this is replaced by a new version on the next encryption.
    pub key_max_age: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            encryptions_per_fill: 10_000,
            encryptions_per_key: 1 << 30,
            key_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Which KMS key wraps the data keys of each category.
#[derive(Debug, Clone, Default)]
pub struct CategoryKeys(HashMap<DataCategory, String>);

impl CategoryKeys {
    pub fn new(keys: impl IntoIterator<Item = (DataCategory, String)>) -> Self {
        Self(keys.into_iter().collect())
    }

    fn get(&self, category: DataCategory) -> Result<&str, CryptoError> {
        self.0
            .get(&category)
            .map(String::as_str)
            .ok_or(CryptoError::NoKmsKey(category.as_str()))
    }
}

struct EncryptSlot {
    version: u32,
    key: Arc<LessSafeKey>,
    loaded_at: OffsetDateTime,
    remaining: u64,
}

struct DecryptSlot {
    key: Arc<LessSafeKey>,
    loaded_at: OffsetDateTime,
}

#[derive(Default)]
struct KeyCache {
    encrypt: HashMap<(TenantId, DataCategory), EncryptSlot>,
    decrypt: HashMap<(TenantId, DataCategory, u32), DecryptSlot>,
}

/// Envelope encryption over a key service, a wrapped-key store and a clock.
pub struct EnvelopeCipher<K, S, C> {
    kms: K,
    store: S,
    clock: C,
    kms_keys: CategoryKeys,
    policy: CachePolicy,
    cache: Mutex<KeyCache>,
}

const INSERT_RACE_RETRIES: usize = 3;

impl<K: KeyManagement, S: DataKeyStore, C: Clock> EnvelopeCipher<K, S, C> {
    pub fn new(kms: K, store: S, clock: C, kms_keys: CategoryKeys, policy: CachePolicy) -> Self {
        Self {
            kms,
            store,
            clock,
            kms_keys,
            policy,
            cache: Mutex::new(KeyCache::default()),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    fn fresh(&self, loaded_at: OffsetDateTime) -> bool {
        self.clock.now() - loaded_at < self.policy.max_age
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        // A panic while holding the lock cannot leave the maps inconsistent; keep going.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a new data key version for new writes; older versions keep decrypting.
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<u32, CryptoError> {
        let latest = self
            .store
            .latest_data_key(tenant, category)
            .await
            .map_err(CryptoError::Store)?;
        let next = latest.map_or(1, |k| k.version + 1);
        let (version, key) = self.create_version(tenant, category, next).await?;
        self.cache().encrypt.insert(
            (tenant.clone(), category),
            EncryptSlot {
                version,
                key: Arc::new(key),
                loaded_at: self.clock.now(),
                remaining: self.policy.encryptions_per_fill,
            },
        );
        Ok(version)
    }

    /// Crypto-shreds a tenant: destroys every wrapped data key, then forgets cached ones here.
    pub async fn shred_tenant(&self, tenant: &TenantId) -> Result<usize, CryptoError> {
        let destroyed = self
            .store
            .destroy_data_keys(tenant)
            .await
            .map_err(CryptoError::Store)?;
        let mut cache = self.cache();
        cache.encrypt.retain(|(t, _), _| t != tenant);
        cache.decrypt.retain(|(t, _, _), _| t != tenant);
        Ok(destroyed)
    }

    async fn create_version(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<(u32, LessSafeKey), CryptoError> {
        let kms_key_id = self.kms_keys.get(category)?;
        let context = encryption_context(tenant, category, version);
        let generated = self
            .kms
            .generate_data_key(kms_key_id, &context)
            .await
            .map_err(CryptoError::KeyManagement)?;
        let record = WrappedDataKey {
            tenant: tenant.clone(),
            category,
            version,
            kms_key_id: kms_key_id.to_owned(),
            wrapped: generated.wrapped,
            created_at: self.clock.now(),
        };
        self.store
            .insert_data_key(&record)
            .await
            .map_err(|error| match error {
                // The tenant was shredded: it gets no key again.
                StoreError::NotFound => CryptoError::KeyUnavailable,
                other => CryptoError::Store(other),
            })?;
        self.store
            .reserve_encryptions(tenant, category, version, self.policy.encryptions_per_fill)
            .await
            .map_err(CryptoError::Store)?;
        Ok((version, aead_key(&generated.plaintext)))
    }

    async fn unwrap(&self, record: &WrappedDataKey) -> Result<LessSafeKey, CryptoError> {
        let context = encryption_context(&record.tenant, record.category, record.version);
        let plaintext = self
            .kms
            .decrypt_data_key(&record.kms_key_id, &record.wrapped, &context)
            .await
            .map_err(CryptoError::KeyManagement)?;
        Ok(aead_key(&plaintext))
    }

    /// The key new writes use: the latest version, unless it is too old or used up.
    async fn load_for_encryption(
        &self,
        tenant: &TenantId,
        category: DataCategory,
    ) -> Result<(u32, LessSafeKey), CryptoError> {
        for _ in 0..INSERT_RACE_RETRIES {
            let latest = self
                .store
                .latest_data_key(tenant, category)
                .await
                .map_err(CryptoError::Store)?;
            let next_version = match latest {
                Some(record) if self.clock.now() - record.created_at < self.policy.key_max_age => {
                    let reserved = self
                        .store
                        .reserve_encryptions(
                            tenant,
                            category,
                            record.version,
                            self.policy.encryptions_per_fill,
                        )
                        .await;
                    match reserved {
                        Ok(total) if total <= self.policy.encryptions_per_key => {
                            return Ok((record.version, self.unwrap(&record).await?));
                        }
                        Ok(_) => record.version + 1,
                        Err(StoreError::NotFound) => continue,
                        Err(e) => return Err(CryptoError::Store(e)),
                    }
                }
                Some(record) => record.version + 1,
                None => 1,
            };
            match self.create_version(tenant, category, next_version).await {
                Err(CryptoError::Store(StoreError::AlreadyExists)) => continue,
                other => return other,
            }
        }
        Err(CryptoError::Store(StoreError::AlreadyExists))
    }

    async fn load_for_decryption(
        &self,
        tenant: &TenantId,
        category: DataCategory,
        version: u32,
    ) -> Result<LessSafeKey, CryptoError> {
        let record = self
            .store
            .get_data_key(tenant, category, version)
            .await
            .map_err(CryptoError::Store)?
            .ok_or(CryptoError::KeyUnavailable)?;
        self.unwrap(&record).await
    }
}

impl<K: KeyManagement, S: DataKeyStore, C: Clock> Envelope for EnvelopeCipher<K, S, C> {
    async fn encrypt(
        &self,
        binding: Binding<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let slot_key = (binding.tenant.clone(), binding.category);
        let cached = {
            let mut cache = self.cache();
            match cache.encrypt.get_mut(&slot_key) {
                Some(slot) if slot.remaining > 0 && self.fresh(slot.loaded_at) => {
                    slot.remaining -= 1;
                    Some((slot.version, Arc::clone(&slot.key)))
                }
                _ => None,
            }
        };
        let (version, key) = match cached {
            Some(hit) => hit,
            None => {
                let (version, key) = self
                    .load_for_encryption(binding.tenant, binding.category)
                    .await?;
                let key = Arc::new(key);
                self.cache().encrypt.insert(
                    slot_key,
                    EncryptSlot {
                        version,
                        key: Arc::clone(&key),
                        loaded_at: self.clock.now(),
                        remaining: self.policy.encryptions_per_fill - 1,
                    },
                );
                (version, key)
            }
        };
        seal(&key, version, binding, plaintext)
    }

    async fn decrypt(
        &self,
        binding: Binding<'_>,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let version = key_version(ciphertext)?;
        let slot_key = (binding.tenant.clone(), binding.category, version);
        let cached = {
            let cache = self.cache();
            cache
                .decrypt
                .get(&slot_key)
                .filter(|slot| self.fresh(slot.loaded_at))
                .map(|slot| Arc::clone(&slot.key))
                .or_else(|| {
                    cache
                        .encrypt
                        .get(&(binding.tenant.clone(), binding.category))
                        .filter(|slot| slot.version == version && self.fresh(slot.loaded_at))
                        .map(|slot| Arc::clone(&slot.key))
                })
        };
        let key = match cached {
            Some(key) => key,
            None => {
                let key = Arc::new(
                    self.load_for_decryption(binding.tenant, binding.category, version)
                        .await?,
                );
                self.cache().decrypt.insert(
                    slot_key,
                    DecryptSlot {
                        key: Arc::clone(&key),
                        loaded_at: self.clock.now(),
                    },
                );
                key
            }
        };
        open(&key, binding, ciphertext)
    }
}
