//! Memory-access predictor features: a prefetcher's view of one access stream.
//!
//! The model does not regress an address. At every access that moves to a new *block* (a
//! cache line, or a page when the history is made with [`MemoryHistory::with_block_bytes`]),
//! cheap hardware-style proposers each name one block to prefetch, and the model estimates,
//! for each proposal, the probability that it is a **useful prefetch**: a block not resident
//! now that is demanded before a prefetched copy would have been evicted (the trainer's
//! labels, `trainer::data::access_samples`). The predictor then decides, per block change,
//! what to prefetch (0 to [`MAX_DEGREE`] blocks; none is "do not prefetch"):
//! - proposals naming a recently touched block (or no change) are never prefetched;
//! - at cache-line level, the next line and the PC stride (once the current PC has repeated
//!   it) are always prefetched: their union is the base that never lost to next-line or
//!   best-offset on programs left out of training, and the model ranks them;
//! - every other proposal (and, at page level, every proposal) needs the model's probability
//!   ≥ the blob's threshold **and** an on-line record: at least [`MIN_RECENT_USEFUL`] of its
//!   last 8 proposals came true in this very stream within [`HORIZON`] block changes
//!   ([`MIN_RECENT_USEFUL_PAGE`] at page level). Programs the model never saw differ from
//!   those it was trained on; the record makes a proposer that does not work in this program
//!   stop issuing there, so a wrong model costs little. At page level the candidate must
//!   also name the delta the stream just moved by, and have named it at the previous fault
//!   too ([`MemoryHistory::steady`]): a record earned with another delta says nothing of a
//!   new one, and a jump is no direction;
//! - at page level, once a proposal is issued, the rest of the degree goes further along the
//!   most probable one's delta (`cur + 2d`, `cur + 3d`, …), as Leap prefetches a window along
//!   its trend, when that delta is the majority delta and the depth has a record of its own:
//!   all of the last 8 "two majority deltas ahead" proposals came true
//!   ([`MemoryHistory::depth_record`]). Without it, a program whose next page follows the
//!   trend but whose page after that does not paid a useless prefetch at every fault.
//!
//! **What to push.** At cache-line level, every access (a hardware prefetcher's view). At
//! page level, what a page-fault handler sees: every fault, and the first touch of a page
//! these predictions prefetched (in Linux a minor fault on a page found in the swap cache),
//! never the hits on other resident pages. The trainer's page-level samples are made that way
//! (`trainer::data::access_samples`), so "block changes" there are faults, and a proposal's
//! record says whether its page faulted (or was first touched) within [`HORIZON`] of them:
//! whether it would have been a useful prefetch.
//!
//! Between block changes no inference runs: an access that stays in its block issues at most
//! the PC-stride prefetch ([`MemoryHistory::stride_proposal`]), as a stride prefetcher
//! would on every access.
//!
//! The candidates, in class order:
//!
//! | class | candidate delta (blocks) |
//! |---|---|
//! | 0 | the stride of the current access's program counter (a 256-entry PC table) |
//! | 1 | the last block change |
//! | 2 | the block change before it |
//! | 3 | the majority block change of the last 16 (Boyer–Moore vote; Leap's trend) |
//! | 4 | +1 (next block) |
//! | 5 | +2 |
//! | 6 | -1 (previous block) |
//! | 7 | the offset a best-offset learner (Michaud, HPCA 2016) currently trusts, 0 when off |
//!
//! The history remembers the last [`HORIZON`] proposals and marks each one whose block is
//! demanded before it retires ([`MemoryHistory::matured`]): the "recent hits" features and
//! the on-line record above.
//!
//! Features (55), newest first within each group; "block changes" are the accesses whose
//! block differs from the previous access's:
//!
//! | index | feature | unit |
//! |---|---|---|
//! | 0..16 | the last 16 block changes | `symlog_q4` of blocks |
//! | 16..24 | kinds of the last 8 accesses, current first | 0 read, 1 write, 2 execute |
//! | 24 | time since the previous access | `symlog_q4` of ns |
//! | 25 | time since the previous block change | `symlog_q4` of ns |
//! | 26 | current address's offset within its block | 64ths of a block |
//! | 27 | spatial locality: changes with \|d\| ≤ 2 blocks among the last 16 | per-mille |
//! | 28 | accesses spent in the previous block | `symlog_q4` |
//! | 29..37 | the 8 candidate deltas | `symlog_q4` of blocks |
//! | 37..45 | how many of each candidate's last 8 retired proposals were useful | 0..8 |
//! | 45..53 | candidate names a recently touched block (never a useful prefetch) | 0/1 |
//! | 53 | confidence of the current PC's stride | 0..3 |
//! | 54 | block size | log2 of bytes (6 for cache lines, 12 for pages) |
//!
//! Outputs (11): Q8 logits of "proposal k is a useful prefetch" for the 8 candidates
//! (independent sigmoids), then Q8 logits of the next access's kind.

use super::{sat_i32, symlog_q4};

/// Number of features.
pub const N_FEATURES: usize = 55;

/// Where each feature sits in the vector (the table in the module docs).
pub mod field {
    use super::super::Field;
    use super::{HISTORY, KIND_HISTORY, N_CANDIDATES};

