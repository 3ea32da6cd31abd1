//! Health counters of each model slot: how many predictions, how many refused, and, with a
//! clock from the caller, how long they took.
//!
//! The core has no clock. The caller may register one (`aiml_set_clock`: a function and a
//! context, e.g. `ktime_get_ns`, a cycle counter, `clock_gettime`); every prediction then
//! reads it before and after and files the difference into a fixed histogram. Without a clock
//! only the counts move. Counters are 32-bit and wrap (a reader takes differences between
//! two snapshots, as with `/proc/stat`); each is updated with one atomic read-modify-write
//! (plain load and store on single-core builds, where nesting restores them), so a snapshot
//! taken concurrently with predictions is a set of individually exact counters, not one
//! instant. Cost: two clock calls and five counter updates per prediction.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};

use crate::sync::{add, inc, max, AtomicU32, AtomicU8};

/// Latency buckets of [`AimlHealth::latency`].
pub const AIML_LATENCY_BUCKETS: usize = 8;

/// Upper bounds (exclusive) of the first seven buckets, in clock units (ns with a ns clock);
/// the last bucket holds the rest.
pub const AIML_LATENCY_BOUNDS: [u32; AIML_LATENCY_BUCKETS - 1] =
    [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000];

/// A monotonic clock: returns the time in any fixed unit (ns recommended: the histogram's
/// bounds are read in that unit). NULL: none.
pub type AimlClock = Option<unsafe extern "C" fn(ctx: *mut c_void) -> u64>;

type ClockFn = unsafe extern "C" fn(*mut c_void) -> u64;

static CLOCK: AtomicUsize = AtomicUsize::new(0);
static CLOCK_CTX: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Sets (or, with `None`, clears) the clock predictions are timed with.
pub fn set_clock(clock: AimlClock, ctx: *mut c_void) {
    CLOCK.store(0, SeqCst);
    CLOCK_CTX.store(ctx, SeqCst);
    CLOCK.store(clock.map_or(0, |f| f as usize), SeqCst);
}

/// A reading of the caller's clock, and the clock it came from.
#[derive(Clone, Copy)]
pub struct Timestamp {
    clock: ClockFn,
    ctx: *mut c_void,
    at: u64,
}

impl Timestamp {
    /// Clock units since this reading (0 if the clock went backwards).
    pub fn elapsed(self) -> u64 {
        // SAFETY: the caller registered `clock` with this contract (aiml_set_clock).
        unsafe { (self.clock)(self.ctx) }.saturating_sub(self.at)
    }
}

/// The time now, if a clock is set.
pub fn now() -> Option<Timestamp> {
    let f = CLOCK.load(SeqCst);
    if f == 0 {
        return None;
    }
    // SAFETY: a non-zero value was stored by `set_clock` from a function pointer of this type.
    let clock = unsafe { core::mem::transmute::<usize, ClockFn>(f) };
    let ctx = CLOCK_CTX.load(SeqCst);
    // SAFETY: the caller registered `clock` with this contract (aiml_set_clock).
    let at = unsafe { clock(ctx) };
    Some(Timestamp { clock, ctx, at })
}

/// A slot's counters (see the module docs).
pub struct Health {
    predictions: AtomicU32,
    refusals: AtomicU32,
    timed: AtomicU32,
    time_total: AtomicU32,
    time_max: AtomicU32,
    latency: [AtomicU32; AIML_LATENCY_BUCKETS],
    lazy_defaults: AtomicU32,
    outcomes: AtomicU32,
    error_sum: AtomicU32,
    rolling: AtomicU32,
    false_alarms: AtomicU32,
    missed: AtomicU32,
    /// Outcomes since the model in use was installed (the alert's warm-up).
    since_install: AtomicU32,
    /// 1 while the degradation alert is raised.
    alert: AtomicU8,
    alerts: AtomicU32,
    fallbacks: AtomicU32,
    /// Input drift: the score now, samples since install, 1 while its alert is raised.
    drift: AtomicU32,
    drift_samples: AtomicU32,
    drift_alert: AtomicU8,
}

/// Outcomes an exponentially weighted error averages over (its weight halves in about 22).
const ROLLING_SPAN: u32 = 32;

