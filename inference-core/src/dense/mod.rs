//! Integer dense layers: int8 weights and activations, i32 accumulators, Q31 requantization.
//!
//! Activation codes are int8 values carried in i16 slots (see [`dot_i8_i32`] for why).
//!
//! # Math
//!
//! Real values are affine in their int8 codes: an activation `a ≈ s_a · (q_a - z_a)`, a weight
//! `w ≈ s_w[o] · q_w` (symmetric, one scale per output channel `o`). A dense layer
//! `y[o] = Σ_i w[o,i] · a[i] + b[o]` becomes
//!
//! ```text
//! acc[o] = B[o] + Σ_i q_w[o,i] · q_a[i]             (i32)
//! B[o]   = round(b[o] / (s_a · s_w[o])) - z_a · Σ_i q_w[o,i]   (folded offline by the trainer)
//! ```
//!
//! and the output code is `q_y[o] = clamp(z_y + M[o] · acc[o], lo, 127)` with
//! `M[o] = s_a · s_w[o] / s_y` applied by [`Requant::apply`](crate::quant::Requant::apply)
//! (one rounding), `lo = z_y` for a fused ReLU and `-128` otherwise.
//!
//! The last layer of a network does not go back to int8: [`dense_i8_i32`] returns
//! `M[o] · acc[o]` as an i32 in the output's fixed unit (see `BLOB_FORMAT.md`), so regression
//! heads keep full precision.
//!
//! Weights are stored row-major (`n_out` rows of `n_in` bytes) and read in place from the blob.
//! The kernels only zip slices, so they contain no bounds checks and cannot panic; the loader
//! guarantees the slice lengths agree, which is what makes the results meaningful.

use crate::quant::Requant;

/// Activation fused into a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// No activation: the output spans the whole int8 range.
    Linear,
    /// ReLU: outputs below the output zero point are clamped to it.
    Relu,
}

/// One validated dense layer, borrowing its parameters from a model blob.
///
/// Compact on purpose (32 bytes on 64-bit targets): a model holds up to
/// [`MAX_LAYERS`](crate::blob::MAX_LAYERS) of these and is built on the loading caller's stack,
/// which in a kernel is small. The four parameter arrays lie in one region of the blob (in
/// order, separated by their postcard length prefixes), so one slice and three offsets name
/// them.
#[derive(Debug, Clone, Copy)]
pub struct DenseLayer<'a> {
    /// `n_out · n_in` int8 weights, row-major, stored as bytes; then `n_out` i32 biases
    /// (little endian, input zero point already folded in) at `bias_at`, `n_out` Q31
    /// mantissas (little-endian i32) at `multiplier_at`, `n_out` i8 exponents at `shift_at`.
    data: &'a [u8],
    n_in: u16,
    n_out: u16,
    bias_at: u16,
    multiplier_at: u16,
    shift_at: u16,
    pub(crate) activation: Activation,
    pub(crate) output_zero_point: i8,
}

impl<'a> DenseLayer<'a> {
    /// A layer over `data` (weights first, the other arrays at the given offsets). `None` if
    /// a dimension or offset does not fit in 16 bits or an array does not fit in `data`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        data: &'a [u8],
        n_in: usize,
        n_out: usize,
        bias_at: usize,
        multiplier_at: usize,
        shift_at: usize,
        activation: Activation,
        output_zero_point: i8,
    ) -> Option<DenseLayer<'a>> {
        let small = |v: usize| u16::try_from(v).ok();
        let layer = DenseLayer {
            data,
            n_in: small(n_in)?,
            n_out: small(n_out)?,
            bias_at: small(bias_at)?,
            multiplier_at: small(multiplier_at)?,
            shift_at: small(shift_at)?,
            activation,
            output_zero_point,
        };
        let fits = data.len() >= n_in.checked_mul(n_out)?
            && data.len() >= bias_at.checked_add(n_out * 4)?
            && data.len() >= multiplier_at.checked_add(n_out * 4)?
            && data.len() >= shift_at.checked_add(n_out)?;
        fits.then_some(layer)
    }

    #[inline(always)]
    fn part(&self, at: u16, len: usize) -> &'a [u8] {
        let at = at as usize;
        self.data.get(at..at + len).unwrap_or(&[])
    }
    /// The weights, row-major.
    #[inline(always)]
    pub(crate) fn weights(&self) -> &'a [u8] {
        self.part(0, self.macs())
    }
    /// The folded biases, little-endian i32.
    #[inline(always)]
    pub(crate) fn biases(&self) -> &'a [u8] {
        self.part(self.bias_at, self.outputs() * 4)
    }
    /// The Q31 mantissas, little-endian i32.
    #[inline(always)]
    pub(crate) fn multipliers(&self) -> &'a [u8] {
        self.part(self.multiplier_at, self.outputs() * 4)
    }
    /// The exponents, i8.
    #[inline(always)]
    pub(crate) fn shifts(&self) -> &'a [u8] {
        self.part(self.shift_at, self.outputs())
    }
}

