//! Memory-access predictor features: the prefetcher's view of one access stream.
//!
//! The model does not regress an address. It *chooses* the next cache-line delta among
//! [`N_CANDIDATES`] candidates that cheap hardware-style predictors propose, or says that none
//! will be right. That makes it a learned hybrid prefetcher: it can follow any stride, however
//! large, in programs it has never seen, and it learns which proposer to trust from the recent
//! history. The candidates, in class order:
//!
//! | class | candidate delta (cache lines) |
//! |---|---|
//! | 0 | the stride of the current access's program counter (a 64-entry PC table) |
//! | 1 | the last delta |
//! | 2 | the delta before it |
//! | 3 | +1 (next line) |
//! | 4 | 0 (same line again) |
//! | 5 | -1 (previous line) |
//! | 6 | none of them |
//!
//! Features (57), newest first within each group:
//!
//! | index | feature | unit |
//! |---|---|---|
//! | 0..20 | the last 20 line deltas | `symlog_q4` of cache lines |
//! | 20..40 | kinds of the last 20 accesses, current first | 0 read, 1 write, 2 execute |
//! | 40 | time since the previous access | `symlog_q4` of ns |
//! | 41 | mean time between the last 20 accesses | `symlog_q4` of ns |
//! | 42 | current address's byte offset within its cache line | 0..63 |
//! | 43 | spatial locality: deltas with \|d\| ≤ 2 lines among the last 20 | per-mille |
//! | 44..50 | the 6 candidate deltas | `symlog_q4` of cache lines |
//! | 50..56 | how many of the last 8 accesses each candidate predicted right | 0..8 |
//! | 56 | confidence of the current PC's stride | 0..3 |
//!
//! Outputs (10): Q8 logits of the 7 classes, then Q8 logits of the next access's kind.

use heapless::HistoryBuf;

use super::{newest_first, sat_i32, symlog_q4};

/// Number of features.
pub const N_FEATURES: usize = 57;

/// Where each feature sits in the vector (the table in the module docs).
pub mod field {
    use super::super::Field;
    use super::{HISTORY, N_CANDIDATES};

    /// The last line deltas, newest first.
    pub const DELTAS: Field = 0..HISTORY;
    /// Kinds of the last accesses, current first.
    pub const KINDS: Field = HISTORY..2 * HISTORY;
    /// Time since the previous access.
    pub const GAP: usize = KINDS.end;
    /// Mean time between the last accesses.
    pub const MEAN_GAP: usize = GAP + 1;
    /// Byte offset of the current address in its line.
    pub const LINE_OFFSET: usize = GAP + 2;
    /// Share of small deltas (spatial locality).
    pub const LOCALITY: usize = GAP + 3;
    /// The candidate deltas, in class order.
    pub const CANDIDATES: Field = GAP + 4..GAP + 4 + N_CANDIDATES;
    /// Recent hits of each candidate, in class order.
    pub const CANDIDATE_HITS: Field = CANDIDATES.end..CANDIDATES.end + N_CANDIDATES;
    /// Confidence of the current PC's stride.
    pub const PC_CONFIDENCE: usize = CANDIDATE_HITS.end;

    const _: () = assert!(PC_CONFIDENCE + 1 == super::N_FEATURES);
}
/// Number of delta candidates.
pub const N_CANDIDATES: usize = 6;
/// Class meaning "no candidate is right".
pub const CLASS_NONE: usize = N_CANDIDATES;
/// Number of classes of the delta head.
pub const N_CLASSES: usize = N_CANDIDATES + 1;
/// Number of network outputs.
pub const N_OUTPUTS: usize = N_CLASSES + 3;
/// Output index of the first access-kind logit.
pub const OUT_KIND: usize = N_CLASSES;
/// Feature-layout id (kind 4, layout 1).
pub const SCHEMA_ID: u32 = 0x0004_0001;
/// Deltas of history.
pub const HISTORY: usize = 20;
/// Cache-line size the deltas are measured in.
pub const LINE_BYTES: u64 = 64;
/// Entries of the direct-mapped PC stride table.
pub const PC_TABLE: usize = 64;