/// A snapshot of one model's health counters (`aiml_health`). All counts wrap at 2^32: take
/// differences between snapshots.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AimlHealth {
    /// `AIML_KIND_*`.
    pub kind: u32,
    /// Predictions answered (status OK).
    pub predictions: u32,
    /// Prediction calls refused (bad pointer or history, or no model).
    pub refusals: u32,
    /// Answered predictions that were timed (a clock was set).
    pub timed: u32,
    /// Sum of the timed predictions' durations, clock units (wraps).
    pub time_total: u32,
    /// Longest timed prediction, clock units.
    pub time_max: u32,
    /// Timed predictions per duration bucket: below 250, 500, 1000, 2000, 4000, 8000, 16000
    /// clock units, and the rest (`AIML_LATENCY_BOUNDS`).
    pub latency: [u32; AIML_LATENCY_BUCKETS],
    /// Times the built-in model was put in the slot by a prediction that found it empty
    /// (lazy initialisation, before any `aiml_init`).
    pub lazy_defaults: u32,
    /// Outcomes reported (`aiml_*_outcome`): what happened after a prediction.
    pub outcomes: u32,
    /// Sum of their errors (wraps), in the model's unit: workload, |predicted − actual| CPU
    /// in percent × 100; threat and failure, 1000 for a wrong alarm or a missed event, else 0;
    /// memory, 1000 for a prefetch whose block was not the next one accessed, else 0. The
    /// mean error between two reads is the difference of `error_sum` over that of `outcomes`.
    pub error_sum: u32,
    /// The error averaged over about the last 32 outcomes (exponential weights), same unit:
    /// the workload's rolling MAE, the others' rolling error rate per-mille. Concurrent
    /// reports from several CPUs may drop an update of this one (not of the counts).
    pub rolling_error: u32,
    /// Threat and failure: alarms raised where nothing happened; memory: prefetches not used.
    pub false_alarms: u32,
    /// Threat and failure: events that came without an alarm.
    pub missed: u32,
    /// 1 while the degradation alert is raised: the rolling error of the model in use went
    /// above its blob's alert level (after its warm-up) and has not yet come back below its
    /// clear level. Stays raised after a fallback to a model without thresholds (the
    /// built-in one), so that a reader sees the slot is degraded.
    pub alert: u32,
    /// Times the alert was raised (transitions to 1).
    pub alerts: u32,
    /// Times the slot fell back (`aiml_set_fallback`) to the previous model or the built-in
    /// one on an alert.
    pub fallbacks: u32,
    /// Outcomes since the model in use was installed (a load, a reset, a fallback restart
    /// the rolling error).
    pub since_install: u32,
    /// Input drift score now (`inference_core::monitor::score`: how far the running means of
    /// the input codes are from the training means, per-mille of a training spread, averaged
    /// over features); 0 for a model without input statistics.
    pub drift: u32,
    /// Samples the drift score has seen since the model was installed (one prediction in
    /// `AIML_DRIFT_EVERY`).
    pub drift_samples: u32,
    /// 1 while the drift alert is raised (the score above the blob's drift level after the
    /// warm-up, until it falls below the clear level); it applies the fallback policy as the
    /// degradation alert does.
    pub drift_alert: u32,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// All zero.
    pub const fn new() -> Self {
        Health {
            predictions: AtomicU32::new(0),
            refusals: AtomicU32::new(0),
            timed: AtomicU32::new(0),
            time_total: AtomicU32::new(0),
            time_max: AtomicU32::new(0),
            latency: [
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
                AtomicU32::new(0),
            ],
            lazy_defaults: AtomicU32::new(0),
            outcomes: AtomicU32::new(0),
            error_sum: AtomicU32::new(0),
            rolling: AtomicU32::new(0),
            false_alarms: AtomicU32::new(0),
            missed: AtomicU32::new(0),
            since_install: AtomicU32::new(0),
            alert: AtomicU8::new(0),
            alerts: AtomicU32::new(0),
            fallbacks: AtomicU32::new(0),
            drift: AtomicU32::new(0),
            drift_samples: AtomicU32::new(0),
            drift_alert: AtomicU8::new(0),
        }
    }

    /// One drift sample: the new score; returns the samples since install.
    pub fn drift_sample(&self, score: u32) -> u32 {
        self.drift.store(score, SeqCst);
        inc(&self.drift_samples);
        self.drift_samples.load(SeqCst)
    }

    /// Samples since install (0: the running means must start from the training means).
    pub fn drift_samples(&self) -> u32 {
        self.drift_samples.load(SeqCst)
    }

    /// Whether the drift alert is raised.
    pub fn drift_alerted(&self) -> bool {
        self.drift_alert.load(SeqCst) != 0
    }

    /// Raises the drift alert; false if it was raised already.
    pub fn raise_drift_alert(&self) -> bool {
        self.raise(&self.drift_alert)
    }

    /// Raises `flag` and counts the alert; false if it was raised already.
    fn raise(&self, flag: &AtomicU8) -> bool {
        let raised = crate::sync::try_lock(flag);
        if raised {
            inc(&self.alerts);
        }
        raised
    }

    /// Lowers the drift alert.
    pub fn clear_drift_alert(&self) {
        self.drift_alert.store(0, SeqCst);
    }

    /// A new model is in use: its rolling error starts again (and its warm-up); `clear`
    /// also lowers the alert (an operator's load or reset, not a fallback).
    pub fn installed(&self, clear: bool) {
        self.rolling.store(0, SeqCst);
        self.since_install.store(0, SeqCst);
        self.drift.store(0, SeqCst);
        self.drift_samples.store(0, SeqCst);
        if clear {
            self.alert.store(0, SeqCst);
            self.drift_alert.store(0, SeqCst);
        }
    }

    /// The rolling error now and the outcomes since the model was installed.
    pub fn rolling_now(&self) -> (u32, u32) {
        (
            self.rolling.load(SeqCst) / ROLLING_SPAN,
            self.since_install.load(SeqCst),
        )
    }

    /// Whether the alert is raised.
    pub fn alerted(&self) -> bool {
        self.alert.load(SeqCst) != 0
    }

    /// Raises the alert; false if it was raised already (by another CPU).
    pub fn raise_alert(&self) -> bool {
        self.raise(&self.alert)
    }

    /// Keeps the alert that caused a fallback (the drift alert if `drift`) raised after the
    /// fallback's reset cleared it, and counts the fallback.
    pub fn fell_back(&self, drift: bool) {
        if drift {
            self.drift_alert.store(1, SeqCst);
        } else {
            self.alert.store(1, SeqCst);
        }
        inc(&self.fallbacks);
    }

    /// Lowers the alert.
    pub fn clear_alert(&self) {
        self.alert.store(0, SeqCst);
    }

    /// Counts one outcome with its `error` (the unit of [`AimlHealth::error_sum`]), and
    /// whether it was a false alarm or a missed event.
    pub fn outcome(&self, error: u32, false_alarm: bool, missed: bool) {
        inc(&self.outcomes);
        inc(&self.since_install);
        add(&self.error_sum, error);
        // r ← r − r/32 + error: r is 32 × the rolling mean (one load and one store, so a
        // concurrent report may be lost; the counts above are exact)
        let r = self.rolling.load(SeqCst);
        self.rolling.store(
            r - r / ROLLING_SPAN + error.min(u32::MAX / ROLLING_SPAN),
            SeqCst,
        );
        if false_alarm {
            inc(&self.false_alarms);
        }
        if missed {
            inc(&self.missed);
        }
    }

    /// Counts one prediction call: answered or refused, and the duration of an answered one
    /// if it was timed.
    pub fn record(&self, answered: bool, elapsed: Option<u64>) {
        inc(if answered {
            &self.predictions
        } else {
            &self.refusals
        });
        if let Some(d) = elapsed {
            let d = u32::try_from(d).unwrap_or(u32::MAX);
            inc(&self.timed);
            add(&self.time_total, d);
            max(&self.time_max, d);
            let b = AIML_LATENCY_BOUNDS
                .iter()
                .position(|&bound| d < bound)
                .unwrap_or(AIML_LATENCY_BUCKETS - 1);
            if let Some(c) = self.latency.get(b) {
                inc(c);
            }
        }
    }

    /// Counts a lazy installation of the built-in model.
    pub fn lazy_default(&self) {
        inc(&self.lazy_defaults);
    }

    /// The counters now.
    pub fn snapshot(&self, kind: u32) -> AimlHealth {
        AimlHealth {
            kind,
            predictions: self.predictions.load(SeqCst),
            refusals: self.refusals.load(SeqCst),
            timed: self.timed.load(SeqCst),
            time_total: self.time_total.load(SeqCst),
            time_max: self.time_max.load(SeqCst),
            latency: self.latency.each_ref().map(|a| a.load(SeqCst)),
            lazy_defaults: self.lazy_defaults.load(SeqCst),
            outcomes: self.outcomes.load(SeqCst),
            error_sum: self.error_sum.load(SeqCst),
            rolling_error: self.rolling.load(SeqCst) / ROLLING_SPAN,
            false_alarms: self.false_alarms.load(SeqCst),
            missed: self.missed.load(SeqCst),
            alert: self.alert.load(SeqCst) as u32,
            alerts: self.alerts.load(SeqCst),
            fallbacks: self.fallbacks.load(SeqCst),
            since_install: self.since_install.load(SeqCst),
            drift: self.drift.load(SeqCst),
            drift_samples: self.drift_samples.load(SeqCst),
            drift_alert: self.drift_alert.load(SeqCst) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_their_buckets() {
        let h = Health::new();
        for d in [0u64, 249, 250, 999, 1000, 15_999, 16_000, 1 << 40] {
            h.record(true, Some(d));
        }
        h.record(true, None);
        h.record(false, None);
        let s = h.snapshot(4);
        assert_eq!((s.kind, s.predictions, s.refusals, s.timed), (4, 9, 1, 8));
        assert_eq!(s.latency, [2, 1, 1, 1, 0, 0, 1, 2]);
        assert_eq!(s.time_max, u32::MAX);
        assert_eq!(s.latency.iter().sum::<u32>(), s.timed);
    }

    #[test]
    fn the_rolling_error_follows_the_latest_outcomes() {
        let h = Health::new();
        for _ in 0..300 {
            h.outcome(500, false, false);
        }
        let s = h.snapshot(1);
        assert_eq!((s.outcomes, s.error_sum), (300, 150_000));
        assert!(
            (495..=500).contains(&s.rolling_error),
            "{}",
            s.rolling_error
        );
        // the errors stop: the rolling mean falls, the cumulative one stays
        for _ in 0..100 {
            h.outcome(0, false, true);
        }
        let s = h.snapshot(1);
        assert!(s.rolling_error < 25, "{}", s.rolling_error);
        assert_eq!((s.missed, s.false_alarms, s.error_sum), (100, 0, 150_000));
        // the largest errors cannot overflow the rolling sum
        for _ in 0..1000 {
            h.outcome(u32::MAX, true, false);
        }
        assert!(h.snapshot(1).rolling_error > 100_000_000);
    }
}
