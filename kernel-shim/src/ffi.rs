//! The C entry points and their `#[repr(C)]` types. Units are integers throughout:
//! percent × 100, per-mille, seconds, milliseconds, nanoseconds, bytes.

use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::{
    FailurePredictor, MemoryPredictor, ModelSource, Predictor, ThreatDetector, WorkloadPredictor,
};

use crate::history::AimlWorkloadHistory;
use crate::history::{self, check_ptr};
use crate::history::{AimlFailureHistory, AimlMemoryHistory, AimlThreatHistory};
use crate::slot::{Slot, SLOT_BYTES};
use crate::status::AimlStatus;

/// Kind code of the workload predictor.
pub const AIML_KIND_WORKLOAD: u32 = 1;
/// Kind code of the threat detector.
pub const AIML_KIND_THREAT: u32 = 2;
/// Kind code of the failure predictor.
pub const AIML_KIND_FAILURE: u32 = 3;
/// Kind code of the memory-access predictor.
pub const AIML_KIND_MEMORY: u32 = 4;

/// `AimlModelInfo::source`: the built-in model.
pub const AIML_SOURCE_DEFAULT: u32 = 0;
/// `AimlModelInfo::source`: a model loaded with `aiml_load`.
pub const AIML_SOURCE_LOADED: u32 = 1;
/// `AimlModelInfo::source`: no model (the built-in one was refused; outputs are neutral).
pub const AIML_SOURCE_NONE: u32 = 2;

/// `flags` bit: the memory channel is observed / predicted.
pub const AIML_HAS_MEM: u16 = 1;
/// `flags` bit: the GPU channel is observed / predicted.
pub const AIML_HAS_GPU: u16 = 2;

static WORKLOAD: Slot<WorkloadPredictor<'static>> = Slot::new();
static THREAT: Slot<ThreatDetector<'static>> = Slot::new();
static FAILURE: Slot<FailurePredictor<'static>> = Slot::new();
static MEMORY: Slot<MemoryPredictor<'static>> = Slot::new();

fn status(r: Result<(), AimlStatus>) -> AimlStatus {
    match r {
        Ok(()) => AimlStatus::Ok,
        Err(e) => e,
    }
}

/// Writes `v` to `out` after checking the pointer.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
unsafe fn put<T>(out: *mut T, v: T) -> Result<(), AimlStatus> {
    check_ptr(out)?;
    // SAFETY: checked; validity is the caller's contract.
    unsafe { out.write(v) };
    Ok(())
}

/// Reads `*p` after checking the pointer.
///
/// # Safety
/// `p`, if non-null and aligned, must be valid for reads.
unsafe fn take<T: Copy>(p: *const T) -> Result<T, AimlStatus> {
    check_ptr(p)?;
    // SAFETY: checked; validity is the caller's contract.
    Ok(unsafe { p.read() })
}

// ---------------------------------------------------------------------------------------------
// Slots

/// Puts the built-in model in every slot that holds none. Call once before predicting (e.g.
/// in `module_init`); calling it again changes nothing. Any context; does not block.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_init() -> AimlStatus {
    let rs = [
        WORKLOAD.init(),
        THREAT.init(),
        FAILURE.init(),
        MEMORY.init(),
    ];
    status(rs.into_iter().collect())
}

/// Bytes a blob may have at most (`AIML_SHIM_SLOT_BYTES` at build time).
#[unsafe(no_mangle)]
pub extern "C" fn aiml_slot_capacity() -> usize {
    SLOT_BYTES
}

/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
unsafe fn load(kind: u32, blob: *const u8, len: usize, force: bool) -> AimlStatus {
    if blob.is_null() {
        return AimlStatus::NullPointer;
    }
    // SAFETY: forwarded contract.
    let r = unsafe {
        match kind {
            AIML_KIND_WORKLOAD => WORKLOAD.load(blob, len, force),
            AIML_KIND_THREAT => THREAT.load(blob, len, force),
            AIML_KIND_FAILURE => FAILURE.load(blob, len, force),
            AIML_KIND_MEMORY => MEMORY.load(blob, len, force),
            _ => Err(AimlStatus::UnknownKind),
        }
    };
    status(r)
}

/// Copies `len` bytes at `blob` into the spare buffer of the slot of `kind`, validates them
/// and, if accepted, makes them the slot's model. On any error the previous model stays and
/// the status says why (`BLOB_*`: the check that refused it). The caller's buffer is not
/// referenced after the call returns.
///
/// The blob must pass the key policy (`aiml_set_key`: signature, unsigned blobs) and carry a
/// model version no lower than the last blob loaded into this slot (`BLOB_ROLLBACK`
/// otherwise; `aiml_reset` does not lower that floor).
///
/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_load(kind: u32, blob: *const u8, len: usize) -> AimlStatus {
    // SAFETY: forwarded contract.
    unsafe { load(kind, blob, len, false) }
}

