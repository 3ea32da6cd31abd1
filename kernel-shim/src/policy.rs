//! The load policy of every slot: the Ed25519 public key, whether unsigned blobs are accepted.
//!
//! Set with `aiml_set_key`, read by every load. A load must never see half of an old key and
//! half of a new one, and must never wait (it may run in interrupt context), so the key is
//! published with a sequence counter: the writer makes it odd, writes, makes it even; a reader
//! that sees an odd count, or a count that changed while it copied, answers `Busy` rather than
//! spinning (on one core, the writer it would wait for may be the code it interrupted).
//! Writers are serialised by a flag; a second concurrent writer gets `Busy` too.
//!
//! **Closed by default**: until `aiml_set_key` says otherwise there is no key and unsigned
//! blobs are refused, so no blob loads (`BLOB_NO_KEY`) and a deployment that forgets the
//! init call runs the built-in models, never an unverified one. Development opens it
//! explicitly with `aiml_set_key(NULL, true)` (unsigned blobs, the CRC still checks them).
//!
//! `aiml_lock_policy` freezes it: later key changes and forced loads (`aiml_load_force`, the
//! operator's downgrade) answer `PolicyLocked` until the shim's state is lost (reboot,
//! module reload), so code that runs after init cannot reopen it.

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering::SeqCst};

use inference_core::signature::{self, PUBLIC_KEY_LEN};
use inference_core::Policy;

use crate::status::AimlStatus;
use crate::sync;

const HAS_KEY: u32 = 1;
const ACCEPT_UNSIGNED: u32 = 2;
/// Set by [`lock`]; never cleared.
const LOCKED: u32 = 4;

static SEQ: AtomicU32 = AtomicU32::new(0);
static WRITER: AtomicU8 = AtomicU8::new(0);
static FLAGS: AtomicU32 = AtomicU32::new(0);
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
    if is_locked() {
        WRITER.store(0, SeqCst);
        return Err(AimlStatus::PolicyLocked);
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

/// Freezes the policy (see the module docs). Idempotent; `Busy` while `set` runs.
pub fn lock() -> Result<(), AimlStatus> {
    if !sync::try_lock(&WRITER) {
        return Err(AimlStatus::Busy);
    }
    // only writers change FLAGS, and we are the writer: no sequence bump needed for one word
    FLAGS.store(FLAGS.load(SeqCst) | LOCKED, SeqCst);
    WRITER.store(0, SeqCst);
    Ok(())
}

/// Whether [`lock`] was called.
pub fn is_locked() -> bool {
    FLAGS.load(SeqCst) & LOCKED != 0
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

    /// The policy is process-global: one test walks through every state in order.
    #[test]
    fn closed_by_default_set_get_a_torn_read_is_busy_and_lock_freezes() {
        assert_eq!(get(), Ok(Policy::CLOSED), "closed before any set");
        assert_eq!(get(), Ok(Policy::default()));
        assert_eq!(set(None, true), Ok(()));
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
        // locked: the key cannot change any more, the policy stays what it was
        assert_eq!(set(Some(&key), false), Ok(()));
        assert!(!is_locked());
        assert_eq!(lock(), Ok(()));
        assert!(is_locked());
        assert_eq!(set(None, true), Err(AimlStatus::PolicyLocked));
        assert_eq!(get(), Ok(Policy::require(key)));
        assert_eq!(lock(), Ok(()), "idempotent");
        assert_eq!(
            WRITER.load(SeqCst),
            0,
            "a refused set releases the writer flag"
        );
    }
}
