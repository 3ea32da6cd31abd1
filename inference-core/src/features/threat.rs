//! Threat detector features: one process's behaviour over one observation window.
//!
//! Features (19):
//!
//! | index | feature | unit |
//! |---|---|---|
//! | 0 | system calls in the window | `symlog_q4` of the count |
//! | 1 | network connections opened | `symlog_q4` |
//! | 2 | file accesses (open/read/write/unlink…) | `symlog_q4` |
//! | 3 | capability / privilege escalation attempts (setuid, execve of setuid…) | `symlog_q4` |
//! | 4 | error rate: failed calls per 1000 calls | per-mille |
//! | 5 | memory allocation calls (mmap, brk) | `symlog_q4` |
//! | 6 | memory allocated | `symlog_q4` of KiB |
//! | 7 | processes/threads spawned (fork, clone) | `symlog_q4` |
//! | 8..18 | the detector's last 10 threat scores for this process, newest first | per-mille |
//! | 18 | time since this process's last threat decision | `symlog_q4` of seconds; 1 day if never |
//! | 19..64 | call order: square root of the share of the process's call triples in each of 45 hash buckets | per-mille |
//!
//! Counts are compressed with [`symlog_q4`] because they are heavy-tailed: a compiler makes
//! 10^5 file accesses where a shell makes 10.
//!
//! Call order ([`CallSequence`]): counts per window lose the order of the calls, and the order is
//! what tells an exploit or a remote shell from the program it runs in. The kernel reports every
//! system call of the process with [`ThreatHistory::observe_call`], which costs O(1) and no heap:
//! it hashes the triple of the last three calls into one of [`TRIGRAM_BUCKETS`] buckets and
//! counts it over the process's life. The features are the square roots of each bucket's share
//! of all triples seen so far (so rare triples, the telling ones, keep resolution beside the
//! few that make up most of any trace), and a process is judged on everything it did, not only
//! on its last window. A process with fewer than three observed calls has all shares 0.
//!
//! Chosen by leave-one-attack-session-out cross-validation on the training side of ADFA-LD
//! (docs/EVALUATION.md): triples beat pairs and quadruples, one table of 45 buckets beat pairs
//! and triples sharing the inputs, square-root shares beat plain shares, and the per-window
//! counts and score history still help. The blob format allows 64 inputs, hence 19 + 45. The
//! hash constant was chosen the same way among five (mean AUC 0.933 to 0.950: collisions
//! matter at 45 buckets).

use super::ring::Ring;

use super::{newest_first, part, symlog_q4};

/// Number of features.
pub const N_FEATURES: usize = 19 + TRIGRAM_BUCKETS;
/// Hash buckets of the call-triple table.
pub const TRIGRAM_BUCKETS: usize = 45;
/// Number of network outputs (one logit per [`ThreatType`]).
pub const N_OUTPUTS: usize = ThreatType::COUNT;
/// Feature-layout id (kind 2, layout 2: with call order).
pub const SCHEMA_ID: u32 = 0x0002_0002;
/// Threat scores remembered per process.
pub const SCORE_HISTORY: usize = 10;
/// "Never" for the time since the last threat, in seconds (one day).
pub const NEVER_S: u64 = 86_400;
/// Operating threshold (per-mille) when no model gives one.
pub const DEFAULT_THRESHOLD: u16 = 500;

/// Where each feature sits in the vector (the table in the module docs).
pub mod field {
    use super::super::Field;
    use super::{SCORE_HISTORY as N_SCORES, TRIGRAM_BUCKETS};

    /// System calls in the window.
    pub const SYSCALLS: usize = 0;
    /// Network connections opened.
    pub const NETWORK: usize = 1;
    /// File accesses.
    pub const FILES: usize = 2;
    /// Privilege escalation attempts.
    pub const PRIVILEGE: usize = 3;
    /// Failed calls per 1000 calls.
    pub const ERROR_RATE: usize = 4;
    /// Memory allocation calls.
    pub const ALLOCS: usize = 5;
    /// Memory allocated.
    pub const ALLOC_KIB: usize = 6;
    /// Processes and threads spawned.
    pub const SPAWNS: usize = 7;
    /// The detector's last threat scores for this process, newest first.
    pub const SCORE_HISTORY: Field = 8..8 + N_SCORES;
    /// Time since this process's last threat decision.
    pub const SINCE_THREAT: usize = SCORE_HISTORY.end;
    /// Everything [`ThreatHistory`](super::ThreatHistory) contributes (the detector's own past
    /// verdicts): replaced when a data set is replayed through a model.
    pub const FROM_HISTORY: Field = SCORE_HISTORY.start..SINCE_THREAT + 1;
    /// Square root of the share of the process's call triples in each hash bucket.
    pub const TRIGRAMS: Field = SINCE_THREAT + 1..SINCE_THREAT + 1 + TRIGRAM_BUCKETS;

