//! Workload predictor features: the scheduler's view of CPU, memory and GPU utilisation.
//!
//! Features (35, all percent × 100 unless noted), newest first within each group:
//!
//! | index | feature |
//! |---|---|
//! | 0..10 | CPU % of the 10 samples before the current one, minus the current CPU % |
//! | 10..20 | memory % of those samples, minus the current memory % |
//! | 20..30 | GPU % of those samples, minus the current GPU % |
//! | 30, 31, 32 | current CPU %, memory %, GPU % |
//! | 33 | time of day, minutes since midnight UTC (0..1439) |
//! | 34 | day of week, Monday = 0 (0..6) |
//!
//! History is relative to the current value: what predicts the next change is the recent
//! shape of the series, and differences keep their resolution after int8 quantization (a
//! code is a fraction of the spread of the *differences*, not of the 0–100 % level).
//!
//! A channel that is not observed (no GPU, a data set with CPU only) is [`ABSENT`]: it
//! quantizes to the training mean, never to "0 % busy". With fewer than 10 earlier samples the
//! oldest known one is repeated.
//!
//! Outputs (4): predicted *change* of CPU, memory and GPU % × 100 until the next sample, and the
//! expected absolute error of those predictions (percent × 100). The predictor adds the change to
//! the current value, so an untrained model degrades to persistence, not to nonsense.

use heapless::HistoryBuf;

use super::{newest_first, ABSENT};

/// Number of features.
pub const N_FEATURES: usize = 35;

/// Where each feature sits in the vector (the table in the module docs).
pub mod field {
    use super::super::Field;
    use super::HISTORY;

    /// CPU % of the earlier samples minus the current CPU %, newest first.
    pub const CPU_HISTORY: Field = 0..HISTORY;
    /// Memory % of the earlier samples minus the current memory %, newest first.
    pub const MEM_HISTORY: Field = HISTORY..2 * HISTORY;
    /// GPU % of the earlier samples minus the current GPU %, newest first.
    pub const GPU_HISTORY: Field = 2 * HISTORY..3 * HISTORY;
    /// Current CPU, memory and GPU % (in channel order).
    pub const CURRENT: Field = 3 * HISTORY..3 * HISTORY + 3;
    /// Current CPU %.
    pub const CURRENT_CPU: usize = CURRENT.start;
    /// Current memory % (or `ABSENT`).
    pub const CURRENT_MEM: usize = CURRENT.start + 1;
    /// Current GPU % (or `ABSENT`).
    pub const CURRENT_GPU: usize = CURRENT.start + 2;
    /// Minutes since midnight UTC.
    pub const TIME_OF_DAY: usize = CURRENT.end;
    /// Day of week, Monday = 0.
    pub const DAY_OF_WEEK: usize = TIME_OF_DAY + 1;

    /// History of channel `c` (0 CPU, 1 memory, 2 GPU).
    pub const fn history(c: usize) -> Field {
        c * HISTORY..(c + 1) * HISTORY
    }

    const _: () = assert!(DAY_OF_WEEK + 1 == super::N_FEATURES);
}
/// Number of network outputs.
pub const N_OUTPUTS: usize = 4;
/// Feature-layout id (kind 1, layout 1).
pub const SCHEMA_ID: u32 = 0x0001_0001;
/// Samples of history before the current one.
pub const HISTORY: usize = 10;
/// Output index: change of CPU %.
pub const OUT_CPU: usize = 0;
/// Output index: change of memory %.
pub const OUT_MEM: usize = 1;
/// Output index: change of GPU %.
pub const OUT_GPU: usize = 2;
/// Output index: expected absolute error, percent × 100.
pub const OUT_ERR: usize = 3;
/// 100 % in the fixed unit.
pub const FULL: u16 = 10_000;

