//! A component's health score from its raw metrics, computed on the device, incrementally and
//! in integers: the `health` of a [`HealthSample`](super::failure::HealthSample).
//!
//! Two phases, two types, so a meter cannot be read before it has learned what normal is:
//!
//! 1. [`HealthBaseline`] learns each metric's mean and standard deviation from samples taken
//!    while the component is believed normal (i64 sums and u128 sums of squares: no heap, one
//!    pass). [`HealthBaseline::freeze`] turns them into a [`HealthMeter`]; a standard deviation
//!    below [`HealthConfig::min_std`] is raised to it, so a metric that never moved while
//!    learning does not turn every later jitter into an incident.
//! 2. [`HealthMeter::observe`] takes one sample of all metrics and returns the health in
//!    per-mille. Each metric's standard score `|x - mean| / std` is capped at
//!    [`HealthConfig::z_cap`] (one broken metric cannot dominate); their mean over the metrics
//!    is smoothed by an exponential average of weight `1 / 2^smoothing_shift` (1/8 by default,
//!    starting from 0); health is `1000 · 3 / (3 + smoothed deviation)`, rounded: 1000 when
//!    every metric sits at its mean, 500 at an average of three standard deviations.
//!
//! Units: metric values are `i32` in the device's own fixed unit per metric (the trainer reads
//! SMD's 0..1 min-max normalised values × 10 000); the same unit must be used to learn and to
//! observe, and [`HealthConfig::min_std`] is in it. Means and standard deviations are kept with
//! [`STAT_FRAC_BITS`] fractional bits, standard scores and the smoothed deviation with
//! [`Z_FRAC_BITS`]. Every operation is saturating or clamped: no input, configuration or number
//! of samples makes it panic, and health is always in `0..=1000`.
//!
//! The number of metrics is a capacity `M` (the arrays' size) and a count (`metrics ≤ M`) fixed
//! at [`HealthBaseline::new`]: a device with exactly `M` metrics uses `new(M)`; the trainer, whose
//! machines have 19 to 38 metrics, uses one capacity and passes the rest as zeros, which are
//! never read.

/// Fractional bits of learned means and standard deviations (in the metric's unit).
pub const STAT_FRAC_BITS: u32 = 8;
/// Fractional bits of standard scores and of the smoothed deviation.
pub const Z_FRAC_BITS: u32 = 16;
/// Mean standard score (in standard deviations) at which health is 500 ‰.
pub const HALF_HEALTH_Z: u32 = 3;
/// Largest smoothing shift (weight 1/65 536); larger ones are read as it.
pub const MAX_SMOOTHING_SHIFT: u8 = 16;

const Z_ONE: u64 = 1 << Z_FRAC_BITS;

/// How deviations become health. [`Default`]: `min_std` 1 unit, `z_cap` 10, smoothing 1/8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Smallest standard deviation, in the metrics' unit (values below 1 are read as 1).
    pub min_std: i32,
    /// Largest standard score one metric contributes, in standard deviations.
    pub z_cap: u16,
    /// The newest deviation weighs `1 / 2^smoothing_shift` in the smoothed one (at most
    /// [`MAX_SMOOTHING_SHIFT`]; 0: no smoothing).
    pub smoothing_shift: u8,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            min_std: 1,
            z_cap: 10,
            smoothing_shift: 3,
        }
    }
}

impl HealthConfig {
    /// The default configuration with a smallest standard deviation of `min_std` units.
    pub fn with_min_std(self, min_std: i32) -> Self {
        HealthConfig { min_std, ..self }
    }
}

/// The learning phase: sums of the metrics seen while the component is normal.
#[derive(Debug, Clone)]
pub struct HealthBaseline<const M: usize> {
    metrics: usize,
    count: u32,
    sum: [i64; M],
    sum_sq: [u128; M],
}

impl<const M: usize> HealthBaseline<M> {
    /// Nothing learned yet, for the first `metrics` entries of each sample (at most `M`).
    pub const fn new(metrics: usize) -> Self {
        HealthBaseline {
            metrics: if metrics < M { metrics } else { M },
            count: 0,
            sum: [0; M],
            sum_sq: [0; M],
        }
    }

