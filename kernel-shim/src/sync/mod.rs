//! The two primitives the slots ([`crate::slot`]) and the key policy ([`crate::policy`]) are
//! built on: reader counts and a writer flag taken without waiting.
//!
//! Where the target has atomic read-modify-write instructions they are used (`cas.rs`).
//! Single-core variant (`single-core` feature, automatic on RISC-V without the A extension,
//! which has no atomic read-modify-write instructions): plain atomic loads and stores
//! (`single_core.rs`). That is correct when all callers run on one core and preempt each other
//! only by nesting (an interrupt runs to completion before the code it interrupted resumes):
//! each nested context restores what it changed before returning.

pub(crate) use core::sync::atomic::{AtomicU32, AtomicU8};

#[cfg(any(
    feature = "single-core",
    all(target_arch = "riscv32", not(target_feature = "a"))
))]
mod single_core;
#[cfg(any(
    feature = "single-core",
    all(target_arch = "riscv32", not(target_feature = "a"))
))]
pub(crate) use single_core::{add, dec, full_fence, inc, inc_get, max, try_lock};

#[cfg(not(any(
    feature = "single-core",
    all(target_arch = "riscv32", not(target_feature = "a"))
)))]
mod cas;
#[cfg(not(any(
    feature = "single-core",
    all(target_arch = "riscv32", not(target_feature = "a"))
)))]
pub(crate) use cas::{add, dec, full_fence, inc, inc_get, max, try_lock};
/// The fence of `cas.rs`, from here so that the loom test can give it loom's.
#[cfg(not(any(
    feature = "single-core",
    all(target_arch = "riscv32", not(target_feature = "a"))
)))]
use core::sync::atomic::fence;
