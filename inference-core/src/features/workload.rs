//! Workload predictor features: the scheduler's view of CPU, memory and GPU utilisation.
//!
//! Features (35, all percent × 100 unless noted), newest first within each group:
//!
//! | index | feature |
//! |---|---|
//! | 0..10 | CPU % of the 10 samples before the current one, minus the current CPU %, companded |
//! | 10..20 | memory % of those samples, minus the current memory %, companded |
//! | 20..30 | GPU % of those samples, minus the current GPU %, companded |
//! | 30, 31, 32 | current CPU %, memory %, GPU % |
//! | 33 | time of day, minutes since midnight UTC (0..1439) |
//! | 34 | day of week, Monday = 0 (0..6) |
//! | 35, 36, 37 | CPU, memory, GPU % in the same half hour a day earlier, minus the current %, companded |
//! | 38, 39, 40 | mean CPU, memory, GPU % of the last 3 hours, minus the current %, companded |
//! | 41, 42, 43 | mean CPU, memory, GPU % of the last 24 hours, minus the current %, companded |
//!
//! The daily features come from a profile of half-hour slots ([`SLOT_S`]): the history keeps
//! the mean of each of the last [`DAY_SLOTS`] completed slots (about 0.5 KiB, no heap), so they
//! depend on time, not on the sampling rate, and a device computes them incrementally. A slot
//! that was not observed (a gap, the first day) is left out of the means; when none is left
//! the feature is [`ABSENT`]. The same half hour a day earlier is what repeats on machines
//! with daily jobs (backups, batch runs); the longer means say whether the current value is
//! high or low for this machine, which a 10-sample window cannot.
//!
//! History is relative to the current value: what predicts the next change is the recent
//! shape of the series, and differences keep their resolution after int8 quantization (a
//! code is a fraction of the spread of the *differences*, not of the 0–100 % level). Every
//! difference (history and the daily features) is companded ([`compand`]) so that the same
//! int8 code range resolves an idle machine's hundredths of a point and a busy one's jumps.
//!
//! A channel that is not observed (no GPU, a data set with CPU only) is [`ABSENT`]: it
//! quantizes to the training mean, never to "0 % busy". With fewer than 10 earlier samples the
//! oldest known one is repeated.
//!
//! Outputs (4): predicted *change* of CPU, memory and GPU % × 100 until the next sample, and the
//! expected absolute error of those predictions (percent × 100). The predictor adds the change to
//! the current value, so an untrained model degrades to persistence, not to nonsense.

use super::ring::Ring;

use super::{newest_first, put, symlog_q4, ABSENT};

/// Number of features.
pub const N_FEATURES: usize = 44;

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
    /// CPU, memory, GPU % in the same half hour a day earlier, minus the current %.
    pub const DAY_AGO: Field = DAY_OF_WEEK + 1..DAY_OF_WEEK + 4;
    /// Mean CPU, memory, GPU % of the last 3 hours, minus the current %.
    pub const MEAN_3H: Field = DAY_AGO.end..DAY_AGO.end + 3;
    /// Mean CPU, memory, GPU % of the last 24 hours, minus the current %.
    pub const MEAN_24H: Field = MEAN_3H.end..MEAN_3H.end + 3;

    /// History of channel `c` (0 CPU, 1 memory, 2 GPU).
    pub const fn history(c: usize) -> Field {
        c * HISTORY..(c + 1) * HISTORY
    }

    const _: () = assert!(MEAN_24H.end == super::N_FEATURES);
}
/// Number of network outputs.
pub const N_OUTPUTS: usize = 4;
/// Feature-layout id (kind 1, layout 2: the daily profile).
pub const SCHEMA_ID: u32 = 0x0001_0002;
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
/// Length of a slot of the daily profile, seconds.
pub const SLOT_S: u64 = 1_800;
/// Slots in a day: the profile keeps this many completed slots.
pub const DAY_SLOTS: usize = (86_400 / SLOT_S) as usize;
/// Slots in the short mean (3 hours).
pub const SHORT_SLOTS: u32 = 6;
/// Channels: CPU, memory, GPU.
pub const CHANNELS: usize = 3;

/// How a difference of percentages (× 100) enters the features: [`symlog_q4`], 16 steps per
/// octave. A linear int8 code cannot hold both an idle machine's 0.01-point jitter and a busy
/// one's 90-point jumps: with one code per 0.3 points (the spread of a mixed fleet) every
/// change of an idle machine reads 0. Companded, 0.01 point is 16 and 90 points is 213.
pub fn compand(diff: i32) -> i32 {
    symlog_q4(diff as i64)
}

