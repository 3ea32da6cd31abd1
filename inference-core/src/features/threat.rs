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
//! | 19..35 | call order: share of the process's call pairs (bigrams) in each of 16 hash buckets | per-mille |
//! | 35..51 | call order: share of its call triples (trigrams) in each of 16 hash buckets | per-mille |
//!
//! Counts are compressed with [`symlog_q4`] because they are heavy-tailed: a compiler makes
//! 10^5 file accesses where a shell makes 10.
//!
//! Call order ([`CallSequence`]): counts per window lose the order of the calls, and the order is
//! what tells an exploit or a remote shell from the program it runs in. The kernel reports every
//! system call of the process with [`ThreatHistory::observe_call`], which costs O(1) and no heap:
//! it hashes the pair and the triple of the last calls into [`NGRAM_BUCKETS`] buckets each and
//! counts them over the process's life. The features are each bucket's share of all pairs (or
//! triples) seen so far, so a process is judged on everything it did, not only on its last
//! window. A process with no observed calls has all shares 0.
//!
//! Outputs (8): Q8 logits of [`ThreatType`] in code order (`None` first).

use heapless::HistoryBuf;

use super::{newest_first, symlog_q4};

/// Number of features.
pub const N_FEATURES: usize = 19 + 2 * NGRAM_BUCKETS;
/// Hash buckets of each call n-gram table (pairs and triples).
pub const NGRAM_BUCKETS: usize = 16;
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
    use super::{NGRAM_BUCKETS, SCORE_HISTORY as N_SCORES};

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
    /// Share of the process's call pairs in each hash bucket.
    pub const BIGRAMS: Field = SINCE_THREAT + 1..SINCE_THREAT + 1 + NGRAM_BUCKETS;
    /// Share of the process's call triples in each hash bucket.
    pub const TRIGRAMS: Field = BIGRAMS.end..BIGRAMS.end + NGRAM_BUCKETS;

    const _: () = assert!(TRIGRAMS.end == super::N_FEATURES);
}

/// The threat score, per-mille, from the class probabilities (per-mille, [`ThreatType`]
/// order): `1000 - P(benign)`. The one definition that training, evaluation and serving use.
pub fn score_permille(p_benign: u16) -> u16 {
    1000u16.saturating_sub(p_benign)
}

/// A process's call order so far: the last two calls and hashed pair and triple counts.
/// [`observe`](Self::observe) is O(1): two hashes and two increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSequence {
    /// The previous call and the one before it (`u32::MAX`: none yet).
    prev: [u32; 2],
    pairs: u32,
    triples: u32,
    bigrams: [u32; NGRAM_BUCKETS],
    trigrams: [u32; NGRAM_BUCKETS],
}

impl Default for CallSequence {
    fn default() -> Self {
        Self::new()
    }
}

/// Bucket of a hashed n-gram: a multiply-xorshift mix of the call numbers, top bits kept.
#[inline]
fn bucket(h: u32) -> usize {
    let h = (h ^ (h >> 15)).wrapping_mul(0x2C1B_3C6D);
    let h = h ^ (h >> 12);
    (h >> (32 - NGRAM_BUCKETS.trailing_zeros())) as usize % NGRAM_BUCKETS
}

const MIX: u32 = 0x9E37_79B1;
const _: () = assert!(NGRAM_BUCKETS.is_power_of_two() && NGRAM_BUCKETS <= 1 << 16);

impl CallSequence {
    /// No call seen yet.
    pub const fn new() -> Self {
        CallSequence {
            prev: [u32::MAX; 2],
            pairs: 0,
            triples: 0,
            bigrams: [0; NGRAM_BUCKETS],
            trigrams: [0; NGRAM_BUCKETS],
        }
    }

    /// Records system call `nr` (the kernel's number for it; the model was trained with one
    /// numbering, i386 for ADFA-LD) after the ones seen before.
    #[inline]
    pub fn observe(&mut self, nr: u32) {
        let [p1, p2] = self.prev;
        if p1 != u32::MAX {
            let h = p1.wrapping_mul(MIX) ^ nr;
            if let Some(c) = self.bigrams.get_mut(bucket(h)) {
                *c = c.saturating_add(1);
            }
            self.pairs = self.pairs.saturating_add(1);
            if p2 != u32::MAX {
                let h3 = (h.wrapping_mul(MIX) ^ p2).wrapping_add(0x7F4A_7C15);
                if let Some(c) = self.trigrams.get_mut(bucket(h3)) {
                    *c = c.saturating_add(1);
                }
                self.triples = self.triples.saturating_add(1);
            }
        }
        self.prev = [nr, p1];
    }

    /// Calls observed after the first (pairs counted).
    pub fn pairs(&self) -> u32 {
        self.pairs
    }

    /// Writes the per-mille shares of the buckets into `bigrams` and `trigrams`.
    fn shares(&self, bigrams: &mut [i32], trigrams: &mut [i32]) {
        let share = |c: u32, n: u32| ((c as u64 * 1000) / n.max(1) as u64) as i32;
        for (d, &c) in bigrams.iter_mut().zip(&self.bigrams) {
            *d = share(c, self.pairs);
        }
        for (d, &c) in trigrams.iter_mut().zip(&self.trigrams) {
            *d = share(c, self.triples);
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
    scores: HistoryBuf<u16, SCORE_HISTORY>,
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
            scores: HistoryBuf::new(),
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
        for (d, v) in f[field::SCORE_HISTORY].iter_mut().zip(s) {
            *d = v as i32;
        }
        let since_s = match self.last_threat_ms {
            Some(t) => (w.end_ms.saturating_sub(t) / 1000).min(NEVER_S),
            None => NEVER_S,
        };
        f[field::SINCE_THREAT] = symlog_q4(since_s as i64);
        let (bigrams, trigrams) = f[field::BIGRAMS.start..].split_at_mut(NGRAM_BUCKETS);
        self.calls.shares(bigrams, trigrams);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