impl DenseLayer<'_> {
    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.n_in as usize
    }
    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.n_out as usize
    }
    /// Fused activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// Output zero point (meaningful for hidden layers).
    pub fn output_zero_point(&self) -> i8 {
        self.output_zero_point
    }
    /// Multiply-accumulates of one evaluation.
    pub fn macs(&self) -> usize {
        self.inputs() * self.outputs()
    }
    /// Weight of output `o`, input `i` (for inspection tools; `None` out of range).
    pub fn weight(&self, o: usize, i: usize) -> Option<i8> {
        if i >= self.inputs() {
            return None;
        }
        self.weights().get(o * self.inputs() + i).map(|&b| b as i8)
    }
    /// Folded bias of output `o`.
    pub fn bias(&self, o: usize) -> Option<i32> {
        le_i32(self.biases(), o)
    }
    /// Requantization multiplier of output `o`.
    pub fn requant(&self, o: usize) -> Option<Requant> {
        Some(Requant {
            multiplier: le_i32(self.multipliers(), o)?,
            shift: *self.shifts().get(o)? as i8,
        })
    }
}

/// Reads the `i`-th little-endian i32 of a byte slice.
#[inline(always)]
pub(crate) fn le_i32(bytes: &[u8], i: usize) -> Option<i32> {
    let b = bytes.get(i * 4..i * 4 + 4)?;
    Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// `Σ w[i] · x[i]`: int8 weights (held as bytes) times int8 activation codes held in i16.
///
/// Activations are kept as i16 so each product is `i16 × i16 → i32` with the weight
/// sign-extended once. On x86-64 with SSE2 (user space) this is eight `pmaddwd` lanes per step;
/// everywhere else, and with the `scalar` feature, a plain multiply-add loop (the kernel-safe
/// build: no SIMD or FPU state is touched). Both accumulate in wrapping i32 and give identical
/// results. `x` must be at least as long as `w` for the product to be meaningful; shorter `x`
/// counts as zero-padded.
#[inline(always)]
pub fn dot_i8_i32(w: &[u8], x: &[i16]) -> i32 {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    {
        sse2::dot(w, x)
    }
    #[cfg(not(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    )))]
    {
        dot_scalar(w, x)
    }
}

/// The portable dot product (reference for the SIMD one, and the kernel build's kernel).
#[inline(always)]
pub fn dot_scalar(w: &[u8], x: &[i16]) -> i32 {
    let mut acc = 0i32;
    for (&a, &b) in w.iter().zip(x) {
        acc = acc.wrapping_add((a as i8 as i32).wrapping_mul(b as i32));
    }
    acc
}

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "sse2",
    not(feature = "scalar")
))]
#[allow(unsafe_code)]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadl_epi64, _mm_loadu_si128,
        _mm_madd_epi16, _mm_setzero_si128, _mm_shuffle_epi32, _mm_srai_epi16, _mm_unpacklo_epi8,
    };

    #[inline(always)]
    pub fn dot(w: &[u8], x: &[i16]) -> i32 {
        let n = w.len().min(x.len());
        let blocks = n / 8;
        // SAFETY: SSE2 is enabled for the whole build (the cfg on this module), so calling its
        // intrinsics is sound. Each block reads bytes b*8..b*8+8 of `w` and elements
        // b*8..b*8+8 of `x`; b*8+8 <= n and n is at most the length of both slices, so every
        // unaligned load stays inside its slice.
        let sum = unsafe {
            let mut acc = _mm_setzero_si128();
            for b in 0..blocks {
                let wv = _mm_loadl_epi64(w.as_ptr().add(b * 8) as *const __m128i);
                let xv = _mm_loadu_si128(x.as_ptr().add(b * 8) as *const __m128i);
                // sign-extend the eight weight bytes to i16: duplicate each byte, shift right
                let w16 = _mm_srai_epi16(_mm_unpacklo_epi8(wv, wv), 8);
                acc = _mm_add_epi32(acc, _mm_madd_epi16(w16, xv));
            }
            let s = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0b01_00_11_10));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
            _mm_cvtsi128_si32(s)
        };
        let tail = blocks * 8;
        let rest = super::dot_scalar(w.get(tail..n).unwrap_or(&[]), x.get(tail..n).unwrap_or(&[]));
        sum.wrapping_add(rest)
    }
}