/// The difference a companded feature stands for (the middle of its step; [`ABSENT`] stays
/// absent), for code that needs the linear value, such as a moving average.
pub fn expand(feature: i32) -> i32 {
    if feature == ABSENT {
        return ABSENT;
    }
    let y = feature.unsigned_abs().min(16 * 31 + 15);
    let (e, frac) = (y / 16, y % 16);
    // v = |diff| + 1 lies in [2^e (1 + frac/16), 2^e (1 + (frac+1)/16))
    let v = ((32 + 2 * frac + 1) as i64) << e >> 5;
    let x = (v - 1).max(0) as i32;
    if feature < 0 {
        -x
    } else {
        x
    }
}

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

impl WorkloadSample {
    /// All zero, nothing observed but CPU.
    pub const ZERO: WorkloadSample = WorkloadSample {
        cpu: 0,
        mem: None,
        gpu: None,
        unix_s: 0,
    };

    /// CPU, memory and GPU (channel order), clamped to [`FULL`]; `None` when not observed.
    pub fn channels(&self) -> [Option<u16>; CHANNELS] {
        [Some(self.cpu), self.mem, self.gpu].map(|v| v.map(|v| v.min(FULL)))
    }
}

/// The samples the predictor has seen, oldest dropped first, the daily profile and the
/// do-no-harm records ([`DoNoHarm`]) of the model that answers and of a shadow candidate.
#[derive(Debug, Clone)]
pub struct WorkloadHistory {
    samples: Ring<WorkloadSample, { HISTORY + 1 }>,
    profile: Profile,
    /// The model's record on this series; the predictor reads and writes it.
    pub guard: DoNoHarm,
    /// The record of a candidate model that predicts in the shadow of the one that answers
    /// ([`WorkloadPredictor::predict_shadow`](crate::WorkloadPredictor::predict_shadow)): its
    /// own gate, so that a shadow's answers are what it would have answered in its place.
    pub shadow_guard: DoNoHarm,
}

/// Do no harm, by construction: on each series the model's change is used only while the
/// model has recently been better than persistence ("same as now") on that series.
///
/// Per channel it keeps the exponentially weighted mean (weight [`DoNoHarm::SHIFT`]: 1/32 per
/// sample, about 2.7 hours at 5-minute samples) of the model's *advantage*, persistence's
/// absolute error minus the model's, of the model's raw (ungated) predictions. While that mean
/// is not positive the predictor answers with the current value. A model that is worse than
/// persistence on some machine thereby costs at most the few samples the mean needs to turn,
/// and a model that helps keeps helping; the record starts at zero, so a new series starts
/// with persistence until the model has shown it is better there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoNoHarm {
    /// Mean advantage per channel, percent × 100 × 2^[`DoNoHarm::SHIFT`].
    advantage: [i32; CHANNELS],
    /// The raw change predicted for the next sample and the value it was added to, per
    /// channel (`None` when nothing is pending).
    pending: [Option<(i32, i32)>; CHANNELS],
}

impl Default for DoNoHarm {
    fn default() -> Self {
        Self::new()
    }
}

impl DoNoHarm {
    /// log2 of the number of samples the mean advantage spans.
    pub const SHIFT: u32 = 5;

    /// No record yet: every channel answers with persistence.
    pub const fn new() -> Self {
        DoNoHarm {
            advantage: [0; CHANNELS],
            pending: [None; CHANNELS],
        }
    }

    /// Remembers the model's raw change `delta` of channel `c` (0 CPU, 1 memory, 2 GPU) for
    /// the next sample, made when the channel was at `current` (both percent × 100), and returns
    /// the change to use: `delta` while the model's record on this series is positive, else 0.
    pub fn gate(&mut self, c: usize, current: i32, delta: i32) -> i32 {
        let Some(p) = self.pending.get_mut(c) else {
            return 0;
        };
        *p = Some((current, delta));
        if self.trusted(c) {
            delta
        } else {
            0
        }
    }

    /// Scores what is pending on channel `c` against the observed value (percent × 100).
    pub fn observe(&mut self, c: usize, actual: i32) {
        let Some(Some((current, delta))) = self.pending.get_mut(c).map(|p| p.take()) else {
            return;
        };
        let predicted = current.saturating_add(delta).clamp(0, FULL as i32);
        let gain = (actual - current).abs() - (actual - predicted).abs();
        let Some(a) = self.advantage.get_mut(c) else {
            return;
        };
        *a += gain.clamp(-(FULL as i32), FULL as i32) - (*a >> Self::SHIFT);
    }

