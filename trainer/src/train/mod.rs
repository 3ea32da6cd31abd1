//! The network and how it is fitted: the MLP ([`mlp`]), what each model learns and its losses
//! ([`task`]), hyperparameters ([`params`]), the fit loop ([`fit`](mod@fit)) over int8-encoded samples ([`encoded`]) and training-only data
//! augmentation ([`augment`]); warm start from a published blob ([`warm`]).

pub mod augment;
pub mod encoded;
pub mod fit;
pub mod mlp;
pub mod params;
pub mod task;
pub mod tune;
pub mod warm;

pub use fit::{fit, EpochLog, Fit};
pub use params::Params;
