//! The versioned model-blob format (v1) and the validating loader.
//!
//! The byte layout is specified in `BLOB_FORMAT.md`. In short:
//!
//! ```text
//! "AIML" | format version (u16 LE) | postcard sections … | CRC-32 (u32 LE) of all bytes before it
//! ```
//!
//! The sections are postcard values in this order: [`BlobHeader`], [`InputQuantWire`], the
//! layer count (`u8`), that many [`LayerWire`], [`OutputWire`], [`MetadataWire`].
//!
//! # Contract
//!
//! [`Model::from_blob`] checks everything once: magic, version, CRC, every section's decoding,
//! model kind and feature schema, every length, every layer's chaining to the previous one, and
//! every requantization parameter. After it returns `Ok`, [`Model::infer`] is total: it cannot
//! panic or fail for any input values. Weights are not copied: the model borrows the blob.
//!
//! A blob may carry an Ed25519 signature trailer after its CRC ([`crate::signature`]).
//! [`Model::from_blob_with`] and [`Model::from_blob_verified`] apply a [`Policy`] (key,
//! unsigned blobs, lowest version) between the envelope checks and the section decoding;
//! [`Model::from_blob`] reads signed and unsigned blobs alike without checking signatures.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::crc::crc32;
use crate::dense::{dense_i8_i32, dense_i8_i8, le_i32, Activation, DenseLayer};
use crate::quant::Requant;
use crate::signature::{self, Policy};
use crate::ModelKind;

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"AIML";
/// The blob format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Most layers a model may have.
pub const MAX_LAYERS: usize = 4;
/// Widest layer (inputs or outputs) a model may have; sizes the stack buffers of inference.
pub const MAX_WIDTH: usize = 64;
/// Bytes of one input-quantization record: offset (i32 LE), multiplier (i32 LE), shift (i8).
pub const INPUT_RECORD_LEN: usize = 9;
/// Raw feature value meaning "not observed" (a GPU that is absent, a missing channel). It is
/// quantized to the code 0, the mean of the training data, so the network sees "nothing unusual".
pub const ABSENT: i32 = i32::MIN;

/// Smallest possible blob: magic, version, CRC.
const MIN_LEN: usize = 4 + 2 + 4;

/// Section 1: what the model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobHeader {
    /// [`ModelKind`] as its `u8` code.
    pub kind: u8,
    /// Monotonic model version (the registry's `v<N>`).
    pub model_version: u32,
    /// Feature-layout identifier; a model trained for another layout is refused.
    pub schema_id: u32,
    /// Number of raw features the model reads.
    pub n_features: u16,
    /// Number of outputs the last layer produces.
    pub n_outputs: u16,
    /// Operating threshold of the decision head, per-mille (threat score, failure probability).
    pub threshold_permille: u16,
}

/// Section 2: raw feature → int8 input code, `n_features` records of [`INPUT_RECORD_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputQuantWire<'a> {
    /// Packed records: `offset: i32 LE, multiplier: i32 LE, shift: i8`.
    #[serde(borrow)]
    pub records: &'a [u8],
}

/// Section 4: one dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerWire<'a> {
    /// Inputs.
    pub n_in: u16,
    /// Outputs.
    pub n_out: u16,
    /// 0 = linear, 1 = ReLU.
    pub activation: u8,
    /// Output zero point (hidden layers).
    pub output_zero_point: i8,
    /// `n_out · n_in` int8 weights, row-major.
    #[serde(borrow)]
    pub weights: &'a [u8],
    /// `n_out` folded i32 biases, little endian.
    #[serde(borrow)]
    pub bias: &'a [u8],
    /// `n_out` Q31 multipliers, little-endian i32.
    #[serde(borrow)]
    pub multiplier: &'a [u8],
    /// `n_out` exponents (i8).
    #[serde(borrow)]
    pub shift: &'a [u8],
}

/// Section 5: output dequantization; the final value is `last_layer[o] + offset[o]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputWire<'a> {
    /// `n_outputs` i32 offsets, little endian.
    #[serde(borrow)]
    pub offsets: &'a [u8],
}