    /// Whether the model's changes are used on channel `c` now.
    pub fn trusted(&self, c: usize) -> bool {
        self.advantage.get(c).is_some_and(|&a| a > 0)
    }
}

/// Means of the last [`DAY_SLOTS`] completed half-hour slots, per channel.
#[derive(Debug, Clone)]
struct Profile {
    /// Mean of each completed slot, percent × 100 ([`NOT_SEEN`] when the channel was absent).
    mean: [[u16; CHANNELS]; DAY_SLOTS],
    /// Absolute slot number (`unix_s / SLOT_S`) each entry holds; 0 = empty.
    slot: [u32; DAY_SLOTS],
    /// Slot being accumulated (0 = none yet).
    open: u32,
    /// Sum and count of the open slot's values, per channel.
    sum: [u32; CHANNELS],
    count: [u16; CHANNELS],
    /// What the features read, per channel: the same slot a day earlier, the 3 h mean and the
    /// 24 h mean ([`ABSENT`] when unobserved). They change only when a slot closes, so they
    /// are computed then (once per half hour), not at every prediction.
    summary: [[i32; CHANNELS]; 3],
}

/// A profile entry of a channel that was not observed in that slot.
const NOT_SEEN: u16 = u16::MAX;

impl Profile {
    const fn new() -> Self {
        Profile {
            mean: [[NOT_SEEN; CHANNELS]; DAY_SLOTS],
            slot: [0; DAY_SLOTS],
            open: 0,
            sum: [0; CHANNELS],
            count: [0; CHANNELS],
            summary: [[ABSENT; CHANNELS]; 3],
        }
    }

    /// Adds a sample; closes the open slot when `s` falls in another one.
    fn push(&mut self, s: &WorkloadSample) {
        let slot = (s.unix_s / SLOT_S) as u32;
        if slot != self.open {
            if self.open != 0 && self.count.iter().any(|&n| n > 0) {
                let k = self.open as usize % DAY_SLOTS;
                for c in 0..CHANNELS {
                    self.mean[k][c] = match self.count[c] {
                        0 => NOT_SEEN,
                        n => (self.sum[c] / n as u32) as u16,
                    };
                }
                self.slot[k] = self.open;
            }
            self.open = slot;
            self.sum = [0; CHANNELS];
            self.count = [0; CHANNELS];
            self.summarise();
        }
        let sums = self.sum.iter_mut().zip(&mut self.count);
        for (v, (sum, count)) in s.channels().into_iter().zip(sums) {
            // A full count keeps the mean it has (65 535 samples in half an hour).
            if let (Some(v), true) = (v, *count < u16::MAX) {
                *sum += v as u32;
                *count += 1;
            }
        }
    }

