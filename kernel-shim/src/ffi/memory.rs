//! Memory entry points: one access stream in, the next access (for prefetching) out.

use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::predictors::AccessPrediction;
use inference_core::MemoryPredictor;

use super::{
    ab_flags, outcome, predict, push, status, take, FromAnswer, Scored, AIML_AB_SHADOW, MEMORY,
    MEMORY_AB,
};
use crate::ab::{Agree, Answer};
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

/// The memory predictor's decision after an access: which blocks to prefetch.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlAccessPrediction {
    /// Start addresses of the blocks to prefetch, most probable first; the first `degree`
    /// are meaningful, the rest are zero.
    pub prefetch: [u64; 4],
    /// Start address of the most probable proposal's block (prefetched or not).
    pub next_addr: u64,
    /// Its delta from the current block, in blocks.
    pub delta_blocks: i64,
    /// With `AIML_AB_SHADOW` in `ab`: the first block the candidate would prefetch for the
    /// same stream (0: none), scored by `aiml_memory_outcome`; else 0.
    pub shadow_prefetch: u64,
    /// Probability that it is a useful prefetch, per-mille.
    pub probability: u16,
    /// Confidence in the decision (prefetch or not), per-mille.
    pub confidence: u16,
    /// Blocks to prefetch, 0..=4 (0: do not prefetch).
    pub degree: u8,
    /// Predicted kind of the next access: 0 read, 1 write, 2 execute.
    pub kind: u8,
    /// Candidate class of the most probable proposal (0..=7).
    pub class_id: u8,
    /// `AIML_AB_SHADOW | AIML_AB_CANDIDATE` (A/B testing, `aiml_ab_set`); 0 when the live
    /// model answered alone.
    pub ab: u8,
}

const _: () = assert!(inference_core::features::memory::MAX_DEGREE == 4);

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
            prefetch: p.prefetch,
            next_addr: p.next_addr,
            delta_blocks: p.delta_blocks,
            probability: p.probability,
            confidence: p.confidence,
            degree: p.degree,
            kind: p.kind as u8,
            class_id: p.class,
            shadow_prefetch: 0,
            ab: 0,
        }
    }
}

/// The first block a prediction prefetches (0: none).
fn first_prefetch(p: &AccessPrediction) -> u64 {
    if p.degree > 0 {
        p.prefetch[0]
    } else {
        0
    }
}

impl Agree for AccessPrediction {
    /// The same first prefetch (or neither prefetches).
    fn agrees(&self, other: &Self) -> bool {
        first_prefetch(self) == first_prefetch(other)
    }
}

impl FromAnswer<AccessPrediction> for AimlAccessPrediction {
    fn from_answer(a: Answer<AccessPrediction>) -> Self {
        AimlAccessPrediction {
            ab: ab_flags(&a),
            shadow_prefetch: a.shadow.as_ref().map_or(0, first_prefetch),
            ..a.answer.into()
        }
    }
}

/// Initialises (or clears) a memory-access history (one per stream) over cache lines
/// (64-byte blocks).
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_history_init(h: *mut AimlMemoryHistory) -> AimlStatus {
    // SAFETY: forwarded contract.
    unsafe { init_blocks(h, inference_core::features::memory::LINE_BYTES) }
}

/// The one initialiser of both entry points: building a 4 KiB history by value is a few
/// KiB of code on small targets, so it must not be inlined twice.
///
/// # Safety
/// As [`aiml_memory_history_init_blocks`].
#[inline(never)]
unsafe fn init_blocks(h: *mut AimlMemoryHistory, block_bytes: u64) -> AimlStatus {
    if !block_bytes.is_power_of_two() || !(2..=1 << 32).contains(&block_bytes) {
        return AimlStatus::InvalidArgument;
    }
    // SAFETY: forwarded contract.
    status(unsafe { history::init(h, MemoryHistory::with_block_bytes(block_bytes)) })
}

/// Initialises (or clears) a memory-access history over blocks of `block_bytes` (a power of
/// two, 2 bytes to 4 GiB; e.g. 4096 for page-level prefetching from a fault handler).
/// Other sizes are refused (`INVALID_ARGUMENT`). A page-level history is fed what a fault
/// handler sees, as the model was trained: every page fault, and the first touch of a page
/// this history's predictions prefetched (a minor fault on a page found in the swap cache);
/// not the accesses that hit a resident page.
///
/// # Safety
/// `h`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_history_init_blocks(
    h: *mut AimlMemoryHistory,
    block_bytes: u64,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    unsafe { init_blocks(h, block_bytes) }
}

/// Records an access. Predict after every access: at a block change the model runs; within
/// a block no inference runs and the answer is at most the PC-stride prefetch.
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
        push(h, a, |h: &mut MemoryHistory, a| {
            h.push(a);
        })
    })
}

/// Decides which blocks to prefetch after the newest access in `h` (the model at a block
/// change; within a block, at most the PC-stride prefetch, without inference).
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
        predict(&MEMORY, &MEMORY_AB, h, out, |p: &MemoryPredictor, _, h| {
            p.predict(h)
        })
    })
}

/// Reports the access that followed a prediction (its address), for predictions that
/// prefetched (`degree > 0`; others are not counted). `block_bytes` is the history's block
/// (64 for cache lines, 4096 for pages; a power of two, else `INVALID_ARGUMENT`). Counted in
/// the slot's health (`aiml_health`): a prediction none of whose blocks is the next one
/// accessed is a false alarm and adds 1000 to the error, so `rolling_error` is the rolling
/// share of prefetching decisions that missed the next access, per-mille. Under A/B testing
/// (`ab` flags) a candidate's answer counts in the candidate's health; a shadow's first
/// prefetch (`shadow_prefetch`) is scored there too, and the paired comparison (`aiml_ab`)
/// scores the first prefetch of each model: 0 if it is the next block accessed, else 1000
/// (not prefetching included), over the outcomes where either prefetched.
///
/// # Safety
/// `p`, if non-null and aligned, must be valid for reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_memory_outcome(
    p: *const AimlAccessPrediction,
    next_addr: u64,
    block_bytes: u64,
) -> AimlStatus {
    if !block_bytes.is_power_of_two() {
        return AimlStatus::InvalidArgument;
    }
    let block = |a: u64| a & !(block_bytes - 1);
    // SAFETY: forwarded contract; `take` checks null and alignment.
    status(unsafe { take(p) }.map(|p| {
        let issued = p.prefetch.get(..p.degree as usize).unwrap_or(&[]);
        let answer = (!issued.is_empty()).then(|| {
            let used = issued.iter().any(|&a| block(a) == block(next_addr));
            Scored {
                error: if used { 0 } else { 1000 },
                false_alarm: !used,
                missed: false,
            }
        });
        let first_error = |a: u64| {
            if a != 0 && block(a) == block(next_addr) {
                0
            } else {
                1000
            }
        };
        let (live_first, shadow_first) = (issued.first().copied().unwrap_or(0), p.shadow_prefetch);
        let shadow = (shadow_first != 0).then(|| {
            let e = first_error(shadow_first);
            Scored {
                error: e,
                false_alarm: e != 0,
                missed: false,
            }
        });
        let paired = (p.ab & AIML_AB_SHADOW != 0 && (live_first != 0 || shadow_first != 0))
            .then(|| (first_error(live_first), first_error(shadow_first)));
        outcome(&MEMORY, &MEMORY_AB, p.ab, answer, shadow, paired)
    }))
}
