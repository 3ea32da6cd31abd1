//! Page-level baselines: next-page, Linux-style sequential readahead, and Leap's majority
//! trend.

use inference_core::features::memory::{majority_candidate, MemoryAccess};

use super::Prefetcher;

/// Prefetches the next page on every access.
#[derive(Debug, Clone, Copy, Default)]
pub struct NextPage;

impl Prefetcher for NextPage {
    fn name(&self) -> &'static str {
        "next_page"
    }
    fn observe(&mut self, _: &MemoryAccess, page: u64, _: bool, out: &mut Vec<u64>) {
        out.push(page.wrapping_add(1));
    }
}

/// First readahead window, pages (Linux: `get_init_ra_size` of a one-page request).
const RA_INIT: u64 = 4;
/// Largest window, pages (Linux's default `read_ahead_kb` of 128 KiB).
const RA_MAX: u64 = 32;
/// Recently touched pages remembered to recognise a sequential fault.
const RA_HISTORY: usize = 16;

/// Sequential readahead after Linux's on-demand readahead (`mm/readahead.c`), as it would
/// treat the process's address space as one file.
///
/// - A fault on page P that continues a sequential run (P - 1 was among the last 16 pages
///   touched, standing in for Linux's `prev_pos` check and its "context readahead" look-up of
///   the pages before P in the page cache) starts a window: pages P + 1 ..= P + 3 (a 4-page
///   window including P), with the readahead mark on P + 1.
/// - A demand access to the marked page (Linux's `PG_readahead` flag), or a fault just past
///   the window, is a sequential hit: the next window starts right after the current one,
///   twice as large, up to 32 pages, all of it asynchronous, so its first page carries the
///   next mark (Linux's `get_next_ra_size` also doubles from 4 to 32, having quadrupled only
///   windows below max/16).
/// - Any other fault is random: no readahead, and the window is forgotten.
///
/// Not modelled: mmap read-around (a fault in a mapping reads the pages around it), swap
/// readahead (`page-cluster`), and `fadvise`/`madvise` hints. Linux reads a window in one
/// batch; here at most [`MAX_DEGREE`](super::MAX_DEGREE) pages go out per access, so a
/// 32-page window is issued over the next four accesses (the rest of it on each access until
/// it is all out).
#[derive(Debug, Clone, Default)]
pub struct Readahead {
    /// Recently touched pages, a ring.
    recent: [u64; RA_HISTORY],
    next_recent: usize,
    /// Current window: first page and size (0: none).
    start: u64,
    size: u64,
    /// The page whose access triggers the next window.
    mark: Option<u64>,
    /// Pages of the window below this have been issued.
    issued_until: u64,
}

impl Readahead {
    /// The current window size in pages (0 when there is none).
    pub fn window(&self) -> u64 {
        self.size
    }

    /// Issues what is left of the window, up to the degree cap.
    fn top_up(&mut self, out: &mut Vec<u64>) {
        let end = self.start + self.size;
        let n = (end.saturating_sub(self.issued_until)).min(super::MAX_DEGREE as u64);
        out.extend(self.issued_until..self.issued_until + n);
        self.issued_until += n;
    }
}

impl Prefetcher for Readahead {
    fn name(&self) -> &'static str {
        "readahead"
    }
    fn observe(&mut self, _: &MemoryAccess, page: u64, hit: bool, out: &mut Vec<u64>) {
        let past_window = self.size > 0 && page == self.start + self.size;
        if self.mark == Some(page) || (!hit && past_window) {
            self.start += self.size;
            self.size = (2 * self.size).min(RA_MAX);
            self.mark = Some(self.start);
            self.issued_until = self.issued_until.max(page + 1);
        } else if !hit {
            let sequential = page > 0 && self.recent.contains(&(page - 1));
            if sequential {
                self.start = page;
                self.size = RA_INIT;
                self.mark = Some(page + 1);
                self.issued_until = page + 1;
            } else {
                self.size = 0;
                self.mark = None;
            }
        }
        self.top_up(out);
        if !self.recent.contains(&page) {
            self.recent[self.next_recent] = page;
            self.next_recent = (self.next_recent + 1) % RA_HISTORY;
        }
    }
}

