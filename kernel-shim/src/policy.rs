//! The load policy of every slot: the Ed25519 public key, whether unsigned blobs are accepted.
//!
//! Set with `aiml_set_key`, read by every load. A load must never see half of an old key and
//! half of a new one, and must never wait (it may run in interrupt context), so the key is
//! published with a sequence counter: the writer makes it odd, writes, makes it even; a reader
//! that sees an odd count, or a count that changed while it copied, answers `Busy` rather than
//! spinning (on one core, the writer it would wait for may be the code it interrupted).
//! Writers are serialised by a flag; a second concurrent writer gets `Busy` too.
//!
//! Before any `aiml_set_key`, the policy is open: no key, unsigned blobs accepted (the CRC
//! still protects them), as before signatures existed.

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering::SeqCst};

use inference_core::signature::{self, PUBLIC_KEY_LEN};
use inference_core::Policy;

use crate::status::AimlStatus;
use crate::sync;

const HAS_KEY: u32 = 1;
const ACCEPT_UNSIGNED: u32 = 2;

static SEQ: AtomicU32 = AtomicU32::new(0);
static WRITER: AtomicU8 = AtomicU8::new(0);
static FLAGS: AtomicU32 = AtomicU32::new(ACCEPT_UNSIGNED);
static KEY: [AtomicU32; 8] = [const { AtomicU32::new(0) }; 8];

/// Sets the key (`None`: no key) and whether unsigned blobs are accepted. A key that is not
/// a valid Ed25519 public key is refused (`InvalidArgument`): it could never verify anything.
pub fn set(key: Option<&[u8; PUBLIC_KEY_LEN]>, accept_unsigned: bool) -> Result<(), AimlStatus> {
    if let Some(k) = key {
        if !signature::key_is_valid(k) {
            return Err(AimlStatus::InvalidArgument);
        }
    }
    if !sync::try_lock(&WRITER) {
        return Err(AimlStatus::Busy);
    }
    let s = SEQ.load(SeqCst);
    SEQ.store(s.wrapping_add(1), SeqCst);
    let words = key.copied().unwrap_or([0; PUBLIC_KEY_LEN]);
    for (w, c) in KEY.iter().zip(words.chunks_exact(4)) {
        w.store(u32::from_le_bytes([c[0], c[1], c[2], c[3]]), SeqCst);
    }
    let flags =
        if key.is_some() { HAS_KEY } else { 0 } | if accept_unsigned { ACCEPT_UNSIGNED } else { 0 };
    FLAGS.store(flags, SeqCst);
    SEQ.store(s.wrapping_add(2), SeqCst);
    WRITER.store(0, SeqCst);
    Ok(())
}

/// A consistent copy of the policy, or `Busy` while `set` runs.
pub fn get() -> Result<Policy, AimlStatus> {
    let s = SEQ.load(SeqCst);
    if s & 1 != 0 {
        return Err(AimlStatus::Busy);
    }
    let mut key = [0u8; PUBLIC_KEY_LEN];
    for (w, c) in KEY.iter().zip(key.chunks_exact_mut(4)) {
        c.copy_from_slice(&w.load(SeqCst).to_le_bytes());
    }
    let flags = FLAGS.load(SeqCst);
    if SEQ.load(SeqCst) != s {
        return Err(AimlStatus::Busy);
    }
    Ok(Policy {
        key: (flags & HAS_KEY != 0).then_some(key),
        accept_unsigned: flags & ACCEPT_UNSIGNED != 0,
        min_version: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_and_a_torn_read_is_busy() {
        assert_eq!(get(), Ok(Policy::OPEN));
        assert_eq!(
            set(Some(&[0xFF; 32]), false),
            Err(AimlStatus::InvalidArgument)
        );
        assert_eq!(get(), Ok(Policy::OPEN), "a refused key changes nothing");
        // the public key of seed [1; 32] is a valid point; any valid key will do here
        let key = {
            let kp = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([1; 32]));
            *kp.pk
        };
        assert_eq!(set(Some(&key), false), Ok(()));
        assert_eq!(get(), Ok(Policy::require(key)));
        // a reader that finds a write in progress answers Busy instead of spinning
        SEQ.fetch_add(1, SeqCst);
        assert_eq!(get(), Err(AimlStatus::Busy));
        SEQ.fetch_add(1, SeqCst);
        assert_eq!(set(None, true), Ok(()));
        assert_eq!(get(), Ok(Policy::OPEN));
    }
}
