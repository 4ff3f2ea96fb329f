//! Envelope encryption through the real KMS and DynamoDB adapters, against the local stand-in.

use std::sync::atomic::Ordering;

use callcoach_shared::crypto::{
    Binding, CachePolicy, CryptoError, DataCategory, DataKeyStore, Envelope, KeyManagementError,
};
use callcoach_shared::ids::TenantId;
use callcoach_tests::{LocalAws, fresh_tenant, wrapped_keys_of};

fn bind<'a>(tenant: &'a TenantId, category: DataCategory, item: &'a str) -> Binding<'a> {
    Binding {
        tenant,
        category,
        item,
    }
}

#[tokio::test]
async fn ciphertext_of_one_tenant_and_category_does_not_open_elsewhere() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let (a, b) = (fresh_tenant(), fresh_tenant());
    cipher
        .encrypt(bind(&b, DataCategory::Transcripts, "i"), b"b")
        .await
        .unwrap();
    cipher
        .encrypt(bind(&a, DataCategory::Insights, "i"), b"a")
        .await
        .unwrap();

    let ct = cipher
        .encrypt(bind(&a, DataCategory::Transcripts, "i"), b"tenant a words")
        .await
        .unwrap();
    assert_eq!(
        cipher
            .decrypt(bind(&a, DataCategory::Transcripts, "i"), &ct)
            .await
            .unwrap(),
        b"tenant a words"
    );
    for wrong in [
        bind(&b, DataCategory::Transcripts, "i"),
        bind(&a, DataCategory::Insights, "i"),
        bind(&a, DataCategory::Transcripts, "j"),
    ] {
        assert!(
            cipher.decrypt(wrong, &ct).await.is_err(),
            "{wrong:?} opened tenant A's ciphertext"
        );
    }
    let mut flipped = ct.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    assert!(matches!(
        cipher
            .decrypt(bind(&a, DataCategory::Transcripts, "i"), &flipped)
            .await,
        Err(CryptoError::Authentication)
    ));
}

#[tokio::test]
async fn kms_refuses_a_wrapped_key_moved_to_another_tenant() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let (a, b) = (fresh_tenant(), fresh_tenant());
    cipher
        .encrypt(bind(&a, DataCategory::Notes, "n"), b"x")
        .await
        .unwrap();
    let table = &aws.adapters.table;
    let mut stolen = table
        .latest_data_key(&a, DataCategory::Notes)
        .await
        .unwrap()
        .unwrap();
    // Plant tenant A's wrapped key as tenant B's: KMS must refuse it under B's context.
    stolen.tenant = b.clone();
    table.insert_data_key(&stolen).await.unwrap();
    let (fresh_process, _) = aws.cipher(CachePolicy::default());
    let err = fresh_process
        .encrypt(bind(&b, DataCategory::Notes, "n"), b"y")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CryptoError::KeyManagement(KeyManagementError::Rejected(_))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn round_trips_many_sizes() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let a = fresh_tenant();
    for size in [0usize, 1, 15, 16, 17, 1000, 64 * 1024] {
        let plaintext: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let item = format!("item-{size}");
        let ct = cipher
            .encrypt(bind(&a, DataCategory::Transcripts, &item), &plaintext)
            .await
            .unwrap();
        assert_ne!(&ct[..], &plaintext[..]);
        assert_eq!(
            cipher
                .decrypt(bind(&a, DataCategory::Transcripts, &item), &ct)
                .await
                .unwrap(),
            plaintext
        );
    }
}

#[tokio::test]
async fn rotation_keeps_old_versions_readable() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let a = fresh_tenant();
    let b = bind(&a, DataCategory::Insights, "doc");
    let old = cipher.encrypt(b, b"v1 data").await.unwrap();
    assert_eq!(cipher.rotate(&a, DataCategory::Insights).await.unwrap(), 2);
    let new = cipher.encrypt(b, b"v2 data").await.unwrap();
    assert_eq!(&new[3..7], &2u32.to_be_bytes());
    let (other_process, _) = aws.cipher(CachePolicy::default());
    assert_eq!(other_process.decrypt(b, &old).await.unwrap(), b"v1 data");
    assert_eq!(other_process.decrypt(b, &new).await.unwrap(), b"v2 data");
}

#[tokio::test]
async fn shredding_a_tenant_makes_its_ciphertexts_unreadable_and_spares_others() {
    let aws = LocalAws::connect().await;
    let (cipher, _) = aws.cipher(CachePolicy::default());
    let (a, other) = (fresh_tenant(), fresh_tenant());
    let mut mine = Vec::new();
    for category in DataCategory::ALL {
        let ct = cipher
            .encrypt(bind(&a, category, "x"), b"gone soon")
            .await
            .unwrap();
        mine.push((category, ct));
    }
    let theirs = cipher
        .encrypt(bind(&other, DataCategory::Transcripts, "x"), b"stays")
        .await
        .unwrap();

    // The wrapped keys live in the keys table (one day of backups), never beside the data.
    let categories = DataCategory::ALL.len();
    assert_eq!(wrapped_keys_of(&aws, &a).await, (0, categories));
    assert_eq!(cipher.shred_tenant(&a).await.unwrap(), categories);
    assert_eq!(wrapped_keys_of(&aws, &a).await, (0, 0));
    assert_eq!(wrapped_keys_of(&aws, &other).await, (0, 1));
    // A process still at work for the shredded tenant gets no new key for it.
    let (late_process, _) = aws.cipher(CachePolicy::default());
    assert!(matches!(
        late_process
            .encrypt(bind(&a, DataCategory::Transcripts, "late"), b"too late")
            .await,
        Err(CryptoError::KeyUnavailable)
    ));
    assert_eq!(wrapped_keys_of(&aws, &a).await, (0, 0));
    let (cold_process, _) = aws.cipher(CachePolicy::default());
    for (category, ct) in &mine {
        for c in [&cipher, &cold_process] {
            assert!(matches!(
                c.decrypt(bind(&a, *category, "x"), ct).await,
                Err(CryptoError::KeyUnavailable)
            ));
        }
    }
    assert_eq!(
        cold_process
            .decrypt(bind(&other, DataCategory::Transcripts, "x"), &theirs)
            .await
            .unwrap(),
        b"stays"
    );
}

#[tokio::test]
async fn kms_requests_are_bounded_for_many_encryptions() {
    let aws = LocalAws::connect().await;
    let (cipher, requests) = aws.cipher(CachePolicy::default());
    let a = fresh_tenant();
    for i in 0..200 {
        let item = format!("doc-{i}");
        let ct = cipher
            .encrypt(bind(&a, DataCategory::Transcripts, &item), b"payload")
            .await
            .unwrap();
        cipher
            .decrypt(bind(&a, DataCategory::Transcripts, &item), &ct)
            .await
            .unwrap();
    }
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "one GenerateDataKey for 200 encryptions"
    );
    // A second process pays one Decrypt of the wrapped key, then nothing more.
    let (second, requests2) = aws.cipher(CachePolicy::default());
    for i in 0..50 {
        second
            .encrypt(
                bind(&a, DataCategory::Transcripts, &format!("more-{i}")),
                b"p",
            )
            .await
            .unwrap();
    }
    assert_eq!(requests2.load(Ordering::SeqCst), 1);
}
