//! Deletion receipts signed by KMS (an asymmetric `ECC_NIST_P256` key on the local stand-in,
//! through the real SDK) verify offline with nothing but the key's public half, and a receipt
//! changed after signing, or checked against another key, does not.

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use callcoach_shared::aws::KmsReceiptSigner;
use callcoach_shared::domain::receipt::{
    DeletionReceipt, RECEIPT_SCHEMA, ReceiptError, Removed, SignedReceipt, Subject, SubjectKind,
    canonical_bytes, public_key_pem, verify,
};
use callcoach_shared::ids::UserId;
use callcoach_shared::ports::ReceiptSigner;
use callcoach_tests::{LocalAws, fresh_tenant};
use time::OffsetDateTime;

async fn signing_key(aws: &LocalAws) -> KmsReceiptSigner {
    let kms = aws_sdk_kms::Client::new(&aws.sdk);
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description("callcoach deletion receipts (test)")
        .send()
        .await
        .unwrap();
    let id = key.key_metadata().unwrap().key_id().to_owned();
    KmsReceiptSigner::new(kms, id)
}

fn receipt() -> DeletionReceipt {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    DeletionReceipt {
        schema: RECEIPT_SCHEMA.into(),
        receipt_id: "rcpt_local".into(),
        tenant_id: fresh_tenant(),
        subject: Subject {
            kind: SubjectKind::Call,
            id: "call_0123456789abcdef0123456789abcdef".into(),
        },
        requested_by: Some(UserId::parse("ada").unwrap()),
        requested_at: now,
        completed_at: now,
        removed: Removed {
            table_items: 9,
            object_versions: 4,
            data_keys: 0,
        },
        keys_shredded_at: None,
        unrecoverable_after: now + time::Duration::days(35),
        issued_at: now,
    }
}

#[tokio::test]
async fn a_receipt_signed_by_kms_verifies_offline_and_a_changed_one_does_not() {
    let aws = LocalAws::connect().await;
    let signer = signing_key(&aws).await;
    let receipt = receipt();
    let signature = signer.sign(&canonical_bytes(&receipt)).await.unwrap();
    assert!(
        signature.key_id.contains(":key/"),
        "KMS names its key by ARN"
    );
    let file = serde_json::to_vec_pretty(&SignedReceipt {
        receipt: receipt.clone(),
        signature,
    })
    .unwrap();
    let public = signer.public_key().await.unwrap();
    assert_eq!(verify(&file, &public).unwrap(), receipt);
    assert_eq!(
        verify(&file, public_key_pem(&public).as_bytes()).unwrap(),
        receipt
    );

    let mut changed: serde_json::Value = serde_json::from_slice(&file).unwrap();
    changed["receipt"]["removed"]["object_versions"] = 0.into();
    let changed = serde_json::to_vec(&changed).unwrap();
    assert!(matches!(
        verify(&changed, &public),
        Err(ReceiptError::BadSignature)
    ));
    let other = signing_key(&aws).await.public_key().await.unwrap();
    assert!(matches!(
        verify(&file, &other),
        Err(ReceiptError::BadSignature)
    ));
}
