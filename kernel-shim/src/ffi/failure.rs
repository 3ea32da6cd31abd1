//! Failure entry points: a component's health readings and failure events in, a forecast out.

use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::predictors::FailureForecast;
use inference_core::FailurePredictor;

use super::{
    ab_flags, binary_outcome, predict, push, status, take, FromAnswer, FAILURE, FAILURE_AB,
};
use crate::ab::{Agree, Answer};
use crate::history::{self, AimlFailureHistory};
use crate::status::AimlStatus;

/// One health reading.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlHealthSample {
    /// Time of the reading, seconds (any monotonic clock).
    pub unix_s: u64,
    /// Health, per-mille (1000 = healthy; larger values are clamped).
    pub health: u16,
    /// Must be zero.
    pub reserved: [u16; 3],
}

/// The failure predictor's forecast for a component.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlFailureForecast {
    /// Predicted time to failure, seconds.
    pub time_to_failure_s: u32,
    /// Probability of failure within the model's horizon, per-mille.
    pub probability: u16,
    /// Confidence, per-mille.
    pub confidence: u16,
    /// 1 if the probability reaches the operating threshold.
    pub alarm: u8,
    /// Failure type: 0 degradation, 1 sudden, 2 intermittent.
    pub failure_type: u8,
    /// With `AIML_AB_SHADOW` in `ab`: 1 if the candidate raised the alarm for the same
    /// component (scored by `aiml_failure_outcome`); else 0.
    pub shadow_alarm: u8,
    /// `AIML_AB_SHADOW | AIML_AB_CANDIDATE` (A/B testing, `aiml_ab_set`); 0 when the live
    /// model answered alone.
    pub ab: u8,
}

impl From<AimlHealthSample> for HealthSample {
    fn from(s: AimlHealthSample) -> Self {
        HealthSample {
            health: s.health,
            unix_s: s.unix_s,
        }
    }
}

impl From<FailureForecast> for AimlFailureForecast {
    fn from(f: FailureForecast) -> Self {
        AimlFailureForecast {
            time_to_failure_s: f.time_to_failure_s,
            probability: f.probability,
            confidence: f.confidence,
            alarm: f.alarm as u8,
            failure_type: f.failure_type as u8,
            shadow_alarm: 0,
            ab: 0,
        }
    }
}

impl Agree for FailureForecast {
    /// The same alarm decision.
    fn agrees(&self, other: &Self) -> bool {
        self.alarm == other.alarm
    }
}

impl FromAnswer<FailureForecast> for AimlFailureForecast {
    fn from_answer(a: Answer<FailureForecast>) -> Self {
        AimlFailureForecast {
            ab: ab_flags(&a),
            shadow_alarm: a.shadow.is_some_and(|s| s.alarm) as u8,
            ..a.answer.into()
        }
    }
}

/// Initialises (or clears) a failure history (one per component).
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_failure_history_init(h: *mut AimlFailureHistory) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { history::init(h, FailureHistory::new()) })
}

/// Appends a health reading (it becomes the current one).
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_failure_push(
    h: *mut AimlFailureHistory,
    s: *const AimlHealthSample,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { push(h, s, FailureHistory::push) })
}

/// # Safety
/// As [`aiml_failure_record`].
unsafe fn record(h: *mut AimlFailureHistory, unix_s: u64) -> Result<(), AimlStatus> {
    // SAFETY: forwarded contract; `get_mut` checks null, alignment and the magic word.
    let hist = unsafe { history::get_mut(h) }?;
    hist.record_failure(unix_s);
    Ok(())
}

/// Records a failure event at `unix_s`.
///
/// # Safety
/// `h`, if non-null and aligned, must be valid and not used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_failure_record(
    h: *mut AimlFailureHistory,
    unix_s: u64,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { record(h, unix_s) })
}

/// Forecast for the component whose readings are in `h`.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be written concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_failure_predict(
    h: *const AimlFailureHistory,
    out: *mut AimlFailureForecast,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe {
        predict(
            &FAILURE,
            &FAILURE_AB,
            h,
            out,
            |p: &FailurePredictor, _, h| p.predict(h),
        )
    })
}

/// Reports what followed a forecast: whether the component failed within the horizon.
/// Counted in the slot's health (`aiml_health`): an alarm without a failure is a false alarm,
/// a failure without an alarm a missed one; each wrong forecast adds 1000 to the error.
///
/// # Safety
/// `f`, if non-null and aligned, must be valid for reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_failure_outcome(
    f: *const AimlFailureForecast,
    failed: bool,
) -> AimlStatus {
    // SAFETY: forwarded contract; `take` checks null and alignment.
    status(unsafe { take(f) }.map(|f| {
        binary_outcome(
            &FAILURE,
            &FAILURE_AB,
            f.ab,
            f.alarm != 0,
            f.shadow_alarm != 0,
            failed,
        )
    }))
}
