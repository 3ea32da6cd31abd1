//! Ed25519 signatures over blobs, the load policy and anti-rollback.
//!
//! A signed blob is a complete v1 blob (CRC included) followed by a trailer, one of:
//!
//! ```text
//! v1 blob ("AIML" … CRC-32) | "SIG2" | key id (8 bytes, LE) | Ed25519 signature (64 bytes)
//! v1 blob ("AIML" … CRC-32) | "SIG1" | Ed25519 signature (64 bytes)          (older trainers)
//! ```
//!
//! The signature is over the v1 blob in both. The key id ([`key_id`]) names the key that
//! signed, so a device that trusts several keys (rotation) picks the one to verify with
//! instead of trying each; it is not trusted for anything else (a wrong id only makes the
//! signature fail). An unsigned blob is a plain v1 blob, so blobs written before signing
//! existed still load under a policy that accepts them. A trailer is recognised only when its
//! magic is at its place (`len - 76` for `SIG2`, `len - 68` for `SIG1`) *and* the CRC of the
//! bytes before it is valid; anything else is read as an unsigned blob (and a corrupted
//! signed blob then fails the CRC check as one). See `BLOB_FORMAT.md` for why this cannot
//! make a valid blob of one kind pass as the other.
//!
//! The same envelope carries the other signed object, a [`Revocation`] list: the key ids a
//! device must no longer trust, with a sequence number so an old list cannot be replayed.
//!
//! The [`Policy`] is given by the caller at load time (compiled in, or set by the kernel
//! through the C ABI): the public key, whether unsigned blobs are accepted, and the lowest
//! model version accepted (anti-rollback). Verification happens once, at load time, after the
//! cheap envelope checks (magic, version, CRC) and **before** the sections are decoded; the
//! prediction path is untouched.
//!
//! Verification is [`crate::ed25519`]: this crate's own, with a small bounded stack (about
//! 1 KiB, against 7 KiB for `ed25519-compact`'s), giving exactly `ed25519-compact`'s
//! verdicts (differential tests), which the trainer signs with. SHA-512 (signatures and key
//! ids) is [`crate::sha512`], also this crate's own (tested against FIPS 180-4 vectors and
//! `ed25519-compact`'s): the crate depends on no cryptography crate.

use crate::crc::crc32;
use crate::error::LoadError;

/// First bytes of the signature trailer of older trainers (no key id).
pub const SIG_MAGIC: [u8; 4] = *b"SIG1";
/// First bytes of the signature trailer with a key id.
pub const SIG2_MAGIC: [u8; 4] = *b"SIG2";
/// Bytes of a key id.
pub const KEY_ID_LEN: usize = 8;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of the whole `SIG1` trailer: magic and signature.
pub const TRAILER_LEN: usize = SIG_MAGIC.len() + SIGNATURE_LEN;
/// Bytes of the whole `SIG2` trailer: magic, key id and signature.
pub const TRAILER2_LEN: usize = SIG2_MAGIC.len() + KEY_ID_LEN + SIGNATURE_LEN;

/// The id of a public key: the first 8 bytes of its SHA-512, little endian. Printed by
/// `trainer keygen`, written into `SIG2` trailers and named in revocation lists. Not
/// inlined: the hash state stays off the stack of the verification that follows.
#[inline(never)]
pub fn key_id(key: &[u8; PUBLIC_KEY_LEN]) -> u64 {
    let h = crate::sha512::sha512(key);
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

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
    /// The key id of a `SIG2` trailer (`None` for `SIG1` and unsigned blobs).
    pub key_id: Option<u64>,
}

/// Splits off the signature trailer, if there is one (see the module docs for the rule).
pub fn split(bytes: &[u8]) -> Envelope<'_> {
    split2(bytes).unwrap_or_else(|| split1(bytes))
}

/// A `SIG2` trailer, if there is one.
fn split2(bytes: &[u8]) -> Option<Envelope<'_>> {
    let body_len = bytes.len().checked_sub(TRAILER2_LEN)?;
    if body_len < MIN_BLOB {
        return None;
    }
    let (blob, trailer) = bytes.split_at_checked(body_len)?;
    let (magic, rest) = trailer.split_first_chunk::<4>()?;
    let (id, sig) = rest.split_first_chunk::<KEY_ID_LEN>()?;
    let signature = <&[u8; SIGNATURE_LEN]>::try_from(sig).ok()?;
    (*magic == SIG2_MAGIC && crc_ok(blob)).then_some(Envelope {
        blob,
        signature: Some(signature),
        key_id: Some(u64::from_le_bytes(*id)),
    })
}