/// One utilisation sample. Percentages are × 100 (`0..=10000`); values above are clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkloadSample {
    /// CPU utilisation, percent × 100.
    pub cpu: u16,
    /// Memory utilisation, percent × 100; `None` when not observed.
    pub mem: Option<u16>,
    /// GPU utilisation, percent × 100; `None` when there is no GPU or it is not observed.
    pub gpu: Option<u16>,
    /// Time of the sample, seconds since the Unix epoch.
    pub unix_s: u64,
}

/// The samples the predictor has seen, oldest dropped first.
#[derive(Debug, Clone)]
pub struct WorkloadHistory {
    samples: HistoryBuf<WorkloadSample, { HISTORY + 1 }>,
}

impl Default for WorkloadHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkloadHistory {
    /// An empty history.
    pub const fn new() -> Self {
        WorkloadHistory {
            samples: HistoryBuf::new(),
        }
    }
    /// Appends the newest sample (it becomes the "current" one).
    pub fn push(&mut self, s: WorkloadSample) {
        self.samples.write(s);
    }
    /// The current (newest) sample.
    pub fn current(&self) -> Option<&WorkloadSample> {
        self.samples.recent()
    }
    /// Samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    /// Whether no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The feature vector (see the module docs). An empty history gives all channels absent.
    pub fn features(&self) -> [i32; N_FEATURES] {
        let mut f = [ABSENT; N_FEATURES];
        let mut recent = [WorkloadSample::default(); HISTORY + 1];
        let Some(&cur) = self.samples.recent() else {
            return f;
        };
        newest_first(&self.samples, &mut recent, cur);
        let pct = |v: u16| v.min(FULL) as i32;
        let opt = |v: Option<u16>| v.map(pct).unwrap_or(ABSENT);
        let rel = |v: Option<u16>, c: Option<u16>| match (v, c) {
            (Some(v), Some(c)) => pct(v) - pct(c),
            _ => ABSENT,
        };
        for (k, s) in recent[1..].iter().enumerate() {
            f[field::CPU_HISTORY.start + k] = pct(s.cpu) - pct(cur.cpu);
            f[field::MEM_HISTORY.start + k] = rel(s.mem, cur.mem);
            f[field::GPU_HISTORY.start + k] = rel(s.gpu, cur.gpu);
        }
        f[field::CURRENT_CPU] = pct(cur.cpu);
        f[field::CURRENT_MEM] = opt(cur.mem);
        f[field::CURRENT_GPU] = opt(cur.gpu);
        f[field::TIME_OF_DAY] = ((cur.unix_s % 86_400) / 60) as i32;
        // 1970-01-01 was a Thursday (Monday = 0 -> Thursday = 3).
        f[field::DAY_OF_WEEK] = ((cur.unix_s / 86_400 + 3) % 7) as i32;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_padding() {
        let mut h = WorkloadHistory::new();
        assert_eq!(h.features(), [ABSENT; N_FEATURES]);
        // 2024-01-01 was a Monday; 13:45 UTC
        let t0 = 1_704_116_700;
        for i in 0..3u16 {
            h.push(WorkloadSample {
                cpu: 1000 * (i + 1),
                mem: Some(500 + i),
                gpu: None,
                unix_s: t0 + 60 * i as u64,
            });
        }
        let f = h.features();
        assert_eq!(f[30], 3000);
        assert_eq!(f[0], -1000); // previous sample, relative to the current one
        assert_eq!(f[1], -2000);
        assert_eq!(f[9], -2000); // padded with the oldest
        assert_eq!(f[10], -1);
        assert_eq!(f[20], ABSENT);
        assert_eq!(f[32], ABSENT);
        assert_eq!(f[33], 13 * 60 + 47);
        assert_eq!(f[34], 0);
        // clamping of out-of-range percentages
        h.push(WorkloadSample {
            cpu: u16::MAX,
            mem: Some(u16::MAX),
            gpu: Some(20_000),
            unix_s: u64::MAX,
        });
        let f = h.features();
        assert_eq!(&f[30..33], &[10_000, 10_000, 10_000]);
        assert!((0..1440).contains(&f[33]) && (0..7).contains(&f[34]));
    }
}
