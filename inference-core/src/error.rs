//! The errors of the crate: why a blob is refused ([`LoadError`], located by [`Section`]) and
//! why one cannot be written ([`EncodeError`]).
//!
//! They live apart from the loader so that [`crate::blob`] and [`crate::signature`] can both
//! return them without importing each other. Variants carry the facts a caller needs, limits
//! included, so a message never has to reach back into the loader for them.

use core::fmt;

use crate::ModelKind;

/// Part of the blob a decoding error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// [`BlobHeader`](crate::blob::BlobHeader).
    Header,
    /// [`InputQuantWire`](crate::blob::InputQuantWire).
    InputQuant,
    /// The layer count.
    LayerCount,
    /// Layer N (0-based).
    Layer(u8),
    /// [`OutputWire`](crate::blob::OutputWire).
    Output,
    /// [`MetadataWire`](crate::blob::MetadataWire).
    Metadata,
    /// [`MonitorWire`](crate::blob::MonitorWire) (optional).
    Monitor,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("header"),
            Section::InputQuant => f.write_str("input quantization"),
            Section::LayerCount => f.write_str("layer count"),
            Section::Layer(n) => write!(f, "layer {n}"),
            Section::Output => f.write_str("output"),
            Section::Metadata => f.write_str("metadata"),
            Section::Monitor => f.write_str("monitor"),
        }
    }
}