/// Section 6: provenance and a summary of the training metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataWire<'a> {
    /// Creation time, seconds since the Unix epoch (0 for reproducible built-in models).
    pub created_unix_s: u64,
    /// Training samples.
    pub train_samples: u32,
    /// Validation samples.
    pub val_samples: u32,
    /// Name of the headline metric (e.g. `within_5pp`).
    #[serde(borrow)]
    pub metric: &'a str,
    /// Headline metric of the f32 model on validation data, × 1000.
    pub metric_f32_milli: i32,
    /// Headline metric of this int8 model on validation data, × 1000.
    pub metric_int8_milli: i32,
    /// Headline metric of the naive baseline on validation data, × 1000.
    pub baseline_milli: i32,
    /// Training data source (e.g. `synthetic:seed=42`).
    #[serde(borrow)]
    pub source: &'a str,
}

/// Part of the blob a decoding error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// [`BlobHeader`].
    Header,
    /// [`InputQuantWire`].
    InputQuant,
    /// The layer count.
    LayerCount,
    /// Layer N (0-based).
    Layer(u8),
    /// [`OutputWire`].
    Output,
    /// [`MetadataWire`].
    Metadata,
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
    /// No layers, or more than [`MAX_LAYERS`].
    LayerCount {
        /// Count found.
        found: usize,
        /// Maximum accepted.
        max: usize,
    },
    /// A layer is wider than [`MAX_WIDTH`] or has zero inputs/outputs.
    LayerWidth {
        /// Layer index.
        layer: usize,
        /// Offending width.
        width: usize,
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
            LoadError::TooShort { len } => {
                write!(f, "blob is {len} bytes, shorter than the minimum {MIN_LEN}")
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
            LoadError::LayerWidth { layer, width } => write!(
                f,
                "layer {layer} has width {width}; widths must be 1 to {MAX_WIDTH}"
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

/// A validated model borrowing its parameters from a blob.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    header: BlobHeader,
    kind: ModelKind,
    input: &'a [u8],
    layers: heapless::Vec<DenseLayer<'a>, MAX_LAYERS>,
    output_offsets: &'a [u8],
    metadata: MetadataWire<'a>,
    blob_len: usize,
    signature_verified: bool,
}

/// Decodes one postcard section, turning errors into [`LoadError::Decode`] with the offset.
fn section<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    pos: &mut usize,
    section: Section,
) -> Result<T, LoadError> {
    let rest = bytes.get(*pos..).unwrap_or(&[]);
    match postcard::take_from_bytes::<T>(rest) {
        Ok((v, remaining)) => {
            *pos = bytes.len() - remaining.len();
            Ok(v)
        }
        Err(error) => Err(LoadError::Decode {
            section,
            offset: *pos,
            error,
        }),
    }
}

fn expect_len(
    section: Section,
    field: &'static str,
    bytes: &[u8],
    expected: usize,
) -> Result<(), LoadError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(LoadError::LengthMismatch {
            section,
            field,
            expected,
            found: bytes.len(),
        })
    }
}

fn check_requant(section: Section, mult: &[u8], shift: &[u8]) -> Result<(), LoadError> {
    for (channel, (m, &s)) in mult.chunks_exact(4).zip(shift).enumerate() {
        let rq = Requant {
            multiplier: i32::from_le_bytes([m[0], m[1], m[2], m[3]]),
            shift: s as i8,
        };
        if !rq.is_valid() {
            return Err(LoadError::InvalidRequant { section, channel });
        }
    }
    Ok(())
}

