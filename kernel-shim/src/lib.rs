//! C ABI over `inference-core` for kernels and firmware.
//!
//! The four models live in four static slots, one per [`ModelKind`](inference_core::ModelKind).
//! Each slot starts empty; [`aiml_init`] puts the built-in model in it (zero-copy: the
//! built-in blobs stay in `.rodata`), and so does the first prediction on an empty slot (lazy
//! initialisation). Each slot keeps health counters ([`health`], [`aiml_health`]). [`aiml_load`] copies a caller's blob into the slot's
//! spare buffer, validates it with `inference-core` and, only if it is accepted, switches the
//! slot to it with one atomic store; on refusal the previous model stays and the status says
//! why. [`aiml_reset`] goes back to the built-in model.
//!
//! Predictions read the histories the caller keeps in opaque, caller-owned structs
//! (`aiml_*_history_init`, `aiml_*_push`) and run `inference-core`'s feature extraction and
//! typed predictors, so a C caller gets exactly what the trainer measured.
//!
//! Every entry point checks its pointers (null, alignment), lengths and kind codes before
//! touching anything and answers with an [`AimlStatus`]; after those checks nothing can
//! panic (the loader validates the blob once, then prediction is total).
//!
//! Concurrency: see [`slot`] and `docs/KERNEL.md`. Predictions never block and may run on any
//! number of CPUs and in interrupt context; a load or reset that would overwrite a buffer a
//! prediction still reads answers [`AimlStatus::Busy`] instead of waiting.
//!
//! No allocation, no floating point, no `std` on bare-metal targets. On hosted targets (the
//! Rust tests, the test-vector generator) `std` is linked and supplies the panic machinery;
//! on `target_os = "none"` exactly one of the features `panic-halt` (default) and
//! `panic-kernel` must be enabled.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_os = "none"))]
extern crate std;

pub use inference_core;

pub mod ab;
mod ffi;
pub mod health;
mod history;
pub mod policy;
pub mod rollback;
pub mod slot;
mod status;
mod sync;

pub use ab::AimlAb;
pub use ffi::*;
pub use health::{AimlHealth, AIML_LATENCY_BOUNDS, AIML_LATENCY_BUCKETS};
pub use history::*;
pub use status::AimlStatus;

#[cfg(all(target_os = "none", feature = "panic-halt", feature = "panic-kernel"))]
compile_error!("enable only one of the features `panic-halt` and `panic-kernel`");

#[cfg(all(
    target_os = "none",
    not(feature = "panic-halt"),
    not(feature = "panic-kernel")
))]
compile_error!("bare-metal builds need a panic handler: enable `panic-halt` or `panic-kernel`");

/// Firmware: nothing sensible is left to do, so stop here (a watchdog resets the device).
/// No valid C call reaches it; it exists because the language requires a handler.
#[cfg(all(
    target_os = "none",
    feature = "panic-halt",
    not(feature = "panic-kernel")
))]
#[panic_handler]
fn panic_halt(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(all(
    target_os = "none",
    feature = "panic-kernel",
    not(feature = "panic-halt")
))]
mod kernel_panic {
    unsafe extern "C" {
        /// The kernel's `panic(const char *fmt, ...)`; objtool knows it does not return.
        fn panic(fmt: *const core::ffi::c_char, ...) -> !;
    }

    /// Kernel: a bug in the shim is a kernel bug; let the kernel report it and stop.
    #[panic_handler]
    fn panic_kernel(_: &core::panic::PanicInfo<'_>) -> ! {
        // SAFETY: a NUL-terminated format string without conversions.
        unsafe { panic(c"aios-ml kernel-shim: Rust panic".as_ptr()) }
    }
}