/// A `SIG1` trailer, if there is one; else the unsigned blob.
fn split1(bytes: &[u8]) -> Envelope<'_> {
    let unsigned = Envelope {
        blob: bytes,
        signature: None,
        key_id: None,
    };
    let Some(body_len) = bytes.len().checked_sub(TRAILER_LEN) else {
        return unsigned;
    };
    if body_len < MIN_BLOB {
        return unsigned;
    }
    let Some((blob, trailer)) = bytes.split_at_checked(body_len) else {
        return unsigned;
    };
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
        key_id: None,
    }
}

fn crc_ok(blob: &[u8]) -> bool {
    let Some((body, tail)) = split_crc(blob) else {
        return false;
    };
    tail == crc32(body).to_le_bytes()
}

/// `bytes` less its last four, and those four (a CRC-32); `None` if shorter. Written with
/// `get`, not `split_last_chunk`, whose out-of-line copy keeps a panic path in firmware images.
pub(crate) fn split_crc(bytes: &[u8]) -> Option<(&[u8], [u8; 4])> {
    let n = bytes.len().checked_sub(4)?;
    let tail = <[u8; 4]>::try_from(bytes.get(n..)?).ok()?;
    Some((bytes.get(..n)?, tail))
}

/// Checks `signature` over `blob` against `key`.
pub fn verify(
    blob: &[u8],
    signature: &[u8; SIGNATURE_LEN],
    key: &[u8; PUBLIC_KEY_LEN],
) -> Result<(), LoadError> {
    crate::ed25519::verify(key, blob, signature).map_err(|_| LoadError::BadSignature)
}

/// Whether `key` is a usable Ed25519 public key (a canonical point of large order). A key that
/// fails this can never verify a signature; callers configuring a key should check it first.
pub fn key_is_valid(key: &[u8; PUBLIC_KEY_LEN]) -> bool {
    crate::ed25519::key_is_valid(key)
}

/// Applies the signature part of `policy` to an envelope whose v1 blob passed its envelope
/// checks (magic, version, CRC). Returns whether a signature was verified.
pub(crate) fn check(env: &Envelope<'_>, policy: &Policy) -> Result<bool, LoadError> {
    match (env.signature, policy.key) {
        (Some(sig), Some(key)) => verify_named(env, sig, &key).map(|()| true),
        (None, Some(_)) if !policy.accept_unsigned => Err(LoadError::Unsigned),
        (_, None) if !policy.accept_unsigned => Err(LoadError::NoKey),
        _ => Ok(false),
    }
}

/// Checks a signature whose trailer may name its key. Not inlined: an unsigned load does
/// not reserve the verification's stack.
#[inline(never)]
fn verify_named(
    env: &Envelope<'_>,
    sig: &[u8; SIGNATURE_LEN],
    key: &[u8; PUBLIC_KEY_LEN],
) -> Result<(), LoadError> {
    if let Some(found) = env.key_id {
        let expected = key_id(key);
        if found != expected {
            return Err(LoadError::WrongKey { expected, found });
        }
    }
    verify(env.blob, sig, key)
}

/// Anti-rollback: refuses `offered` when it is lower than `held`, unless `force`.
pub fn check_rollback(held: u32, offered: u32, force: bool) -> Result<(), LoadError> {
    if offered < held && !force {
        Err(LoadError::Rollback { held, offered })
    } else {
        Ok(())
    }
}

/// First bytes of a revocation list.
pub const REVOCATION_MAGIC: [u8; 4] = *b"AREV";
/// Format version of revocation lists.
pub const REVOCATION_VERSION: u16 = 1;
/// Most key ids one revocation list names.
pub const MAX_REVOKED: usize = 16;
/// Bytes of a revocation list before its ids: magic, version, sequence, count.
const REVOCATION_HEAD: usize = 4 + 2 + 4 + 1;