/// Magic, version and CRC of a v1 blob: the cheap checks, done before the signature.
fn check_envelope(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < MIN_LEN {
        return Err(LoadError::TooShort { len: bytes.len() });
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(LoadError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(LoadError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let body_end = bytes.len() - 4;
    let t = &bytes[body_end..];
    let stored = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let computed = crc32(&bytes[..body_end]);
    if stored != computed {
        return Err(LoadError::CrcMismatch { stored, computed });
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Validates a blob of any kind, signed or not, without checking a signature
    /// ([`Policy::OPEN`]). See the module docs for what is checked.
    pub fn from_blob(bytes: &'a [u8]) -> Result<Model<'a>, LoadError> {
        Model::from_blob_with(bytes, &Policy::OPEN)
    }

    /// Validates a blob of any kind under `policy`: envelope (magic, version, CRC), then the
    /// signature and the unsigned policy, then every section, then the version floor.
    pub fn from_blob_with(bytes: &'a [u8], policy: &Policy) -> Result<Model<'a>, LoadError> {
        let env = signature::split(bytes);
        check_envelope(env.blob)?;
        let verified = signature::check(&env, policy)?;
        let mut model = Model::decode(env.blob)?;
        model.blob_len = bytes.len();
        model.signature_verified = verified;
        signature::check_rollback(policy.min_version, model.version(), false)?;
        Ok(model)
    }

    /// [`Model::from_blob_with`], and requires the blob to be of `kind` with feature schema
    /// `schema_id` (checked before the version floor).
    pub fn from_blob_verified(
        bytes: &'a [u8],
        kind: ModelKind,
        schema_id: u32,
        policy: &Policy,
    ) -> Result<Model<'a>, LoadError> {
        let open = Policy {
            min_version: 0,
            ..*policy
        };
        let model = Model::from_blob_with(bytes, &open)?;
        model.check_kind(kind, schema_id)?;
        signature::check_rollback(policy.min_version, model.version(), false)?;
        Ok(model)
    }

    /// Decodes and checks the sections of a v1 blob whose envelope was checked.
    fn decode(bytes: &'a [u8]) -> Result<Model<'a>, LoadError> {
        let body = &bytes[..bytes.len() - 4];
        let mut pos = 6;

        let header: BlobHeader = section(body, &mut pos, Section::Header)?;
        let kind = ModelKind::from_code(header.kind)
            .ok_or(LoadError::UnknownKind { found: header.kind })?;
        let n_features = header.n_features as usize;
        let n_outputs = header.n_outputs as usize;

        let input: InputQuantWire<'a> = section(body, &mut pos, Section::InputQuant)?;
        expect_len(
            Section::InputQuant,
            "records",
            input.records,
            n_features * INPUT_RECORD_LEN,
        )?;
        for (channel, r) in input.records.chunks_exact(INPUT_RECORD_LEN).enumerate() {
            let rq = Requant {
                multiplier: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                shift: r[8] as i8,
            };
            if !rq.is_valid() {
                return Err(LoadError::InvalidRequant {
                    section: Section::InputQuant,
                    channel,
                });
            }
        }

        let count: u8 = section(body, &mut pos, Section::LayerCount)?;
        let count = count as usize;
        if count == 0 || count > MAX_LAYERS {
            return Err(LoadError::LayerCount {
                found: count,
                max: MAX_LAYERS,
            });
        }
        let mut layers = heapless::Vec::new();
        let mut fed = n_features;
        if fed == 0 || fed > MAX_WIDTH {
            return Err(LoadError::LayerWidth {
                layer: 0,
                width: fed,
            });
        }
        for index in 0..count {
            let sec = Section::Layer(index as u8);
            let w: LayerWire<'a> = section(body, &mut pos, sec)?;
            let (n_in, n_out) = (w.n_in as usize, w.n_out as usize);
            if n_in != fed {
                return Err(LoadError::ShapeMismatch {
                    layer: index,
                    expected: fed,
                    found: n_in,
                });
            }
            if n_out == 0 || n_out > MAX_WIDTH {
                return Err(LoadError::LayerWidth {
                    layer: index,
                    width: n_out,
                });
            }
            expect_len(sec, "weights", w.weights, n_in * n_out)?;
            expect_len(sec, "bias", w.bias, n_out * 4)?;
            expect_len(sec, "multiplier", w.multiplier, n_out * 4)?;
            expect_len(sec, "shift", w.shift, n_out)?;
            check_requant(sec, w.multiplier, w.shift)?;
            let activation = match w.activation {
                0 => Activation::Linear,
                1 => Activation::Relu,
                found => {
                    return Err(LoadError::InvalidActivation {
                        layer: index,
                        found,
                    })
                }
            };
            let layer = DenseLayer {
                n_in,
                n_out,
                activation,
                output_zero_point: w.output_zero_point,
                weights: w.weights,
                bias: w.bias,
                multiplier: w.multiplier,
                shift: w.shift,
            };
            // Cannot fail: count ≤ MAX_LAYERS was checked above.
            let _ = layers.push(layer);
            fed = n_out;
        }
        if fed != n_outputs {
            return Err(LoadError::ShapeMismatch {
                layer: count,
                expected: n_outputs,
                found: fed,
            });
        }
        let output: OutputWire<'a> = section(body, &mut pos, Section::Output)?;
        expect_len(Section::Output, "offsets", output.offsets, n_outputs * 4)?;
        let metadata: MetadataWire<'a> = section(body, &mut pos, Section::Metadata)?;
        if pos != body.len() {
            return Err(LoadError::TrailingBytes { offset: pos });
        }
        Ok(Model {
            header,
            kind,
            input: input.records,
            layers,
            output_offsets: output.offsets,
            metadata,
            blob_len: bytes.len(),
            signature_verified: false,
        })
    }

    /// Validates a blob and requires it to be of `kind` with feature schema `schema_id`.
    pub fn from_blob_for(
        bytes: &'a [u8],
        kind: ModelKind,
        schema_id: u32,
    ) -> Result<Model<'a>, LoadError> {
        let model = Model::from_blob(bytes)?;
        model.check_kind(kind, schema_id)?;
        Ok(model)
    }

    fn check_kind(&self, kind: ModelKind, schema_id: u32) -> Result<(), LoadError> {
        if self.kind != kind {
            return Err(LoadError::WrongKind {
                expected: kind,
                found: self.kind,
            });
        }
        if self.header.schema_id != schema_id {
            return Err(LoadError::SchemaMismatch {
                expected: schema_id,
                found: self.header.schema_id,
            });
        }
        Ok(())
    }

    /// Runs the network on raw features (fixed units, [`ABSENT`] for unobserved ones).
    ///
    /// Writes `min(n_outputs, out.len())` values in the outputs' fixed units and returns that
    /// count. Missing trailing features count as [`ABSENT`]; extra ones are ignored. Total: no
    /// input can make it panic.
    pub fn infer(&self, features: &[i32], out: &mut [i32]) -> usize {
        let mut a = [0i16; MAX_WIDTH];
        let mut b = [0i16; MAX_WIDTH];
        let mut codes = [0i8; MAX_WIDTH];
        self.quantize_input(features, &mut codes);
        for (d, &c) in a.iter_mut().zip(codes.iter()) {
            *d = c as i16;
        }
        let mut acc = [0i32; MAX_WIDTH];
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let (x, y) = if i % 2 == 0 {
                (&a, &mut b)
            } else {
                (&b, &mut a)
            };
            if i == last {
                dense_i8_i32(layer, x, &mut acc);
            } else {
                dense_i8_i8(layer, x, y);
                // The next layer reads its input in blocks of 8: slots past this layer's
                // outputs must be zero (they may hold an earlier layer's codes).
                let padded = layer.n_out.div_ceil(8) * 8;
                for v in y.iter_mut().take(padded).skip(layer.n_out) {
                    *v = 0;
                }
            }
        }
        let mut written = 0;
        for ((o, &v), off) in out
            .iter_mut()
            .zip(acc.iter())
            .zip(self.output_offsets.chunks_exact(4))
        {
            *o = v.saturating_add(i32::from_le_bytes([off[0], off[1], off[2], off[3]]));
            written += 1;
        }
        written
    }

    /// Quantizes raw features into int8 input codes (exposed for the trainer's reference).
    pub fn quantize_input(&self, features: &[i32], codes: &mut [i8]) {
        let raw = features.iter().copied().chain(core::iter::repeat(ABSENT));
        let (records, _) = self.input.as_chunks::<INPUT_RECORD_LEN>();
        for ((c, r), raw) in codes.iter_mut().zip(records).zip(raw) {
            let offset = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let rq = Requant {
                multiplier: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                shift: r[8] as i8,
            };
            *c = quantize_feature(raw, offset, rq);
        }
    }

    /// Model kind.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }
    /// The decoded header.
    pub fn header(&self) -> &BlobHeader {
        &self.header
    }
    /// Model version.
    pub fn version(&self) -> u32 {
        self.header.model_version
    }
    /// Number of raw features.
    pub fn n_features(&self) -> usize {
        self.header.n_features as usize
    }
    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.header.n_outputs as usize
    }
    /// The layers.
    pub fn layers(&self) -> &[DenseLayer<'a>] {
        &self.layers
    }
    /// Provenance and metrics.
    pub fn metadata(&self) -> &MetadataWire<'a> {
        &self.metadata
    }
    /// Size of the blob in bytes (signature trailer included).
    pub fn blob_len(&self) -> usize {
        self.blob_len
    }
    /// Whether a signature was checked against the policy's key and verified.
    pub fn signature_verified(&self) -> bool {
        self.signature_verified
    }
    /// Multiply-accumulates of one prediction.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(|l| l.macs()).sum()
    }
    /// Input quantization of feature `i`: `(offset, requant)`.
    pub fn input_quant(&self, i: usize) -> Option<(i32, Requant)> {
        let r = self
            .input
            .get(i * INPUT_RECORD_LEN..(i + 1) * INPUT_RECORD_LEN)?;
        Some((
            i32::from_le_bytes([r[0], r[1], r[2], r[3]]),
            Requant {
                multiplier: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                shift: r[8] as i8,
            },
        ))
    }
    /// Output offset of output `o`.
    pub fn output_offset(&self, o: usize) -> Option<i32> {
        le_i32(self.output_offsets, o)
    }
}

/// Maps one raw feature to its int8 input code: `clamp(M · (raw - offset), -128, 127)`, and
/// [`ABSENT`] to 0.
#[inline]
pub fn quantize_feature(raw: i32, offset: i32, rq: Requant) -> i8 {
    if raw == ABSENT {
        0
    } else {
        rq.apply_clamped(raw.saturating_sub(offset), 0, -128, 127) as i8
    }
}

/// Everything needed to write a blob (the trainer fills it; the core writes the bytes, so the
/// format is implemented once).
#[derive(Debug, Clone, Copy)]
pub struct BlobParts<'a> {
    /// Header section.
    pub header: BlobHeader,
    /// Input quantization section.
    pub input: InputQuantWire<'a>,
    /// Layers, first to last.
    pub layers: &'a [LayerWire<'a>],
    /// Output section.
    pub output: OutputWire<'a>,
    /// Metadata section.
    pub metadata: MetadataWire<'a>,
}

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

