//! Export bundles sealed for their requester (privacy promises P5 and P6): every bundle has a
//! fresh 256-bit key of its own, and its bytes are cut into chunks sealed one by one with
//! AES-256-GCM, so a bundle of any size is sealed and opened in the memory of one chunk.
//!
//! Layout (format 1):
//! ```text
//! "CCX" | format 0x01 | chunk 0 | chunk 1 | … | last chunk
//! chunk = AES-256-GCM(key, nonce, plaintext) | tag 16 B
//! nonce = chunk number (u64 BE, left-padded with zeros to 11 B) | 0x01 on the last chunk, else 0x00
//! ```
//! Every chunk but the last holds exactly [`CHUNK_LEN`] bytes of plaintext; the last holds
//! 0 to [`CHUNK_LEN`]. The 4-byte header is each chunk's associated data. Since the nonce names
//! the chunk and whether it is the last, a bundle with chunks dropped, reordered or cut off
//! after a chunk fails to open; one changed byte fails its chunk's tag. Any AES-GCM library
//! opens it (WebCrypto included): read chunks of `CHUNK_LEN + 16` bytes after the header.
//!
//! The key never reaches storage in the clear: a user's own bundle's key is handed out once,
//! in the answer, and kept nowhere; a workspace bundle's key is kept sealed under the tenant's
//! `transcripts` data key on the job's record, so crypto-shredding the workspace leaves its
//! bundle, and every backup or old version of it, unreadable.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// The name answers give this layout, beside each bundle's key.
pub const BUNDLE_FORMAT: &str = "callcoach.sealed.v1";

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const HEADER: &[u8; 4] = b"CCX\x01";

/// Why a sealed bundle could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum BundleCryptoError {
    #[error("not a sealed callcoach bundle")]
    NotABundle,
    #[error("the bundle is altered, cut short or sealed under another key")]
    Authentication,
    #[error("a bundle key is 32 bytes in URL-safe base64")]
    BadKey,
    #[error("no random bytes for a bundle key")]
    Random,
}

/// One bundle's key. Its `Debug` shows nothing of it.
pub struct BundleKey(Zeroizing<[u8; 32]>);

impl BundleKey {
    pub fn generate() -> Result<Self, BundleCryptoError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| BundleCryptoError::Random)?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleCryptoError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| BundleCryptoError::BadKey)?;
        Ok(Self(Zeroizing::new(array)))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// As handed to the requester: URL-safe base64 without padding.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_ref())
    }

    pub fn from_base64(text: &str) -> Result<Self, BundleCryptoError> {
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| BundleCryptoError::BadKey)?,
        );
        Self::from_bytes(&bytes)
    }

    fn aead(&self) -> LessSafeKey {
        let unbound =
            UnboundKey::new(&AES_256_GCM, self.0.as_ref()).expect("a 32-byte key fits AES-256");
        LessSafeKey::new(unbound)
    }
}

impl fmt::Debug for BundleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BundleKey(..)")
    }
}

fn nonce(number: u64, last: bool) -> Nonce {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[3..11].copy_from_slice(&number.to_be_bytes());
    bytes[11] = u8::from(last);
    Nonce::assume_unique_for_key(bytes)
}

/// Seals a bundle as it is written: plaintext gathers in the caller's buffer, and whole chunks
/// go sealed to the output. A chunk is sealed only once more plaintext follows it, so that the
/// last one can carry its flag.
pub struct BundleSealer {
    key: LessSafeKey,
    next: u64,
}

impl BundleSealer {
    pub fn new(key: &BundleKey) -> Self {
        Self {
            key: key.aead(),
            next: 0,
        }
    }

    fn seal_chunk(
        &mut self,
        plain: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), BundleCryptoError> {
        if self.next == 0 {
            out.extend_from_slice(HEADER);
        }
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(self.next, last),
                Aad::from(HEADER),
                &mut out[start..],
            )
            .map_err(|_| BundleCryptoError::Authentication)?;
        out.extend_from_slice(tag.as_ref());
        self.next += 1;
        Ok(())
    }

    /// Seals every whole chunk of `plain` that more plaintext follows, leaving the rest there.
    pub fn seal_whole_chunks(
        &mut self,
        plain: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), BundleCryptoError> {
        let mut done = 0;
        while plain.len() - done > CHUNK_LEN {
            self.seal_chunk(&plain[done..done + CHUNK_LEN], false, out)?;
            done += CHUNK_LEN;
        }
        plain.drain(..done);
        Ok(())
    }

    /// Seals what is left as the last chunk.
    pub fn finish(
        mut self,
        mut plain: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), BundleCryptoError> {
        self.seal_whole_chunks(&mut plain, out)?;
        self.seal_chunk(&plain, true, out)
    }
}

