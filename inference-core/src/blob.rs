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
//! [`Model::from_blob`] and [`Model::load`] check everything once: magic, version, CRC, every
//! section's decoding, every length, every layer's chaining to the previous one, and every
//! requantization parameter (`load` also the model kind and feature schema). After they return
//! `Ok`, [`Model::infer`] is total: it cannot panic or fail for any input values. Weights are
//! not copied: the model borrows the blob.
//!
//! A blob may carry an Ed25519 signature trailer after its CRC ([`crate::signature`]).
//! [`Model::load`] applies a [`Policy`] (key, unsigned blobs, lowest version) between the
//! envelope checks and the section decoding, and checks the model kind and feature schema;
//! [`Model::from_blob`] reads signed and unsigned blobs of any kind alike without checking
//! signatures.

use serde::{Deserialize, Serialize};

use crate::crc::crc32;
#[cfg(target_pointer_width = "64")]
use crate::dense::prepare_swar;
use crate::dense::{
    dense_i8_i32_best, dense_i8_i32_swar, dense_i8_i8_best, dense_i8_i8_swar, le_i32, swar_words,
    Activation, DenseLayer,
};
use crate::quant::Requant;
use crate::signature::{self, Policy};
use crate::ModelKind;

// The errors live in `crate::error`; re-exported here, where the loader and writer return them.
pub use crate::error::{EncodeError, LoadError, Section};

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

/// [`MetadataWire`] as the loader checks it: the same encoding (postcard writes a string as
/// its length and bytes), with the strings as bytes, validated by [`utf8_ok`] rather than by
/// `core::str::from_utf8`, whose fast path costs half a KiB of firmware flash.
#[derive(Deserialize)]
struct MetadataCheck<'a> {
    _created_unix_s: u64,
    _train_samples: u32,
    _val_samples: u32,
    #[serde(borrow)]
    metric: &'a [u8],
    _metric_f32_milli: i32,
    _metric_int8_milli: i32,
    _baseline_milli: i32,
    #[serde(borrow)]
    source: &'a [u8],
}

/// Whether `b` is well-formed UTF-8 (the Unicode standard's table 3-7: no overlong forms, no
/// surrogates, nothing above U+10FFFF), byte by byte.
fn utf8_ok(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        // continuation bytes after `c`, and the range of the first one
        let (n, lo, hi) = match c {
            0x00..=0x7F => (0, 0, 0),
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => return false,
        };
        for k in 1..=n {
            let (lo, hi) = if k == 1 { (lo, hi) } else { (0x80, 0xBF) };
            match b.get(i + k) {
                Some(&d) if (lo..=hi).contains(&d) => {}
                _ => return false,
            }
        }
        i += 1 + n;
    }
    true
}

/// Section 7 (optional, after the metadata): what the kernel shim watches the model with,
/// chosen by the trainer from validation data. Blobs without it load as before (no alert);
/// shims older than this section refuse blobs with it (`TrailingBytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MonitorWire<'a> {
    /// Rolling error (the unit of the shim's `rolling_error`: workload |predicted − actual|
    /// CPU in percent × 100; threat and failure, wrong decisions per-mille) above which the
    /// slot raises its degradation alert. 0: never.
    pub error_alert: u32,
    /// Rolling error below which a raised alert clears (hysteresis: below `error_alert`).
    pub error_clear: u32,
    /// Outcomes the rolling error must have seen since the model was installed before the
    /// alert may fire (its warm-up); also the drift score's warm-up, in samples.
    pub min_outcomes: u16,
    /// Drift score ([`crate::monitor::score`], per-mille of a training spread) above which
    /// the slot raises its alert. 0: never.
    pub drift_alert: u32,
    /// Drift score below which a raised drift alert clears.
    pub drift_clear: u32,
    /// Training mean and spread of each feature's input code, 4 bytes a feature
    /// ([`crate::monitor`]); empty: drift is not watched.
    #[serde(borrow)]
    pub input_stats: &'a [u8],
}

/// A blob whose envelope and signature passed a [`Policy`] ([`Model::check`]); only
/// [`Model::from_checked`] takes it, so nothing decodes a blob that skipped the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked<'a> {
    blob: &'a [u8],
    len: usize,
    verified: bool,
    min_version: u32,
}

