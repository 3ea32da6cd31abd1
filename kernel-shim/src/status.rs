//! The status every entry point returns.

use inference_core::LoadError;

/// Result of every call. `Ok` is 0; caller errors are 1..=15; a refused blob is 16..=47 and
/// names the check that failed (the previous model stays in the slot).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AimlStatus {
    /// Success.
    Ok = 0,
    /// A required pointer is null.
    NullPointer = 1,
    /// A pointer is not aligned for its type.
    Misaligned = 2,
    /// Unknown model kind code.
    UnknownKind = 3,
    /// The blob is larger than a slot buffer (`aiml_slot_capacity()`).
    TooLarge = 4,
    /// A load or reset runs on this slot, or a prediction still reads the buffer it would
    /// overwrite. Nothing changed; try again later.
    Busy = 5,
    /// `aiml_init()` was not called for this slot, or a history was not initialised with its
    /// `aiml_*_history_init`.
    NotInitialized = 6,
    /// An input field is out of its range (e.g. an unknown access-kind code).
    InvalidArgument = 7,
    /// `aiml_lock_policy` was called: the key policy cannot change and forced loads are
    /// refused until the shim's state is lost (reboot, module reload). Nothing changed.
    PolicyLocked = 8,
    /// The persistent anti-rollback store (`aiml_set_rollback_store`) failed to read or
    /// raise a floor: the blob was not loaded, the previous model stays.
    RollbackStore = 9,
    /// `aiml_set_key` / `aiml_add_key`: every trusted-key entry is in use (revoked ones
    /// count: they are never reused). Nothing changed.
    KeysFull = 10,
    /// `aiml_set_key` / `aiml_add_key`: the key was retired by a revocation list. Nothing
    /// changed.
    KeyRevoked = 11,
    /// Blob refused: shorter than the smallest possible blob.
    BlobTooShort = 16,
    /// Blob refused: bad magic.
    BlobBadMagic = 17,
    /// Blob refused: unsupported format version.
    BlobUnsupportedVersion = 18,
    /// Blob refused: CRC-32 mismatch (corrupted or truncated).
    BlobCrcMismatch = 19,
    /// Blob refused: a section does not decode.
    BlobDecode = 20,
    /// Blob refused: bytes after the metadata.
    BlobTrailingBytes = 21,
    /// Blob refused: unknown model kind in the header.
    BlobUnknownKind = 22,
    /// Blob refused: a model of another kind than the slot's.
    BlobWrongKind = 23,
    /// Blob refused: feature schema differs from the one this build extracts.
    BlobSchemaMismatch = 24,
    /// Blob refused: layer count out of range.
    BlobLayerCount = 25,
    /// Blob refused: layer width out of range.
    BlobLayerWidth = 26,
    /// Blob refused: layers do not chain.
    BlobShapeMismatch = 27,
    /// Blob refused: an array has the wrong length.
    BlobLengthMismatch = 28,
    /// Blob refused: requantization parameters out of range.
    BlobInvalidRequant = 29,
    /// Blob refused: unknown activation code.
    BlobInvalidActivation = 30,
    /// Blob refused for a reason this build of the shim has no code for.
    BlobInvalid = 31,
    /// Blob refused: not signed, and the key policy requires a signature.
    BlobUnsigned = 32,
    /// Blob refused: its signature does not verify against the key (forged, other key,
    /// altered after signing).
    BlobBadSignature = 33,
    /// Blob refused: the policy requires signatures but no key is set.
    BlobNoKey = 34,
    /// Blob refused: its version is lower than the last one loaded into the slot
    /// (anti-rollback; `aiml_load_force` overrides).
    BlobRollback = 35,
    /// Blob (or revocation list) refused: signed by a key this device does not trust for
    /// it (no trusted key has the id in its `SIG2` trailer, with the needed role).
    BlobUnknownKey = 36,
    /// Blob refused: signed by a key a revocation list retired.
    BlobKeyRevoked = 37,
    /// Blob refused: the rollback store says a newer revocation list was applied than the
    /// one applied since this boot (`aiml_revoke` it first), so a key it retired might
    /// otherwise pass.
    BlobRevocationStale = 38,
    /// Revocation list refused: malformed (magic, version, count, length, CRC, or no
    /// `SIG2` trailer).
    BlobBadRevocation = 39,
}

/// For conversions that cannot fail (see `ffi::push`).
impl From<core::convert::Infallible> for AimlStatus {
    fn from(never: core::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<&LoadError> for AimlStatus {
    fn from(e: &LoadError) -> Self {
        match e {
            LoadError::TooShort { .. } => AimlStatus::BlobTooShort,
            LoadError::BadMagic { .. } => AimlStatus::BlobBadMagic,
            LoadError::UnsupportedVersion { .. } => AimlStatus::BlobUnsupportedVersion,
            LoadError::CrcMismatch { .. } => AimlStatus::BlobCrcMismatch,
            LoadError::Decode { .. } => AimlStatus::BlobDecode,
            LoadError::TrailingBytes { .. } => AimlStatus::BlobTrailingBytes,
            LoadError::UnknownKind { .. } => AimlStatus::BlobUnknownKind,
            LoadError::WrongKind { .. } => AimlStatus::BlobWrongKind,
            LoadError::SchemaMismatch { .. } => AimlStatus::BlobSchemaMismatch,
            LoadError::LayerCount { .. } => AimlStatus::BlobLayerCount,
            LoadError::LayerWidth { .. } => AimlStatus::BlobLayerWidth,
            LoadError::ShapeMismatch { .. } => AimlStatus::BlobShapeMismatch,
            LoadError::LengthMismatch { .. } => AimlStatus::BlobLengthMismatch,
            LoadError::InvalidRequant { .. } => AimlStatus::BlobInvalidRequant,
            LoadError::InvalidActivation { .. } => AimlStatus::BlobInvalidActivation,
            LoadError::Unsigned => AimlStatus::BlobUnsigned,
            LoadError::BadSignature => AimlStatus::BlobBadSignature,
            LoadError::NoKey => AimlStatus::BlobNoKey,
            LoadError::Rollback { .. } => AimlStatus::BlobRollback,
            LoadError::WrongKey { .. } => AimlStatus::BlobUnknownKey,
            LoadError::BadRevocation { .. } => AimlStatus::BlobBadRevocation,
            _ => AimlStatus::BlobInvalid,
        }
    }
}