    const _: () = assert!(TRIGRAMS.end == super::N_FEATURES);
}

/// The threat score, per-mille, from the class probabilities (per-mille, [`ThreatType`]
/// order): `1000 - P(benign)`. The one definition that training, evaluation and serving use.
pub fn score_permille(p_benign: u16) -> u16 {
    1000u16.saturating_sub(p_benign)
}

/// A process's call order so far: the last two calls and the hashed triple counts.
/// [`observe`](Self::observe) is O(1): one hash and one increment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSequence {
    /// The previous call and the one before it (`u32::MAX`: none yet).
    prev: [u32; 2],
    /// Calls observed.
    calls: u32,
    /// Triples counted (calls after the second).
    triples: u32,
    trigrams: [u32; TRIGRAM_BUCKETS],
}

impl Default for CallSequence {
    fn default() -> Self {
        Self::new()
    }
}

/// Bucket of a hashed triple: a multiply-xorshift mix, then a multiply-shift range reduction
/// (no division).
#[inline]
fn bucket(h: u32) -> usize {
    let h = (h ^ (h >> 15)).wrapping_mul(0x2C1B_3C6D);
    let h = h ^ (h >> 12);
    ((h as u64 * TRIGRAM_BUCKETS as u64) >> 32) as usize
}

const MIX: u32 = 0xC2B2_AE3D;

/// Integer square root (floor) of `v < 2^20`: ten fixed steps without data-dependent
/// branches. The reference of [`isqrt4`], which the features use.
#[cfg(test)]
fn isqrt(v: u32) -> u32 {
    let mut r = 0u32;
    let mut bit = 1u32 << 9;
    while bit != 0 {
        let t = r | bit;
        r |= bit * (t * t <= v) as u32;
        bit >>= 1;
    }
    r
}

/// `⌊16 · √m⌋` for `m < 256`: the first guess of [`isqrt4`] (256 bytes).
const SQRT16: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut m = 0;
    while m < 256 {
        // the largest s with s² ≤ 256 · m
        let mut s = 0u32;
        while (s + 1) * (s + 1) <= 256 * m as u32 {
            s += 1;
        }
        t[m] = s as u8;
        m += 1;
    }
    t
};

/// `isqrt` of four values below 2^20, exact, in six steps instead of ten: `v = m · 4^k` with
/// `m < 256` gives the lower bound `r₀ = ⌊16√m⌋ · 2^k / 16 ≤ √v`, and `√v` is below
/// `r₀ + 2^(k−3) + 2 ≤ r₀ + 10` (for `k > 0`, `m ≥ 64`, where `√(m+1) − √m ≤ 1/16`; for
/// `k = 0` the guess is exact), so four binary steps over `r₀ .. r₀ + 15` finish it. The four
/// chains are independent, so a processor runs them side by side.
#[inline]
fn isqrt4(v: [u32; 4]) -> [u32; 4] {
    let mut r = [0u32; 4];
    for (r, &v) in r.iter_mut().zip(&v) {
        let bits = 32 - (v | 1).leading_zeros();
        let k = bits.saturating_sub(7) / 2;
        let m = (v >> (2 * k)).min(255) as usize;
        *r = ((SQRT16[m] as u32) << k) >> 4;
    }
    let mut bit = 8u32;
    while bit != 0 {
        for (r, &v) in r.iter_mut().zip(&v) {
            let t = *r + bit;
            *r += bit * (t * t <= v) as u32;
        }
        bit >>= 1;
    }
    r
}

impl CallSequence {
    /// No call seen yet.
    pub const fn new() -> Self {
        CallSequence {
            prev: [u32::MAX; 2],
            calls: 0,
            triples: 0,
            trigrams: [0; TRIGRAM_BUCKETS],
        }
    }

    /// Records system call `nr` (the kernel's number for it; the model was trained with one
    /// numbering, i386 for ADFA-LD) after the ones seen before.
    #[inline]
    pub fn observe(&mut self, nr: u32) {
        let [p1, p2] = self.prev;
        self.calls = self.calls.saturating_add(1);
        if self.calls >= 3 {
            let h = ((p2.wrapping_mul(MIX) ^ p1).wrapping_mul(MIX) ^ nr).wrapping_add(0x7F4A_7C15);
            if let Some(c) = self.trigrams.get_mut(bucket(h)) {
                *c = c.saturating_add(1);
            }
            self.triples = self.triples.saturating_add(1);
        }
        self.prev = [nr, p1];
    }