/// `aiml_load` without the anti-rollback check: a deliberate downgrade by the operator. The
/// key policy still applies. The slot's rollback floor becomes the forced blob's version.
///
/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_load_force(kind: u32, blob: *const u8, len: usize) -> AimlStatus {
    // SAFETY: forwarded contract.
    unsafe { load(kind, blob, len, true) }
}

/// Sets the key policy of every later load: `key` (32 bytes, an Ed25519 public key; NULL for
/// none) and whether blobs without a signature are accepted. With a key and
/// `accept_unsigned = false`, only blobs signed by that key load (`BLOB_UNSIGNED`,
/// `BLOB_BAD_SIGNATURE`); with no key and `accept_unsigned = false`, every load is refused
/// (`BLOB_NO_KEY`). Until the first call: no key, unsigned blobs accepted. The key is copied.
/// `INVALID_ARGUMENT`: not a valid Ed25519 public key (nothing changed); `BUSY`: another
/// `aiml_set_key` runs. Models already loaded stay.
///
/// # Safety
/// `key`, if non-null, must be valid for reads of 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_set_key(key: *const u8, accept_unsigned: bool) -> AimlStatus {
    let key = if key.is_null() {
        None
    } else {
        // SAFETY: non-null, readable for 32 bytes by contract; `[u8; 32]` has alignment 1.
        Some(unsafe { &*(key as *const [u8; 32]) })
    };
    status(crate::policy::set(key, accept_unsigned))
}

/// Switches the slot of `kind` back to its built-in model.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_reset(kind: u32) -> AimlStatus {
    status(match kind {
        AIML_KIND_WORKLOAD => WORKLOAD.reset(),
        AIML_KIND_THREAT => THREAT.reset(),
        AIML_KIND_FAILURE => FAILURE.reset(),
        AIML_KIND_MEMORY => MEMORY.reset(),
        _ => Err(AimlStatus::UnknownKind),
    })
}

/// What a slot holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlModelInfo {
    /// `AIML_KIND_*`.
    pub kind: u32,
    /// Model version from the blob.
    pub version: u32,
    /// `AIML_SOURCE_*`.
    pub source: u32,
    /// Size of the blob, bytes.
    pub blob_len: u32,
    /// Raw features the model reads.
    pub n_features: u32,
    /// Network outputs.
    pub n_outputs: u32,
    /// Multiply-accumulates per prediction.
    pub macs: u32,
    /// Operating threshold of the decision head, per-mille.
    pub threshold_permille: u32,
}

fn info_of<P: Predictor<'static>>(p: &P) -> AimlModelInfo {
    let source = match p.source() {
        ModelSource::Loaded { .. } => AIML_SOURCE_LOADED,
        ModelSource::Default { .. } => AIML_SOURCE_DEFAULT,
        ModelSource::None { .. } => AIML_SOURCE_NONE,
    };
    let mut info = AimlModelInfo {
        kind: P::KIND as u32,
        source,
        ..AimlModelInfo::default()
    };
    if let Some(m) = p.model() {
        info.version = m.version();
        info.blob_len = m.blob_len() as u32;
        info.n_features = m.n_features() as u32;
        info.n_outputs = m.n_outputs() as u32;
        info.macs = m.macs() as u32;
        info.threshold_permille = m.header().threshold_permille as u32;
    }
    info
}

/// Fills `out` with what the slot of `kind` holds.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_info(kind: u32, out: *mut AimlModelInfo) -> AimlStatus {
    if let Err(e) = check_ptr(out) {
        return e;
    }
    let info = match kind {
        AIML_KIND_WORKLOAD => WORKLOAD.read(info_of),
        AIML_KIND_THREAT => THREAT.read(info_of),
        AIML_KIND_FAILURE => FAILURE.read(info_of),
        AIML_KIND_MEMORY => MEMORY.read(info_of),
        _ => Err(AimlStatus::UnknownKind),
    };
    // SAFETY: forwarded contract.
    status(info.and_then(|i| unsafe { put(out, i) }))
}

// ---------------------------------------------------------------------------------------------
// Workload

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
    status(unsafe {
        (|| {
            let s = take(s)?;
            let hist = history::get_mut(h)?;
            hist.push(WorkloadSample {
                cpu: s.cpu,
                mem: (s.flags & AIML_HAS_MEM != 0).then_some(s.mem),
                gpu: (s.flags & AIML_HAS_GPU != 0).then_some(s.gpu),
                unix_s: s.unix_s,
            });
            Ok(())
        })()
    })
}