    /// Metrics read from each sample.
    pub fn metrics(&self) -> usize {
        self.metrics
    }

    /// Samples learned (saturates: samples after `u32::MAX` are not learned).
    pub fn samples(&self) -> u32 {
        self.count
    }

    /// Learns one sample of normal behaviour (entries past [`metrics`](Self::metrics) are
    /// ignored).
    pub fn learn(&mut self, x: &[i32; M]) {
        if self.count == u32::MAX {
            return;
        }
        self.count += 1;
        let n = self.metrics;
        for ((s, q), &v) in self.sum[..n]
            .iter_mut()
            .zip(self.sum_sq[..n].iter_mut())
            .zip(x.iter())
        {
            let v = v as i64;
            *s = s.saturating_add(v);
            *q = q.saturating_add((v * v) as u128);
        }
    }

    /// The meter of what was learned. With no sample learned every mean is 0 and every
    /// standard deviation `min_std`.
    pub fn freeze(&self, cfg: HealthConfig) -> HealthMeter<M> {
        let min_std_q8 = (cfg.min_std.max(1) as u64) << STAT_FRAC_BITS;
        let mut meter = HealthMeter {
            metrics: self.metrics,
            mean_q8: [0; M],
            std_q8: [min_std_q8; M],
            cfg,
            smoothed: 0,
        };
        if self.count == 0 {
            return meter;
        }
        let n = self.count as u128;
        for j in 0..self.metrics {
            let (sum, sum_sq) = (self.sum[j], self.sum_sq[j]);
            meter.mean_q8[j] = div_round_i128((sum as i128) << STAT_FRAC_BITS, n as i128);
            // n²·var = n·Σx² − (Σx)², never negative but saturating in case of a saturated sum
            let abs = sum.unsigned_abs() as u128;
            let spread = sum_sq.saturating_mul(n).saturating_sub(abs * abs);
            let var_q16 = match spread.checked_mul(1 << (2 * STAT_FRAC_BITS)) {
                Some(s) => s / (n * n),
                None => (spread / n).saturating_mul(1 << (2 * STAT_FRAC_BITS)) / n,
            };
            let std_q8 = isqrt_u128(var_q16);
            meter.std_q8[j] = (std_q8.min(u64::MAX as u128) as u64).max(min_std_q8);
        }
        meter
    }
}

/// The observing phase: learned means and standard deviations, and the smoothed deviation.
#[derive(Debug, Clone)]
pub struct HealthMeter<const M: usize> {
    metrics: usize,
    mean_q8: [i64; M],
    std_q8: [u64; M],
    cfg: HealthConfig,
    smoothed: u64,
}

impl<const M: usize> HealthMeter<M> {
    /// Metrics read from each sample.
    pub fn metrics(&self) -> usize {
        self.metrics
    }

    /// Learned mean of metric `j`, in its unit × 2^[`STAT_FRAC_BITS`] (0 past the metrics).
    pub fn mean_q8(&self, j: usize) -> i64 {
        self.mean_q8.get(j).copied().unwrap_or(0)
    }

    /// Standard deviation used for metric `j`, in its unit × 2^[`STAT_FRAC_BITS`] (at least
    /// `min_std`).
    pub fn std_q8(&self, j: usize) -> u64 {
        self.std_q8.get(j).copied().unwrap_or(0)
    }

