//! Failure predictor features: a component's health over time and its failure record.
//!
//! Features (33):
//!
//! | index | feature | unit |
//! |---|---|---|
//! | 0 | current health | per-mille (1000 = healthy) |
//! | 1..21 | the 20 health samples before it, newest first | per-mille |
//! | 21..31 | age of each of the last 10 failure events, newest first | `symlog_q4` of seconds; 7 days if none |
//! | 31 | trend: least-squares slope of the last 21 samples | per-mille per sample × 16 |
//! | 32 | time since the last failure | `symlog_q4` of seconds; 7 days if none |
//!
//! Outputs (5): Q8 logit of "fails within the horizon" ([`OUT_FAIL`]); predicted time to
//! failure in seconds ([`OUT_TTF`]); Q8 logits of the [`FailureType`]s ([`OUT_TYPE`]..).

use super::ring::Ring;

use super::{newest_first, part, symlog_q4};

/// Number of features.
pub const N_FEATURES: usize = 33;
/// Alarm threshold on the failure probability (per-mille) when no model gives one.
pub const DEFAULT_THRESHOLD: u16 = 500;

/// Where each feature sits in the vector (the table in the module docs).
pub mod field {
    use super::super::Field;
    use super::{EVENTS, HISTORY};

    /// Current health.
    pub const HEALTH: usize = 0;
    /// Current health followed by the earlier samples, newest first.
    pub const HEALTH_WITH_HISTORY: Field = 0..HISTORY + 1;
    /// The earlier health samples, newest first.
    pub const HEALTH_HISTORY: Field = 1..HISTORY + 1;
    /// Ages of the last failure events, newest first.
    pub const FAILURE_AGES: Field = HISTORY + 1..HISTORY + 1 + EVENTS;
    /// Least-squares slope of the health readings.
    pub const TREND: usize = FAILURE_AGES.end;
    /// Time since the last failure.
    pub const SINCE_FAILURE: usize = TREND + 1;

    const _: () = assert!(SINCE_FAILURE + 1 == super::N_FEATURES);
}
/// Number of network outputs.
pub const N_OUTPUTS: usize = 2 + FailureType::COUNT;
/// Feature-layout id (kind 3, layout 1).
pub const SCHEMA_ID: u32 = 0x0003_0001;
/// Health samples before the current one.
pub const HISTORY: usize = 20;
/// Failure events remembered.
pub const EVENTS: usize = 10;
/// "Never" for event ages, seconds (7 days).
pub const NEVER_S: u64 = 7 * 86_400;
/// Output index: logit of failure within the horizon.
pub const OUT_FAIL: usize = 0;
/// Output index: time to failure, seconds.
pub const OUT_TTF: usize = 1;
/// Output index of the first failure-type logit.
pub const OUT_TYPE: usize = 2;

/// How a component fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FailureType {
    /// Slow degradation (wear, leaks, filling disks).
    Degradation = 0,
    /// Abrupt failure after a short precursor.
    Sudden = 1,
    /// Intermittent faults that grow more frequent (flapping).
    Intermittent = 2,
}

impl FailureType {
    /// Number of types.
    pub const COUNT: usize = 3;
    /// All types in code order.
    pub const ALL: [FailureType; 3] = [
        FailureType::Degradation,
        FailureType::Sudden,
        FailureType::Intermittent,
    ];
    /// Type from its code (unknown codes map to `Degradation`).
    pub fn from_code(code: usize) -> FailureType {
        *Self::ALL.get(code).unwrap_or(&FailureType::Degradation)
    }
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            FailureType::Degradation => "degradation",
            FailureType::Sudden => "sudden",
            FailureType::Intermittent => "intermittent",
        }
    }
}

/// One health reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthSample {
    /// Health score, per-mille (values above 1000 are clamped).
    pub health: u16,
    /// Time of the reading, seconds since the Unix epoch (or any monotonic clock).
    pub unix_s: u64,
}

/// Health readings and failure events of one component.
#[derive(Debug, Clone)]
pub struct FailureHistory {
    health: Ring<HealthSample, { HISTORY + 1 }>,
    failures: Ring<u64, EVENTS>,
}