/// Predicts the sample after the newest one in `h`.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be written concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_workload_predict(
    h: *const AimlWorkloadHistory,
    out: *mut AimlWorkloadPrediction,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe {
        (|| {
            check_ptr(out)?;
            let hist = history::get(h)?;
            let p = WORKLOAD.read(|w| w.predict(hist))?;
            let flags = if p.mem.is_some() { AIML_HAS_MEM } else { 0 }
                | if p.gpu.is_some() { AIML_HAS_GPU } else { 0 };
            put(
                out,
                AimlWorkloadPrediction {
                    cpu: p.cpu,
                    mem: p.mem.unwrap_or(0),
                    gpu: p.gpu.unwrap_or(0),
                    expected_error: p.expected_error,
                    confidence: p.confidence,
                    flags,
                },
            )
        })()
    })
}

// ---------------------------------------------------------------------------------------------
// Threat

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
    status(unsafe {
        (|| {
            check_ptr(out)?;
            let w = take(w)?;
            let hist = history::get_mut(h)?;
            let win = ProcessWindow {
                syscalls: w.syscalls,
                network_connections: w.network_connections,
                file_accesses: w.file_accesses,
                privilege_attempts: w.privilege_attempts,
                failed_syscalls: w.failed_syscalls,
                memory_allocs: w.memory_allocs,
                alloc_kib: w.alloc_kib,
                spawns: w.spawns,
                end_ms: w.end_ms,
            };
            let a = THREAT.read(|d| d.assess(hist, &win))?;
            put(
                out,
                AimlThreatAssessment {
                    score: a.score,
                    confidence: a.confidence,
                    threshold: a.threshold,
                    threat_type: a.threat_type as u8,
                    action: a.action as u8,
                },
            )
        })()
    })
}

// ---------------------------------------------------------------------------------------------
// Failure

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
    /// Zero.
    pub reserved: u16,
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
    status(unsafe {
        (|| {
            let s = take(s)?;
            history::get_mut(h)?.push(HealthSample {
                health: s.health,
                unix_s: s.unix_s,
            });
            Ok(())
        })()
    })
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
    status(unsafe { history::get_mut(h).map(|hist| hist.record_failure(unix_s)) })
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
        (|| {
            check_ptr(out)?;
            let hist = history::get(h)?;
            let f = FAILURE.read(|p| p.predict(hist))?;
            put(
                out,
                AimlFailureForecast {
                    time_to_failure_s: f.time_to_failure_s,
                    probability: f.probability,
                    confidence: f.confidence,
                    alarm: f.alarm as u8,
                    failure_type: f.failure_type as u8,
                    reserved: 0,
                },
            )
        })()
    })
}

// ---------------------------------------------------------------------------------------------
// Memory

/// One memory access.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlMemoryAccess {
    /// Virtual address.
    pub addr: u64,
    /// Program counter of the instruction (0 if unknown).
    pub pc: u64,
    /// Time of the access, ns on any monotonic clock (0 if unknown).
    pub time_ns: u64,
    /// 0 read, 1 write, 2 execute; other values are refused (`INVALID_ARGUMENT`).
    pub kind: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// The memory predictor's guess of the next access.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlAccessPrediction {
    /// Predicted next address (start of the cache line).
    pub next_addr: u64,
    /// Predicted delta from the current line, cache lines.
    pub delta_lines: i64,
    /// Probability that the next access falls in that line, per-mille.
    pub probability: u16,
    /// Probability that some candidate is right, per-mille.
    pub confidence: u16,
    /// Predicted kind of the next access: 0 read, 1 write, 2 execute.
    pub kind: u8,
    /// Chosen candidate class (0..=5).
    pub class_id: u8,
    /// Zero.
    pub reserved: u16,
}

/// Initialises (or clears) a memory-access history (one per stream).
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_history_init(h: *mut AimlMemoryHistory) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { history::init(h, MemoryHistory::new()) })
}

/// Records an access.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be used concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_push(
    h: *mut AimlMemoryHistory,
    a: *const AimlMemoryAccess,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe {
        (|| {
            let a = take(a)?;
            let kind = match a.kind {
                0 => AccessKind::Read,
                1 => AccessKind::Write,
                2 => AccessKind::Execute,
                _ => return Err(AimlStatus::InvalidArgument),
            };
            history::get_mut(h)?.push(MemoryAccess {
                addr: a.addr,
                pc: a.pc,
                kind,
                time_ns: a.time_ns,
            });
            Ok(())
        })()
    })
}

/// Predicts the access after the newest one in `h`.
///
/// # Safety
/// Non-null, aligned pointers must be valid; `h` must not be written concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_predict(
    h: *const AimlMemoryHistory,
    out: *mut AimlAccessPrediction,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe {
        (|| {
            check_ptr(out)?;
            let hist = history::get(h)?;
            let p = MEMORY.read(|m| m.predict(hist))?;
            put(
                out,
                AimlAccessPrediction {
                    next_addr: p.next_addr,
                    delta_lines: p.delta_lines,
                    probability: p.probability,
                    confidence: p.confidence,
                    kind: p.kind as u8,
                    class_id: p.class,
                    reserved: 0,
                },
            )
        })()
    })
}
