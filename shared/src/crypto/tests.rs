use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::fakes::{FakeKeyManagement, InMemoryStore, ManualClock};

type TestCipher = EnvelopeCipher<Arc<FakeKeyManagement>, Arc<InMemoryStore>, Arc<ManualClock>>;

struct Rig {
    kms: Arc<FakeKeyManagement>,
    store: Arc<InMemoryStore>,
    clock: Arc<ManualClock>,
}

impl Rig {
    fn new() -> Self {
        Self {
            kms: Arc::default(),
            store: Arc::default(),
            clock: Arc::new(ManualClock::at(datetime!(2026-03-01 0:00 UTC))),
        }
    }
    /// A cipher as one process would hold it; several may share the store.
    fn cipher(&self, policy: CachePolicy) -> TestCipher {
        let keys = CategoryKeys::new(
            DataCategory::ALL.map(|c| (c, format!("alias/callcoach-{}", c.as_str()))),
        );
        EnvelopeCipher::new(
            Arc::clone(&self.kms),
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            keys,
            policy,
        )
    }
}

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn bind<'a>(tenant: &'a TenantId, category: DataCategory, item: &'a str) -> Binding<'a> {
    Binding {
        tenant,
        category,
        item,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_and_any_bit_flip_fails(plaintext in proptest::collection::vec(any::<u8>(), 0..512), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let rig = Rig::new();
        let cipher = rig.cipher(CachePolicy::default());
        let a = tenant("acme");
        block_on(async {
            let b = bind(&a, DataCategory::Transcripts, "call_1/transcript/v1");
            let ct = cipher.encrypt(b, &plaintext).await.unwrap();
            prop_assert_eq!(cipher.decrypt(b, &ct).await.unwrap(), plaintext);
            let mut tampered = ct.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert!(cipher.decrypt(b, &tampered).await.is_err(), "flip at byte {} accepted", i);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn ciphertext_is_bound_to_tenant_category_and_item() {
    let rig = Rig::new();
    let cipher = rig.cipher(CachePolicy::default());
    let (a, b) = (tenant("acme"), tenant("globex"));
    // Both tenants have keys, so failure is about binding, not a missing key.
    cipher
        .encrypt(bind(&b, DataCategory::Transcripts, "x"), b"warm")
        .await
        .unwrap();
    cipher
        .encrypt(bind(&a, DataCategory::Insights, "x"), b"warm")
        .await
        .unwrap();

    let ct = cipher
        .encrypt(
            bind(&a, DataCategory::Transcripts, "call_1/transcript/v1"),
            b"secret words",
        )
        .await
        .unwrap();
    for wrong in [
        bind(&b, DataCategory::Transcripts, "call_1/transcript/v1"),
        bind(&a, DataCategory::Insights, "call_1/transcript/v1"),
        bind(&a, DataCategory::Transcripts, "call_2/transcript/v1"),
    ] {
        assert!(
            cipher.decrypt(wrong, &ct).await.is_err(),
            "{wrong:?} decrypted"
        );
    }
}

#[tokio::test]
async fn rotation_keeps_old_data_readable_and_new_writes_use_the_new_version() {
    let rig = Rig::new();
    let cipher = rig.cipher(CachePolicy::default());
    let a = tenant("acme");
    let b = bind(&a, DataCategory::Notes, "n1");
    let old = cipher.encrypt(b, b"before").await.unwrap();
    let new_version = cipher.rotate(&a, DataCategory::Notes).await.unwrap();
    assert_eq!(new_version, 2);
    let new = cipher.encrypt(b, b"after").await.unwrap();
    assert_eq!(&old[3..7], &1u32.to_be_bytes());
    assert_eq!(&new[3..7], &2u32.to_be_bytes());
    // A second process that never saw version 1 in its cache still reads it.
    let other = rig.cipher(CachePolicy::default());
    assert_eq!(other.decrypt(b, &old).await.unwrap(), b"before");
    assert_eq!(other.decrypt(b, &new).await.unwrap(), b"after");
}

#[tokio::test]
async fn shredding_stops_every_process_within_the_cache_age_and_spares_others() {
    let rig = Rig::new();
    let policy = CachePolicy::default();
    let here = rig.cipher(policy);
    let warm_elsewhere = rig.cipher(policy);
    let (a, other) = (tenant("acme"), tenant("globex"));
    let ba = bind(&a, DataCategory::Transcripts, "t");
    let bo = bind(&other, DataCategory::Transcripts, "t");
    let ct_a = here.encrypt(ba, b"acme data").await.unwrap();
    let ct_o = here.encrypt(bo, b"globex data").await.unwrap();
    assert_eq!(
        warm_elsewhere.decrypt(ba, &ct_a).await.unwrap(),
        b"acme data"
    );

    assert_eq!(here.shred_tenant(&a).await.unwrap(), 1);
    assert!(matches!(
        here.decrypt(ba, &ct_a).await,
        Err(CryptoError::KeyUnavailable)
    ));
    // The other process still holds the key until its cache entry ages out...
    rig.clock.advance(policy.max_age);
    assert!(matches!(
        warm_elsewhere.decrypt(ba, &ct_a).await,
        Err(CryptoError::KeyUnavailable)
    ));
    assert_eq!(
        warm_elsewhere.decrypt(bo, &ct_o).await.unwrap(),
        b"globex data"
    );
    assert_eq!(here.decrypt(bo, &ct_o).await.unwrap(), b"globex data");
}

#[tokio::test]
async fn kms_requests_stay_constant_for_many_encryptions() {
    let rig = Rig::new();
    let cipher = rig.cipher(CachePolicy::default());
    let a = tenant("acme");
    for i in 0..2_000 {
        let item = format!("item-{i}");
        let ct = cipher
            .encrypt(bind(&a, DataCategory::Insights, &item), b"x")
            .await
            .unwrap();
        cipher
            .decrypt(bind(&a, DataCategory::Insights, &item), &ct)
            .await
            .unwrap();
    }
    assert_eq!(rig.kms.requests(), 1, "one GenerateDataKey, then the cache");
}

#[tokio::test]
async fn a_key_is_replaced_before_its_encryption_budget_runs_out() {
    let rig = Rig::new();
    let policy = CachePolicy {
        encryptions_per_fill: 4,
        encryptions_per_key: 8,
        ..CachePolicy::default()
    };
    let a = tenant("acme");
    let mut versions = Vec::new();
    // Fresh processes each reserve a block of 4, so at most 8 encryptions land per version.
    for _ in 0..5 {
        let cipher = rig.cipher(policy);
        for _ in 0..4 {
            let ct = cipher
                .encrypt(bind(&a, DataCategory::Notes, "n"), b"x")
                .await
                .unwrap();
            versions.push(u32::from_be_bytes(ct[3..7].try_into().unwrap()));
        }
    }
    for v in 1..=3 {
        let uses = versions.iter().filter(|&&x| x == v).count();
        assert!(uses <= 8, "version {v} used {uses} times");
    }
    assert!(versions.iter().max().unwrap() >= &3);
}

#[tokio::test]
async fn old_keys_are_replaced_after_their_maximum_age() {
    let rig = Rig::new();
    let policy = CachePolicy::default();
    let a = tenant("acme");
    let first = rig
        .cipher(policy)
        .encrypt(bind(&a, DataCategory::Notes, "n"), b"x")
        .await
        .unwrap();
    rig.clock.advance(policy.key_max_age);
    let later = rig
        .cipher(policy)
        .encrypt(bind(&a, DataCategory::Notes, "n"), b"x")
        .await
        .unwrap();
    assert_eq!(&first[3..7], &1u32.to_be_bytes());
    assert_eq!(&later[3..7], &2u32.to_be_bytes());
}

#[tokio::test]
async fn a_million_encryptions_never_repeat_a_nonce() {
    let rig = Rig::new();
    let policy = CachePolicy {
        encryptions_per_fill: 2_000_000,
        ..CachePolicy::default()
    };
    let cipher = rig.cipher(policy);
    let a = tenant("acme");
    let mut seen = HashSet::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let ct = cipher
            .encrypt(bind(&a, DataCategory::Notes, "n"), b"")
            .await
            .unwrap();
        assert!(seen.insert(nonce_of(&ct).unwrap()), "nonce repeated");
    }
    assert_eq!(rig.kms.requests(), 1);
}

#[test]
fn plaintext_keys_never_print() {
    let key = PlaintextDataKey::from_slice(&[0x41; 32]).unwrap();
    let printed = format!("{key:?}");
    assert!(!printed.contains("65") && !printed.contains("41") && printed.contains("redacted"));
}

#[tokio::test]
async fn malformed_ciphertexts_are_typed_errors() {
    let rig = Rig::new();
    let cipher = rig.cipher(CachePolicy::default());
    let a = tenant("acme");
    for bad in [
        &b""[..],
        b"CC",
        b"XX\x01\0\0\0\x01aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        assert!(matches!(
            cipher
                .decrypt(bind(&a, DataCategory::Notes, "n"), bad)
                .await,
            Err(CryptoError::Malformed)
        ));
    }
    let _ = Duration::ZERO;
}