    /// Recomputes [`Profile::summary`] for the open slot: one pass over the closed slots.
    fn summarise(&mut self) {
        let (mut short, mut day) = ([0u32; CHANNELS], [0u32; CHANNELS]);
        let (mut n_short, mut n_day) = ([0u32; CHANNELS], [0u32; CHANNELS]);
        for (slot, mean) in self.slot.iter().zip(&self.mean) {
            let age = self.open.wrapping_sub(*slot);
            if *slot == 0 || !(1..=DAY_SLOTS as u32).contains(&age) {
                continue;
            }
            for c in 0..CHANNELS {
                if mean[c] != NOT_SEEN {
                    day[c] += mean[c] as u32;
                    n_day[c] += 1;
                    if age <= SHORT_SLOTS {
                        short[c] += mean[c] as u32;
                        n_short[c] += 1;
                    }
                }
            }
        }
        let k = self.open as usize % DAY_SLOTS;
        let day_ago = self.slot[k] != 0 && self.open.wrapping_sub(self.slot[k]) == DAY_SLOTS as u32;
        for c in 0..CHANNELS {
            let avg = |s: u32, n: u32| s.checked_div(n).map_or(ABSENT, |m| m as i32);
            let then = self.mean[k][c];
            self.summary[0][c] = if day_ago && then != NOT_SEEN {
                then as i32
            } else {
                ABSENT
            };
            self.summary[1][c] = avg(short[c], n_short[c]);
            self.summary[2][c] = avg(day[c], n_day[c]);
        }
    }
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
            samples: Ring::new(WorkloadSample::ZERO),
            profile: Profile::new(),
            guard: DoNoHarm::new(),
            shadow_guard: DoNoHarm::new(),
        }
    }
    /// Appends the newest sample (it becomes the "current" one) and scores the predictions
    /// made for it.
    pub fn push(&mut self, s: WorkloadSample) {
        for (c, v) in s.channels().into_iter().enumerate() {
            if let Some(v) = v {
                self.guard.observe(c, v as i32);
                self.shadow_guard.observe(c, v as i32);
            }
        }
        self.profile.push(&s);
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
            (Some(v), Some(c)) => compand(pct(v) - pct(c)),
            _ => ABSENT,
        };
        for (k, s) in recent[1..].iter().enumerate() {
            put(
                &mut f,
                field::CPU_HISTORY.start + k,
                compand(pct(s.cpu) - pct(cur.cpu)),
            );
            put(&mut f, field::MEM_HISTORY.start + k, rel(s.mem, cur.mem));
            put(&mut f, field::GPU_HISTORY.start + k, rel(s.gpu, cur.gpu));
        }
        f[field::CURRENT_CPU] = pct(cur.cpu);
        f[field::CURRENT_MEM] = opt(cur.mem);
        f[field::CURRENT_GPU] = opt(cur.gpu);
        f[field::TIME_OF_DAY] = ((cur.unix_s % 86_400) / 60) as i32;
        // 1970-01-01 was a Thursday (Monday = 0 -> Thursday = 3).
        f[field::DAY_OF_WEEK] = ((cur.unix_s / 86_400 + 3) % 7) as i32;
        for (c, now) in cur.channels().into_iter().enumerate() {
            let Some(now) = now.map(pct) else { continue };
            let rel = |m: i32| {
                if m == ABSENT {
                    ABSENT
                } else {
                    compand(m - now)
                }
            };
            for (field, means) in [field::DAY_AGO, field::MEAN_3H, field::MEAN_24H]
                .into_iter()
                .zip(&self.profile.summary)
            {
                put(
                    &mut f,
                    field.start + c,
                    means.get(c).map_or(ABSENT, |&m| rel(m)),
                );
            }
        }
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
        assert_eq!(f[0], compand(-1000)); // previous sample, relative to the current one
        assert_eq!(f[1], compand(-2000));
        assert_eq!(f[9], compand(-2000)); // padded with the oldest
        assert_eq!(f[10], compand(-1));
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

    fn sample(cpu: u16, mem: Option<u16>, unix_s: u64) -> WorkloadSample {
        WorkloadSample {
            cpu,
            mem,
            gpu: None,
            unix_s,
        }
    }

    #[test]
    fn daily_profile() {
        let mut h = WorkloadHistory::new();
        let day0 = 1_704_067_200; // 2024-01-01 00:00 UTC
                                  // One sample every 5 minutes from 00:00 to 01:55 the next day: CPU is 90 % between
                                  // 02:00 and 02:30, 10 % otherwise; memory is the hour of the day in percent.
        for i in 0..(26 * 12) as u64 {
            let t = day0 + 300 * i;
            let hour = (t % 86_400) / 3_600;
            let cpu = if hour == 2 && (t % 3_600) < 1_800 {
                9_000
            } else {
                1_000
            };
            h.push(sample(cpu, Some(100 * hour as u16), t));
            let f = h.features();
            // No slot a day back during the first day; no closed slot in the first one.
            assert_eq!(
                f[field::DAY_AGO.start] == ABSENT,
                t < day0 + 86_400,
                "t = {t}"
            );
            assert_eq!(
                f[field::MEAN_3H.start] == ABSENT,
                t < day0 + SLOT_S,
                "t = {t}"
            );
        }
        // 02:10 the next day: the same half hour yesterday was busy.
        h.push(sample(1_000, Some(200), day0 + 86_400 + 2 * 3_600 + 600));
        let f = h.features();
        assert_eq!(&f[field::DAY_AGO], &[compand(9_000 - 1_000), 0, ABSENT]);
        // Last 3 h: the slots 23:00 .. 01:30 (memory 23, 23, 0, 0, 1, 1 %).
        assert_eq!(&f[field::MEAN_3H], &[0, compand(800 - 200), ABSENT]);
        // Last 24 h: 02:00 yesterday .. 01:30, one busy slot of 48; memory twice every hour.
        let want = [56_000 / 48 - 1_000, 55_200 / 48 - 200];
        assert_eq!(
            &f[field::MEAN_24H],
            &[compand(want[0]), compand(want[1]), ABSENT]
        );
        // A gap: nothing for 3 hours, then the 3 h mean has nothing to average.
        h.push(sample(1_000, Some(200), day0 + 86_400 + 6 * 3_600));
        let f = h.features();
        assert_eq!(f[field::MEAN_3H.start], ABSENT);
        assert_ne!(f[field::MEAN_24H.start], ABSENT);
    }

    #[test]
    fn profile_survives_hostile_times() {
        let mut h = WorkloadHistory::new();
        for t in [u64::MAX, 0, 5, u64::MAX - 1, 1_800, 1_799, 3 * 86_400] {
            h.push(sample(20_000, Some(u16::MAX), t));
            let f = h.features();
            for r in [field::DAY_AGO, field::MEAN_3H, field::MEAN_24H] {
                assert!(f[r]
                    .iter()
                    .all(|&v| v == ABSENT || v.abs() <= compand(FULL as i32)));
            }
        }
    }

    #[test]
    fn do_no_harm_follows_the_better_predictor() {
        // A series that alternates 20 % and 30 %: a model that predicts the alternation is
        // trusted after its first good call; one that predicts the opposite never is.
        for (sign, trusted_after) in [(1, true), (-1, false)] {
            let mut g = DoNoHarm::new();
            let mut used = 0;
            for i in 0..200 {
                let (cur, next) = if i % 2 == 0 {
                    (2_000, 3_000)
                } else {
                    (3_000, 2_000)
                };
                let delta = sign * (next - cur);
                if g.gate(0, cur, delta) != 0 {
                    used += 1;
                }
                g.observe(0, next);
            }
            assert_eq!(g.trusted(0), trusted_after);
            assert_eq!(used, if trusted_after { 199 } else { 0 });
        }
    }

    #[test]
    fn do_no_harm_turns_when_the_model_goes_bad() {
        let mut g = DoNoHarm::new();
        // 100 samples where the model is right by 5 points, then it is wrong by 5 points.
        for _ in 0..100 {
            g.gate(1, 5_000, 500);
            g.observe(1, 5_500);
        }
        assert!(g.trusted(1));
        let mut bad_used = 0;
        for _ in 0..100 {
            if g.gate(1, 5_000, 500) != 0 {
                bad_used += 1;
            }
            g.observe(1, 5_000 - 500);
        }
        // The mean turns within ln(2) * 32 ≈ 22 samples, and stays turned.
        assert!(
            (15..=30).contains(&bad_used),
            "used {bad_used} bad predictions"
        );
        assert!(!g.trusted(1));
        // Nothing pending: observing does nothing; channels out of range are refused.
        let before = g;
        g.observe(1, 0);
        assert_eq!(g, before);
        assert_eq!(g.gate(7, 5_000, 500), 0);
        assert!(!g.trusted(7));
    }

    #[test]
    fn history_scores_its_predictions() {
        let mut h = WorkloadHistory::new();
        for k in 0..50u64 {
            let cpu = if k % 2 == 0 { 2_000 } else { 3_000 };
            h.push(sample(cpu, None, 1_704_067_200 + 300 * k));
            // Predict the alternation for CPU and a change for the absent memory channel.
            let next = if k % 2 == 0 { 1_000 } else { -1_000 };
            h.guard.gate(0, cpu as i32, next);
        }
        assert!(h.guard.trusted(0));
        assert!(!h.guard.trusted(1));
    }

    #[test]
    fn compand_and_expand() {
        // Small differences keep their resolution, large ones are compressed.
        assert_eq!(compand(0), 0);
        assert!(compand(1) - compand(0) >= 8 && compand(-1) == -compand(1));
        assert!(compand(10_000) < 16 * 14 && compand(10_000) > compand(9_000));
        // The inverse is within one step (1/16 octave) of the difference, and monotone.
        let mut last = i32::MIN;
        for d in -10_000..=10_000 {
            let e = expand(compand(d));
            assert!(e >= last, "expand is monotone at {d}");
            last = e;
            assert!(
                (e - d).abs() <= 1 + d.abs() / 16,
                "{d} -> {} -> {e}",
                compand(d)
            );
        }
        assert_eq!(expand(ABSENT), ABSENT);
        for y in [i32::MIN + 1, i32::MAX, 1 << 20] {
            let _ = expand(y);
        }
    }
}