    /// The last block changes, newest first.
    pub const DELTAS: Field = 0..HISTORY;
    /// Kinds of the last accesses, current first.
    pub const KINDS: Field = HISTORY..HISTORY + KIND_HISTORY;
    /// Time since the previous access.
    pub const GAP: usize = KINDS.end;
    /// Time since the previous block change.
    pub const CHANGE_GAP: usize = GAP + 1;
    /// Offset of the current address in its block, 64ths.
    pub const BLOCK_OFFSET: usize = GAP + 2;
    /// Share of small block changes (spatial locality).
    pub const LOCALITY: usize = GAP + 3;
    /// Accesses spent in the previous block.
    pub const RUN: usize = GAP + 4;
    /// The candidate deltas, in class order.
    pub const CANDIDATES: Field = RUN + 1..RUN + 1 + N_CANDIDATES;
    /// Recent useful proposals of each candidate, in class order.
    pub const CANDIDATE_HITS: Field = CANDIDATES.end..CANDIDATES.end + N_CANDIDATES;
    /// Whether each candidate names a recently touched block.
    pub const CANDIDATE_STALE: Field = CANDIDATE_HITS.end..CANDIDATE_HITS.end + N_CANDIDATES;
    /// Confidence of the current PC's stride.
    pub const PC_CONFIDENCE: usize = CANDIDATE_STALE.end;
    /// log2 of the block size: one model serves cache lines and pages.
    pub const BLOCK_SHIFT: usize = PC_CONFIDENCE + 1;

    const _: () = assert!(BLOCK_SHIFT + 1 == super::N_FEATURES);
}

/// Class (output index) of each candidate.
pub mod class {
    /// The current PC's stride.
    pub const PC_STRIDE: usize = 0;
    /// The last block change.
    pub const LAST: usize = 1;
    /// The block change before it.
    pub const BEFORE_LAST: usize = 2;
    /// The majority block change.
    pub const MAJORITY: usize = 3;
    /// +1 block.
    pub const NEXT: usize = 4;
    /// +2 blocks.
    pub const NEXT_2: usize = 5;
    /// -1 block.
    pub const PREVIOUS: usize = 6;
    /// The best-offset learner's offset.
    pub const BEST_OFFSET: usize = 7;
    const _: () = assert!(BEST_OFFSET + 1 == super::N_CANDIDATES);
}

/// Number of candidate proposals (and of "useful" outputs).
pub const N_CANDIDATES: usize = 8;
/// Number of network outputs.
pub const N_OUTPUTS: usize = N_CANDIDATES + 3;
/// Output index of the first access-kind logit.
pub const OUT_KIND: usize = N_CANDIDATES;
/// Feature-layout id (kind 4, layout 2).
pub const SCHEMA_ID: u32 = 0x0004_0003;
/// Block changes of history.
pub const HISTORY: usize = 16;
/// Access kinds of history.
pub const KIND_HISTORY: usize = 8;
/// Block changes a proposal has to come true.
pub const HORIZON: usize = 16;
/// Most blocks prefetched per access.
pub const MAX_DEGREE: usize = 4;
/// Cache-line size: the default block.
pub const LINE_BYTES: u64 = 64;
/// Page size, the block of the OS-level setting.
pub const PAGE_BYTES: u64 = 4096;
/// Entries of the direct-mapped PC stride table.
pub const PC_TABLE: usize = 256;
/// On-line record a proposal outside the base needs at cache-line level (besides the model's
/// probability): at least this many of its candidate's last 8 retired proposals came true in
/// this stream, so a proposer that does not work in a program stops issuing there. Chosen by
/// the leave-programs-out CV (`scripts/memory_cv.sh`): with 3 the model's own proposals won
/// up to 0.02 on one program and lost up to 0.009 on another; with 6 none lost.
pub const MIN_RECENT_USEFUL: i32 = 6;
/// As [`MIN_RECENT_USEFUL`], at page level, where a useless prefetch evicts a whole page of
/// a small resident set: all of the last 8.
pub const MIN_RECENT_USEFUL_PAGE: i32 = 8;
/// Default operating threshold of a proposal's probability, per-mille, and the one the
/// trainer writes into memory blobs: chosen by the leave-programs-out CV (seeds 42 and 1), where
/// 300 and 500 tie at cache-line level and 300 wins a little at page level.
pub const DEFAULT_THRESHOLD: u16 = 300;
/// `symlog_q4(2)`: a change of at most 2 blocks counts as spatially local (`symlog_q4` is
/// monotone in `|x|`, so `|symlog_q4(d)| ≤ SYMLOG_2` exactly when `|d| ≤ 2`).
const SYMLOG_2: i32 = symlog_q4(2);
const _: () = assert!(symlog_q4(3) > SYMLOG_2 && symlog_q4(-3) < -SYMLOG_2);
/// Slots of the ring of recent blocks (a power of two ≥ `HISTORY + 1`, so indexing is a mask).
const RING: usize = 32;
const _: () = assert!(RING.is_power_of_two() && RING > HISTORY);
/// Marks a proposal that cannot be useful (a recent block, or no change at all). Proposals
/// are stored as [`proposal_tag`]s, never 0, so a fresh history is all zeros apart from its
/// block size and initialising one is a `memset`, not kilobytes of code.
const NO_BLOCK: u32 = 0;

