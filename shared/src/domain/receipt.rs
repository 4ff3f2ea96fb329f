//! Deletion receipts: a signed statement of what one deletion removed and from when no backup
//! can bring it back. A receipt holds ids, counts and times only, so it outlives the data it
//! speaks of (it is kept with the audit trail).
//!
//! A receipt file is `{"receipt": {...}, "signature": {...}}`. The signature is ECDSA P-256
//! with SHA-256 (KMS `ECDSA_SHA_256`, DER-encoded) over the receipt's canonical JSON: the
//! receipt object with its keys sorted and no whitespace, so whoever re-reads the file
//! reproduces the signed bytes whatever the file's layout. [`verify`] checks a file against
//! the deployment's public key, offline.
//!
//! What a receipt proves: that this deployment's signing key stated these counts and times for
//! this subject, and that nothing in the receipt changed since. What it cannot prove: that
//! the counts are all there was (it is the system's own account, not an outside audit), that
//! no one copied the data out before the deletion (an export, a screenshot), or what the
//! operator of the AWS account does outside callcoach.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ids::{ReceiptId, TenantId, UserId};

/// The schema a receipt names; a verifier refuses others.
pub const RECEIPT_SCHEMA: &str = "callcoach.receipt.v1";

/// The only signing algorithm receipts use.
pub const RECEIPT_ALGORITHM: &str = "ECDSA_SHA_256";

/// What was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Call,
    User,
    Team,
    Workspace,
    /// Calls the retention policy expired (no one asked: the reaper did it).
    RetentionPurge,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The call, user, team or workspace id; for a retention purge, the run's id.
    pub id: String,
}

/// What the deletion removed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub table_items: u64,
    pub object_versions: u64,
    pub data_keys: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionReceipt {
    pub schema: String,
    pub receipt_id: String,
    pub tenant_id: TenantId,
    pub subject: Subject,
    /// Who asked; `None` for the system (retention, a lifecycle cut-off).
    pub requested_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// When the last of it was removed.
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
    pub removed: Removed,
    /// When the tenant's data keys were destroyed (a workspace's deletion only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub keys_shredded_at: Option<OffsetDateTime>,
    /// From this moment no backup can give any of it back: the keys table's recovery window
    /// after the shredding, or the main table's after the purge (the data's own backups).
    #[serde(with = "time::serde::rfc3339")]
    pub unrecoverable_after: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

/// How long the main table's point-in-time recovery keeps a deleted item restorable: a
/// purged item is beyond every backup this long after its purge (template: `Table`).
pub const TABLE_BACKUP_WINDOW: time::Duration = time::Duration::days(35);

/// How long the keys table's point-in-time recovery keeps a shredded key restorable
/// (template: `KeysTable`, `RecoveryPeriodInDays: 1`): after it, no backup of anything the
/// workspace encrypted can be decrypted.
pub const KEYS_BACKUP_WINDOW: time::Duration = time::Duration::days(1);

/// Receipts are kept as long as the audit trail, also after their workspace is destroyed.
pub const RECEIPT_RETENTION: time::Duration = crate::domain::audit::AUDIT_RETENTION;

/// A deletion asked for whose calls the reaper has yet to purge. The request writes it (with
/// one entry per call it moved to `deleted`); the reaper's first run that finds every one of
/// those calls purged signs and files the receipt and drops the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionTicket {
    pub receipt_id: ReceiptId,
    pub tenant_id: TenantId,
    pub subject: Subject,
    pub requested_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// What the request removed itself (memberships, progress, usage events, team records).
    pub removed_at_once: Removed,
    /// Set by the request's last step: a request cut off midway leaves its ticket open (not
    /// receipted) until its retry, which resumes the same ticket, finishes.
    #[serde(default)]
    pub complete: bool,
}

