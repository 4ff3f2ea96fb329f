//! Local-only identities: tokens signed with a key generated on the developer's machine and
//! verified by the local API gateway ([`crate::local_api`]), which plays API Gateway's JWT
//! authorizer because none runs locally. `callcoach token` issues them.
//!
//! This lives in the local router, a crate no deployed function depends on, so no build of a
//! function can contain it (`infra/check_build.sh` builds every function as `sam build` does and
//! fails if this module's marker strings appear in a binary).
//!
//! Verification: EdDSA only (`alg: none`, HS256 and every other algorithm refused), key id
//! [`LOCAL_KID`], issuer [`LOCAL_ISSUER`], audience [`LOCAL_AUDIENCE`], `exp` required and
//! numeric, `nbf` checked, 5 s leeway; `sub` and the tenant claim as with API Gateway.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
};
use serde_json::{Map, Value, json};

pub const LOCAL_ISSUER: &str = "callcoach-local";
pub const LOCAL_AUDIENCE: &str = "callcoach-local-api";
pub const LOCAL_KID: &str = "local-1";

/// A new local key pair: (PKCS#8 private key, base64url public key).
pub fn generate_key_pair() -> (Vec<u8>, String) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .expect("the system random source works");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a freshly generated key");
    (
        pkcs8.as_ref().to_vec(),
        URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    )
}

/// Signs local tokens (the `callcoach token` command and tests).
pub struct LocalIssuer {
    key: EncodingKey,
}

impl LocalIssuer {
    pub fn from_pkcs8(pkcs8: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_ed_der(pkcs8),
        }
    }

    /// A token for `user` in `tenant`, valid `ttl_seconds`, with any extra claims.
    pub fn issue(
        &self,
        tenant_claim: &str,
        tenant: &str,
        user: &str,
        ttl_seconds: i64,
        extra: Map<String, Value>,
    ) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": user,
            "iat": now, "nbf": now, "exp": now + ttl_seconds,
        });
        claims[tenant_claim] = json!(tenant);
        for (k, v) in extra {
            claims[k] = v;
        }
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(LOCAL_KID.into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("an Ed25519 key signs")
    }
}

/// Checks local tokens in the function.
pub struct LocalVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for LocalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalVerifier")
    }
}

impl LocalVerifier {
    pub fn from_public_key(x: &str) -> Result<Self, jsonwebtoken::errors::Error> {
        let key = DecodingKey::from_ed_components(x)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[LOCAL_ISSUER]);
        validation.set_audience(&[LOCAL_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(Self { key, validation })
    }

    /// The claims of a valid `Authorization: Bearer` token, or `None`.
    pub fn verify(&self, authorization: &str) -> Option<Map<String, Value>> {
        let token = authorization.strip_prefix("Bearer ")?.trim();
        let header = decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(LOCAL_KID) {
            return None;
        }
        decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}