    /// Capped standard score of every metric of `x`, averaged: standard deviations ×
    /// 2^[`Z_FRAC_BITS`], rounded.
    pub fn deviation_q16(&self, x: &[i32; M]) -> u64 {
        let cap = self.cfg.z_cap as u64;
        let mut total = 0u64;
        let n = self.metrics;
        for ((&v, &mean), &std) in x.iter().zip(&self.mean_q8[..n]).zip(&self.std_q8[..n]) {
            let dist = (((v as i64) << STAT_FRAC_BITS) - mean).unsigned_abs();
            let z = if dist >= cap.saturating_mul(std) {
                cap << Z_FRAC_BITS
            } else {
                // dist < cap · std < 2^16 · std, so dist · 2^16 / std < 2^32 and no overflow:
                // dist < 2^40 (an i32 in Q8 minus a mean of i32s in Q8)
                (dist << Z_FRAC_BITS) / std.max(1)
            };
            total = total.saturating_add(z);
        }
        let n = n as u64;
        // no metric: no deviation
        total
            .saturating_add(n / 2)
            .checked_div(n)
            .unwrap_or(0)
            .min(cap << Z_FRAC_BITS)
    }

    /// The smoothed deviation after the samples observed so far (standard deviations ×
    /// 2^[`Z_FRAC_BITS`]).
    pub fn smoothed_q16(&self) -> u64 {
        self.smoothed
    }

    /// Observes one sample (entries past [`metrics`](Self::metrics) are ignored) and returns the
    /// health, per-mille.
    pub fn observe(&mut self, x: &[i32; M]) -> u16 {
        let z = self.deviation_q16(x) as i64;
        let s = self.smoothed as i64;
        let shift = self.cfg.smoothing_shift.min(MAX_SMOOTHING_SHIFT);
        // round((z - s) / 2^shift); both below 2^33, so no overflow
        let step = if shift == 0 {
            z - s
        } else {
            (z - s + (1 << (shift - 1))) >> shift
        };
        self.smoothed = (s + step).max(0) as u64;
        health_permille(self.smoothed)
    }

    /// Forgets the smoothed deviation (as after [`freeze`](HealthBaseline::freeze)).
    pub fn reset_smoothing(&mut self) {
        self.smoothed = 0;
    }
}

/// `1000 · 3 / (3 + deviation)`, rounded, of a deviation in standard deviations ×
/// 2^[`Z_FRAC_BITS`].
pub fn health_permille(deviation_q16: u64) -> u16 {
    let half = (HALF_HEALTH_Z as u64 * Z_ONE) as u128;
    let den = half + deviation_q16 as u128;
    ((2000 * half + den) / (2 * den)) as u16
}