impl Checked<'_> {
    /// Whether a signature was verified.
    pub fn signature_verified(&self) -> bool {
        self.verified
    }
}

/// A validated model borrowing its parameters from a blob.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    header: BlobHeader,
    kind: ModelKind,
    input: &'a [u8],
    layers: heapless::Vec<DenseLayer<'a>, MAX_LAYERS>,
    output_offsets: &'a [u8],
    /// The metadata section's bytes, decoded on request (validated at load): kept encoded,
    /// the model stays small on the loading caller's stack.
    metadata: &'a [u8],
    monitor: Option<MonitorWire<'a>>,
    blob_len: usize,
    signature_verified: bool,
}

/// The arrangement of a model's weights made by [`Model::prepare_as`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Three rows per 64-bit word, one 64-bit multiply for three products
    /// (`dense::prepare_swar`): plain integer registers, the kernel-safe path (no SIMD or FPU
    /// state). 64-bit targets only.
    Swar,
    /// x86-64 hosts with AVX2 (user space): per block of eight rows, the weights of each pair
    /// of inputs as sixteen i16 in one 256-bit vector, so the eight rows' sums stay in one
    /// register's lanes; the input quantization packed the same way
    /// (`dense::avx2::pack_layer`). About 1.6 times the speed of the AVX2 kernels on the
    /// blob's rows (`_layouts` benches).
    Avx2,
}

impl Layout {
    /// The fastest layout this build and CPU run: [`Layout::Avx2`] where
    /// `dense::avx2::available`, else [`Layout::Swar`].
    pub fn best() -> Layout {
        if avx2_available() {
            Layout::Avx2
        } else {
            Layout::Swar
        }
    }
}

/// Whether the AVX2 kernels may run in this build on this CPU.
#[inline(always)]
fn avx2_available() -> bool {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    {
        crate::dense::avx2::available()
    }
    #[cfg(not(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    )))]
    {
        false
    }
}

/// A model's weights in a prepared [`Layout`], made by [`Model::prepare`] in a buffer the
/// caller owns (made once, at load time; no heap).
///
/// Only 64-bit targets prepare: there a 64-bit multiply is one instruction. On 32-bit
/// targets (firmware) this type is empty, [`Model::prepare`] answers `None`, and the
/// prepared kernels are not linked.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<'p> {
    #[cfg(target_pointer_width = "64")]
    words: &'p [i64],
    /// Where each layer's words start in `words` (for [`Layout::Avx2`], the input
    /// quantization's come first, from 0).
    #[cfg(target_pointer_width = "64")]
    starts: [u16; MAX_LAYERS],
    /// Only made as [`Layout::Avx2`] where that layout runs.
    #[cfg(target_pointer_width = "64")]
    layout: Layout,
    #[cfg(not(target_pointer_width = "64"))]
    none: core::marker::PhantomData<&'p [i64]>,
}

impl<'p> Prepared<'p> {
    /// The layout of these words.
    pub fn layout(&self) -> Layout {
        #[cfg(target_pointer_width = "64")]
        {
            self.layout
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            Layout::Swar
        }
    }

    /// Layer `i`'s words (`layer` gives their number).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn layer(&self, i: usize, layer: &DenseLayer<'_>) -> Option<&'p [i64]> {
        let start = *self.starts.get(i)? as usize;
        self.words
            .get(start..start + layer_words(self.layout, layer))
    }

    /// Nothing is prepared on 32-bit targets.
    #[cfg(not(target_pointer_width = "64"))]
    #[inline(always)]
    fn layer(&self, _i: usize, _layer: &DenseLayer<'_>) -> Option<&'p [i64]> {
        let _ = self.none;
        None
    }
}

