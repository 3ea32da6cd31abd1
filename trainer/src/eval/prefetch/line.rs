//! Line-level baselines: next-line, PC-stride, both together, and best-offset.

use inference_core::features::memory::MemoryAccess;

use super::Prefetcher;

/// Prefetches the next line on every access.
#[derive(Debug, Clone, Copy, Default)]
pub struct NextLine;

impl Prefetcher for NextLine {
    fn name(&self) -> &'static str {
        "next_line"
    }
    fn observe(&mut self, _: &MemoryAccess, line: u64, _: bool, out: &mut Vec<u64>) {
        out.push(line.wrapping_add(1));
    }
}

/// One PC's entry of the stride table.
#[derive(Debug, Clone, Copy)]
struct StrideEntry {
    pc: u64,
    last_line: u64,
    stride: i64,
    /// Times in a row the stride repeated (0..=3).
    confidence: u8,
}

impl StrideEntry {
    const EMPTY: StrideEntry = StrideEntry {
        pc: u64::MAX,
        last_line: 0,
        stride: 0,
        confidence: 0,
    };
}

/// A PC-stride prefetcher: a direct-mapped table (256 entries) of last line and stride per
/// PC; once a PC repeats its stride, prefetches one stride ahead.
#[derive(Debug, Clone)]
pub struct PcStride {
    table: Vec<StrideEntry>,
}

impl Default for PcStride {
    fn default() -> Self {
        PcStride {
            table: vec![StrideEntry::EMPTY; 256],
        }
    }
}

impl Prefetcher for PcStride {
    fn name(&self) -> &'static str {
        "pc_stride"
    }
    fn observe(&mut self, a: &MemoryAccess, line: u64, _: bool, out: &mut Vec<u64>) {
        let slot = (a.pc.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % self.table.len();
        let e = &mut self.table[slot];
        if e.pc != a.pc {
            *e = StrideEntry {
                pc: a.pc,
                last_line: line,
                ..StrideEntry::EMPTY
            };
            return;
        }
        let stride = line.wrapping_sub(e.last_line) as i64;
        e.confidence = if stride == e.stride {
            (e.confidence + 1).min(3)
        } else {
            0
        };
        e.stride = stride;
        e.last_line = line;
        if e.confidence >= 1 && stride != 0 {
            out.push(line.wrapping_add(stride as u64));
        }
    }
}

/// Next-line and PC-stride together: on every access the next line, and one stride ahead
/// when the PC has repeated its stride. The memory model's base at cache-line level is this
/// union, so the baseline shows what the model adds to it.
#[derive(Debug, Clone, Default)]
pub struct NextLineStride {
    stride: PcStride,
}

impl Prefetcher for NextLineStride {
    fn name(&self) -> &'static str {
        "next_line_stride"
    }
    fn observe(&mut self, a: &MemoryAccess, line: u64, hit: bool, out: &mut Vec<u64>) {
        out.push(line.wrapping_add(1));
        self.stride.observe(a, line, hit, out);
    }
}

/// The offsets best-offset tests: the 52 numbers in 1..=256 without a prime factor above 5.
pub const BO_OFFSETS: [i64; 52] = [
    1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 25, 27, 30, 32, 36, 40, 45, 48, 50, 54, 60,
    64, 72, 75, 80, 81, 90, 96, 100, 108, 120, 125, 128, 135, 144, 150, 160, 162, 180, 192, 200,
    216, 225, 240, 243, 250, 256,
];
/// A learning phase ends when an offset reaches this score...
const SCORE_MAX: u8 = 31;
/// ...or after this many rounds (one round tests every offset once).
const ROUND_MAX: u32 = 100;
/// A best score at or below this turns prefetching off until the next phase.
const BAD_SCORE: u8 = 1;
/// Entries of the recent-requests table (direct-mapped).
const RR_ENTRIES: usize = 256;
/// Entries of the table remembering which lines this prefetcher brought in.
const PREFETCHED_ENTRIES: usize = 4096;

/// Best-offset prefetching (P. Michaud, "Best-Offset Hardware Prefetching", HPCA 2016):
/// learns the offset D for which "line X was requested, and X - D was requested recently"
/// holds most often, and prefetches X + D.
///
/// On each trigger (a demand miss, or a demand hit on a line it prefetched) it tests one
/// offset d of `BO_OFFSETS` in turn: if X - d is in the recent-requests (RR) table, d scores
/// a point. A phase ends when a score reaches 31 or after 100 rounds; the best offset becomes
/// D, or prefetching turns off if its score is at most 1 (learning goes on while off).
/// Degree 1.
///
/// Simplifications, since this simulator has no timing: the paper writes Y - D into the RR
/// table when a prefetched line Y is *filled* (the demand-missed line Y itself when
/// prefetching is off), so that only timely offsets score. Here a fill is instantaneous, so
/// the base line X of every trigger is written at once (which is Y - D for the prefetch it
/// issues, and the missed line when off); timeliness plays no part, and among offsets that
/// score alike the smallest wins. The RR table keeps whole line numbers, not 12-bit tags, and
/// "prefetched" bits live in a direct-mapped table of lines this prefetcher issued (4096
/// entries, above the 512 lines of the default cache) rather than in the cache.
#[derive(Debug, Clone)]
pub struct BestOffset {
    rr: Vec<u64>,
    prefetched: Vec<u64>,
    scores: [u8; BO_OFFSETS.len()],
    next_test: usize,
    round: u32,
    offset: Option<i64>,
}