fn put<T: Serialize>(v: &T, buf: &mut [u8], pos: &mut usize) -> Result<(), EncodeError> {
    let rest = buf.get_mut(*pos..).ok_or(EncodeError::BufferTooSmall)?;
    let used = match postcard::to_slice(v, rest) {
        Ok(s) => s.len(),
        Err(postcard::Error::SerializeBufferFull) => return Err(EncodeError::BufferTooSmall),
        Err(e) => return Err(EncodeError::Encode(e)),
    };
    *pos += used;
    Ok(())
}

/// Writes a v1 blob into `buf` and returns its length. Does not validate the parts: run
/// [`Model::from_blob`] on the result to check them.
pub fn encode(parts: &BlobParts<'_>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    if buf.len() < MIN_LEN {
        return Err(EncodeError::BufferTooSmall);
    }
    buf[..4].copy_from_slice(&MAGIC);
    buf[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let mut pos = 6;
    put(&parts.header, buf, &mut pos)?;
    put(&parts.input, buf, &mut pos)?;
    let count = u8::try_from(parts.layers.len()).map_err(|_| EncodeError::TooManyLayers)?;
    put(&count, buf, &mut pos)?;
    for layer in parts.layers {
        put(layer, buf, &mut pos)?;
    }
    put(&parts.output, buf, &mut pos)?;
    put(&parts.metadata, buf, &mut pos)?;
    let crc = crc32(buf.get(..pos).ok_or(EncodeError::BufferTooSmall)?);
    let tail = buf
        .get_mut(pos..pos + 4)
        .ok_or(EncodeError::BufferTooSmall)?;
    tail.copy_from_slice(&crc.to_le_bytes());
    Ok(pos + 4)
}
