//! Threat entry points: one process's activity per window in, a verdict and an action out.

use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::predictors::ThreatAssessment;

use super::{
    ab_flags, binary_outcome, put_answer, status, take, timed, FromAnswer, THREAT, THREAT_AB,
};
use crate::ab::{Agree, Answer, Role};
use crate::history::{self, check_ptr, AimlThreatHistory};
use crate::status::AimlStatus;

/// What one process did during one observation window.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlProcessWindow {
    /// End of the window, milliseconds on any monotonic clock.
    pub end_ms: u64,
    /// System calls made.
    pub syscalls: u32,
    /// Network connections opened.
    pub network_connections: u32,
    /// File accesses.
    pub file_accesses: u32,
    /// Capability or privilege escalation attempts.
    pub privilege_attempts: u32,
    /// System calls that failed.
    pub failed_syscalls: u32,
    /// Memory allocation calls.
    pub memory_allocs: u32,
    /// Memory allocated, KiB.
    pub alloc_kib: u32,
    /// Processes or threads spawned.
    pub spawns: u32,
}

/// The threat detector's verdict for one window.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlThreatAssessment {
    /// Threat score, per-mille.
    pub score: u16,
    /// Probability of the reported type, per-mille.
    pub confidence: u16,
    /// Operating threshold used, per-mille.
    pub threshold: u16,
    /// Threat type code (0 none, 1 cryptominer, 2 exfiltration, 3 privilege escalation,
    /// 4 ransomware, 5 resource exhaustion, 6 brute force, 7 backdoor).
    pub threat_type: u8,
    /// Recommended action: 0 allow, 1 monitor, 2 throttle, 3 kill.
    pub action: u8,
    /// With `AIML_AB_SHADOW` in `ab`: 1 if the candidate's score reached its threshold for
    /// the same window (scored by `aiml_threat_outcome`); else 0.
    pub shadow_alarm: u8,
    /// `AIML_AB_SHADOW | AIML_AB_CANDIDATE` (A/B testing, `aiml_ab_set`); 0 when the live
    /// model answered alone.
    pub ab: u8,
}

impl From<AimlProcessWindow> for ProcessWindow {
    fn from(w: AimlProcessWindow) -> Self {
        ProcessWindow {
            syscalls: w.syscalls,
            network_connections: w.network_connections,
            file_accesses: w.file_accesses,
            privilege_attempts: w.privilege_attempts,
            failed_syscalls: w.failed_syscalls,
            memory_allocs: w.memory_allocs,
            alloc_kib: w.alloc_kib,
            spawns: w.spawns,
            end_ms: w.end_ms,
        }
    }
}

impl From<ThreatAssessment> for AimlThreatAssessment {
    fn from(a: ThreatAssessment) -> Self {
        AimlThreatAssessment {
            score: a.score,
            confidence: a.confidence,
            threshold: a.threshold,
            threat_type: a.threat_type as u8,
            action: a.action as u8,
            shadow_alarm: 0,
            ab: 0,
        }
    }
}

/// Whether a verdict raises the alarm (its score reaches an operating threshold).
fn alarm(score: u16, threshold: u16) -> bool {
    threshold > 0 && score >= threshold
}

impl Agree for ThreatAssessment {
    /// The same alarm decision.
    fn agrees(&self, other: &Self) -> bool {
        alarm(self.score, self.threshold) == alarm(other.score, other.threshold)
    }
}

impl FromAnswer<ThreatAssessment> for AimlThreatAssessment {
    fn from_answer(a: Answer<ThreatAssessment>) -> Self {
        AimlThreatAssessment {
            ab: ab_flags(&a),
            shadow_alarm: a.shadow.is_some_and(|s| alarm(s.score, s.threshold)) as u8,
            ..a.answer.into()
        }
    }
}

/// Initialises (or clears) a threat history (one per process).
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_threat_history_init(h: *mut AimlThreatHistory) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { history::init(h, ThreatHistory::new()) })
}

/// # Safety
/// As [`aiml_threat_observe_call`].
unsafe fn observe_call(h: *mut AimlThreatHistory, nr: u32) -> Result<(), AimlStatus> {
    // SAFETY: forwarded contract; `get_mut` checks null, alignment and the magic word.
    let hist = unsafe { history::get_mut(h) }?;
    hist.observe_call(nr);
    Ok(())
}

/// Records one system call `nr` of the process (call it from the syscall entry path): O(1),
/// no allocation, no lock; the call order feeds the next [`aiml_threat_assess`]. Use the
/// numbering the model was trained with (the built-in and ADFA-LD models: i386).
///
/// # Safety
/// `h`, if non-null and aligned, must be valid and not used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_threat_observe_call(
    h: *mut AimlThreatHistory,
    nr: u32,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { observe_call(h, nr) })
}

/// # Safety
/// As [`aiml_threat_assess`].
unsafe fn assess(
    h: *mut AimlThreatHistory,
    w: *const AimlProcessWindow,
    out: *mut AimlThreatAssessment,
) -> Result<bool, AimlStatus> {
    check_ptr(out)?;
    // SAFETY: forwarded contract; `take` checks null and alignment.
    let w = unsafe { take(w) }?;
    // SAFETY: forwarded contract; `entity` checks null, alignment and the magic word.
    let entity = unsafe { history::entity(h as *const AimlThreatHistory) }?;
    // SAFETY: forwarded contract; `get_mut` checks null, alignment and the magic word.
    let hist = unsafe { history::get_mut(h) }?;
    let win = ProcessWindow::from(w);
    THREAT.sample(|| hist.features(&win));
    // a shadow's verdict is not recorded (the process's verdict history is the answering
    // model's); the shadow runs first, so both read the history before the verdict
    let a = THREAT_AB.answer(
        &THREAT,
        || entity,
        |d, role| match role {
            Role::Answer => d.assess(hist, &win),
            Role::Shadow => d.assess_features(&hist.features(&win)),
        },
    )?;
    // SAFETY: forwarded contract.
    unsafe { put_answer(out, a) }
}

/// Assesses one window of a process and records the verdict in its history.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_threat_assess(
    h: *mut AimlThreatHistory,
    w: *const AimlProcessWindow,
    out: *mut AimlThreatAssessment,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(timed(&THREAT, &THREAT_AB, || unsafe { assess(h, w, out) }))
}

/// Reports what followed an assessment: whether the process was in fact an attack. Counted
/// in the slot's health (`aiml_health`): an alarm (`score ≥ threshold`) without an attack is
/// a false alarm, an attack without an alarm a missed one; each wrong verdict adds 1000 to
/// the error.
///
/// # Safety
/// `a`, if non-null and aligned, must be valid for reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_threat_outcome(
    a: *const AimlThreatAssessment,
    attack: bool,
) -> AimlStatus {
    // SAFETY: forwarded contract; `take` checks null and alignment.
    status(unsafe { take(a) }.map(|a| {
        binary_outcome(
            &THREAT,
            &THREAT_AB,
            a.ab,
            alarm(a.score, a.threshold),
            a.shadow_alarm != 0,
            attack,
        )
    }))
}