/// Kind of a memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum AccessKind {
    /// Load.
    #[default]
    Read = 0,
    /// Store (or read-modify-write).
    Write = 1,
    /// Instruction fetch.
    Execute = 2,
}

impl AccessKind {
    /// Kind from its code (unknown codes read as `Read`).
    pub fn from_code(code: usize) -> AccessKind {
        match code {
            1 => AccessKind::Write,
            2 => AccessKind::Execute,
            _ => AccessKind::Read,
        }
    }
}

/// One memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryAccess {
    /// Virtual address.
    pub addr: u64,
    /// Program counter of the instruction that made it (0 if unknown).
    pub pc: u64,
    /// Read, write or execute.
    pub kind: AccessKind,
    /// Time of the access, ns on any monotonic clock (0 if unknown).
    pub time_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Seen {
    line: u64,
    offset: u8,
    kind: AccessKind,
    time_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct PcEntry {
    tag: u64,
    last_line: u64,
    stride: i64,
    conf: u8,
}

/// State of one access stream: recent accesses, the PC stride table and the candidates'
/// recent record. About 1.9 KiB.
#[derive(Debug, Clone)]
pub struct MemoryHistory {
    seen: HistoryBuf<Seen, { HISTORY + 1 }>,
    pcs: [PcEntry; PC_TABLE],
    candidates: [i64; N_CANDIDATES],
    hits: [u8; N_CANDIDATES],
    pc_conf: u8,
}

impl Default for MemoryHistory {
    fn default() -> Self {
        Self::new()
    }
}

/// Line delta `to - from` as a signed number of lines (wrapping, so any two addresses work).
fn line_delta(from: u64, to: u64) -> i64 {
    to.wrapping_sub(from) as i64
}

fn pc_slot(pc: u64) -> usize {
    // Fibonacci hashing: spreads nearby PCs over the table.
    (pc.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % PC_TABLE
}

impl MemoryHistory {
    /// An empty stream.
    pub const fn new() -> Self {
        MemoryHistory {
            seen: HistoryBuf::new(),
            pcs: [PcEntry {
                tag: 0,
                last_line: 0,
                stride: 0,
                conf: 0,
            }; PC_TABLE],
            candidates: [0, 0, 0, 1, 0, -1],
            hits: [0; N_CANDIDATES],
            pc_conf: 0,
        }
    }

    /// Records an access: scores the candidates proposed for it, updates the PC table, and
    /// proposes the candidates for the next access.
    pub fn push(&mut self, a: MemoryAccess) {
        let line = a.addr / LINE_BYTES;
        let prev = self.seen.recent().copied();
        if let Some(p) = prev {
            let actual = line_delta(p.line, line);
            for (h, &c) in self.hits.iter_mut().zip(self.candidates.iter()) {
                *h = (*h << 1) | (c == actual) as u8;
            }
        }
        let e = &mut self.pcs[pc_slot(a.pc)];
        if e.tag == a.pc && e.conf != u8::MAX {
            let stride = line_delta(e.last_line, line);
            e.conf = if stride == e.stride {
                (e.conf + 1).min(3)
            } else {
                0
            };
            e.stride = stride;
        } else {
            *e = PcEntry {
                tag: a.pc,
                last_line: line,
                stride: 0,
                conf: 0,
            };
        }
        e.last_line = line;
        let pc_stride = e.stride;
        self.pc_conf = e.conf;
        let cur = Seen {
            line,
            offset: (a.addr % LINE_BYTES) as u8,
            kind: a.kind,
            time_ns: a.time_ns,
        };
        self.seen.write(cur);
        let mut recent = [Seen::default(); 3];
        newest_first(&self.seen, &mut recent, cur);
        let d1 = line_delta(recent[1].line, recent[0].line);
        let d2 = line_delta(recent[2].line, recent[1].line);
        self.candidates = [pc_stride, d1, d2, 1, 0, -1];
    }

    /// Candidate deltas (cache lines) proposed for the next access, in class order.
    pub fn candidates(&self) -> [i64; N_CANDIDATES] {
        self.candidates
    }

    /// Current cache line (`None` before the first access).
    pub fn current_line(&self) -> Option<u64> {
        self.seen.recent().map(|s| s.line)
    }

    /// Class of an actual next access: the first candidate that predicted its line, or
    /// [`CLASS_NONE`]. This is the training label.
    pub fn class_of(&self, next_addr: u64) -> usize {
        let Some(cur) = self.current_line() else {
            return CLASS_NONE;
        };
        let actual = line_delta(cur, next_addr / LINE_BYTES);
        self.candidates
            .iter()
            .position(|&c| c == actual)
            .unwrap_or(CLASS_NONE)
    }

    /// The feature vector (see the module docs).
    pub fn features(&self) -> [i32; N_FEATURES] {
        let mut f = [0i32; N_FEATURES];
        let Some(&cur) = self.seen.recent() else {
            return f;
        };
        let mut s = [cur; HISTORY + 1];
        newest_first(&self.seen, &mut s, cur);
        let n = self.seen.len();
        let mut local = 0u32;
        let mut gap_sum = 0u64;
        for k in 0..HISTORY {
            let real = k + 1 < n;
            let d = if real {
                line_delta(s[k + 1].line, s[k].line)
            } else {
                0
            };
            f[field::DELTAS.start + k] = symlog_q4(d);
            if real {
                local += (d.unsigned_abs() <= 2) as u32;
                gap_sum = gap_sum.saturating_add(s[k].time_ns.saturating_sub(s[k + 1].time_ns));
            }
            f[field::KINDS.start + k] = s[k].kind as i32;
        }
        let deltas = (n.saturating_sub(1)).min(HISTORY) as u64;
        f[field::GAP] = symlog_q4(sat_i32(s[0].time_ns.saturating_sub(s[1].time_ns)) as i64);
        f[field::MEAN_GAP] = gap_sum
            .checked_div(deltas)
            .map_or(0, |g| symlog_q4(g as i64));
        f[field::LINE_OFFSET] = cur.offset as i32;
        f[field::LOCALITY] = (local as u64 * 1000).checked_div(deltas).unwrap_or(0) as i32;
        for k in 0..N_CANDIDATES {
            f[field::CANDIDATES.start + k] = symlog_q4(self.candidates[k]);
            f[field::CANDIDATE_HITS.start + k] = self.hits[k].count_ones() as i32;
        }
        f[field::PC_CONFIDENCE] = self.pc_conf as i32;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_stream_is_learned_by_candidates() {
        let mut h = MemoryHistory::new();
        assert_eq!(h.features(), [0; N_FEATURES]);
        assert_eq!(h.class_of(0), CLASS_NONE);
        let base = 0x7fff_0000_0000u64;
        for i in 0..30u64 {
            h.push(MemoryAccess {
                addr: base + i * 4 * LINE_BYTES,
                pc: 0x400123,
                kind: AccessKind::Read,
                time_ns: i * 10,
            });
        }
        assert_eq!(h.candidates()[0], 4);
        assert_eq!(h.candidates()[1], 4);
        assert_eq!(h.class_of(base + 30 * 4 * LINE_BYTES), 0);
        assert_eq!(h.class_of(base + 29 * 4 * LINE_BYTES + LINE_BYTES), 3);
        assert_eq!(h.class_of(0), CLASS_NONE);
        let f = h.features();
        assert_eq!(f[0], symlog_q4(4));
        assert_eq!(f[40], symlog_q4(10));
        assert_eq!(f[41], symlog_q4(10));
        assert_eq!(f[43], 0);
        assert_eq!(f[50], 8);
        assert_eq!(f[53], 0);
        assert_eq!(f[56], 3);
    }

    #[test]
    fn extreme_addresses_do_not_overflow() {
        let mut h = MemoryHistory::new();
        for &addr in &[0u64, u64::MAX, 0, u64::MAX / 2, 1] {
            h.push(MemoryAccess {
                addr,
                pc: u64::MAX,
                kind: AccessKind::Execute,
                time_ns: u64::MAX - addr,
            });
            let _ = h.features();
            let _ = h.class_of(addr ^ u64::MAX);
        }
    }
}