    /// Calls observed (saturating).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Writes the square roots of the buckets' shares (per-million, so 0..=1000) into `out`.
    /// One division for all buckets: the share is `count · ⌊2^20 · 10^6 / triples⌋ / 2^20`,
    /// off from the exact share by at most `count / 2^20` per-million.
    fn shares(&self, out: &mut [i32]) {
        const SHIFT: u32 = 20;
        let scale = (1_000_000u64 << SHIFT) / self.triples.max(1) as u64;
        let share = |c: u32| ((c as u64 * scale) >> SHIFT).min(1_000_000) as u32;
        // four buckets at a time: four independent chains of the square root's steps keep
        // the multiplier busy where one chain would wait on each step
        for (d, c) in out.chunks_mut(4).zip(self.trigrams.chunks(4)) {
            let mut v = [0u32; 4];
            for (v, &c) in v.iter_mut().zip(c) {
                *v = share(c);
            }
            for (d, r) in d.iter_mut().zip(isqrt4(v)) {
                *d = r as i32;
            }
        }
    }
}

/// Behaviour types the detector tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ThreatType {
    /// Benign.
    None = 0,
    /// CPU-bound mining: long compute, few files, steady outbound connection.
    Cryptominer = 1,
    /// Data exfiltration: many file reads and outbound connections.
    Exfiltration = 2,
    /// Privilege escalation: capability / setuid attempts, failures.
    PrivilegeEscalation = 3,
    /// Ransomware-style mass file rewriting.
    Ransomware = 4,
    /// Fork bomb or memory exhaustion.
    ResourceExhaustion = 5,
    /// Password guessing against a network service (many failed logins).
    BruteForce = 6,
    /// Remote shell / backdoor (Meterpreter, web shell): spawns, network, exec.
    Backdoor = 7,
}

impl ThreatType {
    /// Number of types.
    pub const COUNT: usize = 8;
    /// All types in code order.
    pub const ALL: [ThreatType; 8] = [
        ThreatType::None,
        ThreatType::Cryptominer,
        ThreatType::Exfiltration,
        ThreatType::PrivilegeEscalation,
        ThreatType::Ransomware,
        ThreatType::ResourceExhaustion,
        ThreatType::BruteForce,
        ThreatType::Backdoor,
    ];
    /// Type from its code (`None` for unknown codes is not used: unknown gives `None` the type).
    pub fn from_code(code: usize) -> ThreatType {
        *Self::ALL.get(code).unwrap_or(&ThreatType::None)
    }
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            ThreatType::None => "none",
            ThreatType::Cryptominer => "cryptominer",
            ThreatType::Exfiltration => "exfiltration",
            ThreatType::PrivilegeEscalation => "privilege_escalation",
            ThreatType::Ransomware => "ransomware",
            ThreatType::ResourceExhaustion => "resource_exhaustion",
            ThreatType::BruteForce => "brute_force",
            ThreatType::Backdoor => "backdoor",
        }
    }
}

/// What one process did during one observation window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessWindow {
    /// System calls made.
    pub syscalls: u32,
    /// Network connections opened (connect/accept/socketcall).
    pub network_connections: u32,
    /// File accesses.
    pub file_accesses: u32,
    /// Capability or privilege escalation attempts.
    pub privilege_attempts: u32,
    /// System calls that failed.
    pub failed_syscalls: u32,
    /// Memory allocation calls.
    pub memory_allocs: u32,
    /// Memory allocated, KiB.
    pub alloc_kib: u32,
    /// Processes or threads spawned.
    pub spawns: u32,
    /// End of the window, milliseconds on any monotonic clock.
    pub end_ms: u64,
}

/// Per-process state of the detector: its own recent scores and when it last flagged a threat.
#[derive(Debug, Clone)]
pub struct ThreatHistory {
    scores: Ring<u16, SCORE_HISTORY>,
    last_threat_ms: Option<u64>,
    calls: CallSequence,
}

impl Default for ThreatHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreatHistory {
    /// A process never seen before.
    pub const fn new() -> Self {
        ThreatHistory {
            scores: Ring::new(0),
            last_threat_ms: None,
            calls: CallSequence::new(),
        }
    }

    /// Records one system call of the process (O(1), see [`CallSequence`]).
    #[inline]
    pub fn observe_call(&mut self, nr: u32) {
        self.calls.observe(nr);
    }

    /// The process's call order so far.
    pub fn calls(&self) -> &CallSequence {
        &self.calls
    }

    /// Records the score given for the window ending at `end_ms`; `is_threat` marks a window
    /// judged a threat (at or above the operating threshold).
    pub fn record(&mut self, score_permille: u16, is_threat: bool, end_ms: u64) {
        self.scores.write(score_permille.min(1000));
        if is_threat {
            self.last_threat_ms = Some(end_ms);
        }
    }