/// `a / b` rounded half away from zero, clamped to i64 (`b > 0`).
fn div_round_i128(a: i128, b: i128) -> i64 {
    let q = if a >= 0 {
        (a + b / 2) / b
    } else {
        (a - b / 2) / b
    };
    q.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Floor of the square root, bit by bit (no floats, 64 iterations at most).
fn isqrt_u128(v: u128) -> u128 {
    let mut rem = v;
    let mut root = 0u128;
    let mut bit = 1u128 << 126;
    while bit > v {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(rows: &[[i32; 2]], cfg: HealthConfig) -> HealthMeter<2> {
        let mut b = HealthBaseline::<2>::new(2);
        for r in rows {
            b.learn(r);
        }
        b.freeze(cfg)
    }

    #[test]
    fn square_roots() {
        for v in [
            0u128,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            99,
            100,
            1 << 40,
            (1 << 64) - 1,
        ] {
            let r = isqrt_u128(v);
            assert!(r * r <= v && (r + 1) * (r + 1) > v, "{v}: {r}");
        }
        assert_eq!(isqrt_u128(u128::MAX), u64::MAX as u128);
    }

    #[test]
    fn mean_and_std_of_known_values() {
        // metric 0: 0, 10, 20, 30 (mean 15, variance 125); metric 1: constant 7
        let m = meter(
            &[[0, 7], [10, 7], [20, 7], [30, 7]],
            HealthConfig::default().with_min_std(2),
        );
        assert_eq!(m.mean_q8(0), 15 * 256);
        assert_eq!(m.std_q8(0), 2862); // floor(sqrt(125) · 256) = floor(2862.2)
        assert_eq!(m.mean_q8(1), 7 * 256);
        assert_eq!(m.std_q8(1), 2 * 256, "raised to min_std");
        // negative values and a rounded mean: -1, -2 → mean -1.5, std 0.5
        let m = meter(&[[-1, 0], [-2, 0]], HealthConfig::default());
        assert_eq!(m.mean_q8(0), -384);
        assert_eq!(m.std_q8(0), 256, "0.5 raised to the default min_std of 1");
    }

    #[test]
    fn health_of_deviations() {
        let cfg = HealthConfig::default().with_min_std(2);
        let mut m = meter(&[[0, 7], [10, 7], [20, 7], [30, 7]], cfg);
        // at the means: fully healthy
        assert_eq!(m.observe(&[15, 7]), 1000);
        // metric 1 four min_std away (z 4), metric 0 at its mean: deviation 2 → smoothed 2/8
        assert_eq!(m.deviation_q16(&[15, 15]), 2 << Z_FRAC_BITS);
        assert_eq!(m.observe(&[15, 15]), 923); // 3000 / 3.25 = 923.08
        assert_eq!(m.smoothed_q16(), Z_ONE / 4);
        // held there, the smoothed deviation converges to 2: health 600
        for _ in 0..200 {
            m.observe(&[15, 15]);
        }
        assert_eq!(m.observe(&[15, 15]), 600);
        // capped: a huge value counts as z_cap = 10, the mean with 0 is 5
        assert_eq!(m.deviation_q16(&[i32::MAX, 7]), 5 << Z_FRAC_BITS);
        m.reset_smoothing();
        assert_eq!(m.observe(&[15, 7]), 1000);
        assert_eq!(health_permille(3 << Z_FRAC_BITS), 500);
        assert_eq!(health_permille(0), 1000);
        assert_eq!(health_permille(u64::MAX), 0);
    }

    #[test]
    fn no_smoothing_and_unread_entries() {
        let cfg = HealthConfig {
            smoothing_shift: 0,
            ..HealthConfig::default().with_min_std(2)
        };
        let mut b = HealthBaseline::<3>::new(2);
        b.learn(&[0, 7, 123]);
        b.learn(&[30, 7, -99]);
        let mut m = b.freeze(cfg);
        assert_eq!(m.metrics(), 2);
        // the third entry is not a metric of this meter: never read
        // metric 0: mean 15, std 15; metric 1: z 3; deviation 1.5 at once: 3000 / 4.5
        assert_eq!(m.observe(&[15, 13, i32::MIN]), 667);
    }

    #[test]
    fn nothing_learned() {
        let b = HealthBaseline::<2>::new(2);
        let mut m = b.freeze(HealthConfig::default().with_min_std(10));
        assert_eq!((m.mean_q8(0), m.std_q8(1)), (0, 10 * 256));
        assert_eq!(m.observe(&[0, 0]), 1000);
        let mut none = HealthBaseline::<2>::new(0).freeze(HealthConfig::default());
        assert_eq!(none.observe(&[i32::MAX, i32::MIN]), 1000);
        assert_eq!(
            HealthBaseline::<2>::new(9).metrics(),
            2,
            "at most M metrics"
        );
    }

    #[test]
    fn hostile_values_never_panic() {
        let configs = [
            HealthConfig::default(),
            HealthConfig {
                min_std: i32::MIN,
                z_cap: u16::MAX,
                smoothing_shift: u8::MAX,
            },
            HealthConfig {
                min_std: i32::MAX,
                z_cap: 0,
                smoothing_shift: 0,
            },
            HealthConfig {
                min_std: 0,
                z_cap: u16::MAX,
                smoothing_shift: 1,
            },
        ];
        let extremes = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX];
        for cfg in configs {
            let mut b = HealthBaseline::<4>::new(4);
            for (k, &a) in extremes.iter().enumerate() {
                for _ in 0..1000 {
                    b.learn(&[a, i32::MAX, i32::MIN, extremes[(k + 1) % extremes.len()]]);
                }
            }
            let mut m = b.freeze(cfg);
            for &a in &extremes {
                for &c in &extremes {
                    let h = m.observe(&[a, c, a, c]);
                    assert!(h <= 1000);
                }
            }
        }
    }
}
