//! # inference-core
//!
//! `no_std`, allocation-free, integer-only inference for the four aios-ml models: the workload
//! predictor (scheduler), the threat detector (security), the failure predictor (self-healing)
//! and the memory-access predictor (prefetching).
//!
//! - [`blob`]: the versioned model-blob format and its validating loader ([`Model::from_blob`]).
//!   Load once, then prediction cannot fail.
//! - [`signature`]: Ed25519 signatures over blobs, the load [`Policy`] (key, unsigned blobs,
//!   lowest version) and anti-rollback ([`Model::load`]).
//! - [`error`]: why a blob is refused ([`LoadError`]) or cannot be written.
//! - [`dense`] and [`quant`]: int8 dense layers, i32 accumulation, Q31 requantization, integer
//!   softmax.
//! - [`features`]: the raw observations, their fixed-size histories and the feature vectors of
//!   each model. The trainer calls exactly this code, so training and serving never disagree.
//! - [`predictors`]: one typed predictor per model, all loaded the same way ([`Predictor`]),
//!   falling back to the built-in [`defaults`] models when no trained model is given or it is
//!   refused.
//!
//! No `f32`/`f64` is used on the prediction path; the `float` feature only adds conversion
//! getters for hosts that want them.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

// the `std` feature: run-time CPU feature detection only (the AVX2 kernels of `dense`)
#[cfg(feature = "std")]
extern crate std;

pub mod blob;
pub mod crc;
pub mod defaults;
pub mod dense;
/// Ed25519 signature verification with a small, bounded stack (`ed25519-compact`'s verdicts).
pub mod ed25519;
pub mod error;
pub mod features;
pub mod monitor;
pub mod predictors;
pub mod quant;
/// SHA-512 (FIPS 180-4) with a small stack: the hash of Ed25519 and of key ids.
pub mod sha512;
pub mod signature;
#[cfg(test)]
mod test_rng;

pub use blob::{Checked, Model, Prepared};
pub use error::LoadError;
pub use predictors::{
    FailurePredictor, MemoryPredictor, ModelSource, Predictor, ThreatDetector, WorkloadPredictor,
};
pub use signature::Policy;

use core::fmt;

/// Which of the four models a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ModelKind {
    /// Next CPU/memory/GPU utilisation.
    Workload = 1,
    /// Per-process threat score and type.
    Threat = 2,
    /// Component failure within a horizon.
    Failure = 3,
    /// Next memory access (prefetching).
    Memory = 4,
}

impl ModelKind {
    /// All kinds, in code order.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Workload,
        ModelKind::Threat,
        ModelKind::Failure,
        ModelKind::Memory,
    ];

    /// Kind from its wire code.
    pub const fn from_code(code: u8) -> Option<ModelKind> {
        match code {
            1 => Some(ModelKind::Workload),
            2 => Some(ModelKind::Threat),
            3 => Some(ModelKind::Failure),
            4 => Some(ModelKind::Memory),
            _ => None,
        }
    }

    /// Lower-case name, as used on the command line and in the registry.
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::Workload => "workload",
            ModelKind::Threat => "threat",
            ModelKind::Failure => "failure",
            ModelKind::Memory => "memory",
        }
    }

    /// Kind from its lower-case name.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Feature-schema id the code in [`features`] extracts for this kind.
    pub const fn schema_id(self) -> u32 {
        match self {
            ModelKind::Workload => features::workload::SCHEMA_ID,
            ModelKind::Threat => features::threat::SCHEMA_ID,
            ModelKind::Failure => features::failure::SCHEMA_ID,
            ModelKind::Memory => features::memory::SCHEMA_ID,
        }
    }

    /// Number of raw features of this kind's schema.
    pub const fn n_features(self) -> usize {
        match self {
            ModelKind::Workload => features::workload::N_FEATURES,
            ModelKind::Threat => features::threat::N_FEATURES,
            ModelKind::Failure => features::failure::N_FEATURES,
            ModelKind::Memory => features::memory::N_FEATURES,
        }
    }

    /// Number of network outputs this kind's predictor reads.
    pub const fn n_outputs(self) -> usize {
        match self {
            ModelKind::Workload => features::workload::N_OUTPUTS,
            ModelKind::Threat => features::threat::N_OUTPUTS,
            ModelKind::Failure => features::failure::N_OUTPUTS,
            ModelKind::Memory => features::memory::N_OUTPUTS,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