impl Removed {
    pub fn add(&mut self, other: &Removed) {
        self.table_items += other.table_items;
        self.object_versions += other.object_versions;
        self.data_keys += other.data_keys;
    }

    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSignature {
    /// The signing key as KMS names it (its ARN).
    pub key_id: String,
    pub algorithm: String,
    /// The DER-encoded signature, base64 (standard alphabet, padded).
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    pub receipt: DeletionReceipt,
    pub signature: ReceiptSignature,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the file is not a receipt")]
    Malformed(#[source] serde_json::Error),
    #[error("the receipt names schema {0:?}, not {RECEIPT_SCHEMA}")]
    Schema(String),
    #[error("the signature uses {0:?}, not {RECEIPT_ALGORITHM}")]
    Algorithm(String),
    #[error("the signature is not base64")]
    Encoding(#[source] base64::DecodeError),
    #[error("the public key is neither DER nor PEM")]
    PublicKey,
    #[error("the signature does not match the receipt and this public key")]
    BadSignature,
}

/// The bytes a receipt's signature covers: its JSON with keys sorted, without whitespace.
pub fn canonical_bytes(receipt: &DeletionReceipt) -> Vec<u8> {
    let value = serde_json::to_value(receipt).expect("a receipt is plain data");
    canonical(&value)
}

/// Objects with their keys sorted (by bytes), at every depth, and no whitespace: written here
/// rather than left to serde_json's map order, which a crate enabling `preserve_order` in the
/// build would change.
fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("a JSON scalar writes out");
}

/// Checks a receipt file against the deployment's public key (DER SubjectPublicKeyInfo, as
/// KMS `GetPublicKey` answers it, or its PEM form) and returns the receipt it holds.
pub fn verify(file: &[u8], public_key: &[u8]) -> Result<DeletionReceipt, ReceiptError> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
    use base64::Engine;
    let whole: Value = serde_json::from_slice(file).map_err(ReceiptError::Malformed)?;
    let signed: SignedReceipt =
        serde_json::from_value(whole.clone()).map_err(ReceiptError::Malformed)?;
    if signed.receipt.schema != RECEIPT_SCHEMA {
        return Err(ReceiptError::Schema(signed.receipt.schema));
    }
    if signed.signature.algorithm != RECEIPT_ALGORITHM {
        return Err(ReceiptError::Algorithm(signed.signature.algorithm));
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&signed.signature.value)
        .map_err(ReceiptError::Encoding)?;
    let der = public_key_der(public_key).ok_or(ReceiptError::PublicKey)?;
    // The bytes as the file holds them (re-canonicalised), not as this version would write
    // them: a field this version does not know still counts.
    let message = canonical(&whole["receipt"]);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &der)
        .verify(&message, &signature)
        .map_err(|_| ReceiptError::BadSignature)?;
    Ok(signed.receipt)
}

/// DER as given, or the body of a PEM `PUBLIC KEY` block.
fn public_key_der(key: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let Ok(text) = std::str::from_utf8(key) else {
        return Some(key.to_vec());
    };
    if !text.contains("-----BEGIN PUBLIC KEY-----") {
        return Some(key.to_vec());
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|line| *line != "-----END PUBLIC KEY-----")
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The PEM form of a DER public key, as `callcoach` writes it out for verifiers.
pub fn public_key_pem(der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{LocalReceiptSigner, sample_receipt as receipt};

    #[test]
    fn a_receipt_verifies_under_its_key_in_der_and_pem_whatever_the_layout() {
        let signer = LocalReceiptSigner::default();
        let der = signer.public_key_der();
        let file = signer.signed_file(&receipt());
        assert_eq!(verify(&file, &der).unwrap(), receipt());
        assert_eq!(
            verify(&file, public_key_pem(&der).as_bytes()).unwrap(),
            receipt()
        );
        // Re-laid out (compact, keys in another order): the same receipt.
        let value: Value = serde_json::from_slice(&file).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        assert!(verify(&compact, &der).is_ok());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_whatever_their_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":{"y":1,"x":[{"q":2,"p":"é"}]},"a":null}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical(&a)).unwrap(),
            r#"{"a":null,"b":{"x":[{"p":"é","q":2}],"y":1}}"#
        );
    }

    #[test]
    fn a_changed_count_another_key_or_a_stray_field_fails() {
        let signer = LocalReceiptSigner::default();
        let der = signer.public_key_der();
        let file = signer.signed_file(&receipt());
        let mut value: Value = serde_json::from_slice(&file).unwrap();
        value["receipt"]["removed"]["table_items"] = 41.into();
        let tampered = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            verify(&tampered, &der),
            Err(ReceiptError::BadSignature)
        ));
        let mut value: Value = serde_json::from_slice(&file).unwrap();
        value["receipt"]["note"] = "added later".into();
        let added = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            verify(&added, &der),
            Err(ReceiptError::BadSignature)
        ));
        let other = LocalReceiptSigner::default().public_key_der();
        assert!(matches!(
            verify(&file, &other),
            Err(ReceiptError::BadSignature)
        ));
        assert!(matches!(
            verify(b"not json", &der),
            Err(ReceiptError::Malformed(_))
        ));
    }
}
