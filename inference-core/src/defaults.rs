//! The built-in models, compiled into the binary.
//!
//! They are produced by the project's own trainer from a fixed seed
//! (`trainer export-defaults`), with creation time 0, so rebuilding them reproduces the same
//! bytes; a trainer test checks that. A predictor falls back to them when no trained model is
//! given or the given one is refused.

use crate::ModelKind;

/// Built-in workload model.
pub static WORKLOAD: &[u8] = include_bytes!("../models/workload.blob");
/// Built-in threat model.
pub static THREAT: &[u8] = include_bytes!("../models/threat.blob");
/// Built-in failure model.
pub static FAILURE: &[u8] = include_bytes!("../models/failure.blob");
/// Built-in memory model.
pub static MEMORY: &[u8] = include_bytes!("../models/memory.blob");

/// The built-in blob of a kind.
pub fn blob(kind: ModelKind) -> &'static [u8] {
    match kind {
        ModelKind::Workload => WORKLOAD,
        ModelKind::Threat => THREAT,
        ModelKind::Failure => FAILURE,
        ModelKind::Memory => MEMORY,
    }
}