/// Every output channel's weight row, folded bias and requantization, in order. Fixed-size
/// chunks (`as_chunks`) let the compiler drop the bounds checks from the hot loop.
///
/// A row is handed out *padded* to a multiple of 8 bytes where the weights continue (it then
/// ends with the first bytes of the next row): the SIMD dot product needs no scalar tail, and
/// the extra products are with activation slots that [`Model::infer`](crate::Model::infer)
/// keeps at zero. The last row, which has no bytes after it, is handed out exact.
#[inline(always)]
fn channels<'l>(layer: &'l DenseLayer<'_>) -> impl Iterator<Item = (&'l [u8], i32, Requant)> {
    let (bias, _) = layer.biases().as_chunks::<4>();
    let (mult, _) = layer.multipliers().as_chunks::<4>();
    let n_in = layer.inputs();
    let padded = n_in.div_ceil(8) * 8;
    let w = layer.weights();
    bias.iter()
        .zip(mult.iter().zip(layer.shifts()))
        .enumerate()
        .map(move |(o, (b, (m, &s)))| {
            let start = o * n_in;
            let row = match w.get(start..start + padded) {
                Some(r) => r,
                None => w.get(start..start + n_in).unwrap_or(&[]),
            };
            (
                row,
                i32::from_le_bytes(*b),
                Requant {
                    multiplier: i32::from_le_bytes(*m),
                    shift: s as i8,
                },
            )
        })
}

/// Hidden layer: int8 codes in (held in i16), int8 codes out (requantized, activation fused).
///
/// Writes `min(layer.n_out, y.len())` outputs. `x` shorter than `n_in` behaves as zero-padded;
/// entries of `x` from `n_in` up to the next multiple of 8 (16 for the AVX2 kernels) must be
/// zero (they meet the padding of the weight rows, see `channels`).
pub fn dense_i8_i8(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i16]) {
    let zp = layer.output_zero_point as i32;
    let lo = match layer.activation {
        Activation::Relu => zp,
        Activation::Linear => -128,
    };
    for (out, (row, bias, rq)) in y.iter_mut().zip(channels(layer)) {
        let acc = bias.wrapping_add(dot_i8_i32(row, x));
        *out = rq.apply_clamped(acc, zp, lo, 127) as i16;
    }
}

/// Output layer: int8 codes in, i32 out in the output's fixed unit (`M[o] · acc[o]`, no zero
/// point).
pub fn dense_i8_i32(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i32]) {
    for (out, (row, bias, rq)) in y.iter_mut().zip(channels(layer)) {
        let v = rq.apply_valid(bias.wrapping_add(dot_i8_i32(row, x)));
        *out = match layer.activation {
            Activation::Relu if v < 0 => 0,
            _ => v,
        };
    }
}

