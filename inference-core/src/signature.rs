//! Ed25519 signatures over blobs, the load policy and anti-rollback.
//!
//! A signed blob is a complete v1 blob (CRC included) followed by a 68-byte trailer:
//!
//! ```text
//! v1 blob ("AIML" … CRC-32) | "SIG1" | Ed25519 signature (64 bytes) over the v1 blob
//! ```
//!
//! An unsigned blob is a plain v1 blob, so blobs written before signing existed still load
//! under a policy that accepts them. The trailer is recognised only when the 4 bytes at
//! `len - 68` are `SIG1` *and* the CRC of the first `len - 68` bytes is valid; anything else
//! is read as an unsigned blob (and a corrupted signed blob then fails the CRC check as one).
//! See `BLOB_FORMAT.md` for why this cannot make a valid blob of one kind pass as the other.
//!
//! The [`Policy`] is given by the caller at load time (compiled in, or set by the kernel
//! through the C ABI): the public key, whether unsigned blobs are accepted, and the lowest
//! model version accepted (anti-rollback). Verification happens once, at load time, after the
//! cheap envelope checks (magic, version, CRC) and **before** the sections are decoded; the
//! prediction path is untouched.
//!
//! The Ed25519 implementation is `ed25519-compact` with default features off: no dependency,
//! no allocation, no `std`, no SIMD, no floating point.

use ed25519_compact::{PublicKey, Signature};

use crate::crc::crc32;
use crate::error::LoadError;

/// First bytes of the signature trailer.
pub const SIG_MAGIC: [u8; 4] = *b"SIG1";
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of the whole trailer: magic and signature.
pub const TRAILER_LEN: usize = SIG_MAGIC.len() + SIGNATURE_LEN;

/// Smallest v1 blob (magic, version, CRC); a trailer needs at least this much before it.
const MIN_BLOB: usize = 4 + 2 + 4;

/// What a loader accepts. Cheap to copy; build it once (e.g. `const`) and pass it to
/// [`Model::load`](crate::Model::load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Ed25519 public key signatures are checked against. `None`: signatures are not
    /// checked (only the CRC protects the blob).
    pub key: Option<[u8; PUBLIC_KEY_LEN]>,
    /// Whether a blob without a signature trailer is accepted. With a key set and this
    /// `false`, only blobs signed by that key load.
    pub accept_unsigned: bool,
    /// Lowest model version accepted (anti-rollback): a blob with a lower version is refused
    /// with [`LoadError::Rollback`]. 0 accepts every version.
    pub min_version: u32,
}

impl Policy {
    /// No key, unsigned blobs accepted, any version: integrity against accidents (CRC) only.
    /// This is what [`Model::from_blob`](crate::Model::from_blob) uses.
    pub const OPEN: Policy = Policy {
        key: None,
        accept_unsigned: true,
        min_version: 0,
    };

    /// No key, unsigned blobs refused: nothing loads ([`LoadError::NoKey`]). The
    /// [`Default`], so that a policy nobody configured verifies rather than trusts; the
    /// kernel shim starts with it too.
    pub const CLOSED: Policy = Policy {
        key: None,
        accept_unsigned: false,
        min_version: 0,
    };

    /// Only blobs signed by `key`.
    pub const fn require(key: [u8; PUBLIC_KEY_LEN]) -> Policy {
        Policy {
            key: Some(key),
            accept_unsigned: false,
            min_version: 0,
        }
    }

    /// Blobs signed by `key` or unsigned ones (a transition setting: a *wrong* signature is
    /// still refused).
    pub const fn prefer(key: [u8; PUBLIC_KEY_LEN]) -> Policy {
        Policy {
            key: Some(key),
            accept_unsigned: true,
            min_version: 0,
        }
    }

    /// The same policy, refusing versions lower than `version`.
    pub const fn with_min_version(self, version: u32) -> Policy {
        Policy {
            min_version: version,
            ..self
        }
    }
}

/// [`Policy::CLOSED`]: a loader must be opened by name ([`Policy::OPEN`]) to trust unsigned
/// blobs.
impl Default for Policy {
    fn default() -> Self {
        Policy::CLOSED
    }
}

/// A blob split into the v1 blob and its signature, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The v1 blob (magic … CRC).
    pub blob: &'a [u8],
    /// The signature over `blob`, if a trailer was recognised.
    pub signature: Option<&'a [u8; SIGNATURE_LEN]>,
}

/// Splits off the signature trailer, if there is one (see the module docs for the rule).
pub fn split(bytes: &[u8]) -> Envelope<'_> {
    let unsigned = Envelope {
        blob: bytes,
        signature: None,
    };
    let Some(body_len) = bytes.len().checked_sub(TRAILER_LEN) else {
        return unsigned;
    };
    if body_len < MIN_BLOB {
        return unsigned;
    }
    let (blob, trailer) = bytes.split_at(body_len);
    let Some((magic, sig)) = trailer.split_first_chunk::<4>() else {
        return unsigned;
    };
    let Ok(signature) = <&[u8; SIGNATURE_LEN]>::try_from(sig) else {
        return unsigned;
    };
    if *magic != SIG_MAGIC || !crc_ok(blob) {
        return unsigned;
    }
    Envelope {
        blob,
        signature: Some(signature),
    }
}

fn crc_ok(blob: &[u8]) -> bool {
    let Some(body_len) = blob.len().checked_sub(4) else {
        return false;
    };
    let (body, tail) = blob.split_at(body_len);
    tail == crc32(body).to_le_bytes()
}

/// Checks `signature` over `blob` against `key`.
pub fn verify(
    blob: &[u8],
    signature: &[u8; SIGNATURE_LEN],
    key: &[u8; PUBLIC_KEY_LEN],
) -> Result<(), LoadError> {
    PublicKey::new(*key)
        .verify(blob, &Signature::new(*signature))
        .map_err(|_| LoadError::BadSignature)
}

/// Whether `key` is a usable Ed25519 public key (a canonical point of large order). A key that
/// fails this can never verify a signature; callers configuring a key should check it first.
pub fn key_is_valid(key: &[u8; PUBLIC_KEY_LEN]) -> bool {
    PublicKey::new(*key).validate().is_ok()
}

/// Applies the signature part of `policy` to an envelope whose v1 blob passed its envelope
/// checks (magic, version, CRC). Returns whether a signature was verified.
pub(crate) fn check(env: &Envelope<'_>, policy: &Policy) -> Result<bool, LoadError> {
    match (env.signature, policy.key) {
        (Some(sig), Some(key)) => verify(env.blob, sig, &key).map(|()| true),
        (None, Some(_)) if !policy.accept_unsigned => Err(LoadError::Unsigned),
        (_, None) if !policy.accept_unsigned => Err(LoadError::NoKey),
        _ => Ok(false),
    }
}

/// Anti-rollback: refuses `offered` when it is lower than `held`, unless `force`.
pub fn check_rollback(held: u32, offered: u32, force: bool) -> Result<(), LoadError> {
    if offered < held && !force {
        Err(LoadError::Rollback { held, offered })
    } else {
        Ok(())
    }
}
