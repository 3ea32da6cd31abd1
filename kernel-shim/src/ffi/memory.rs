//! Memory entry points: one access stream in, the next access (for prefetching) out.

use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::predictors::AccessPrediction;
use inference_core::MemoryPredictor;

use super::{predict, push, status, MEMORY};
use crate::history::{self, AimlMemoryHistory};
use crate::status::AimlStatus;

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

impl TryFrom<AimlMemoryAccess> for MemoryAccess {
    type Error = AimlStatus;

    fn try_from(a: AimlMemoryAccess) -> Result<Self, AimlStatus> {
        let kind = match a.kind {
            0 => AccessKind::Read,
            1 => AccessKind::Write,
            2 => AccessKind::Execute,
            _ => return Err(AimlStatus::InvalidArgument),
        };
        Ok(MemoryAccess {
            addr: a.addr,
            pc: a.pc,
            kind,
            time_ns: a.time_ns,
        })
    }
}

impl From<AccessPrediction> for AimlAccessPrediction {
    fn from(p: AccessPrediction) -> Self {
        AimlAccessPrediction {
            next_addr: p.next_addr,
            delta_lines: p.delta_lines,
            probability: p.probability,
            confidence: p.confidence,
            kind: p.kind as u8,
            class_id: p.class,
            reserved: 0,
        }
    }
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
    status(unsafe { push(h, a, MemoryHistory::push) })
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
    status(unsafe { predict(&MEMORY, h, out, MemoryPredictor::predict) })
}