/// Seals a whole bundle held in memory.
pub fn seal_bundle(key: &BundleKey, plain: &[u8]) -> Result<Vec<u8>, BundleCryptoError> {
    let mut out = Vec::with_capacity(plain.len() + plain.len() / CHUNK_LEN * TAG_LEN + 64);
    BundleSealer::new(key).finish(plain.to_vec(), &mut out)?;
    Ok(out)
}

/// Opens a sealed bundle.
pub fn open_bundle(key: &BundleKey, sealed: &[u8]) -> Result<Vec<u8>, BundleCryptoError> {
    let body = sealed
        .strip_prefix(HEADER.as_slice())
        .ok_or(BundleCryptoError::NotABundle)?;
    let aead = key.aead();
    let mut plain = Vec::with_capacity(body.len());
    let mut chunks = body.chunks(CHUNK_LEN + TAG_LEN).peekable();
    let mut number = 0u64;
    // An empty body has lost even the last chunk, which is never absent.
    if chunks.peek().is_none() {
        return Err(BundleCryptoError::Authentication);
    }
    while let Some(chunk) = chunks.next() {
        if chunk.len() < TAG_LEN {
            return Err(BundleCryptoError::Authentication);
        }
        let last = chunks.peek().is_none();
        let mut buffer = chunk.to_vec();
        let opened = aead
            .open_in_place(nonce(number, last), Aad::from(HEADER), &mut buffer)
            .map_err(|_| BundleCryptoError::Authentication)?;
        plain.extend_from_slice(opened);
        number += 1;
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i % 26) as u8).collect()
    }

    #[test]
    fn bundles_of_every_shape_open_to_what_was_sealed() {
        let key = BundleKey::generate().unwrap();
        for len in [
            0,
            1,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 1,
            3 * CHUNK_LEN,
            3 * CHUNK_LEN + 7,
        ] {
            let plain = text(len);
            let sealed = seal_bundle(&key, &plain).unwrap();
            assert_eq!(open_bundle(&key, &sealed).unwrap(), plain, "{len} bytes");
            let chunks = len.div_ceil(CHUNK_LEN).max(1);
            assert_eq!(sealed.len(), 4 + len + chunks * TAG_LEN, "{len} bytes");
        }
    }

    #[test]
    fn sealing_piece_by_piece_is_the_same_bundle_format() {
        let key = BundleKey::generate().unwrap();
        let plain = text(2 * CHUNK_LEN + 100);
        let mut sealer = BundleSealer::new(&key);
        let (mut pending, mut out) = (Vec::new(), Vec::new());
        for piece in plain.chunks(1000) {
            pending.extend_from_slice(piece);
            sealer.seal_whole_chunks(&mut pending, &mut out).unwrap();
            assert!(pending.len() <= CHUNK_LEN + 1000);
        }
        sealer.finish(pending, &mut out).unwrap();
        assert_eq!(open_bundle(&key, &out).unwrap(), plain);
    }

    #[test]
    fn an_altered_cut_reordered_or_foreign_bundle_does_not_open() {
        let key = BundleKey::generate().unwrap();
        let sealed = seal_bundle(&key, &text(3 * CHUNK_LEN + 5)).unwrap();
        let stride = CHUNK_LEN + TAG_LEN;

        let mut altered = sealed.clone();
        altered[4 + stride + 10] ^= 1;
        let cut_after_a_chunk = sealed[..4 + 2 * stride].to_vec();
        let mut reordered = sealed[..4].to_vec();
        reordered.extend_from_slice(&sealed[4 + stride..4 + 2 * stride]);
        reordered.extend_from_slice(&sealed[4..4 + stride]);
        reordered.extend_from_slice(&sealed[4 + 2 * stride..]);
        for (what, bundle) in [
            ("one byte changed", altered),
            ("cut after a chunk", cut_after_a_chunk),
            ("chunks swapped", reordered),
            ("header only", sealed[..4].to_vec()),
        ] {
            assert!(
                matches!(
                    open_bundle(&key, &bundle),
                    Err(BundleCryptoError::Authentication)
                ),
                "{what}"
            );
        }
        let other = BundleKey::generate().unwrap();
        assert!(open_bundle(&other, &sealed).is_err());
        assert!(matches!(
            open_bundle(&key, b"{\"schema\":1}"),
            Err(BundleCryptoError::NotABundle)
        ));
    }

    #[test]
    fn a_key_survives_its_text_form_and_shows_nothing_in_debug() {
        let key = BundleKey::generate().unwrap();
        let text = key.to_base64();
        assert_eq!(text.len(), 43);
        assert_eq!(BundleKey::from_base64(&text).unwrap().bytes(), key.bytes());
        assert!(!format!("{key:?}").contains(&text));
        assert!(BundleKey::from_base64("short").is_err());
    }
}