/// Words a layer takes in `layout` (none in [`Layout::Avx2`] where that does not run).
#[cfg(target_pointer_width = "64")]
fn layer_words(layout: Layout, layer: &DenseLayer<'_>) -> usize {
    match layout {
        Layout::Swar => swar_words(layer),
        #[cfg(all(
            target_arch = "x86_64",
            target_feature = "sse2",
            not(feature = "scalar")
        ))]
        Layout::Avx2 => crate::dense::avx2::packed_layer_words(layer.inputs(), layer.outputs()),
        #[cfg(not(all(
            target_arch = "x86_64",
            target_feature = "sse2",
            not(feature = "scalar")
        )))]
        Layout::Avx2 => 0,
    }
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
    for (channel, (m, &s)) in mult.as_chunks::<4>().0.iter().zip(shift).enumerate() {
        let rq = Requant {
            multiplier: i32::from_le_bytes(*m),
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
        return Err(LoadError::TooShort {
            len: bytes.len(),
            min: MIN_LEN,
        });
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

/// Input quantization: one record per feature, every requantization in range.
fn check_input(input: &InputQuantWire<'_>, n_features: usize) -> Result<(), LoadError> {
    expect_len(
        Section::InputQuant,
        "records",
        input.records,
        n_features * INPUT_RECORD_LEN,
    )?;
    let (records, _) = input.records.as_chunks::<INPUT_RECORD_LEN>();
    for (channel, r) in records.iter().enumerate() {
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
    Ok(())
}

/// The layer count and the layers: each fed by the features or the previous layer, the last
/// one producing `n_outputs`.
fn decode_layers<'a>(
    body: &'a [u8],
    pos: &mut usize,
    n_features: usize,
    n_outputs: usize,
    layers: &mut heapless::Vec<DenseLayer<'a>, MAX_LAYERS>,
) -> Result<(), LoadError> {
    let count: u8 = section(body, pos, Section::LayerCount)?;
    let count = count as usize;
    if count == 0 || count > MAX_LAYERS {
        return Err(LoadError::LayerCount {
            found: count,
            max: MAX_LAYERS,
        });
    }
    layers.clear();
    let mut fed = n_features;
    if fed == 0 || fed > MAX_WIDTH {
        return Err(LoadError::LayerWidth {
            layer: 0,
            width: fed,
            max: MAX_WIDTH,
        });
    }
    for index in 0..count {
        let w: LayerWire<'a> = section(body, pos, Section::Layer(index as u8))?;
        let layer = check_layer(body, w, index, fed)?;
        fed = layer.outputs();
        // Cannot fail: count ≤ MAX_LAYERS was checked above.
        let _ = layers.push(layer);
    }
    if fed != n_outputs {
        return Err(LoadError::ShapeMismatch {
            layer: count,
            expected: n_outputs,
            found: fed,
        });
    }
    Ok(())
}

/// One layer's shape (it reads the `fed` values before it), lengths, requantization and
/// activation.
fn check_layer<'a>(
    body: &'a [u8],
    w: LayerWire<'a>,
    index: usize,
    fed: usize,
) -> Result<DenseLayer<'a>, LoadError> {
    let sec = Section::Layer(index as u8);
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
            max: MAX_WIDTH,
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
    // The four arrays were decoded from `body`, in this order: one region and offsets name
    // them (see `DenseLayer`). Addresses only, compared and subtracted: no pointer is made.
    let at = |s: &[u8]| (s.as_ptr() as usize).wrapping_sub(w.weights.as_ptr() as usize);
    let start = (w.weights.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let end = at(w.shift) + n_out;
    body.get(start..start.wrapping_add(end))
        .and_then(|data| {
            DenseLayer::new(
                data,
                n_in,
                n_out,
                at(w.bias),
                at(w.multiplier),
                at(w.shift),
                activation,
                w.output_zero_point,
            )
        })
        .ok_or(LoadError::LayerWidth {
            layer: index,
            width: n_out,
            max: MAX_WIDTH,
        })
}

impl<'a> Model<'a> {
    /// Validates a blob of any kind, signed or not, without checking a signature
    /// ([`Policy::OPEN`]). See the module docs for what is checked.
    pub fn from_blob(bytes: &'a [u8]) -> Result<Model<'a>, LoadError> {
        Model::load(bytes, None, &Policy::OPEN)
    }

    /// Validates a blob under `policy`: envelope (magic, version, CRC), then the signature and
    /// the unsigned policy, then every section, then, with `Some(kind)`, the model kind and the
    /// feature schema this build extracts for it ([`ModelKind::schema_id`]), then the version
    /// floor. `None` accepts a model of any kind and schema (a tool checking a signature).
    pub fn load(
        bytes: &'a [u8],
        kind: Option<ModelKind>,
        policy: &Policy,
    ) -> Result<Model<'a>, LoadError> {
        Model::from_checked(Model::check(bytes, policy)?, kind)
    }

    /// The checks before decoding: envelope (magic, version, CRC), then the signature under
    /// `policy`. [`Model::load`] is this, then [`Model::from_checked`]; a caller with little
    /// stack (a kernel) calls the two itself, from one shallow frame, so that the signature
    /// verification's stack and the decoded model's are never on the stack together. Not
    /// inlined for the same reason.
    #[inline(never)]
    pub fn check(bytes: &'a [u8], policy: &Policy) -> Result<Checked<'a>, LoadError> {
        let env = signature::split(bytes);
        check_envelope(env.blob)?;
        let verified = signature::check(&env, policy)?;
        Ok(Checked {
            blob: env.blob,
            len: bytes.len(),
            verified,
            min_version: policy.min_version,
        })
    }

    /// Decodes a blob that passed [`Model::check`]: every section, then, with `Some(kind)`,
    /// the model kind and the feature schema this build extracts for it
    /// ([`ModelKind::schema_id`]), then the policy's version floor.
    pub fn from_checked(c: Checked<'a>, kind: Option<ModelKind>) -> Result<Model<'a>, LoadError> {
        let mut model = None;
        Model::from_checked_into(c, kind, &mut model)?;
        model.ok_or(LoadError::TrailingBytes { offset: 0 })
    }

    /// [`Model::from_checked`] into `out` (`Some` on success, `None` on error): the model is
    /// built where it will live, not on the stack and copied, which matters to a kernel
    /// caller. Returns the model's version.
    pub fn from_checked_into(
        c: Checked<'a>,
        kind: Option<ModelKind>,
        out: &mut Option<Model<'a>>,
    ) -> Result<u32, LoadError> {
        let r = Model::decode_into(c.blob, out).and_then(|()| {
            let Some(model) = out.as_mut() else {
                return Err(LoadError::TrailingBytes { offset: 0 });
            };
            model.blob_len = c.len;
            model.signature_verified = c.verified;
            if let Some(kind) = kind {
                model.check_kind(kind)?;
            }
            signature::check_rollback(c.min_version, model.version(), false)?;
            Ok(model.version())
        });
        if r.is_err() {
            *out = None;
        }
        r
    }

    /// Decodes and checks the sections of a v1 blob whose envelope was checked, into `out`.
    #[inline(never)]
    fn decode_into(bytes: &'a [u8], out: &mut Option<Model<'a>>) -> Result<(), LoadError> {
        // the envelope check measured the length already; this keeps the decoder total
        let Some((body, _crc)) = signature::split_crc(bytes) else {
            return Err(LoadError::TooShort {
                len: bytes.len(),
                min: MIN_LEN,
            });
        };
        let mut pos = 6;

        let header: BlobHeader = section(body, &mut pos, Section::Header)?;
        let kind = ModelKind::from_code(header.kind)
            .ok_or(LoadError::UnknownKind { found: header.kind })?;
        let n_features = header.n_features as usize;
        let n_outputs = header.n_outputs as usize;

        let input: InputQuantWire<'a> = section(body, &mut pos, Section::InputQuant)?;
        check_input(&input, n_features)?;
        let model = out.insert(Model {
            header,
            kind,
            input: input.records,
            layers: heapless::Vec::new(),
            output_offsets: &[],
            metadata: &[],
            monitor: None,
            blob_len: bytes.len(),
            signature_verified: false,
        });
        decode_layers(body, &mut pos, n_features, n_outputs, &mut model.layers)?;
        let output: OutputWire<'a> = section(body, &mut pos, Section::Output)?;
        expect_len(Section::Output, "offsets", output.offsets, n_outputs * 4)?;
        model.output_offsets = output.offsets;
        let metadata_at = pos;
        let m: MetadataCheck<'a> = section(body, &mut pos, Section::Metadata)?;
        if !(utf8_ok(m.metric) && utf8_ok(m.source)) {
            return Err(LoadError::Decode {
                section: Section::Metadata,
                offset: metadata_at,
                error: postcard::Error::DeserializeBadUtf8,
            });
        }
        model.metadata = body.get(metadata_at..pos).unwrap_or(&[]);
        if pos < body.len() {
            let m: MonitorWire<'a> = section(body, &mut pos, Section::Monitor)?;
            for (alert, clear) in [
                (m.error_alert, m.error_clear),
                (m.drift_alert, m.drift_clear),
            ] {
                if alert != 0 && clear >= alert {
                    return Err(LoadError::InvalidMonitor { alert, clear });
                }
            }
            if !m.input_stats.is_empty() {
                expect_len(
                    Section::Monitor,
                    "input_stats",
                    m.input_stats,
                    n_features * crate::monitor::STAT_LEN,
                )?;
            }
            model.monitor = Some(m);
        }
        if pos != body.len() {
            return Err(LoadError::TrailingBytes { offset: pos });
        }
        Ok(())
    }

    fn check_kind(&self, kind: ModelKind) -> Result<(), LoadError> {
        if self.kind != kind {
            return Err(LoadError::WrongKind {
                expected: kind,
                found: self.kind,
            });
        }
        let schema_id = kind.schema_id();
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
        self.infer_with(None, features, out)
    }

    /// [`Model::infer`] with the weights in the prepared layout of [`Model::prepare`] (three
    /// rows per 64-bit multiply): identical outputs, about a third of the scalar work. `prep`
    /// must have been prepared from this model (from another, the outputs are meaningless,
    /// though nothing panics).
    pub fn infer_prepared(&self, prep: &Prepared<'_>, features: &[i32], out: &mut [i32]) -> usize {
        self.infer_with(Some(prep), features, out)
    }

    /// Prepares this model's weights for [`Model::infer_prepared`] in `buf`, in the fastest
    /// [`Layout`] of this build and CPU ([`Layout::best`]): [`Model::prepared_words`] words.
    /// `None` if `buf` is too short, a layer cannot be prepared (a weight of -128 in the
    /// SWAR layout) or the target is 32-bit; the plain [`Model::infer`] then serves.
    pub fn prepare<'p>(&self, buf: &'p mut [i64]) -> Option<Prepared<'p>> {
        self.prepare_as(Layout::best(), buf)
    }

    /// [`Model::prepare`] in a given layout: [`Model::prepared_words_as`] words. `None` also
    /// for [`Layout::Avx2`] where it does not run.
    #[cfg(target_pointer_width = "64")]
    pub fn prepare_as<'p>(&self, layout: Layout, buf: &'p mut [i64]) -> Option<Prepared<'p>> {
        let mut starts = [0u16; MAX_LAYERS];
        let mut at = 0usize;
        #[cfg(all(
            target_arch = "x86_64",
            target_feature = "sse2",
            not(feature = "scalar")
        ))]
        if layout == Layout::Avx2 {
            if !avx2_available() {
                return None;
            }
            at = crate::dense::avx2::pack_input(self.n_features(), |i| self.input_quant(i), buf)?;
        }
        for (layer, start) in self.layers.iter().zip(starts.iter_mut()) {
            *start = u16::try_from(at).ok()?;
            let rest = buf.get_mut(at..)?;
            at += match layout {
                Layout::Swar => prepare_swar(layer, rest)?,
                #[cfg(all(
                    target_arch = "x86_64",
                    target_feature = "sse2",
                    not(feature = "scalar")
                ))]
                Layout::Avx2 => crate::dense::avx2::pack_layer(layer, rest)?,
                #[cfg(not(all(
                    target_arch = "x86_64",
                    target_feature = "sse2",
                    not(feature = "scalar")
                )))]
                Layout::Avx2 => return None,
            };
        }
        Some(Prepared {
            words: buf.get(..at)?,
            starts,
            layout,
        })
    }

    /// [`Model::prepare_as`] on a 32-bit target: `None` (the plain kernels serve).
    #[cfg(not(target_pointer_width = "64"))]
    pub fn prepare_as<'p>(&self, layout: Layout, buf: &'p mut [i64]) -> Option<Prepared<'p>> {
        let _ = (layout, buf);
        None
    }

    /// Words [`Model::prepare`] needs.
    pub fn prepared_words(&self) -> usize {
        self.prepared_words_as(Layout::best())
    }

    /// Words [`Model::prepare_as`] needs for `layout` (0 for a layout this target does not
    /// prepare).
    pub fn prepared_words_as(&self, layout: Layout) -> usize {
        #[cfg(target_pointer_width = "64")]
        let input = match layout {
            Layout::Swar => 0,
            #[cfg(all(
                target_arch = "x86_64",
                target_feature = "sse2",
                not(feature = "scalar")
            ))]
            Layout::Avx2 => crate::dense::avx2::packed_input_words(self.n_features()),
            #[cfg(not(all(
                target_arch = "x86_64",
                target_feature = "sse2",
                not(feature = "scalar")
            )))]
            Layout::Avx2 => 0,
        };
        #[cfg(target_pointer_width = "64")]
        return input
            + self
                .layers
                .iter()
                .map(|l| layer_words(layout, l))
                .sum::<usize>();
        #[cfg(not(target_pointer_width = "64"))]
        match layout {
            Layout::Swar => self.layers.iter().map(swar_words).sum(),
            Layout::Avx2 => 0,
        }
    }

    /// The forward pass, on the blob's weights or on prepared ones.
    #[inline(always)]
    fn infer_with(&self, prep: Option<&Prepared<'_>>, features: &[i32], out: &mut [i32]) -> usize {
        #[cfg(all(
            target_arch = "x86_64",
            target_feature = "sse2",
            not(feature = "scalar")
        ))]
        if let Some(p) = prep.filter(|p| p.layout == Layout::Avx2) {
            return self.infer_packed(p, features, out);
        }
        // Two activation buffers and nothing else: the last layer writes into `out` (this
        // runs on a kernel stack).
        let mut a = [0i16; MAX_WIDTH];
        let mut b = [0i16; MAX_WIDTH];
        self.quantize_codes(features, &mut a);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let (x, y) = if i % 2 == 0 {
                (&a, &mut b)
            } else {
                (&b, &mut a)
            };
            let words = prep.and_then(|p| p.layer(i, layer));
            if i == last {
                match words {
                    Some(w) => dense_i8_i32_swar(layer, w, x, out),
                    None => dense_i8_i32_best(layer, x, out),
                }
            } else {
                match words {
                    Some(w) => dense_i8_i8_swar(layer, w, x, y),
                    None => dense_i8_i8_best(layer, x, y),
                }
                // The next layer reads its input in blocks of 8 (16 with AVX2): slots past
                // this layer's outputs must be zero (they may hold an earlier layer's codes).
                let padded = layer.outputs().div_ceil(16) * 16;
                for v in y.iter_mut().take(padded).skip(layer.outputs()) {
                    *v = 0;
                }
            }
        }
        let mut written = 0;
        for (o, off) in out.iter_mut().zip(self.output_offsets.as_chunks::<4>().0) {
            *o = o.saturating_add(i32::from_le_bytes(*off));
            written += 1;
        }
        written
    }

    /// The forward pass on [`Layout::Avx2`] words: every step eight lanes wide.
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    #[allow(unsafe_code)]
    fn infer_packed(&self, prep: &Prepared<'_>, features: &[i32], out: &mut [i32]) -> usize {
        use crate::dense::avx2;
        let mut a = [0i16; MAX_WIDTH];
        let mut b = [0i16; MAX_WIDTH];
        let mut sums = [0i32; MAX_WIDTH];
        let input = prep
            .words
            .get(..avx2::packed_input_words(self.n_features()))
            .unwrap_or(&[]);
        // SAFETY: a `Layout::Avx2` `Prepared` is only made where AVX2 runs (`prepare_as`).
        unsafe { avx2::packed_input(input, features, &mut a) };
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let (x, y) = if i % 2 == 0 {
                (&a, &mut b)
            } else {
                (&b, &mut a)
            };
            let words = prep.layer(i, layer).unwrap_or(&[]);
            let shape = (layer.inputs(), layer.outputs());
            let zp = layer.output_zero_point as i64;
            // SAFETY: as above.
            unsafe {
                match (i == last, layer.activation) {
                    (true, Activation::Relu) => avx2::packed_i8_i32(words, shape, x, 0, &mut sums),
                    (true, Activation::Linear) => {
                        avx2::packed_i8_i32(words, shape, x, i32::MIN as i64, &mut sums)
                    }
                    (false, Activation::Relu) => avx2::packed_i8_i8(words, shape, x, (zp, zp), y),
                    (false, Activation::Linear) => {
                        avx2::packed_i8_i8(words, shape, x, (zp, -128), y)
                    }
                }
            }
        }
        let n_out = self.n_outputs();
        let mut written = 0;
        for ((o, off), &s) in out
            .iter_mut()
            .zip(self.output_offsets.as_chunks::<4>().0)
            .zip(sums.iter().take(n_out))
        {
            *o = s.saturating_add(i32::from_le_bytes(*off));
            written += 1;
        }
        written
    }

    /// Quantizes raw features into int8 input codes (exposed for the trainer's reference).
    pub fn quantize_input(&self, features: &[i32], codes: &mut [i8]) {
        self.quantize_codes(features, codes)
    }

    /// [`Model::quantize_input`] into any type that holds an int8 code.
    #[inline(always)]
    fn quantize_codes<T: From<i8>>(&self, features: &[i32], codes: &mut [T]) {
        let raw = features.iter().copied().chain(core::iter::repeat(ABSENT));
        let (records, _) = self.input.as_chunks::<INPUT_RECORD_LEN>();
        for ((c, r), raw) in codes.iter_mut().zip(records).zip(raw) {
            let offset = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let rq = Requant {
                multiplier: i32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                shift: r[8] as i8,
            };
            *c = T::from(quantize_feature(raw, offset, rq));
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
    pub fn metadata(&self) -> MetadataWire<'a> {
        // validated at load, so this cannot fail; the empty record keeps it total
        postcard::from_bytes(self.metadata).unwrap_or(MetadataWire {
            created_unix_s: 0,
            train_samples: 0,
            val_samples: 0,
            metric: "",
            metric_f32_milli: 0,
            metric_int8_milli: 0,
            baseline_milli: 0,
            source: "",
        })
    }
    /// The monitor thresholds, if the blob has the section.
    pub fn monitor(&self) -> Option<MonitorWire<'a>> {
        self.monitor
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
    /// Monitor section, if any.
    pub monitor: Option<MonitorWire<'a>>,
}

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
    if let Some(m) = &parts.monitor {
        put(m, buf, &mut pos)?;
    }
    let crc = crc32(buf.get(..pos).ok_or(EncodeError::BufferTooSmall)?);
    let tail = buf
        .get_mut(pos..pos + 4)
        .ok_or(EncodeError::BufferTooSmall)?;
    tail.copy_from_slice(&crc.to_le_bytes());
    Ok(pos + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_check_agrees_with_core() {
        // every sequence of one, two and three bytes, then random ones led by the bytes of
        // 3- and 4-byte forms and by invalid leads
        for x in 0..1u32 << 24 {
            let b = x.to_le_bytes();
            for n in 1..=3 {
                if n < 3 && x >> (8 * n) != 0 {
                    continue;
                }
                let b = &b[..n];
                assert_eq!(utf8_ok(b), core::str::from_utf8(b).is_ok(), "{b:02x?}");
            }
        }
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..1_000_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut b = rng.to_le_bytes();
            b[0] = 0xE0 + (b[0] % 32);
            for len in [4, 5, 8] {
                let b = &b[..len];
                assert_eq!(utf8_ok(b), core::str::from_utf8(b).is_ok(), "{b:02x?}");
            }
        }
    }

    #[test]
    fn metadata_with_invalid_utf8_is_refused() {
        let blob = include_bytes!("../models/failure.blob");
        let m = Model::from_blob(blob).expect("the built-in blob loads");
        let meta = m.metadata();
        // corrupt the first byte of the source string and fix the CRC
        let source = meta.source.as_bytes();
        let at = blob
            .windows(source.len())
            .position(|w| w == source)
            .expect("the source string is in the blob");
        let mut bad = blob.to_vec();
        bad[at] = 0xFF;
        let n = bad.len() - 4;
        let crc = crate::crc::crc32(&bad[..n]);
        bad[n..].copy_from_slice(&crc.to_le_bytes());
        let refused = Model::from_blob(&bad).err();
        assert!(
            matches!(
                refused,
                Some(LoadError::Decode {
                    section: Section::Metadata,
                    error: postcard::Error::DeserializeBadUtf8,
                    ..
                })
            ),
            "expected a metadata UTF-8 error, got {refused:?}"
        );
    }
}