/// Fault deltas Leap remembers (its `Hsize`).
const LEAP_HISTORY: usize = 32;
/// The first trend window is `LEAP_HISTORY / LEAP_SPLIT` deltas (its `Nsplit`).
const LEAP_SPLIT: usize = 4;
/// Largest prefetch window, pages (Linux's default swap `page-cluster` of 3: 8 pages).
const LEAP_MAX_WINDOW: usize = 8;

/// Leap's prefetcher (H. A. Maruf, M. Chowdhury, "Effectively Prefetching Remote Memory with
/// Leap", USENIX ATC 2020), on the resident set.
///
/// It sees what the kernel sees: faults, and first touches of pages it prefetched (in Linux
/// those sit in the swap cache and take a minor fault). Both go into a history of the last
/// 32 page deltas. On a fault it
/// 1. sizes the prefetch window from `Chit`, the prefetched pages hit since the previous
///    prefetch: `Chit + 1` rounded up to a power of two, at most 8; 1 (no prefetch) when
///    `Chit` is 0; never less than half the previous window, so it shrinks smoothly;
/// 2. looks for the trend: the Boyer-Moore majority of the newest 8 deltas, then 16, then 32,
///    the first that is a true majority (more than half of its window);
/// 3. prefetches the window's pages along the trend (P + Δ, P + 2Δ, ...), or, without a
///    trend, the window's pages around P (P - w/2 ..= P + w/2 but P itself).
///
/// One reading of ours: the window rule as we read it leaves a cold prefetcher at 1 forever
/// (no prefetch, so no hit, so `Chit` stays 0); here a window of 2 is used when a trend
/// exists and the rule gives 1.
#[derive(Debug, Clone, Default)]
pub struct Leap {
    /// Deltas, a ring; `n_deltas` of them valid.
    deltas: [i64; LEAP_HISTORY],
    next_delta: usize,
    n_deltas: usize,
    last: Option<u64>,
    /// Previous prefetch window, pages.
    window: usize,
    /// Pages of the previous prefetch not touched yet.
    pending: Vec<u64>,
    /// Prefetched pages hit since the previous prefetch.
    hits: usize,
}

impl Leap {
    /// The window of the latest prefetch decision, pages.
    pub fn window(&self) -> usize {
        self.window
    }

    fn record(&mut self, page: u64) {
        if let Some(last) = self.last {
            self.deltas[self.next_delta] = page.wrapping_sub(last) as i64;
            self.next_delta = (self.next_delta + 1) % LEAP_HISTORY;
            self.n_deltas = (self.n_deltas + 1).min(LEAP_HISTORY);
        }
        self.last = Some(page);
    }

    /// The newest `w` deltas, newest first.
    fn newest(&self, w: usize) -> impl Iterator<Item = i64> + '_ {
        (1..=w.min(self.n_deltas))
            .map(move |k| self.deltas[(self.next_delta + LEAP_HISTORY - k) % LEAP_HISTORY])
    }

    /// The majority delta of the smallest window (8, 16, 32 newest) that has one.
    pub fn trend(&self) -> Option<i64> {
        let mut w = LEAP_HISTORY / LEAP_SPLIT;
        loop {
            let n = w.min(self.n_deltas);
            if n == 0 {
                return None;
            }
            let cand = majority_candidate(self.newest(n));
            if self.newest(n).filter(|&d| d == cand).count() * 2 > n {
                return Some(cand);
            }
            if w >= LEAP_HISTORY || n < w {
                return None;
            }
            w *= 2;
        }
    }

    fn window_size(&mut self, trend: bool) -> usize {
        let mut w = if self.hits == 0 {
            1
        } else {
            (self.hits + 1).next_power_of_two()
        };
        w = w.min(LEAP_MAX_WINDOW).max(self.window / 2);
        if w <= 1 && trend {
            w = 2;
        }
        self.hits = 0;
        w
    }
}

