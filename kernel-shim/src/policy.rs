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
//!
//! **Several keys, revocation.** Up to [`MAX_KEYS`] trusted keys, each with roles: sign
//! models ([`ROLE_MODELS`]), sign revocation lists ([`ROLE_REVOCATION`]). A blob signed with
//! a `SIG2` trailer names its key by id and is verified with that key only (`SIG1` blobs of
//! older trainers, and the unsigned-blob rule, use the first model key). A signed
//! [`Revocation`] list, verified with a revocation key, retires key ids: their entries are
//! emptied for good (never reused, so nothing signed by them can pass again) and later
//! attempts to add them are refused. Revocations are accepted after the lock: they only take
//! trust away. Keep the two roles on different keys: a leaked revocation key can then only
//! retire keys (the devices fall back to their built-in models), never make a model load.

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering::SeqCst};

use inference_core::signature::{self, Envelope, Revocation, MAX_REVOKED, PUBLIC_KEY_LEN};
use inference_core::Policy;

use crate::status::AimlStatus;
use crate::sync;

const HAS_KEY: u32 = 1;
const ACCEPT_UNSIGNED: u32 = 2;
/// Set by [`lock`]; never cleared.
const LOCKED: u32 = 4;

/// Most trusted keys at once.
pub const MAX_KEYS: usize = 4;
/// Role: the key signs models.
pub const ROLE_MODELS: u32 = 1;
/// Role: the key signs revocation lists.
pub const ROLE_REVOCATION: u32 = 2;
/// An entry whose key was revoked: never used again, never reused.
const DEAD: u32 = 0x80;

static SEQ: AtomicU32 = AtomicU32::new(0);
static WRITER: AtomicU8 = AtomicU8::new(0);
static FLAGS: AtomicU32 = AtomicU32::new(0);
static KEYS: [[AtomicU32; 8]; MAX_KEYS] = [const { [const { AtomicU32::new(0) }; 8] }; MAX_KEYS];
/// Roles of each entry; 0: empty, [`DEAD`]: revoked.
static ROLES: [AtomicU32; MAX_KEYS] = [const { AtomicU32::new(0) }; MAX_KEYS];
/// Revoked key ids (low, high word), the count, and the sequence of the list applied.
static REVOKED: [[AtomicU32; 2]; MAX_REVOKED] =
    [const { [const { AtomicU32::new(0) }; 2] }; MAX_REVOKED];
static N_REVOKED: AtomicU32 = AtomicU32::new(0);
static REVOCATION_SEQ: AtomicU32 = AtomicU32::new(0);

/// The rollback store's counter that holds the sequence of the newest revocation list (a
/// pseudo model kind, beside the four real ones).
pub const REVOCATION_COUNTER: u32 = 0x100;

/// Runs `f` as the one writer, between the two sequence bumps; `Busy` if another writer
/// runs, `PolicyLocked` if locked and `locked_ok` is false.
fn write<R>(locked_ok: bool, f: impl FnOnce() -> Result<R, AimlStatus>) -> Result<R, AimlStatus> {
    if !sync::try_lock(&WRITER) {
        return Err(AimlStatus::Busy);
    }
    if !locked_ok && is_locked() {
        WRITER.store(0, SeqCst);
        return Err(AimlStatus::PolicyLocked);
    }
    let s = SEQ.load(SeqCst);
    SEQ.store(s.wrapping_add(1), SeqCst);
    let r = f();
    SEQ.store(s.wrapping_add(2), SeqCst);
    WRITER.store(0, SeqCst);
    r
}

fn store_key(i: usize, key: &[u8; PUBLIC_KEY_LEN]) {
    if let Some(slot) = KEYS.get(i) {
        for (w, c) in slot.iter().zip(key.chunks_exact(4)) {
            if let &[a, b, c, d] = c {
                w.store(u32::from_le_bytes([a, b, c, d]), SeqCst);
            }
        }
    }
}

/// The first empty trusted-key entry and its role word.
fn free_entry() -> Option<(usize, &'static AtomicU32)> {
    ROLES.iter().enumerate().find(|(_, r)| r.load(SeqCst) == 0)
}

fn load_key(i: usize) -> [u8; PUBLIC_KEY_LEN] {
    let mut key = [0u8; PUBLIC_KEY_LEN];
    if let Some(slot) = KEYS.get(i) {
        for (w, c) in slot.iter().zip(key.chunks_exact_mut(4)) {
            for (d, s) in c.iter_mut().zip(w.load(SeqCst).to_le_bytes()) {
                *d = s;
            }
        }
    }
    key
}

