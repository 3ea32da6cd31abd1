//! Workload entry points: utilisation samples in, next CPU/memory/GPU utilisation out.

use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::predictors::WorkloadPrediction;
use inference_core::WorkloadPredictor;

use super::{
    ab_flags, outcome, predict_mut, push, status, take, FromAnswer, Scored, AIML_AB_SHADOW,
    WORKLOAD, WORKLOAD_AB,
};
use crate::ab::{Agree, Answer, Role};
use crate::history::{self, AimlWorkloadHistory};
use crate::status::AimlStatus;

/// `flags` bit: the memory channel is observed / predicted.
pub const AIML_HAS_MEM: u16 = 1;
/// `flags` bit: the GPU channel is observed / predicted.
pub const AIML_HAS_GPU: u16 = 2;

/// One utilisation sample.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlWorkloadSample {
    /// Time of the sample, seconds since the Unix epoch.
    pub unix_s: u64,
    /// CPU utilisation, percent × 100 (0..=10000; larger values are clamped).
    pub cpu: u16,
    /// Memory utilisation, percent × 100 (read only with `AIML_HAS_MEM`).
    pub mem: u16,
    /// GPU utilisation, percent × 100 (read only with `AIML_HAS_GPU`).
    pub gpu: u16,
    /// `AIML_HAS_MEM | AIML_HAS_GPU`: which channels are observed.
    pub flags: u16,
}

/// Next CPU, memory and GPU utilisation.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlWorkloadPrediction {
    /// Next CPU utilisation, percent × 100.
    pub cpu: u16,
    /// Next memory utilisation, percent × 100 (valid with `AIML_HAS_MEM`).
    pub mem: u16,
    /// Next GPU utilisation, percent × 100 (valid with `AIML_HAS_GPU`).
    pub gpu: u16,
    /// Expected absolute error, percent × 100.
    pub expected_error: u16,
    /// Confidence, per-mille.
    pub confidence: u16,
    /// `AIML_HAS_MEM | AIML_HAS_GPU`: which predictions are present.
    pub flags: u16,
    /// With `AIML_AB_SHADOW` in `ab`: the candidate's next CPU utilisation for the same
    /// series, percent × 100 (scored by `aiml_workload_outcome`); else 0.
    pub shadow_cpu: u16,
    /// `AIML_AB_SHADOW | AIML_AB_CANDIDATE` (A/B testing, `aiml_ab_set`); 0 when the live
    /// model answered alone.
    pub ab: u16,
}

impl From<AimlWorkloadSample> for WorkloadSample {
    fn from(s: AimlWorkloadSample) -> Self {
        WorkloadSample {
            cpu: s.cpu,
            mem: (s.flags & AIML_HAS_MEM != 0).then_some(s.mem),
            gpu: (s.flags & AIML_HAS_GPU != 0).then_some(s.gpu),
            unix_s: s.unix_s,
        }
    }
}

impl From<WorkloadPrediction> for AimlWorkloadPrediction {
    fn from(p: WorkloadPrediction) -> Self {
        let flags = if p.mem.is_some() { AIML_HAS_MEM } else { 0 }
            | if p.gpu.is_some() { AIML_HAS_GPU } else { 0 };
        AimlWorkloadPrediction {
            cpu: p.cpu,
            mem: p.mem.unwrap_or(0),
            gpu: p.gpu.unwrap_or(0),
            expected_error: p.expected_error,
            confidence: p.confidence,
            flags,
            shadow_cpu: 0,
            ab: 0,
        }
    }
}

impl Agree for WorkloadPrediction {
    /// CPU within one percentage point.
    fn agrees(&self, other: &Self) -> bool {
        self.cpu.abs_diff(other.cpu) <= 100
    }
}

impl FromAnswer<WorkloadPrediction> for AimlWorkloadPrediction {
    fn from_answer(a: Answer<WorkloadPrediction>) -> Self {
        AimlWorkloadPrediction {
            ab: u16::from(ab_flags(&a)),
            shadow_cpu: a.shadow.map_or(0, |s| s.cpu),
            ..a.answer.into()
        }
    }
}

/// Initialises (or clears) a workload history.
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_workload_history_init(h: *mut AimlWorkloadHistory) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { history::init(h, WorkloadHistory::new()) })
}

/// Appends the newest sample to a workload history.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_workload_push(
    h: *mut AimlWorkloadHistory,
    s: *const AimlWorkloadSample,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { push(h, s, WorkloadHistory::push) })
}

/// Predicts the sample after the newest one in `h`, and records the model's raw prediction in
/// `h` for its do-no-harm record (a channel follows the model only while the model has
/// recently beaten "same as now" on this series).
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_workload_predict(
    h: *mut AimlWorkloadHistory,
    out: *mut AimlWorkloadPrediction,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe {
        predict_mut(
            &WORKLOAD,
            &WORKLOAD_AB,
            h,
            out,
            |p: &WorkloadPredictor, role, h| match role {
                Role::Answer => p.predict(h),
                Role::Shadow => p.predict_shadow(h),
            },
        )
    })
}

/// Reports what followed a prediction: the CPU utilisation (percent × 100) actually measured
/// at the time the prediction was for. Counted in the slot's health (`aiml_health`): the
/// error is `|p.cpu − actual_cpu|`, so `rolling_error` is the rolling MAE in percent × 100
/// (the manifest's `mae_pp` × 100). Under A/B testing the prediction's `ab` flags route the
/// outcome: a candidate's answer is counted in the candidate's health (`aiml_ab_health`), a
/// shadow's `shadow_cpu` there too and in the paired comparison (`aiml_ab`).
///
/// # Safety
/// `p`, if non-null and aligned, must be valid for reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_workload_outcome(
    p: *const AimlWorkloadPrediction,
    actual_cpu: u16,
) -> AimlStatus {
    // SAFETY: forwarded contract; `take` checks null and alignment.
    status(unsafe { take(p) }.map(|p| {
        let (live, shadow) = (
            p.cpu.abs_diff(actual_cpu) as u32,
            p.shadow_cpu.abs_diff(actual_cpu) as u32,
        );
        let paired = (p.ab & u16::from(AIML_AB_SHADOW) != 0).then_some((live, shadow));
        outcome(
            &WORKLOAD,
            &WORKLOAD_AB,
            p.ab as u8,
            Some(Scored::error(live)),
            Some(Scored::error(shadow)),
            paired,
        )
    }))
}