/// How a proposed block is remembered: the low 32 bits of `block + 1` ([`NO_BLOCK`] for the
/// one block in 2^32 where they are 0, which is then never counted useful). Two blocks share
/// a tag only if they are a multiple of 2^32 blocks apart (256 GiB of cache lines, 16 TiB of
/// pages) and within [`HORIZON`] block changes of each other. Half the memory of whole block
/// numbers, and the scoring of the 136 outstanding proposals at each change compares 32-bit
/// words.
const fn proposal_tag(block: u64) -> u32 {
    block.wrapping_add(1) as u32
}

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
struct PcEntry {
    /// Low 32 bits of the PC's last block (strides are taken modulo 2^32 blocks).
    last_block: u32,
    /// Last stride, blocks; 0 when it did not fit 16 bits (never proposed).
    stride: i16,
    /// 8 more bits of the PC's hash, to tell most PCs sharing the slot apart.
    tag: u8,
    /// Times in a row the stride repeated (0..=3).
    conf: u8,
}

/// State of one access stream: recent blocks and accesses, the PC stride table, the current
/// candidates and the record of the last [`HORIZON`] proposals. About 3.4 KiB.
#[derive(Debug, Clone)]
pub struct MemoryHistory {
    shift: u32,
    /// Recent distinct consecutive blocks, a ring; `newest` indexes the newest.
    blocks: [u64; RING],
    /// `symlog_q4` of the change into each block of `blocks` (same slots; 0 for the first):
    /// computed once at the change, read by every later feature vector.
    changes: [i16; RING],
    newest: usize,
    n_blocks: usize,
    /// Kinds of the last accesses, 2 bits each, newest in the low bits.
    kinds: u32,
    accesses: u64,
    last_time: u64,
    gap: u64,
    change_time: u64,
    change_gap: u64,
    offset: u8,
    run: u32,
    prev_run: u32,
    pcs: [PcEntry; PC_TABLE],
    pc_conf: u8,
    /// The latest access's PC stride (blocks).
    pc_stride: i16,
    changed: bool,
    candidates: [i64; N_CANDIDATES],
    stale: u8,
    /// Bit k: candidate k's delta is the last change and the one it had at the previous
    /// block change ([`MemoryHistory::steady`]).
    steady: u8,
    /// [`proposal_tag`]s of the proposed blocks ([`NO_BLOCK`] = none).
    proposals: [[u32; N_CANDIDATES]; HORIZON],
    found: [u8; HORIZON],
    slot: usize,
    n_proposals: usize,
    hits: [u8; N_CANDIDATES],
    /// The depth proposal of each of the last [`HORIZON`] block changes (two majority
    /// deltas ahead, plus one; [`NO_BLOCK`] = none), whether it came true (bit j for slot j),
    /// and the record of the retired ones (newest in bit 0).
    depth_proposals: [u32; HORIZON],
    depth_found: u16,
    depth_hits: u8,
    matured: Option<u8>,
    best_offset: BestOffset,
}

impl Default for MemoryHistory {
    fn default() -> Self {
        Self::new()
    }
}

/// The Boyer–Moore majority-vote candidate of `values` (0 when empty): the majority value
/// whenever one value fills more than half of them (check that with a count if it matters).
/// One pass, no memory; Leap's trend detection uses it on page-fault deltas.
pub fn majority_candidate(values: impl Iterator<Item = i64>) -> i64 {
    // without a branch on the data (deltas are data): a fresh vote takes `v` as its
    // candidate, then every vote counts +1 for the candidate, -1 against it
    let (mut cand, mut count) = (0i64, 0i32);
    for v in values {
        if count == 0 {
            cand = v;
        }
        count += 2 * (v == cand) as i32 - 1;
    }
    cand
}

/// Block delta `to - from` as a signed number of blocks (wrapping, so any two addresses work).
fn block_delta(from: u64, to: u64) -> i64 {
    to.wrapping_sub(from) as i64
}

/// Slot and tag of a PC in the stride table (8 bytes an entry, so 256 entries cost 2 KiB).
fn pc_slot(pc: u64) -> (usize, u8) {
    // Fibonacci hashing: spreads nearby PCs over the table.
    let h = pc.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 56) as usize % PC_TABLE, (h >> 48) as u8)
}

/// The offsets a best-offset learner tests: 1..=256 with no prime factor above 5.
const OFFSETS: [u16; 52] = [
    1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 25, 27, 30, 32, 36, 40, 45, 48, 50, 54, 60,
    64, 72, 75, 80, 81, 90, 96, 100, 108, 120, 125, 128, 135, 144, 150, 160, 162, 180, 192, 200,
    216, 225, 240, 243, 250, 256,
];
/// Entries of the best-offset learner's recent-requests table.
const RR_ENTRIES: usize = 128;

/// A best-offset learner (Michaud, "Best-Offset Hardware Prefetching", HPCA 2016) over block
/// changes: each change tests one offset `d` (is `block - d` among the recent blocks?); a
/// learning phase ends when an offset scores 31 or after 100 rounds over the list, and the
/// best offset is then trusted, or none (0) when it scored 1 or less. Without fill timing the
/// recent-requests table takes each block as it comes. About 0.4 KiB.
#[derive(Debug, Clone)]
struct BestOffset {
    /// Tags of recent blocks (16-bit hashes), direct-mapped.
    recent: [u16; RR_ENTRIES],
    scores: [u8; OFFSETS.len()],
    next: u8,
    round: u8,
    best: u8,
    best_score: u8,
    offset: i64,
}