impl Prefetcher for Leap {
    fn name(&self) -> &'static str {
        "leap"
    }
    fn observe(&mut self, _: &MemoryAccess, page: u64, hit: bool, out: &mut Vec<u64>) {
        if hit {
            if let Some(i) = self.pending.iter().position(|&p| p == page) {
                self.pending.swap_remove(i);
                self.hits += 1;
                self.record(page);
            }
            return;
        }
        self.record(page);
        let trend = self.trend().filter(|&d| d != 0);
        self.window = self.window_size(trend.is_some());
        self.pending.clear();
        if self.window <= 1 {
            return;
        }
        let w = self.window as u64;
        match trend {
            Some(d) => out.extend((1..=w).map(|k| page.wrapping_add((k as i64 * d) as u64))),
            None => {
                let lo = page.saturating_sub(w / 2);
                out.extend((lo..).filter(|&p| p != page).take(self.window));
            }
        }
        self.pending.extend_from_slice(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Memory, ResidentSet};
    use super::*;

    fn step(p: &mut dyn Prefetcher, m: &mut Memory<ResidentSet>, page: u64) -> Vec<u64> {
        let hit = m.access(page);
        let mut out = Vec::new();
        p.observe(&MemoryAccess::default(), page, hit, &mut out);
        out.truncate(super::super::MAX_DEGREE);
        for &b in &out {
            m.prefetch(b);
        }
        out
    }

    #[test]
    fn readahead_window_grows_on_a_sequential_scan() {
        let mut ra = Readahead::default();
        let mut m = Memory::new(ResidentSet::new(256));
        let mut windows = Vec::new();
        for page in 1000..1400u64 {
            for _ in 0..4 {
                step(&mut ra, &mut m, page);
            }
            if windows.last() != Some(&ra.window()) {
                windows.push(ra.window());
            }
        }
        assert_eq!(windows, [0, 4, 8, 16, 32]);
        // only the first two pages fault; the windows run ahead of the scan from then on
        assert_eq!(m.counts.misses(), 2);
        assert_eq!(m.counts.useful, 398);
        // a random fault forgets the window
        step(&mut ra, &mut m, 5000);
        assert_eq!(ra.window(), 0);
    }

    #[test]
    fn leap_follows_a_downward_trend_of_two_pages() {
        let mut leap = Leap::default();
        let mut m = Memory::new(ResidentSet::new(64));
        for k in 0..2000u64 {
            step(&mut leap, &mut m, 100_000 - 2 * k);
        }
        assert_eq!(leap.trend(), Some(-2));
        assert_eq!(leap.window(), 8);
        assert!(m.counts.misses() < 2000 / 8, "{:?}", m.counts);
        assert!(m.counts.useful > 1700, "{:?}", m.counts);
        let mut l2 = Leap::default();
        let mut m2 = Memory::new(ResidentSet::new(64));
        let mut last = Vec::new();
        for k in 0..20u64 {
            last = step(&mut l2, &mut m2, 5000 - 2 * k);
        }
        assert_eq!(last, [] as [u64; 0]); // the last step hit a prefetched page
                                          // every prefetch of the run went to P - 2, P - 4, ...: all were used but the last
        assert_eq!(m2.counts.issued - m2.counts.useful, l2.pending.len() as u64);
        assert_eq!(l2.pending.len(), 7);
        for &p in &l2.pending {
            assert!(p < 5000 - 2 * 19 && (5000 - p) % 2 == 0, "{p}");
        }
    }

    #[test]
    fn leap_without_a_trend_prefetches_around_or_not_at_all() {
        let mut leap = Leap::default();
        // alternating deltas +5, -3: no majority
        let mut out = Vec::new();
        let mut page = 1000u64;
        for k in 0..40 {
            page = if k % 2 == 0 { page + 5 } else { page - 3 };
            out.clear();
            leap.observe(&MemoryAccess::default(), page, false, &mut out);
        }
        assert_eq!(leap.trend(), None);
        assert!(out.is_empty(), "{out:?}");
        // with a record of hits, the window is centred on the fault
        leap.pending = vec![7, 8, 9];
        for p in [7, 8, 9] {
            leap.observe(&MemoryAccess::default(), p, true, &mut out);
        }
        out.clear();
        leap.observe(&MemoryAccess::default(), 2000, false, &mut out);
        assert_eq!(out, [1998, 1999, 2001, 2002]);
    }
}