/// [`dense_i8_i8`] with the fastest kernel this build and CPU allow: the AVX2 one ([`avx2`])
/// where available and `x` holds its padded inputs, else the plain one. Identical outputs.
#[inline(always)]
#[allow(unsafe_code)]
pub fn dense_i8_i8_best(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i16]) {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    if avx2::available() && x.len() >= avx2::padded_inputs(layer) {
        // SAFETY: AVX2 is present (checked) and `x` is long enough (checked); the caller
        // keeps it zero past `n_in`, as for `dense_i8_i8`.
        unsafe { avx2::dense_i8_i8(layer, x, y) };
        return;
    }
    dense_i8_i8(layer, x, y)
}

/// [`dense_i8_i32`] with the fastest kernel available, as [`dense_i8_i8_best`].
#[inline(always)]
#[allow(unsafe_code)]
pub fn dense_i8_i32_best(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i32]) {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    if avx2::available() && x.len() >= avx2::padded_inputs(layer) {
        // SAFETY: as in `dense_i8_i8_best`.
        unsafe { avx2::dense_i8_i32(layer, x, y) };
        return;
    }
    dense_i8_i32(layer, x, y)
}

/// Rows per 64-bit word of a prepared layer ([`prepare_swar`]).
pub const SWAR_LANES: usize = 3;
/// Bits per lane: a lane holds a sum of at most [`MAX_WIDTH`](crate::blob::MAX_WIDTH) = 64
/// products of a weight in `-127..=127` and a code in `-128..=127`, at most
/// `64 · 127 · 128 = 1 040 384 < 2^20` in magnitude, so 21 signed bits never overflow and
/// the top lane has 22.
const SWAR_BITS: u32 = 21;

/// 64-bit words a layer takes in the prepared (SWAR) layout: `ceil(n_out / 3) · n_in`.
pub fn swar_words(layer: &DenseLayer<'_>) -> usize {
    layer.outputs().div_ceil(SWAR_LANES) * layer.inputs()
}

/// Writes `layer`'s weights in the prepared layout into `out`: for each group of three rows
/// `3g, 3g+1, 3g+2` and each input `i`, the word `w[3g][i] + w[3g+1][i]·2^21 + w[3g+2][i]·2^42`
/// (a signed combination, two's complement). One 64-bit multiply of such a word by an input
/// code then makes three products at once, and a sum of them stays exact lane by lane (see
/// `SWAR_BITS`). Returns the words written, or `None` (nothing to use) if `out` is too short,
/// the layer is wider than 64 inputs, or a weight is -128 (outside the range the lanes are
/// sized for; the trainer's symmetric quantization never writes it).
pub fn prepare_swar(layer: &DenseLayer<'_>, out: &mut [i64]) -> Option<usize> {
    let (n_in, n_out) = (layer.inputs(), layer.outputs());
    let words = swar_words(layer);
    if n_in > crate::blob::MAX_WIDTH || out.len() < words {
        return None;
    }
    let w = layer.weights();
    // `max(1)`: a layer without inputs has no words, and a chunk size of 0 would panic
    for (g, group) in out
        .chunks_exact_mut(n_in.max(1))
        .take(words / n_in.max(1))
        .enumerate()
    {
        for (i, word) in group.iter_mut().enumerate() {
            let mut v = 0i64;
            for k in 0..SWAR_LANES {
                let o = g * SWAR_LANES + k;
                if o >= n_out {
                    break;
                }
                let q = *w.get(o * n_in + i)? as i8;
                if q == i8::MIN {
                    return None;
                }
                v = v.wrapping_add((q as i64) << (SWAR_BITS * k as u32));
            }
            *word = v;
        }
    }
    Some(words)
}