impl BestOffset {
    const fn new() -> Self {
        BestOffset {
            recent: [0; RR_ENTRIES],
            scores: [0; OFFSETS.len()],
            next: 0,
            round: 0,
            best: 0,
            best_score: 0,
            offset: 0,
        }
    }

    fn slot(block: u64) -> (usize, u16) {
        let h = block.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> 57) as usize % RR_ENTRIES, (h >> 16) as u16 | 1)
    }

    fn seen(&self, block: u64) -> bool {
        let (i, tag) = Self::slot(block);
        self.recent[i] == tag
    }

    /// Learns from a block change to `block`; returns the offset to prefetch (0: none).
    fn learn(&mut self, block: u64) -> i64 {
        let i = self.next as usize % OFFSETS.len();
        let d = OFFSETS[i] as u64;
        if self.seen(block.wrapping_sub(d)) {
            self.scores[i] = self.scores[i].saturating_add(1);
            if self.scores[i] > self.best_score {
                (self.best, self.best_score) = (i as u8, self.scores[i]);
            }
        }
        let (slot, tag) = Self::slot(block);
        self.recent[slot] = tag;
        self.next += 1;
        if self.next as usize == OFFSETS.len() {
            self.next = 0;
            self.round += 1;
        }
        if self.best_score >= 31 || self.round >= 100 {
            self.offset = if self.best_score <= 1 {
                0
            } else {
                OFFSETS[self.best as usize % OFFSETS.len()] as i64
            };
            *self = BestOffset {
                recent: self.recent,
                offset: self.offset,
                ..BestOffset::new()
            };
        }
        self.offset
    }
}

impl MemoryHistory {
    /// An empty stream over cache lines ([`LINE_BYTES`]).
    pub const fn new() -> Self {
        Self::with_shift(LINE_BYTES.trailing_zeros())
    }

    /// An empty stream over blocks of `block_bytes` (rounded down to a power of two, at least
    /// 2 bytes, at most 4 GiB): [`PAGE_BYTES`] for the OS-level (paging) setting.
    pub const fn with_block_bytes(block_bytes: u64) -> Self {
        let shift = if block_bytes < 2 {
            1
        } else {
            63 - block_bytes.leading_zeros()
        };
        Self::with_shift(if shift > 32 { 32 } else { shift })
    }