impl Default for BestOffset {
    fn default() -> Self {
        BestOffset {
            rr: vec![u64::MAX; RR_ENTRIES],
            prefetched: vec![u64::MAX; PREFETCHED_ENTRIES],
            scores: [0; BO_OFFSETS.len()],
            next_test: 0,
            round: 0,
            // the paper starts with offset 1 before the first phase ends
            offset: Some(1),
        }
    }
}

fn slot(line: u64, entries: usize) -> usize {
    ((line ^ (line >> 8) ^ (line >> 16)) as usize) % entries
}

impl BestOffset {
    /// The offset in use (`None` when prefetching is off).
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    fn learn(&mut self, x: u64) {
        let d = BO_OFFSETS[self.next_test];
        let base = x.wrapping_sub(d as u64);
        let mut phase_over = false;
        if self.rr[slot(base, RR_ENTRIES)] == base {
            self.scores[self.next_test] += 1;
            phase_over = self.scores[self.next_test] >= SCORE_MAX;
        }
        self.next_test += 1;
        if self.next_test == BO_OFFSETS.len() {
            self.next_test = 0;
            self.round += 1;
            phase_over |= self.round >= ROUND_MAX;
        }
        if phase_over {
            // first of the best: ties go to the smaller offset
            let (best, score) =
                self.scores
                    .iter()
                    .enumerate()
                    .fold((0, 0), |b, (i, &s)| if s > b.1 { (i, s) } else { b });
            self.offset = (score > BAD_SCORE).then_some(BO_OFFSETS[best]);
            self.scores = [0; BO_OFFSETS.len()];
            self.round = 0;
            self.next_test = 0;
        }
    }
}

impl Prefetcher for BestOffset {
    fn name(&self) -> &'static str {
        "best_offset"
    }
    fn observe(&mut self, _: &MemoryAccess, x: u64, hit: bool, out: &mut Vec<u64>) {
        let p = slot(x, PREFETCHED_ENTRIES);
        let prefetched_hit = hit && self.prefetched[p] == x;
        if self.prefetched[p] == x {
            self.prefetched[p] = u64::MAX;
        }
        if hit && !prefetched_hit {
            return;
        }
        self.learn(x);
        self.rr[slot(x, RR_ENTRIES)] = x;
        if let Some(d) = self.offset {
            let y = x.wrapping_add(d as u64);
            self.prefetched[slot(y, PREFETCHED_ENTRIES)] = y;
            out.push(y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cache, CacheConfig, Memory};
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn offsets_are_the_5_smooth_numbers_up_to_256() {
        let smooth = |mut n: i64| {
            for p in [2, 3, 5] {
                while n % p == 0 {
                    n /= p;
                }
            }
            n == 1
        };
        let want: Vec<i64> = (1..=256).filter(|&n| smooth(n)).collect();
        assert_eq!(BO_OFFSETS.to_vec(), want);
    }

    /// Drives `p` through a real cache, as the simulation does; returns (issued, useful).
    fn run(p: &mut dyn Prefetcher, lines: &[u64]) -> (u64, u64) {
        let mut m = Memory::new(Cache::new(CacheConfig::default()));
        let mut out = Vec::new();
        for &l in lines {
            let hit = m.access(l);
            out.clear();
            p.observe(&MemoryAccess::default(), l, hit, &mut out);
            for &b in &out {
                m.prefetch(b);
            }
        }
        (m.counts.issued, m.counts.useful)
    }

    #[test]
    fn best_offset_learns_a_stride_of_three_among_noise() {
        let mut rng = Rng::new(7);
        let mut lines = Vec::new();
        for i in 0..40_000u64 {
            lines.push(1_000_000 + 3 * i);
            lines.push(rng.below(1 << 30) + (1 << 32));
        }
        let mut bo = BestOffset::default();
        let (issued, useful) = run(&mut bo, &lines);
        let d = bo.offset().expect("prefetching on");
        assert_eq!(d % 3, 0, "offset {d}");
        // half the accesses are unpredictable noise; the strided half is covered
        assert!(useful > 30_000, "useful {useful} of {issued}");
        // an offset that is not a multiple of 3 never scores on the stream
        let mut stream_only = BestOffset::default();
        let s: Vec<u64> = (0..20_000u64).map(|i| 500 + 3 * i).collect();
        run(&mut stream_only, &s);
        assert_eq!(stream_only.offset(), Some(3));
    }

    #[test]
    fn best_offset_turns_off_on_random_lines() {
        let mut rng = Rng::new(11);
        let lines: Vec<u64> = (0..30_000).map(|_| rng.below(1 << 30)).collect();
        let mut bo = BestOffset::default();
        let (issued_warm, _) = run(&mut bo, &lines[..10_000]);
        assert_eq!(bo.offset(), None);
        let (issued_after, _) = run(&mut bo, &lines[10_000..]);
        assert!(issued_warm > 0 && issued_warm <= 52 * ROUND_MAX as u64);
        assert_eq!(issued_after, 0);
    }

    #[test]
    fn pc_stride_needs_a_repeated_stride() {
        let mut p = PcStride::default();
        let a = MemoryAccess {
            pc: 0x400100,
            ..MemoryAccess::default()
        };
        let mut out = Vec::new();
        for (line, want) in [
            (10, None),
            (15, None),
            (20, Some(25)),
            (22, None),
            (24, Some(26)),
        ] {
            out.clear();
            p.observe(&a, line, false, &mut out);
            assert_eq!(out.first().copied(), want, "line {line}");
        }
    }
}