/// `Σ_i w[o][i] · x[i]` for every row `o` of a prepared layer, three rows per multiply; `f`
/// receives each row's index and sum, in order. Bit-identical to [`dot_i8_i32`] row by row
/// (the lanes cannot overflow, see `SWAR_BITS`). Plain 64-bit integer arithmetic: the
/// kernel-safe path (no SIMD or FPU state), about a third of the scalar loop's work.
#[inline(always)]
fn swar_rows(n_in: usize, n_out: usize, prep: &[i64], x: &[i16], mut f: impl FnMut(usize, i32)) {
    let x = x.get(..n_in).unwrap_or(x);
    let mut groups = prep.chunks_exact(n_in.max(1));
    let mut g = 0;
    // two groups at a time: each input code is loaded once for six rows, and the two
    // accumulators are independent
    while let Some(g0) = groups.next() {
        match groups.next() {
            Some(g1) => {
                let (mut a0, mut a1) = (0i64, 0i64);
                for ((&w0, &w1), &xi) in g0.iter().zip(g1).zip(x) {
                    let xi = xi as i64;
                    a0 = a0.wrapping_add(w0.wrapping_mul(xi));
                    a1 = a1.wrapping_add(w1.wrapping_mul(xi));
                }
                lanes(a0, g, n_out, &mut f);
                lanes(a1, g + 1, n_out, &mut f);
                g += 2;
            }
            None => {
                let mut a0 = 0i64;
                for (&w0, &xi) in g0.iter().zip(x) {
                    a0 = a0.wrapping_add(w0.wrapping_mul(xi as i64));
                }
                lanes(a0, g, n_out, &mut f);
                g += 1;
            }
        }
    }
}

/// Hands the three row sums packed in `acc` (group `g`) to `f`, peeled off from the bottom:
/// each is a signed 21-bit value.
#[inline(always)]
fn lanes(acc: i64, g: usize, n_out: usize, f: &mut impl FnMut(usize, i32)) {
    let mut rest = acc;
    for k in 0..SWAR_LANES {
        let o = g * SWAR_LANES + k;
        if o >= n_out {
            break;
        }
        let lane = if k + 1 < SWAR_LANES {
            (rest << (64 - SWAR_BITS)) >> (64 - SWAR_BITS)
        } else {
            rest
        };
        f(o, lane as i32);
        rest = (rest - lane) >> SWAR_BITS;
    }
}

/// [`dense_i8_i8`] on a prepared layer (`prep` from [`prepare_swar`] for this layer):
/// identical outputs.
pub fn dense_i8_i8_swar(layer: &DenseLayer<'_>, prep: &[i64], x: &[i16], y: &mut [i16]) {
    let zp = layer.output_zero_point as i32;
    let lo = match layer.activation {
        Activation::Relu => zp,
        Activation::Linear => -128,
    };
    let n_out = layer.outputs().min(y.len());
    swar_rows(layer.inputs(), n_out, prep, x, |o, dot| {
        if let (Some((b, rq)), Some(out)) = (row_params(layer, o), y.get_mut(o)) {
            *out = rq.apply_clamped(b.wrapping_add(dot), zp, lo, 127) as i16;
        }
    });
}

/// Output channel `o`'s folded bias and requantization.
#[inline(always)]
fn row_params(layer: &DenseLayer<'_>, o: usize) -> Option<(i32, Requant)> {
    Some((
        le_i32(layer.biases(), o)?,
        Requant {
            multiplier: le_i32(layer.multipliers(), o)?,
            shift: *layer.shifts().get(o)? as i8,
        },
    ))
}

/// [`dense_i8_i32`] on a prepared layer: identical outputs.
pub fn dense_i8_i32_swar(layer: &DenseLayer<'_>, prep: &[i64], x: &[i16], y: &mut [i32]) {
    let n_out = layer.outputs().min(y.len());
    let relu = matches!(layer.activation, Activation::Relu);
    swar_rows(layer.inputs(), n_out, prep, x, |o, dot| {
        if let (Some((b, rq)), Some(out)) = (row_params(layer, o), y.get_mut(o)) {
            let v = rq.apply_valid(b.wrapping_add(dot));
            *out = if relu && v < 0 { 0 } else { v };
        }
    });
}

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "sse2",
    not(feature = "scalar")
))]
#[allow(unsafe_code)]
pub mod avx2;

#[cfg(test)]
mod tests {
    use super::*;

    /// The four arrays in one region, each after a one-byte stand-in for its length prefix
    /// (as in a blob: the offsets are not multiples of anything).
    fn region(w: &[u8], bias: &[u8], mult: &[u8], shift: &[u8]) -> [u8; 64] {
        let mut out = [0xEEu8; 64];
        let mut at = 0;
        for part in [w, bias, mult, shift] {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len() + 1;
        }
        out
    }

