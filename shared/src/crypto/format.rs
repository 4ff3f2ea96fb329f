//! The ciphertext header and AES-256-GCM sealing.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::{Binding, CryptoError, PlaintextDataKey};

const MAGIC: &[u8; 2] = b"CC";
const FORMAT_V1: u8 = 1;
pub(super) const HEADER_LEN: usize = 2 + 1 + 4 + NONCE_LEN;
const TAG_LEN: usize = 16;

pub(super) fn aead_key(key: &PlaintextDataKey) -> LessSafeKey {
    let unbound =
        UnboundKey::new(&AES_256_GCM, key.bytes()).expect("a 32-byte key always fits AES-256");
    LessSafeKey::new(unbound)
}

/// The data key version a ciphertext names, after checking its header shape.
pub(super) fn key_version(ciphertext: &[u8]) -> Result<u32, CryptoError> {
    if ciphertext.len() < HEADER_LEN + TAG_LEN
        || &ciphertext[..2] != MAGIC
        || ciphertext[2] != FORMAT_V1
    {
        return Err(CryptoError::Malformed);
    }
    Ok(u32::from_be_bytes(
        ciphertext[3..7].try_into().expect("4 bytes"),
    ))
}

fn associated_data(header: &[u8], binding: Binding<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 96);
    aad.extend_from_slice(header);
    for part in [
        binding.tenant.as_str(),
        binding.category.as_str(),
        binding.item,
    ] {
        aad.push(0);
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

pub(super) fn seal(
    key: &LessSafeKey,
    version: u32,
    binding: Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CryptoError::Authentication)?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_V1);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    let aad = associated_data(&out[..HEADER_LEN], binding);
    let mut body = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut body,
        )
        .map_err(|_| CryptoError::Authentication)?;
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

pub(super) fn open(
    key: &LessSafeKey,
    binding: Binding<'_>,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let header = &ciphertext[..HEADER_LEN];
    let nonce: [u8; NONCE_LEN] = header[7..].try_into().map_err(|_| CryptoError::Malformed)?;
    let aad = associated_data(header, binding);
    let mut body = ciphertext[HEADER_LEN..].to_vec();
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut body,
        )
        .map_err(|_| CryptoError::Authentication)?;
    Ok(plain.to_vec())
}

/// The nonce of a ciphertext (tests check nonces never repeat).
pub fn nonce_of(ciphertext: &[u8]) -> Option<[u8; NONCE_LEN]> {
    ciphertext.get(7..HEADER_LEN)?.try_into().ok()
}
