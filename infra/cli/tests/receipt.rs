//! `callcoach verify-receipt` as a user runs it: a receipt file and a public key file, no
//! network. Exit 0 and a one-line account for a receipt that verifies; a failure otherwise.

use std::process::Command;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use callcoach_shared::domain::receipt::{
    DeletionReceipt, RECEIPT_ALGORITHM, RECEIPT_SCHEMA, ReceiptSignature, Removed, SignedReceipt,
    Subject, SubjectKind, canonical_bytes, public_key_pem,
};
use callcoach_shared::ids::TenantId;
use time::macros::datetime;

fn verify_receipt(dir: &std::path::Path, file: &[u8], key: &str) -> std::process::Output {
    std::fs::write(dir.join("receipt.json"), file).unwrap();
    std::fs::write(dir.join("receipts.pem"), key).unwrap();
    Command::new(env!("CARGO_BIN_EXE_callcoach"))
        .args([
            "verify-receipt",
            "receipt.json",
            "--public-key",
            "receipts.pem",
        ])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn verify_receipt_accepts_a_signed_receipt_and_refuses_a_changed_one() {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let spki: PublicKeyX509Der = pair.public_key().as_der().unwrap();
    let pem = public_key_pem(spki.as_ref());
    let receipt = DeletionReceipt {
        schema: RECEIPT_SCHEMA.into(),
        receipt_id: "rcpt_cli".into(),
        tenant_id: TenantId::parse("acme").unwrap(),
        subject: Subject {
            kind: SubjectKind::Workspace,
            id: "acme".into(),
        },
        requested_by: None,
        requested_at: datetime!(2026-12-01 9:00 UTC),
        completed_at: datetime!(2026-12-01 10:00 UTC),
        removed: Removed {
            table_items: 120,
            object_versions: 31,
            data_keys: 4,
        },
        keys_shredded_at: Some(datetime!(2026-12-01 9:00 UTC)),
        unrecoverable_after: datetime!(2026-12-02 9:00 UTC),
        issued_at: datetime!(2026-12-01 10:00 UTC),
    };
    let signature = pair
        .sign(&SystemRandom::new(), &canonical_bytes(&receipt))
        .unwrap();
    let file = serde_json::to_vec_pretty(&SignedReceipt {
        receipt,
        signature: ReceiptSignature {
            key_id: "arn:aws:kms:us-east-1:123456789012:key/local".into(),
            algorithm: RECEIPT_ALGORITHM.into(),
            value: base64::engine::general_purpose::STANDARD.encode(signature.as_ref()),
        },
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("callcoach-receipt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let good = verify_receipt(&dir, &file, &pem);
    let said = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        said.contains("valid receipt rcpt_cli: workspace acme")
            && said.contains("removed 120 table items, 31 object versions, 4 data keys")
            && said.contains("after 2026-12-02T09:00:00Z"),
        "{said}"
    );

    let changed = String::from_utf8(file).unwrap().replace("120", "12");
    let bad = verify_receipt(&dir, changed.as_bytes(), &pem);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("does not verify"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