    const fn with_shift(shift: u32) -> Self {
        MemoryHistory {
            shift,
            blocks: [0; RING],
            changes: [0; RING],
            newest: 0,
            n_blocks: 0,
            kinds: 0,
            accesses: 0,
            last_time: 0,
            gap: 0,
            change_time: 0,
            change_gap: 0,
            offset: 0,
            run: 0,
            prev_run: 0,
            pcs: [PcEntry {
                tag: 0,
                last_block: 0,
                stride: 0,
                conf: 0,
            }; PC_TABLE],
            pc_conf: 0,
            pc_stride: 0,
            changed: false,
            candidates: [0; N_CANDIDATES],
            stale: 0,
            steady: 0,
            proposals: [[NO_BLOCK; N_CANDIDATES]; HORIZON],
            found: [0; HORIZON],
            slot: 0,
            n_proposals: 0,
            hits: [0; N_CANDIDATES],
            depth_proposals: [NO_BLOCK; HORIZON],
            depth_found: 0,
            depth_hits: 0,
            matured: None,
            best_offset: BestOffset::new(),
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(&self) -> u64 {
        1 << self.shift
    }

    /// Block of an address.
    pub const fn block_of(&self, addr: u64) -> u64 {
        addr >> self.shift
    }

    /// The `k`-th newest distinct block (0 = current); `k < n_blocks`.
    fn block_at(&self, k: usize) -> u64 {
        self.blocks[self.newest.wrapping_sub(k) & (RING - 1)]
    }

    /// How many of the newest blocks count as recently touched: at page level the whole ring
    /// (a resident set holds more than the history's pages), at cache-line level the last
    /// `HISTORY + 1`.
    fn recent_len(&self) -> usize {
        if self.shift >= PAGE_BYTES.trailing_zeros() {
            self.n_blocks
        } else {
            self.n_blocks.min(HISTORY + 1)
        }
    }

    /// Whether `block` is among the recently touched ones (at page level the whole ring, at
    /// cache-line level the last `HISTORY + 1`): never worth prefetching.
    pub fn is_recent(&self, block: u64) -> bool {
        (0..self.recent_len()).any(|k| self.block_at(k) == block)
    }

    /// [`is_recent`](Self::is_recent) of every target at once (bit j for `targets[j]`): one
    /// pass over the recent blocks, with no branch on the data, instead of one scan per target.
    fn recent_mask<const N: usize>(&self, targets: &[u64; N]) -> u32 {
        let mut mask = 0u32;
        for k in 0..self.recent_len() {
            let b = self.block_at(k);
            for (j, &t) in targets.iter().enumerate() {
                mask |= ((b == t) as u32) << j;
            }
        }
        mask
    }

    fn update_pc(&mut self, pc: u64, block: u64) {
        let (slot, tag) = pc_slot(pc);
        let low = block as u32;
        let e = &mut self.pcs[slot];
        if e.tag == tag {
            let stride = i16::try_from(low.wrapping_sub(e.last_block) as i32).unwrap_or(0);
            e.conf = if stride == e.stride {
                (e.conf + 1).min(3)
            } else {
                0
            };
            e.stride = stride;
        } else {
            *e = PcEntry {
                tag,
                last_block: low,
                stride: 0,
                conf: 0,
            };
        }
        e.last_block = low;
        self.pc_conf = e.conf;
        self.pc_stride = e.stride;
    }

    /// Boyer–Moore majority vote over the last block changes (the trend, as in Leap).
    fn majority_delta(&self) -> i64 {
        let n = self.n_blocks.saturating_sub(1).min(HISTORY);
        majority_candidate((0..n).map(|k| block_delta(self.block_at(k + 1), self.block_at(k))))
    }

    /// Records an access. Returns `true` when it moved to a new block: only then are the
    /// candidates renewed, the proposals scored and [`matured`](Self::matured) set, and only
    /// then is a prediction worth making.
    pub fn push(&mut self, a: MemoryAccess) -> bool {
        let block = a.addr >> self.shift;
        self.kinds = ((self.kinds << 2) | a.kind as u32) & 0xFFFF;
        self.gap = if self.accesses > 0 {
            a.time_ns.saturating_sub(self.last_time)
        } else {
            0
        };
        self.last_time = a.time_ns;
        let within = a.addr & ((1u64 << self.shift) - 1);
        self.offset = ((within << 6) >> self.shift) as u8;
        self.accesses = self.accesses.saturating_add(1);
        self.update_pc(a.pc, block);
        if self.n_blocks > 0 && self.block_at(0) == block {
            self.run = self.run.saturating_add(1);
            self.matured = None;
            self.changed = false;
            return false;
        }
        self.changed = true;
        self.prev_run = self.run;
        self.run = 1;
        self.change_gap = if self.n_blocks > 0 {
            a.time_ns.saturating_sub(self.change_time)
        } else {
            0
        };
        self.change_time = a.time_ns;
        // a tag of 0 (NO_BLOCK) matches nothing
        let stored = proposal_tag(block);
        let live = if stored == NO_BLOCK { 0 } else { u16::MAX };
        let records = self.found.iter_mut().zip(&self.depth_proposals);
        let mut depth_found = 0u16;
        for (j, (props, (found, &depth))) in self.proposals.iter().zip(records).enumerate() {
            let mut m = 0u8;
            for (k, &p) in props.iter().enumerate() {
                m |= ((p == stored) as u8) << k;
            }
            *found |= m & live as u8;
            depth_found |= ((depth == stored) as u16) << j;
        }
        self.depth_found |= depth_found & live;
        let change = if self.n_blocks > 0 {
            symlog_q4(block_delta(self.block_at(0), block))
        } else {
            0
        };
        self.newest = (self.newest + 1) & (RING - 1);
        self.blocks[self.newest] = block;
        // |symlog_q4| ≤ 1008 fits i16
        self.changes[self.newest] = change as i16;
        self.n_blocks = (self.n_blocks + 1).min(RING);
        // `slot` is always below HORIZON; taken modulo it, every index below is one the
        // compiler sees in range (no bounds-check panic in firmware images)
        let slot = self.slot % HORIZON;
        self.matured = if self.n_proposals == HORIZON {
            let m = self.found[slot];
            for (k, h) in self.hits.iter_mut().enumerate() {
                *h = (*h << 1) | ((m >> k) & 1);
            }
            self.depth_hits = (self.depth_hits << 1) | ((self.depth_found >> slot) & 1) as u8;
            Some(m)
        } else {
            None
        };
        let d = |k: usize| {
            if k + 1 < self.n_blocks {
                block_delta(self.block_at(k + 1), self.block_at(k))
            } else {
                0
            }
        };
        let mut c = [0i64; N_CANDIDATES];
        c[class::PC_STRIDE] = self.pc_stride as i64;
        c[class::LAST] = d(0);
        c[class::BEFORE_LAST] = d(1);
        c[class::MAJORITY] = self.majority_delta();
        c[class::NEXT] = 1;
        c[class::NEXT_2] = 2;
        c[class::PREVIOUS] = -1;
        c[class::BEST_OFFSET] = self.best_offset.learn(block);
        self.steady = 0;
        for (k, (new, old)) in c.iter().zip(&self.candidates).enumerate() {
            self.steady |= ((new == old && *new == c[class::LAST]) as u8) << k;
        }
        self.candidates = c;
        // the candidates' targets, then the depth proposal's (two majority deltas ahead)
        let majority = c[class::MAJORITY];
        let mut targets = [0u64; N_CANDIDATES + 1];
        for (t, &d) in targets.iter_mut().zip(&c) {
            *t = block.wrapping_add(d as u64);
        }
        targets[N_CANDIDATES] = block.wrapping_add(majority.wrapping_mul(2) as u64);
        let recent = self.recent_mask(&targets);
        self.stale = 0;
        for (k, (p, (&d, &target))) in self.proposals[slot]
            .iter_mut()
            .zip(c.iter().zip(&targets))
            .enumerate()
        {
            let stale = d == 0 || (recent >> k) & 1 == 1;
            self.stale |= (stale as u8) << k;
            *p = if stale {
                NO_BLOCK
            } else {
                proposal_tag(target)
            };
        }
        self.found[slot] = 0;
        self.depth_proposals[slot] = if majority == 0 || (recent >> N_CANDIDATES) & 1 == 1 {
            NO_BLOCK
        } else {
            proposal_tag(targets[N_CANDIDATES])
        };
        self.depth_found &= !(1 << slot);
        self.slot = (slot + 1) % HORIZON;
        self.n_proposals = (self.n_proposals + 1).min(HORIZON);
        true
    }

    /// The stride prefetch of the latest access when it stayed in its block (a PC-stride
    /// prefetcher acts on every access, not only on block changes): the block one stride
    /// ahead when the access's program counter has repeated a non-zero stride and that block
    /// was not touched recently. Cache-line streams only (`None` for pages, where an access
    /// within the page says nothing new).
    pub fn stride_proposal(&self) -> Option<u64> {
        if self.changed || self.shift >= PAGE_BYTES.trailing_zeros() {
            return None;
        }
        let cur = self.current_block()?;
        let target = cur.wrapping_add(self.pc_stride as i64 as u64);
        (self.pc_conf >= 1 && self.pc_stride != 0 && !self.is_recent(target)).then_some(target)
    }

    /// Whether the latest [`push`](Self::push) moved to a new block (what it returned).
    pub fn changed_block(&self) -> bool {
        self.changed
    }

    /// Candidate deltas (blocks) proposed at the latest block change, in class order.
    pub fn candidates(&self) -> [i64; N_CANDIDATES] {
        self.candidates
    }

    /// Block candidate `k` proposes to prefetch, or `None` when it names a recently touched
    /// block (or no change), which is never a useful prefetch.
    pub fn proposal(&self, k: usize) -> Option<u64> {
        let c = *self.candidates.get(k)?;
        let cur = self.current_block()?;
        ((self.stale >> k) & 1 == 0).then(|| cur.wrapping_add(c as u64))
    }

    /// Whether candidate `k` names the delta the stream just moved by (the last change) and
    /// named the same delta at the previous block change: what the page-level rule needs
    /// besides a record. A candidate's record (its last 8 retired proposals) is about the
    /// deltas it named [`HORIZON`] block changes ago; when its delta jumps (the last change
    /// after a jump, a new majority), that record says nothing of the new one, so the rule
    /// waits one block change. And a delta the stream is not moving by at this fault (+1 with
    /// a perfect record from a sequential read, just after a jump elsewhere) is not issued,
    /// as readahead waits for a sequential fault.
    pub fn steady(&self, k: usize) -> bool {
        k < N_CANDIDATES && (self.steady >> k) & 1 == 1
    }

    /// Current block (`None` before the first access).
    pub fn current_block(&self) -> Option<u64> {
        (self.n_blocks > 0).then(|| self.block_at(0))
    }

    /// Which proposals of the block change [`HORIZON`] changes ago came true (bit k =
    /// candidate k's block was demanded since), set by a [`push`](Self::push) that changed
    /// block once `HORIZON` proposals exist; `None` otherwise.
    pub fn matured(&self) -> Option<u8> {
        self.matured
    }

    /// How many of the last 8 retired depth proposals (the block two majority deltas ahead,
    /// `cur + 2d`) came true within [`HORIZON`] block changes: the record a page-level
    /// prefetch further along the trend needs, as each candidate needs its own. Not a
    /// feature: the decision rule reads it, the network does not.
    pub fn depth_record(&self) -> i32 {
        self.depth_hits.count_ones() as i32
    }

    /// The feature vector (see the module docs).
    pub fn features(&self) -> [i32; N_FEATURES] {
        let mut f = [0i32; N_FEATURES];
        if self.accesses == 0 {
            return f;
        }
        let mut local = 0u32;
        let real = self.n_blocks.saturating_sub(1).min(HISTORY);
        for k in 0..HISTORY {
            let s = if k < real {
                self.changes[self.newest.wrapping_sub(k) & (RING - 1)] as i32
            } else {
                0
            };
            f[field::DELTAS.start + k] = s;
            // |d| ≤ 2 blocks
            local += (k < real && s.abs() <= SYMLOG_2) as u32;
        }
        for k in 0..KIND_HISTORY {
            if (k as u64) < self.accesses {
                f[field::KINDS.start + k] = ((self.kinds >> (2 * k)) & 3) as i32;
            }
        }
        f[field::GAP] = symlog_q4(sat_i32(self.gap) as i64);
        f[field::CHANGE_GAP] = symlog_q4(sat_i32(self.change_gap) as i64);
        f[field::BLOCK_OFFSET] = self.offset as i32;
        f[field::LOCALITY] = (local * 1000).checked_div(real as u32).unwrap_or(0) as i32;
        f[field::RUN] = symlog_q4(self.prev_run as i64);
        for k in 0..N_CANDIDATES {
            f[field::CANDIDATES.start + k] = symlog_q4(self.candidates[k]);
            f[field::CANDIDATE_HITS.start + k] = self.hits[k].count_ones() as i32;
            f[field::CANDIDATE_STALE.start + k] = ((self.stale >> k) & 1) as i32;
        }
        f[field::PC_CONFIDENCE] = self.pc_conf as i32;
        f[field::BLOCK_SHIFT] = self.shift as i32;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(addr: u64, pc: u64, t: u64) -> MemoryAccess {
        MemoryAccess {
            addr,
            pc,
            kind: AccessKind::Read,
            time_ns: t,
        }
    }

    #[test]
    fn stride_stream_is_learned_by_candidates_and_labels() {
        let mut h = MemoryHistory::new();
        assert_eq!(h.features(), [0; N_FEATURES]);
        assert_eq!(h.proposal(0), None);
        let base = 0x7fff_0000_0000u64;
        let mut matured = 0;
        for i in 0..40u64 {
            // two accesses per line: only the first changes block
            assert!(h.push(read(base + i * 4 * LINE_BYTES, 0x400123, i * 20)));
            assert!(!h.push(read(base + i * 4 * LINE_BYTES + 8, 0x400127, i * 20 + 10)));
            assert_eq!(h.matured(), None);
            if i >= HORIZON as u64 {
                matured += 1;
            }
        }
        assert!(matured > 0);
        let c = h.candidates();
        assert_eq!((c[0], c[1], c[2], c[3], c[7]), (4, 4, 4, 4, 0));
        let cur = h.current_block().unwrap();
        assert_eq!(h.proposal(0), Some(cur + 4));
        assert_eq!(h.proposal(4), Some(cur + 1));
        // -1 names a line never touched (the stream skips 3 of 4): not stale; -4 would be
        assert_eq!(h.proposal(6), Some(cur - 1));
        // the stride proposals came true, +1/+2/-1 never did
        h.push(read(base + 40 * 4 * LINE_BYTES, 0x400123, 800));
        let m = h.matured().unwrap();
        assert_eq!(m & 0b1111, 0b1111, "{m:08b}");
        assert_eq!(m & 0b0111_0000, 0, "{m:08b}");
        assert_eq!(
            m >> 7 & 1,
            0,
            "best offset still learning: proposes nothing"
        );
        let f = h.features();
        assert_eq!(f[field::DELTAS.start], symlog_q4(4));
        assert_eq!(f[field::GAP], symlog_q4(10));
        assert_eq!(f[field::CHANGE_GAP], symlog_q4(20));
        assert_eq!(f[field::LOCALITY], 0);
        assert_eq!(f[field::RUN], symlog_q4(2));
        assert_eq!(f[field::CANDIDATE_HITS.start], 8);
        assert_eq!(f[field::CANDIDATE_HITS.start + 4], 0);
        assert_eq!(f[field::PC_CONFIDENCE], 3);
    }

    #[test]
    fn depth_record_follows_whether_two_steps_ahead_comes_true() {
        // a sequential walk over pages: the page two steps ahead always comes
        let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
        for i in 0..64u64 {
            h.push(read(0x100_0000 + i * PAGE_BYTES, 0x400000, i));
        }
        assert_eq!(h.candidates()[class::MAJORITY], 1);
        assert_eq!(h.depth_record(), 8);
        // pairs of neighbouring pages scattered far apart: the majority delta is +1 (every
        // other change), but the page after the pair never comes
        let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
        for i in 0..64u64 {
            let base = 0x100_0000 + i * 1000 * PAGE_BYTES;
            h.push(read(base, 0x400000, 2 * i));
            h.push(read(base + PAGE_BYTES, 0x400000, 2 * i + 1));
        }
        assert_eq!(h.candidates()[class::MAJORITY], 1);
        assert_eq!(h.depth_record(), 0);
    }

    #[test]
    fn the_block_whose_tag_is_zero_matches_no_empty_proposal() {
        // far-apart blocks: no proposal comes true, and the candidates with no delta (the
        // best offset, the stride of a PC seen once) leave empty proposals; then the block
        // whose low 32 bits of `block + 1` are zero
        let mut rng = crate::test_rng::Rng(5);
        let mut h = MemoryHistory::new();
        for i in 1..=3 * HORIZON as u64 {
            let block = if i == HORIZON as u64 + 5 {
                u32::MAX as u64
            } else {
                rng.next() >> 8
            };
            assert_eq!(proposal_tag(block) == NO_BLOCK, block == u32::MAX as u64);
            h.push(read(block << 6, 0x1000 + i, i));
            assert_eq!(h.matured().unwrap_or(0), 0, "change {i}");
        }
    }

    #[test]
    fn stored_changes_give_the_features_of_the_blocks() {
        let mut rng = crate::test_rng::Rng(11);
        let mut h = MemoryHistory::new();
        for step in 0..2000u64 {
            // small and huge changes of both signs, and repeats
            let addr = match rng.below(4) {
                0 => rng.next(),
                1 => {
                    h.current_block()
                        .unwrap_or(0)
                        .wrapping_add(rng.below(5) as u64)
                        << 6
                }
                _ => (rng.below(64) as u64) << 6,
            };
            h.push(read(addr, 0x400, step));
            let f = h.features();
            let real = h.n_blocks.saturating_sub(1).min(HISTORY);
            let mut local = 0;
            for k in 0..HISTORY {
                let d = if k < real {
                    block_delta(h.block_at(k + 1), h.block_at(k))
                } else {
                    0
                };
                assert_eq!(
                    f[field::DELTAS.start + k],
                    symlog_q4(d),
                    "change {k}, step {step}"
                );
                local += (k < real && d.unsigned_abs() <= 2) as i32;
            }
            let share = if real > 0 {
                local * 1000 / real as i32
            } else {
                0
            };
            assert_eq!(f[field::LOCALITY], share, "step {step}");
        }
    }

    #[test]
    fn one_pass_over_the_recent_blocks_finds_what_a_scan_per_target_finds() {
        let mut rng = crate::test_rng::Rng(7);
        for bytes in [LINE_BYTES, PAGE_BYTES] {
            let mut h = MemoryHistory::with_block_bytes(bytes);
            for step in 0..3000u64 {
                // a few dozen blocks, so targets are often recent and often not
                let addr = (rng.below(48) as u64) * bytes + rng.below(bytes as usize) as u64;
                h.push(read(addr, 0x400 + rng.below(4) as u64, step));
                let cur = h.current_block().unwrap();
                let mut targets = [0u64; N_CANDIDATES + 1];
                for t in targets.iter_mut() {
                    *t = cur.wrapping_add(rng.below(9) as u64).wrapping_sub(4);
                }
                let mask = h.recent_mask(&targets);
                for (j, &t) in targets.iter().enumerate() {
                    assert_eq!(
                        (mask >> j) & 1 == 1,
                        h.is_recent(t),
                        "block {t} at step {step}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_candidate_is_steady_while_the_stream_moves_by_its_delta() {
        // a walk of +3 pages, then one jump far away, then +1 steps
        let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
        assert!(!h.steady(class::LAST));
        let mut page = 0x100_0000u64;
        for i in 0..40u64 {
            h.push(read(page * PAGE_BYTES, 0x400000, i));
            page += 3;
        }
        assert_eq!(h.candidates()[class::LAST], 3);
        assert!(h.steady(class::LAST) && h.steady(class::MAJORITY));
        assert!(!h.steady(class::NEXT), "+1 is not the way the stream moves");
        assert_eq!(
            h.hits[class::LAST].count_ones(),
            8,
            "a perfect record for +3"
        );
        page += 5000;
        h.push(read(page * PAGE_BYTES, 0x400000, 40));
        assert_eq!(h.candidates()[class::LAST], 5003);
        assert!(!h.steady(class::LAST), "its record is about +3, not +5003");
        assert_eq!(h.candidates()[class::BEFORE_LAST], 3);
        assert!(
            !h.steady(class::BEFORE_LAST),
            "+3 is not the way it moved now"
        );
        // the walk goes on at +1: +1 is steady at once (it always names +1), the last change
        // after one more step
        h.push(read((page + 1) * PAGE_BYTES, 0x400000, 41));
        assert!(h.steady(class::NEXT) && !h.steady(class::LAST));
        h.push(read((page + 2) * PAGE_BYTES, 0x400000, 42));
        assert!(h.steady(class::LAST));
        assert!(!h.steady(N_CANDIDATES), "out of range");
    }

    #[test]
    fn majority_vote() {
        assert_eq!(majority_candidate([3, -2, 3, 3, 7].into_iter()), 3);
        assert_eq!(majority_candidate([-2, -2, 5].into_iter()), -2);
        assert_eq!(majority_candidate(core::iter::empty()), 0);
    }

    #[test]
    fn best_offset_learns_the_stride_and_turns_off_on_noise() {
        let mut h = MemoryHistory::new();
        for i in 0..2000u64 {
            h.push(read(
                0x4000_0000 + i * 4 * LINE_BYTES,
                0x400000 + 4 * (i % 5),
                i,
            ));
        }
        // offsets 4, 8, 12… all score; the smallest reaches 31 first
        assert_eq!(h.candidates()[class::BEST_OFFSET], 4);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            h.push(read(x % (1 << 40), 0x400000, i));
        }
        assert_eq!(h.candidates()[class::BEST_OFFSET], 0);
    }

    #[test]
    fn recent_blocks_are_stale_and_pages_are_blocks() {
        let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
        assert_eq!(h.block_bytes(), 4096);
        // a walk back and forth over three pages: every proposal names a recent page
        for i in 0..30u64 {
            let page = [0u64, 1, 2, 1][(i % 4) as usize];
            h.push(read(0x10_0000 + page * PAGE_BYTES + 2048, 0x400000, i));
        }
        let f = h.features();
        assert_eq!(f[field::BLOCK_OFFSET], 32);
        let cur = h.current_block().unwrap();
        for k in 0..N_CANDIDATES {
            let target = cur.wrapping_add(h.candidates()[k] as u64);
            let recent = (0x100..0x103).contains(&target) || h.candidates()[k] == 0;
            assert_eq!(h.proposal(k).is_none(), recent, "candidate {k}");
            assert_eq!(f[field::CANDIDATE_STALE.start + k], recent as i32);
        }
    }

    #[test]
    fn extreme_addresses_do_not_overflow() {
        for bytes in [0, 1, 64, 4096, u64::MAX] {
            let mut h = MemoryHistory::with_block_bytes(bytes);
            for &addr in &[0u64, u64::MAX, 0, u64::MAX / 2, 1, u64::MAX - 1] {
                h.push(MemoryAccess {
                    addr,
                    pc: u64::MAX,
                    kind: AccessKind::Execute,
                    time_ns: u64::MAX - addr,
                });
                let _ = h.features();
                let _ = h.proposal(7);
            }
        }
    }
}