/// Why a blob was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// Shorter than magic + version + CRC.
    TooShort {
        /// Bytes given.
        len: usize,
        /// Smallest blob possible.
        min: usize,
    },
    /// The first four bytes are not `AIML`.
    BadMagic {
        /// What was found.
        found: [u8; 4],
    },
    /// A format version this build does not read.
    UnsupportedVersion {
        /// Version in the blob.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The CRC-32 trailer does not match the contents (corruption or truncation).
    CrcMismatch {
        /// CRC stored in the blob.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// A section does not decode.
    Decode {
        /// Section that failed.
        section: Section,
        /// Byte offset of the section's start.
        offset: usize,
        /// What postcard reported.
        error: postcard::Error,
    },
    /// Bytes left between the metadata and the CRC.
    TrailingBytes {
        /// Offset of the first unexpected byte.
        offset: usize,
    },
    /// The kind code is not a known model kind.
    UnknownKind {
        /// Code found.
        found: u8,
    },
    /// A model of another kind was given.
    WrongKind {
        /// Kind required.
        expected: ModelKind,
        /// Kind in the blob.
        found: ModelKind,
    },
    /// The model was built for another feature layout.
    SchemaMismatch {
        /// Schema the code extracts.
        expected: u32,
        /// Schema the blob was trained on.
        found: u32,
    },
    /// No layers, or more than [`MAX_LAYERS`](crate::blob::MAX_LAYERS).
    LayerCount {
        /// Count found.
        found: usize,
        /// Maximum accepted.
        max: usize,
    },
    /// A layer is wider than [`MAX_WIDTH`](crate::blob::MAX_WIDTH) or has zero
    /// inputs/outputs.
    LayerWidth {
        /// Layer index.
        layer: usize,
        /// Offending width.
        width: usize,
        /// Widest layer accepted.
        max: usize,
    },
    /// A layer's input count differs from what feeds it (the features or the previous layer).
    ShapeMismatch {
        /// Layer index.
        layer: usize,
        /// Inputs it should have.
        expected: usize,
        /// Inputs it declares.
        found: usize,
    },
    /// A parameter array has the wrong length.
    LengthMismatch {
        /// Section the array is in.
        section: Section,
        /// Field name.
        field: &'static str,
        /// Expected byte length.
        expected: usize,
        /// Actual byte length.
        found: usize,
    },
    /// A requantization multiplier or shift outside its valid range.
    InvalidRequant {
        /// Section it is in.
        section: Section,
        /// Channel (output or feature) index.
        channel: usize,
    },
    /// Activation code is not 0 or 1.
    InvalidActivation {
        /// Layer index.
        layer: usize,
        /// Code found.
        found: u8,
    },
    /// The policy requires a signature (a key is set, unsigned blobs are not accepted) and the
    /// blob has no signature trailer.
    Unsigned,
    /// The blob has a signature trailer that does not verify against the policy's key
    /// (forged, signed by another key, or altered after signing).
    BadSignature,
    /// The policy accepts only signed blobs but holds no key to check them with.
    NoKey,
    /// The blob is signed (`SIG2` trailer) by a key other than the policy's: `found` is the
    /// key id in its trailer, `expected` the id of the policy's key.
    WrongKey {
        /// Id of the policy's key ([`key_id`](crate::signature::key_id)).
        expected: u64,
        /// Key id named by the blob's trailer.
        found: u64,
    },
    /// The monitor section's thresholds are inconsistent: an alert must clear below the
    /// level that raises it.
    InvalidMonitor {
        /// Rolling error that raises the alert.
        alert: u32,
        /// Rolling error below which it clears.
        clear: u32,
    },
    /// A revocation list ([`Revocation`](crate::signature::Revocation)) is malformed:
    /// `field` says where.
    BadRevocation {
        /// The field that is wrong, and how.
        field: &'static str,
    },
    /// The model version is lower than the one the slot holds (anti-rollback).
    Rollback {
        /// Version held (the lowest accepted).
        held: u32,
        /// Version of the refused blob.
        offered: u32,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.clone() {
            LoadError::TooShort { len, min } => {
                write!(f, "blob is {len} bytes, shorter than the minimum {min}")
            }
            LoadError::BadMagic { found } => write!(f, "bad magic {found:02x?}, expected \"AIML\""),
            LoadError::UnsupportedVersion { found, supported } => write!(
                f,
                "blob format version {found} is not supported (this build reads {supported})"
            ),
            LoadError::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: stored {stored:#010x}, computed {computed:#010x} (corrupt or truncated)"
            ),
            LoadError::Decode {
                section,
                offset,
                error,
            } => write!(f, "cannot decode {section} at byte offset {offset}: {error}"),
            LoadError::TrailingBytes { offset } => {
                write!(f, "unexpected bytes at offset {offset} before the CRC")
            }
            LoadError::UnknownKind { found } => write!(f, "unknown model kind code {found}"),
            LoadError::WrongKind { expected, found } => {
                write!(f, "expected a {expected} model, got a {found} model")
            }
            LoadError::SchemaMismatch { expected, found } => write!(
                f,
                "feature schema mismatch: code extracts {expected:#010x}, model expects {found:#010x}"
            ),
            LoadError::LayerCount { found, max } => {
                write!(f, "{found} layers; a model needs 1 to {max}")
            }
            LoadError::LayerWidth { layer, width, max } => write!(
                f,
                "layer {layer} has width {width}; widths must be 1 to {max}"
            ),
            LoadError::ShapeMismatch {
                layer,
                expected,
                found,
            } => write!(
                f,
                "shape mismatch at layer {layer}: {found} inputs declared, {expected} fed"
            ),
            LoadError::LengthMismatch {
                section,
                field,
                expected,
                found,
            } => write!(
                f,
                "{section}: field `{field}` is {found} bytes, expected {expected}"
            ),
            LoadError::InvalidRequant { section, channel } => write!(
                f,
                "{section}: requantization parameters of channel {channel} out of range"
            ),
            LoadError::InvalidActivation { layer, found } => {
                write!(f, "layer {layer}: unknown activation code {found}")
            }
            LoadError::Unsigned => {
                f.write_str("blob is not signed and the policy requires a signature")
            }
            LoadError::InvalidMonitor { alert, clear } => write!(
                f,
                "monitor section: the alert clears at {clear}, not below the level {alert} that raises it"
            ),
            LoadError::BadRevocation { field } => write!(f, "revocation list: bad {field}"),
            LoadError::WrongKey { expected, found } => write!(
                f,
                "signed by key {found:016x}, the policy's key is {expected:016x}"
            ),
            LoadError::BadSignature => f.write_str(
                "signature does not verify against the configured key (forged, other key or altered)",
            ),
            LoadError::NoKey => {
                f.write_str("the policy requires signed blobs but no public key is configured")
            }
            LoadError::Rollback { held, offered } => write!(
                f,
                "model version {offered} is lower than the version {held} held (rollback refused)"
            ),
        }
    }
}

impl core::error::Error for LoadError {}

/// Why a blob could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// More than 255 layers.
    TooManyLayers,
    /// postcard failed.
    Encode(postcard::Error),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("output buffer too small for the blob"),
            EncodeError::TooManyLayers => f.write_str("more than 255 layers"),
            EncodeError::Encode(e) => write!(f, "postcard: {e}"),
        }
    }
}

impl core::error::Error for EncodeError {}