fn is_revoked(id: u64) -> bool {
    let n = (N_REVOKED.load(SeqCst) as usize).min(MAX_REVOKED);
    REVOKED
        .iter()
        .take(n)
        .any(|w| (w[0].load(SeqCst) as u64 | (w[1].load(SeqCst) as u64) << 32) == id)
}

/// Sets the key (`None`: no key) and whether unsigned blobs are accepted: the one-key
/// setup. The key replaces every trusted key and gets both roles. A key that is not a valid
/// Ed25519 public key is refused (`InvalidArgument`): it could never verify anything; a
/// revoked one too (`KeyRevoked`).
pub fn set(key: Option<&[u8; PUBLIC_KEY_LEN]>, accept_unsigned: bool) -> Result<(), AimlStatus> {
    if let Some(k) = key {
        if !signature::key_is_valid(k) {
            return Err(AimlStatus::InvalidArgument);
        }
    }
    write(false, || {
        if key.is_some_and(|k| is_revoked(signature::key_id(k))) {
            return Err(AimlStatus::KeyRevoked);
        }
        for (i, r) in ROLES.iter().enumerate() {
            // revoked entries stay dead; the others are emptied
            if r.load(SeqCst) != DEAD {
                r.store(0, SeqCst);
                store_key(i, &[0; PUBLIC_KEY_LEN]);
            }
        }
        if let Some(k) = key {
            let Some((i, role)) = free_entry() else {
                return Err(AimlStatus::KeysFull);
            };
            store_key(i, k);
            role.store(ROLE_MODELS | ROLE_REVOCATION, SeqCst);
        }
        FLAGS.store(
            if accept_unsigned { ACCEPT_UNSIGNED } else { 0 }
                | if key.is_some() { HAS_KEY } else { 0 },
            SeqCst,
        );
        Ok(())
    })
}

/// Adds a trusted key with `roles` ([`ROLE_MODELS`], [`ROLE_REVOCATION`], or both); returns
/// its id. Adding a key already trusted adds the roles. `InvalidArgument`: not a valid
/// key, or roles 0 or unknown; `KeyRevoked`: a revocation list retired it; `KeysFull`:
/// [`MAX_KEYS`] entries are in use (revoked ones count); `PolicyLocked` after the lock.
/// Unsigned blobs stay as `set` left them (refused, unless opened).
pub fn add(key: &[u8; PUBLIC_KEY_LEN], roles: u32) -> Result<u64, AimlStatus> {
    if !signature::key_is_valid(key) || roles == 0 || roles & !(ROLE_MODELS | ROLE_REVOCATION) != 0
    {
        return Err(AimlStatus::InvalidArgument);
    }
    let id = signature::key_id(key);
    write(false, || {
        if is_revoked(id) {
            return Err(AimlStatus::KeyRevoked);
        }
        let same = ROLES.iter().enumerate().find(|&(i, r)| {
            let r = r.load(SeqCst);
            r != 0 && r != DEAD && load_key(i) == *key
        });
        let Some((i, role)) = same.or_else(free_entry) else {
            return Err(AimlStatus::KeysFull);
        };
        store_key(i, key);
        role.store(role.load(SeqCst) | roles, SeqCst);
        FLAGS.store(FLAGS.load(SeqCst) | HAS_KEY, SeqCst);
        Ok(id)
    })
}

