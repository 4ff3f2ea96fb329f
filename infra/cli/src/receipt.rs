//! `callcoach verify-receipt FILE --public-key KEY`: checks a deletion receipt offline against
//! the deployment's receipt-signing public key (DER or PEM, as KMS `GetPublicKey` answers it:
//! `aws kms get-public-key --key-id KEY --query PublicKey --output text | base64 -d`).
//! Nothing is sent anywhere; exit status 0 only for a receipt that verifies.

use anyhow::{Context, bail};
use callcoach_shared::domain::receipt::{DeletionReceipt, verify};

const USAGE: &str = "usage: callcoach verify-receipt FILE --public-key KEY_FILE";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (Some(file), Some(key)) = (args.first(), flag(args, "--public-key")) else {
        bail!(USAGE);
    };
    let receipt_bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let key_bytes = std::fs::read(&key).with_context(|| format!("reading {key}"))?;
    let receipt = verify(&receipt_bytes, &key_bytes).context("the receipt does not verify")?;
    println!("{}", summary(&receipt));
    Ok(())
}

pub(crate) fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn summary(receipt: &DeletionReceipt) -> String {
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let by = receipt
        .requested_by
        .as_ref()
        .map_or("the system".to_owned(), |u| u.to_string());
    let kind = serde_json::to_value(receipt.subject.kind).unwrap_or_default();
    format!(
        "valid receipt {}: {} {} of workspace {}, asked by {by} at {}, done at {}; removed {} table items, {} object versions, {} data keys; no backup can restore it after {}",
        receipt.receipt_id,
        kind.as_str().unwrap_or("?"),
        receipt.subject.id,
        receipt.tenant_id,
        rfc3339(receipt.requested_at),
        rfc3339(receipt.completed_at),
        receipt.removed.table_items,
        receipt.removed.object_versions,
        receipt.removed.data_keys,
        rfc3339(receipt.unrecoverable_after),
    )
}