    fn layer_over(
        data: &[u8],
        n_in: usize,
        n_out: usize,
        act: Activation,
        zp: i8,
    ) -> DenseLayer<'_> {
        let bias_at = n_in * n_out + 1;
        let mult_at = bias_at + 4 * n_out + 1;
        let shift_at = mult_at + 4 * n_out + 1;
        DenseLayer::new(data, n_in, n_out, bias_at, mult_at, shift_at, act, zp).unwrap()
    }

    #[test]
    fn a_layer_whose_arrays_do_not_fit_is_refused() {
        let data = [0u8; 20];
        assert!(DenseLayer::new(&data, 2, 2, 5, 10, 15, Activation::Linear, 0).is_some());
        assert!(DenseLayer::new(&data, 2, 2, 5, 10, 19, Activation::Linear, 0).is_none());
        assert!(DenseLayer::new(&data, 2, 2, 5, 13, 15, Activation::Linear, 0).is_none());
        assert!(DenseLayer::new(&data, 5, 5, 0, 0, 0, Activation::Linear, 0).is_none());
        assert!(DenseLayer::new(&data, 1 << 16, 0, 0, 0, 0, Activation::Linear, 0).is_none());
    }

    fn bytes_i32(v: &[i32]) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (c, x) in out.chunks_exact_mut(4).zip(v) {
            c.copy_from_slice(&x.to_le_bytes());
        }
        out
    }

    #[test]
    fn golden_hidden_layer() {
        // 2 outputs x 3 inputs.
        // row0 = [1, -2, 3], row1 = [-128, 127, 0]
        let w: [u8; 6] = [1, (-2i8) as u8, 3, (-128i8) as u8, 127, 0];
        let bias = bytes_i32(&[10, -5]);
        let mult = bytes_i32(&[1 << 30, 1 << 30]); // 0.5 each
        let shift = [0u8, 0u8];
        let data = region(&w, &bias[..8], &mult[..8], &shift);
        let layer = layer_over(&data, 3, 2, Activation::Linear, 3);
        let x = [5i16, 7, -1];
        // acc0 = 10 + 5 - 14 - 3 = -2 -> 0.5 * -2 = -1 -> + 3 = 2
        // acc1 = -5 - 640 + 889 = 244 -> 122 -> + 3 = 125
        let mut y = [0i16; 2];
        dense_i8_i8(&layer, &x, &mut y);
        assert_eq!(y, [2, 125]);

        // saturation at 127 / -128
        let x = [0i16, 127, 0];
        dense_i8_i8(&layer, &x, &mut y);
        // acc0 = 10 - 254 = -244 -> -122 + 3 = -119; acc1 = -5 + 16129 = 16124 -> 8062 -> 127
        assert_eq!(y, [-119, 127]);
        let x = [127i16, -128, 0];
        // acc1 = -5 - 16256 - 16256 = -32517 -> -16258.5 -> -16258 + 3 -> -128
        dense_i8_i8(&layer, &x, &mut y);
        assert_eq!(y[1], -128);

        // fused ReLU clamps to the zero point
        let relu = DenseLayer {
            activation: Activation::Relu,
            ..layer
        };
        dense_i8_i8(&relu, &[0, 127, 0], &mut y);
        assert_eq!(y, [3, 127]);
    }

    #[test]
    fn golden_output_layer_and_rounding() {
        let w: [u8; 2] = [1, 1];
        let bias = bytes_i32(&[0]);
        let mult = bytes_i32(&[1 << 30]); // 0.5
        let shift = [0u8];
        let data = region(&w, &bias[..4], &mult[..4], &shift);
        let layer = layer_over(&data, 2, 1, Activation::Linear, 0);
        let mut y = [0i32; 1];
        dense_i8_i32(&layer, &[2, 1], &mut y); // 1.5 -> 2
        assert_eq!(y, [2]);
        dense_i8_i32(&layer, &[-2, -1], &mut y); // -1.5 -> -1
        assert_eq!(y, [-1]);
        dense_i8_i32(&layer, &[-128, -128], &mut y); // -128
        assert_eq!(y, [-128]);
        // shorter input behaves as zero-padded; longer output buffer is left alone
        let mut y2 = [77i32; 2];
        dense_i8_i32(&layer, &[5], &mut y2);
        assert_eq!(y2, [3, 77]);
    }

    #[test]
    fn dot_matches_scalar_on_every_length() {
        let w: [u8; 70] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(128));
        let x: [i16; 70] = core::array::from_fn(|i| ((i as i16 * 53) % 256) - 128);
        for n in 0..=70 {
            for m in [0, n / 2, n] {
                assert_eq!(
                    dot_i8_i32(&w[..n], &x[..m]),
                    dot_scalar(&w[..n], &x[..m]),
                    "{n} {m}"
                );
            }
        }
    }

    /// The prepared (SWAR) kernels give the plain kernels' outputs exactly, on random layers
    /// of every width up to 64 and on the extremes the lanes are sized for.
    /// Runs `check(case, layer, x)` on 400 random layers of every shape up to 64 × 64, one in
    /// five with only extreme weights and inputs; `x` is zero past the layer's inputs.
    fn random_layers(mut check: impl FnMut(usize, &DenseLayer<'_>, &[i16; 64])) {
        let mut rng = crate::test_rng::Rng(0x5A17);
        let mut data = [0u8; 64 * 64 + 9 * 64 + 3];
        for case in 0..400 {
            let n_in = 1 + rng.below(64);
            let n_out = 1 + rng.below(64);
            let extreme = case % 5 == 0;
            for b in data.iter_mut().take(n_in * n_out) {
                *b = if extreme {
                    [127i8, -127][rng.below(2)] as u8
                } else {
                    (rng.below(255) as i32 - 127) as i8 as u8
                };
            }
            let bias_at = n_in * n_out + 1;
            let mult_at = bias_at + 4 * n_out + 1;
            let shift_at = mult_at + 4 * n_out + 1;
            for o in 0..n_out {
                let b = (rng.next() as i32) >> 12;
                let m = (1i32 << 30) + (rng.next() as i32 & 0x3fff_ffff);
                data[bias_at + 4 * o..bias_at + 4 * o + 4].copy_from_slice(&b.to_le_bytes());
                data[mult_at + 4 * o..mult_at + 4 * o + 4].copy_from_slice(&m.to_le_bytes());
                data[shift_at + o] = (rng.below(12) as i8 - 10) as u8;
            }
            let act = [Activation::Relu, Activation::Linear][case % 2];
            let zp = (rng.below(256) as i32 - 128) as i8;
            // the layer's region ends where its arrays end: the last row has no bytes after
            // it to read as padding
            let data = &data[..shift_at + n_out];
            let layer =
                DenseLayer::new(data, n_in, n_out, bias_at, mult_at, shift_at, act, zp).unwrap();
            let mut x = [0i16; 64];
            for v in x.iter_mut().take(n_in) {
                *v = if extreme {
                    [-128i16, 127][rng.below(2)]
                } else {
                    rng.below(256) as i16 - 128
                };
            }
            check(case, &layer, &x);
        }
    }

    #[test]
    #[allow(unsafe_code)]
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    fn avx2_matches_the_plain_kernels() {
        extern crate std;
        if !std::is_x86_feature_detected!("avx2") {
            std::eprintln!("no AVX2 on this CPU: the AVX2 kernels are not tested");
            return;
        }
        random_layers(|case, layer, x| {
            let (n_in, n_out) = (layer.inputs(), layer.outputs());
            let (mut a, mut b) = ([0i16; 64], [0i16; 64]);
            dense_i8_i8(layer, x, &mut a);
            // SAFETY: AVX2 is present; `x` has 64 ≥ padded inputs entries, zero past `n_in`.
            unsafe { avx2::dense_i8_i8(layer, x, &mut b) };
            assert_eq!(a, b, "case {case}: {n_in} -> {n_out}");
            let (mut a, mut b) = ([0i32; 64], [0i32; 64]);
            dense_i8_i32(layer, x, &mut a);
            // SAFETY: as above.
            unsafe { avx2::dense_i8_i32(layer, x, &mut b) };
            assert_eq!(a, b, "case {case}: {n_in} -> {n_out}");
        });
    }

    #[test]
    #[allow(unsafe_code)]
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(feature = "scalar")
    ))]
    fn packed_avx2_layers_match_the_plain_kernels() {
        extern crate std;
        if !std::is_x86_feature_detected!("avx2") {
            std::eprintln!("no AVX2 on this CPU: the packed layout is not tested");
            return;
        }
        let mut prep = [0i64; 8 * (32 * 4 + 16)];
        random_layers(|case, layer, x| {
            let (n_in, n_out) = (layer.inputs(), layer.outputs());
            let words = avx2::pack_layer(layer, &mut prep).unwrap();
            assert_eq!(words, avx2::packed_layer_words(n_in, n_out));
            assert_eq!(avx2::pack_layer(layer, &mut prep[..words - 1]), None);
            // past `n_in` the input may hold anything: it meets zero weights
            let mut xg = *x;
            for v in xg.iter_mut().skip(n_in) {
                *v = -77;
            }
            let (zp, lo) = (
                layer.output_zero_point as i64,
                match layer.activation {
                    Activation::Relu => layer.output_zero_point as i64,
                    Activation::Linear => -128,
                },
            );
            let (mut a, mut b) = ([0i16; 64], [0i16; 64]);
            dense_i8_i8(layer, x, &mut a);
            // SAFETY: AVX2 is present (checked).
            unsafe { avx2::packed_i8_i8(&prep[..words], (n_in, n_out), &xg, (zp, lo), &mut b) };
            assert_eq!(a[..n_out], b[..n_out], "case {case}: {n_in} -> {n_out}");
            let (mut a, mut b) = ([0i32; 64], [0i32; 64]);
            dense_i8_i32(layer, x, &mut a);
            let lo = match layer.activation {
                Activation::Relu => 0,
                Activation::Linear => i32::MIN as i64,
            };
            // SAFETY: as above.
            unsafe { avx2::packed_i8_i32(&prep[..words], (n_in, n_out), &xg, lo, &mut b) };
            assert_eq!(a[..n_out], b[..n_out], "case {case}: {n_in} -> {n_out}");
        });
    }

    #[test]
    fn swar_matches_the_plain_kernels() {
        let mut prep = [0i64; 22 * 64];
        random_layers(|case, layer, x| {
            let (n_in, n_out) = (layer.inputs(), layer.outputs());
            let layer = *layer;
            let words = prepare_swar(&layer, &mut prep).unwrap();
            assert_eq!(words, swar_words(&layer));
            let (mut a, mut b) = ([0i16; 64], [0i16; 64]);
            dense_i8_i8(&layer, x, &mut a);
            dense_i8_i8_swar(&layer, &prep[..words], x, &mut b);
            assert_eq!(a, b, "case {case}: {n_in} -> {n_out}");
            let (mut a, mut b) = ([0i32; 64], [0i32; 64]);
            dense_i8_i32(&layer, x, &mut a);
            dense_i8_i32_swar(&layer, &prep[..words], x, &mut b);
            assert_eq!(a, b, "case {case}: {n_in} -> {n_out}");
        });
        // a weight of -128, or too little room, is refused: the plain kernel stays in use
        let w: [u8; 6] = [1, (-2i8) as u8, 3, (-128i8) as u8, 127, 0];
        let bias = bytes_i32(&[10, -5]);
        let mult = bytes_i32(&[1 << 30, 1 << 30]);
        let data = region(&w, &bias[..8], &mult[..8], &[0, 0]);
        let layer = layer_over(&data, 3, 2, Activation::Linear, 3);
        assert_eq!(prepare_swar(&layer, &mut prep), None);
        let data = region(&[1, 2, 3, 4, 5, 6], &bias[..8], &mult[..8], &[0, 0]);
        let layer = layer_over(&data, 3, 2, Activation::Linear, 3);
        assert_eq!(prepare_swar(&layer, &mut prep[..2]), None);
        assert_eq!(prepare_swar(&layer, &mut prep[..3]), Some(3));
    }

    #[test]
    fn dot_extremes() {
        let w = [(-128i8) as u8; 64];
        let x = [-128i16; 64];
        assert_eq!(dot_i8_i32(&w, &x), 64 * 16384);
    }
}