    /// The feature vector of `w` given this history (see the module docs).
    pub fn features(&self, w: &ProcessWindow) -> [i32; N_FEATURES] {
        let mut f = [0i32; N_FEATURES];
        let c = |x: u32| symlog_q4(x as i64);
        f[field::SYSCALLS] = c(w.syscalls);
        f[field::NETWORK] = c(w.network_connections);
        f[field::FILES] = c(w.file_accesses);
        f[field::PRIVILEGE] = c(w.privilege_attempts);
        f[field::ERROR_RATE] = if w.syscalls == 0 {
            0
        } else {
            ((w.failed_syscalls.min(w.syscalls) as u64 * 1000) / w.syscalls as u64) as i32
        };
        f[field::ALLOCS] = c(w.memory_allocs);
        f[field::ALLOC_KIB] = c(w.alloc_kib);
        f[field::SPAWNS] = c(w.spawns);
        let mut s = [0u16; SCORE_HISTORY];
        newest_first(&self.scores, &mut s, 0);
        for (d, v) in part(&mut f, field::SCORE_HISTORY).iter_mut().zip(s) {
            *d = v as i32;
        }
        let since_s = match self.last_threat_ms {
            Some(t) => (w.end_ms.saturating_sub(t) / 1000).min(NEVER_S),
            None => NEVER_S,
        };
        f[field::SINCE_THREAT] = symlog_q4(since_s as i64);
        self.calls.shares(part(&mut f, field::TRIGRAMS));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_roots_in_lockstep_are_exact() {
        for v in (0..(1u32 << 20)).step_by(4) {
            let q = [v, v + 1, v + 2, v + 3];
            let r = isqrt4(q);
            for (&x, &y) in q.iter().zip(&r) {
                assert_eq!(y, isqrt(x), "{x}");
                assert!(y * y <= x && (y + 1) * (y + 1) > x, "{x}");
            }
        }
    }

    #[test]
    fn features_and_history() {
        let mut h = ThreatHistory::new();
        let w = ProcessWindow {
            syscalls: 1000,
            failed_syscalls: 5000, // more failures than calls: clamped to 1000 per-mille
            network_connections: 3,
            end_ms: 10_000,
            ..Default::default()
        };
        let f = h.features(&w);
        assert_eq!(f[1], symlog_q4(3));
        assert_eq!(f[4], 1000);
        assert_eq!(&f[8..18], &[0; 10]);
        assert_eq!(f[18], symlog_q4(NEVER_S as i64));
        h.record(900, true, 4_000);
        h.record(100, false, 9_000);
        let f = h.features(&w);
        assert_eq!(&f[8..11], &[100, 900, 900]);
        assert_eq!(f[18], symlog_q4(6));
        // zero syscalls: no division by zero
        assert_eq!(h.features(&ProcessWindow::default())[4], 0);
        // clock going backwards saturates at 0 s
        assert_eq!(h.features(&ProcessWindow::default())[18], 0);
    }

    #[test]
    fn call_order_is_seen() {
        let f = |calls: &[u32]| {
            let mut h = ThreatHistory::new();
            for &c in calls {
                h.observe_call(c);
            }
            h.features(&ProcessWindow::default())
        };
        // fewer than three calls: no triple yet
        assert_eq!(&f(&[3, 4])[field::TRIGRAMS], &[0; TRIGRAM_BUCKETS]);
        // one triple repeated: all of the share in one bucket, sqrt(10^6) = 1000
        let one = f(&[3, 3, 3, 3, 3, 3]);
        assert_eq!(
            one[field::TRIGRAMS].iter().filter(|&&v| v == 1000).count(),
            1
        );
        assert_eq!(one[field::TRIGRAMS].iter().sum::<i32>(), 1000);
        // the same calls in another order are another process
        let a = f(&[5, 3, 6, 102, 11, 5, 3, 6, 102, 11]);
        let b = f(&[102, 11, 5, 3, 6, 5, 6, 3, 11, 102]);
        assert_ne!(&a[field::TRIGRAMS], &b[field::TRIGRAMS]);
        // shares of many calls: each at most 1000, sum of squares about 10^6
        let mut h = ThreatHistory::new();
        for i in 0..100_000u32 {
            h.observe_call(i.wrapping_mul(2_654_435_761) % 400);
        }
        let v = h.features(&ProcessWindow::default());
        let sq: i64 = v[field::TRIGRAMS]
            .iter()
            .map(|&x| (x as i64) * (x as i64))
            .sum();
        assert!((990_000..=1_000_000).contains(&sq), "{sq}");
        assert_eq!(h.calls().calls(), 100_000);
    }
}