/// A signed list of key ids a device must no longer trust.
///
/// ```text
/// "AREV" | version u16 = 1 | sequence u32 | count u8 (≤ 16) | count × key id u64 | CRC-32
///   | "SIG2" | signer's key id | Ed25519 signature over everything before "SIG2"
/// ```
///
/// All integers little endian; the CRC-32 (as in blobs) covers everything before it. A list
/// *replaces* the previous one and must carry a higher `sequence`, so it lists every key
/// still revoked; a device persists the sequence (the rollback store) so an older list, which
/// would trust a revoked key again, cannot be replayed. It must be signed (`SIG2`) by a key
/// the device trusts for revocation; which keys those are is the device's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation<'a> {
    /// Sequence number: a device accepts only a higher one than the last it applied.
    pub sequence: u32,
    /// Key id of the signer (from the `SIG2` trailer; the signature is checked by
    /// [`Revocation::verify`]).
    pub signer: u64,
    ids: &'a [u8],
    signed: &'a [u8],
    signature: &'a [u8; SIGNATURE_LEN],
}

impl<'a> Revocation<'a> {
    /// Parses a revocation list: layout, CRC and the presence of a `SIG2` trailer (not the
    /// signature: see [`Revocation::verify`]). Errors name the field, as for blobs.
    pub fn parse(bytes: &'a [u8]) -> Result<Revocation<'a>, LoadError> {
        let bad = |field| LoadError::BadRevocation { field };
        let env = split(bytes);
        let (Some(signature), Some(signer)) = (env.signature, env.key_id) else {
            return Err(bad(
                "SIG2 trailer (missing, or the CRC-32 before it does not match)",
            ));
        };
        let body = env.blob;
        let head = body.get(..REVOCATION_HEAD).ok_or(bad("length"))?;
        if head[..4] != REVOCATION_MAGIC {
            return Err(bad("magic (not \"AREV\")"));
        }
        if u16::from_le_bytes([head[4], head[5]]) != REVOCATION_VERSION {
            return Err(bad("version (this build reads 1)"));
        }
        let sequence = u32::from_le_bytes([head[6], head[7], head[8], head[9]]);
        let count = head[10] as usize;
        if count > MAX_REVOKED {
            return Err(bad("count (more than 16 key ids)"));
        }
        let expected = REVOCATION_HEAD + count * KEY_ID_LEN + 4;
        if body.len() != expected {
            return Err(bad("length (does not match the count)"));
        }
        Ok(Revocation {
            sequence,
            signer,
            ids: body.get(REVOCATION_HEAD..expected - 4).unwrap_or(&[]),
            signed: body,
            signature,
        })
    }

    /// Checks the signature against `key`, which must be the signer's (its id is
    /// [`Revocation::signer`]).
    pub fn verify(&self, key: &[u8; PUBLIC_KEY_LEN]) -> Result<(), LoadError> {
        let expected = key_id(key);
        if expected != self.signer {
            return Err(LoadError::WrongKey {
                expected,
                found: self.signer,
            });
        }
        verify(self.signed, self.signature, key)
    }

    /// The revoked key ids.
    pub fn ids(&self) -> impl Iterator<Item = u64> + 'a {
        self.ids
            .as_chunks::<KEY_ID_LEN>()
            .0
            .iter()
            .map(|c| u64::from_le_bytes(*c))
    }

    /// Whether `id` is revoked by this list.
    pub fn revokes(&self, id: u64) -> bool {
        self.ids().any(|r| r == id)
    }
}

/// Writes the unsigned part of a revocation list (everything the signature covers, CRC
/// included) into `buf`; returns its length. The signer appends `SIG2`, its key id and the
/// signature (the trainer's `revoke` command does).
pub fn encode_revocation(
    sequence: u32,
    ids: &[u64],
    buf: &mut [u8],
) -> Result<usize, crate::error::EncodeError> {
    if ids.len() > MAX_REVOKED {
        return Err(crate::error::EncodeError::TooManyLayers);
    }
    let len = REVOCATION_HEAD + ids.len() * KEY_ID_LEN + 4;
    let out = buf
        .get_mut(..len)
        .ok_or(crate::error::EncodeError::BufferTooSmall)?;
    out[..4].copy_from_slice(&REVOCATION_MAGIC);
    out[4..6].copy_from_slice(&REVOCATION_VERSION.to_le_bytes());
    out[6..10].copy_from_slice(&sequence.to_le_bytes());
    out[10] = ids.len() as u8;
    for (c, id) in out[REVOCATION_HEAD..len - 4]
        .chunks_exact_mut(KEY_ID_LEN)
        .zip(ids)
    {
        c.copy_from_slice(&id.to_le_bytes());
    }
    let crc = crc32(&out[..len - 4]);
    out[len - 4..].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}