impl Default for FailureHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl FailureHistory {
    /// A component with no readings.
    pub const fn new() -> Self {
        FailureHistory {
            health: Ring::new(HealthSample {
                health: 0,
                unix_s: 0,
            }),
            failures: Ring::new(0),
        }
    }
    /// Appends a health reading (it becomes the current one).
    pub fn push(&mut self, s: HealthSample) {
        self.health.write(HealthSample {
            health: s.health.min(1000),
            unix_s: s.unix_s,
        });
    }
    /// Records a failure event at `unix_s`.
    pub fn record_failure(&mut self, unix_s: u64) {
        self.failures.write(unix_s);
    }
    /// Health readings held.
    pub fn len(&self) -> usize {
        self.health.len()
    }
    /// Whether no reading was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.health.is_empty()
    }

    /// The feature vector (see the module docs). An empty history reads as healthy.
    pub fn features(&self) -> [i32; N_FEATURES] {
        let mut f = [0i32; N_FEATURES];
        let cur = self.health.recent().copied().unwrap_or(HealthSample {
            health: 1000,
            unix_s: 0,
        });
        let mut h = [cur; HISTORY + 1];
        newest_first(&self.health, &mut h, cur);
        for (d, s) in part(&mut f, field::HEALTH_WITH_HISTORY)
            .iter_mut()
            .zip(h.iter())
        {
            *d = s.health as i32;
        }
        let now = cur.unix_s;
        let mut ev = [u64::MAX; EVENTS];
        let mut it = self.failures.newest();
        for e in ev.iter_mut() {
            if let Some(&t) = it.next() {
                *e = t;
            }
        }
        let age = |t: u64| {
            if t == u64::MAX {
                NEVER_S
            } else {
                now.saturating_sub(t).min(NEVER_S)
            }
        };
        for (d, &t) in part(&mut f, field::FAILURE_AGES).iter_mut().zip(ev.iter()) {
            *d = symlog_q4(age(t) as i64);
        }
        f[field::TREND] = trend_x16(&h);
        f[field::SINCE_FAILURE] = symlog_q4(age(ev[0]) as i64);
        f
    }
}

/// Least-squares slope of the readings (newest first in `h`), in per-mille per sample × 16,
/// positive when health improves. Integer only: with x = 0..n-1 oldest to newest,
/// `slope = Σ (x - x̄)(y - ȳ) / Σ (x - x̄)²`.
fn trend_x16(h: &[HealthSample]) -> i32 {
    let n = h.len() as i64;
    if n < 2 {
        return 0;
    }
    let sum_y: i64 = h.iter().map(|s| s.health as i64).sum();
    // x of h[k] is n-1-k; 2x - (n-1) keeps everything integral.
    let mut num = 0i64;
    for (k, s) in h.iter().enumerate() {
        let two_dx = 2 * (n - 1 - k as i64) - (n - 1);
        num += two_dx * (n * s.health as i64 - sum_y);
    }
    // Σ (2dx)^2 = n(n²-1)/3 ; slope = num / (n · Σ(2dx)² / 2)
    let den = n * (n * (n * n - 1) / 3) / 2;
    ((num * 16) / den) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_of_a_line() {
        let mut h = FailureHistory::new();
        for i in 0..30u64 {
            h.push(HealthSample {
                health: (1000 - 10 * i) as u16,
                unix_s: 60 * i,
            });
        }
        let f = h.features();
        assert_eq!(f[0], 710);
        assert_eq!(f[1], 720);
        assert_eq!(f[31], -160); // -10 per sample x 16
        assert_eq!(f[32], symlog_q4(NEVER_S as i64));
        h.record_failure(29 * 60 - 100);
        let f = h.features();
        assert_eq!(f[21], symlog_q4(100));
        assert_eq!(f[22], symlog_q4(NEVER_S as i64));
        assert_eq!(f[32], f[21]);
    }

    #[test]
    fn empty_and_flat() {
        let h = FailureHistory::new();
        let f = h.features();
        assert_eq!(f[0], 1000);
        assert_eq!(f[31], 0);
        let mut h = FailureHistory::new();
        h.push(HealthSample {
            health: 5000,
            unix_s: 0,
        });
        assert_eq!(h.features()[0], 1000);
        assert_eq!(h.features()[31], 0);
    }
}