/// Applies a signed revocation list (see the module docs): verified with the trusted,
/// revocation-role key its trailer names; its sequence must not be below `persisted` (the
/// store's counter) nor below the list applied now (`BlobRollback`). Returns the entries
/// that were retired by this call (bit `i`: entry `i`), so the caller can reset the slots
/// whose model they signed. The same list again is accepted and retires nothing more.
/// `persist(sequence)` runs after the list verified and before it is applied (the store's
/// counter is raised first: a failure then leaves loads refused as stale, never a replay
/// possible); its error refuses the list.
pub fn revoke(
    bytes: &[u8],
    persisted: u32,
    persist: impl FnOnce(u32) -> Result<(), AimlStatus>,
) -> Result<u32, AimlStatus> {
    let list = Revocation::parse(bytes).map_err(|e| AimlStatus::from(&e))?;
    let applied = REVOCATION_SEQ.load(SeqCst);
    if list.sequence < persisted.max(applied) {
        return Err(AimlStatus::BlobRollback);
    }
    // the signer, read consistently
    let signer = read(|| {
        ROLES.iter().enumerate().find_map(|(i, r)| {
            let r = r.load(SeqCst);
            let k = load_key(i);
            (r != DEAD && r & ROLE_REVOCATION != 0 && signature::key_id(&k) == list.signer)
                .then_some(k)
        })
    })?;
    let Some(key) = signer else {
        return Err(AimlStatus::BlobUnknownKey);
    };
    list.verify(&key).map_err(|e| AimlStatus::from(&e))?;
    persist(list.sequence)?;
    write(true, || {
        if list.sequence < REVOCATION_SEQ.load(SeqCst) {
            return Err(AimlStatus::BlobRollback);
        }
        let mut n = 0;
        for (w, id) in REVOKED.iter().zip(list.ids()) {
            w[0].store(id as u32, SeqCst);
            w[1].store((id >> 32) as u32, SeqCst);
            n += 1;
        }
        N_REVOKED.store(n, SeqCst);
        let mut retired = 0;
        for (i, role) in ROLES.iter().enumerate() {
            let r = role.load(SeqCst);
            if r != 0 && r != DEAD && list.revokes(signature::key_id(&load_key(i))) {
                role.store(DEAD, SeqCst);
                store_key(i, &[0; PUBLIC_KEY_LEN]);
                retired |= 1 << i;
            }
        }
        REVOCATION_SEQ.store(list.sequence, SeqCst);
        Ok(retired)
    })
}

/// The sequence of the revocation list applied since the shim's state was made (0: none).
pub fn revocation_sequence() -> u32 {
    REVOCATION_SEQ.load(SeqCst)
}

/// Whether trusted-key entry `i` was revoked.
pub fn is_dead(i: usize) -> bool {
    ROLES.get(i).is_some_and(|r| r.load(SeqCst) == DEAD)
}

/// Runs `f` on a consistent view (no writer in between), or `Busy`.
fn read<R>(f: impl FnOnce() -> R) -> Result<R, AimlStatus> {
    let s = SEQ.load(SeqCst);
    if s & 1 != 0 {
        return Err(AimlStatus::Busy);
    }
    let r = f();
    if SEQ.load(SeqCst) != s {
        return Err(AimlStatus::Busy);
    }
    Ok(r)
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

/// A consistent copy of the policy with its first model key, or `Busy` while a writer runs.
pub fn get() -> Result<Policy, AimlStatus> {
    for_envelope(None).map(|(p, _)| p)
}

/// The policy to load a blob with the given key id under (`None`: a `SIG1` or unsigned blob,
/// checked with the first model key), and the entry of that key (`None`: no key). A
/// `SIG2` blob whose key is revoked or not trusted for models is refused here, before any
/// verification (`BlobKeyRevoked`, `BlobUnknownKey`).
/// Not inlined: its stack (key copies, a SHA-512 per key id) is spent before the load
/// decodes, not added to it.
#[inline(never)]
pub fn for_envelope(key_id: Option<u64>) -> Result<(Policy, Option<usize>), AimlStatus> {
    read(|| {
        let flags = FLAGS.load(SeqCst);
        let accept_unsigned = flags & ACCEPT_UNSIGNED != 0;
        if let Some(id) = key_id {
            if is_revoked(id) {
                return Err(AimlStatus::BlobKeyRevoked);
            }
        }
        let found = ROLES.iter().enumerate().find_map(|(i, r)| {
            let r = r.load(SeqCst);
            if r == DEAD || r & ROLE_MODELS == 0 {
                return None;
            }
            let k = load_key(i);
            match key_id {
                Some(id) if signature::key_id(&k) != id => None,
                _ => Some((i, k)),
            }
        });
        match (found, key_id) {
            (Some((i, k)), _) => Ok((
                Policy {
                    key: Some(k),
                    accept_unsigned,
                    min_version: 0,
                },
                Some(i),
            )),
            (None, Some(_)) => Err(AimlStatus::BlobUnknownKey),
            (None, None) => Ok((
                Policy {
                    key: None,
                    accept_unsigned,
                    min_version: 0,
                },
                None,
            )),
        }
    })?
}

/// [`for_envelope`] of a blob's envelope.
pub fn for_blob(env: &Envelope<'_>) -> Result<(Policy, Option<usize>), AimlStatus> {
    for_envelope(env.key_id)
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
