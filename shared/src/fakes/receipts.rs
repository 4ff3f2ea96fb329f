//! A receipt signer with a key pair of its own, signing as KMS does (ECDSA P-256, SHA-256,
//! DER signatures), for tests that need receipts without the local AWS.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;

use crate::domain::receipt::{
    DeletionReceipt, RECEIPT_ALGORITHM, RECEIPT_SCHEMA, ReceiptSignature, Removed, SignedReceipt,
    Subject, SubjectKind, canonical_bytes,
};
use crate::ids::{TenantId, UserId};
use crate::ports::{BackendError, ReceiptSigner};

pub struct LocalReceiptSigner {
    pair: EcdsaKeyPair,
}

impl Default for LocalReceiptSigner {
    fn default() -> Self {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random)
            .expect("a P-256 key pair generates");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .expect("a generated key pair reads back");
        Self { pair }
    }
}

impl LocalReceiptSigner {
    /// The public key, DER SubjectPublicKeyInfo (as KMS `GetPublicKey` answers it).
    pub fn public_key_der(&self) -> Vec<u8> {
        let spki: PublicKeyX509Der = self
            .pair
            .public_key()
            .as_der()
            .expect("a P-256 public key encodes");
        spki.as_ref().to_vec()
    }

    fn signature(&self, message: &[u8]) -> ReceiptSignature {
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message)
            .expect("signing with a local key succeeds");
        ReceiptSignature {
            key_id: "local".into(),
            algorithm: RECEIPT_ALGORITHM.into(),
            value: base64::engine::general_purpose::STANDARD.encode(signature.as_ref()),
        }
    }

    /// The receipt file for `receipt`, pretty-printed as a user would keep it.
    pub fn signed_file(&self, receipt: &DeletionReceipt) -> Vec<u8> {
        let file = SignedReceipt {
            receipt: receipt.clone(),
            signature: self.signature(&canonical_bytes(receipt)),
        };
        serde_json::to_vec_pretty(&file).expect("a receipt serializes")
    }
}

impl ReceiptSigner for LocalReceiptSigner {
    async fn sign(&self, message: &[u8]) -> Result<ReceiptSignature, BackendError> {
        Ok(self.signature(message))
    }

    async fn public_key(&self) -> Result<Vec<u8>, BackendError> {
        Ok(self.public_key_der())
    }
}

/// A workspace's deletion as a receipt states it: asked by `ada`, 120 items, 31 object
/// versions and 4 keys removed, unrecoverable a day after the shredding.
pub fn sample_receipt() -> DeletionReceipt {
    use time::macros::datetime;
    DeletionReceipt {
        schema: RECEIPT_SCHEMA.into(),
        receipt_id: "rcpt_sample".into(),
        tenant_id: TenantId::parse("acme").expect("a valid tenant id"),
        subject: Subject {
            kind: SubjectKind::Workspace,
            id: "acme".into(),
        },
        requested_by: Some(UserId::parse("ada").expect("a valid user id")),
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
    }
}
