//! C ABI over `inference-core` for kernels and firmware (work in progress: see issue 5).
#![no_std]
#![deny(missing_docs)]

pub use inference_core;
