//! `callcoach verify-receipt` and `open-export` as a user runs them: files in, no network.
//! For a receipt: exit 0 and a one-line account when it verifies; a failure otherwise.

use std::process::Command;

use callcoach_shared::domain::receipt::public_key_pem;
use callcoach_shared::fakes::{LocalReceiptSigner, sample_receipt};

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
    let signer = LocalReceiptSigner::default();
    let pem = public_key_pem(&signer.public_key_der());
    let file = signer.signed_file(&sample_receipt());
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
        said.contains("valid receipt rcpt_sample: workspace acme")
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

/// `callcoach open-export` as a user runs it on a downloaded bundle: the JSON comes out with the
/// key the API answered; a changed byte or another key refuses it and writes nothing.
#[test]
fn open_export_opens_a_sealed_bundle_with_its_key_only() {
    use callcoach_shared::crypto::bundle::{BundleKey, seal_bundle};
    let dir = std::env::temp_dir().join(format!("callcoach-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = BundleKey::generate().unwrap();
    let json = br#"{"schema":"callcoach.export.v1","calls":[]}"#;
    let sealed = seal_bundle(&key, json).unwrap();
    let open = |bytes: &[u8], key: &str| {
        std::fs::write(dir.join("bundle.bin"), bytes).unwrap();
        Command::new(env!("CARGO_BIN_EXE_callcoach"))
            .args(["open-export", "bundle.bin", "--key", key])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let good = open(&sealed, &key.to_base64());
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(good.stdout, json);

    let mut changed = sealed.clone();
    *changed.last_mut().unwrap() ^= 1;
    let other = BundleKey::generate().unwrap().to_base64();
    for (bytes, key) in [(&changed, key.to_base64()), (&sealed, other)] {
        let bad = open(bytes, &key);
        assert!(!bad.status.success());
        assert!(bad.stdout.is_empty());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("does not open"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
