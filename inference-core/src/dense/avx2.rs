//! AVX2 kernels for x86-64 hosts (user space): eight output rows at a time, sixteen
//! multiply-adds per instruction, the requantization of the eight rows in vector lanes.
//! Bit-identical to [`dense_i8_i8`](crate::dense::dense_i8_i8) and
//! [`dense_i8_i32`](crate::dense::dense_i8_i32) (tests in `dense`, and a property test over
//! the built-in models).
//!
//! Two forms: kernels on the blob's row-major weights ([`dense_i8_i8`], [`dense_i8_i32`]), and
//! the packed layout ([`pack_layer`], [`pack_input`]), made once at load time in a buffer the
//! caller owns (`Model::prepare`, `Layout::Avx2`). Packed, each block of eight rows keeps its
//! eight sums in the lanes of one register: a `vpmaddwd` multiplies the eight rows' weights
//! for two inputs (sixteen i16) by those two input codes broadcast, so no horizontal sums and
//! no widening of weights remain in the loop, and the input quantization runs eight features
//! a pass. About 1.6 times the speed of the row-major kernels here. Chosen at compile time (`-C target-feature=+avx2`) or at run time
//! with the `std` feature ([`available`]); never in the kernel build, which has no SIMD.

use core::arch::x86_64::{
    __m128i, __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_and_si256, _mm256_andnot_si256,
    _mm256_blend_epi32, _mm256_blendv_epi8, _mm256_castsi256_si128, _mm256_cmpeq_epi32,
    _mm256_cmpgt_epi64, _mm256_cvtepi8_epi16, _mm256_cvtepi8_epi32, _mm256_hadd_epi32,
    _mm256_loadu_si256, _mm256_madd_epi16, _mm256_max_epi32, _mm256_min_epi32, _mm256_mul_epi32,
    _mm256_or_si256, _mm256_packs_epi32, _mm256_permute2x128_si256, _mm256_permute4x64_epi64,
    _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_shuffle_epi32,
    _mm256_slli_epi64, _mm256_sllv_epi64, _mm256_srai_epi32, _mm256_srav_epi32, _mm256_srli_epi64,
    _mm256_srlv_epi64, _mm256_storeu_si256, _mm256_sub_epi32, _mm256_sub_epi64, _mm256_testz_si256,
    _mm256_xor_si256, _mm_loadl_epi64, _mm_loadu_si128, _mm_storeu_si128,
};

use super::{Activation, DenseLayer};
use crate::quant::Requant;

/// Rows per pass.
const ROWS: usize = 8;

/// Whether the AVX2 kernels may run: always in a build for AVX2 CPUs
/// (`target-feature=+avx2`), else, with the `std` feature, if this CPU has it (detected
/// once, then a cached flag); never otherwise.
#[inline(always)]
pub fn available() -> bool {
    #[cfg(target_feature = "avx2")]
    {
        true
    }
    #[cfg(all(not(target_feature = "avx2"), feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(all(not(target_feature = "avx2"), not(feature = "std")))]
    {
        false
    }
}

/// Inputs a layer reads in the AVX2 kernels: `n_in` rounded up to 16. Entries of `x` from
/// `n_in` up to this must be zero (they meet the next row's weights).
pub fn padded_inputs(layer: &DenseLayer<'_>) -> usize {
    layer.inputs().div_ceil(16) * 16
}

/// [`dense_i8_i8`](super::dense_i8_i8) with AVX2: identical outputs.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]). `x` must hold at least
/// [`padded_inputs`] entries (else nothing is written), zero from `n_in` on.
#[target_feature(enable = "avx2")]
pub unsafe fn dense_i8_i8(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i16]) {
    let zp = layer.output_zero_point as i64;
    let lo = match layer.activation {
        Activation::Relu => zp,
        Activation::Linear => -128,
    };
    // SAFETY: forwarded (AVX2 present).
    unsafe {
        rows(layer, x, zp, lo, 127, |o, v| {
            if let Some(out) = y.get_mut(o) {
                *out = v as i16;
            }
        })
    }
}

/// [`dense_i8_i32`](super::dense_i8_i32) with AVX2: identical outputs.
///
/// # Safety
/// As [`dense_i8_i8`].
#[target_feature(enable = "avx2")]
pub unsafe fn dense_i8_i32(layer: &DenseLayer<'_>, x: &[i16], y: &mut [i32]) {
    // `apply_valid` saturates to i32, then a fused ReLU drops negatives: one clamp
    let lo = match layer.activation {
        Activation::Relu => 0,
        Activation::Linear => i32::MIN as i64,
    };
    // SAFETY: forwarded (AVX2 present).
    unsafe {
        rows(layer, x, 0, lo, i32::MAX as i64, |o, v| {
            if let Some(out) = y.get_mut(o) {
                *out = v;
            }
        })
    }
}

/// Every output `o` of the layer: `clamp(round((Σ w·x + bias) · M) + add, lo, hi)`
/// (the scalar `Requant::apply_clamped`), handed to `f` in order, eight rows a pass.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn rows(
    layer: &DenseLayer<'_>,
    x: &[i16],
    add: i64,
    lo: i64,
    hi: i64,
    mut f: impl FnMut(usize, i32),
) {
    let (n_in, n_out) = (layer.inputs(), layer.outputs());
    let padded = padded_inputs(layer);
    let Some(x) = x.get(..padded) else {
        return;
    };
    let blocks = padded / 16;
    let (bias, _) = layer.biases().as_chunks::<4>();
    let (mult, _) = layer.multipliers().as_chunks::<4>();
    let shifts = layer.shifts();
    for g in 0..n_out.div_ceil(ROWS) {
        let mut acc = [_mm256_setzero_si256(); ROWS];
        // the group's parameters: read in place for a full group (little-endian i32, as
        // x86 stores them), else copied and padded with zero rows past the last output
        let (mut b, mut m, mut s) = ([0u8; 4 * ROWS], [0u8; 4 * ROWS], [0u8; ROWS]);
        let (bias_g, mult_g, shift_g) = match (
            layer.biases().get(32 * g..32 * g + 32),
            layer.multipliers().get(32 * g..32 * g + 32),
            layer.shifts().get(ROWS * g..ROWS * g + ROWS),
        ) {
            (Some(bg), Some(mg), Some(sg)) => (bg, mg, sg),
            _ => {
                for r in 0..ROWS {
                    let o = g * ROWS + r;
                    if let (Some(bo), Some(mo), Some(&so), Some(bd), Some(md), Some(sd)) = (
                        bias.get(o),
                        mult.get(o),
                        shifts.get(o),
                        b.get_mut(4 * r..4 * r + 4),
                        m.get_mut(4 * r..4 * r + 4),
                        s.get_mut(r),
                    ) {
                        bd.copy_from_slice(bo);
                        md.copy_from_slice(mo);
                        *sd = so;
                    }
                }
                (&b[..], &m[..], &s[..])
            }
        };
        let first = g * ROWS * n_in;
        if g * ROWS + ROWS <= n_out && layer.data.len() >= first + (ROWS - 1) * n_in + padded {
            // a full group whose rows, padded, lie inside the layer's bytes (the extra
            // weights meet zero inputs): eight accumulators in registers, each input block
            // loaded once for the eight rows
            // SAFETY: AVX2 is present (caller). Row r's block k reads bytes
            // first + r·n_in + 16k .. +16 ≤ first + 7·n_in + padded ≤ data.len(), and x
            // entries 16k..16k+16 ≤ padded ≤ x.len().
            unsafe {
                let w = layer.data.as_ptr().add(first);
                let mut a = [_mm256_setzero_si256(); ROWS];
                for k in 0..blocks {
                    let xv = _mm256_loadu_si256(x.as_ptr().add(16 * k) as *const __m256i);
                    let row = |r: usize| {
                        let p = w.add(r * n_in + 16 * k) as *const __m128i;
                        _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(p)), xv)
                    };
                    a[0] = _mm256_add_epi32(a[0], row(0));
                    a[1] = _mm256_add_epi32(a[1], row(1));
                    a[2] = _mm256_add_epi32(a[2], row(2));
                    a[3] = _mm256_add_epi32(a[3], row(3));
                    a[4] = _mm256_add_epi32(a[4], row(4));
                    a[5] = _mm256_add_epi32(a[5], row(5));
                    a[6] = _mm256_add_epi32(a[6], row(6));
                    a[7] = _mm256_add_epi32(a[7], row(7));
                }
                acc = a;
            }
        } else {
            for (r, a) in acc.iter_mut().enumerate() {
                let o = g * ROWS + r;
                if o >= n_out {
                    break;
                }
                // the row padded to `padded` bytes: in place where the layer's bytes
                // continue, else a zero-padded copy
                let mut copy = [0u8; crate::blob::MAX_WIDTH];
                let row = match layer.data.get(o * n_in..o * n_in + padded) {
                    Some(r) => r,
                    None => {
                        let w = layer.weights().get(o * n_in..).unwrap_or(&[]);
                        for (c, &v) in copy.iter_mut().zip(w.iter().take(n_in)) {
                            *c = v;
                        }
                        copy.get(..padded).unwrap_or(&[])
                    }
                };
                if row.len() < padded {
                    continue;
                }
                // SAFETY: AVX2 is present (caller); block k reads bytes 16k..16k+16 of
                // `row` and entries 16k..16k+16 of `x`, both at least `padded` =
                // 16·blocks long.
                unsafe {
                    for k in 0..blocks {
                        let wv = _mm_loadu_si128(row.as_ptr().add(16 * k) as *const __m128i);
                        let xv = _mm256_loadu_si256(x.as_ptr().add(16 * k) as *const __m256i);
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(wv), xv));
                    }
                }
            }
        }
        // SAFETY: AVX2 is present (caller); the parameter loads read 32, 32 and 8 bytes of
        // slices of exactly that length, the store a local array of 32 bytes.
        let out = unsafe {
            // eight row sums in one vector: [r0 .. r7]
            let s01 = _mm256_hadd_epi32(acc[0], acc[1]);
            let s23 = _mm256_hadd_epi32(acc[2], acc[3]);
            let s45 = _mm256_hadd_epi32(acc[4], acc[5]);
            let s67 = _mm256_hadd_epi32(acc[6], acc[7]);
            let s0123 = _mm256_hadd_epi32(s01, s23);
            let s4567 = _mm256_hadd_epi32(s45, s67);
            let sums = _mm256_add_epi32(
                _mm256_permute2x128_si256(s0123, s4567, 0x20),
                _mm256_permute2x128_si256(s0123, s4567, 0x31),
            );
            let bias = _mm256_loadu_si256(bias_g.as_ptr() as *const __m256i);
            let v = _mm256_add_epi32(sums, bias);
            let m = _mm256_loadu_si256(mult_g.as_ptr() as *const __m256i);
            let s = _mm256_cvtepi8_epi32(_mm_loadl_epi64(shift_g.as_ptr() as *const __m128i));
            // t = 31 - shift, per row, as 64-bit lanes of the even and the odd rows
            let t = _mm256_sub_epi32(_mm256_set1_epi32(31), s);
            let low = _mm256_set1_epi64x(0xFFFF_FFFF);
            let (t_even, t_odd) = (_mm256_and_si256(t, low), _mm256_srli_epi64(t, 32));
            let even = _mm256_mul_epi32(v, m);
            let odd = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m, 32));
            let bounds = (
                _mm256_set1_epi64x(add),
                _mm256_set1_epi64x(lo),
                _mm256_set1_epi64x(hi),
            );
            let even = requant(even, t_even, bounds);
            let odd = requant(odd, t_odd, bounds);
            // row 2k from the even lanes' low halves, row 2k+1 from the odd ones'
            let r = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b1010_1010);
            let mut out = [0i32; ROWS];
            _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, r);
            out
        };
        for (r, &v) in out.iter().enumerate() {
            let o = g * ROWS + r;
            if o < n_out {
                f(o, v);
            }
        }
    }
}

/// `clamp(((p + 2^(t-1)) >> t) + add, lo, hi)` on four 64-bit lanes (`t` in 1..=62, as
/// the loader guarantees): the scalar `Requant::raw_valid` and `apply_clamped`. AVX2 has
/// no arithmetic 64-bit shift: `!(!p >> t)` for negative `p`.
#[inline]
#[target_feature(enable = "avx2")]
fn requant(p: __m256i, t: __m256i, (add, lo, hi): (__m256i, __m256i, __m256i)) -> __m256i {
    let one = _mm256_set1_epi64x(1);
    let round = _mm256_sllv_epi64(one, _mm256_sub_epi64(t, one));
    let p = _mm256_add_epi64(p, round);
    let sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
    let q = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, sign), t), sign);
    let q = _mm256_add_epi64(q, add);
    let q = _mm256_blendv_epi8(q, lo, _mm256_cmpgt_epi64(lo, q));
    _mm256_blendv_epi8(q, hi, _mm256_cmpgt_epi64(q, hi))
}

// ---------------------------------------------------------------------------------------------
// The packed layout: weights rearranged once, at load time, for output-stationary blocks.

/// Output rows per block of the packed layout: one 256-bit accumulator of eight i32 sums.
const BLOCK: usize = 8;
/// Words of a block's (or an input group's) parameters: eight i32 biases (offsets for the
/// inputs), eight i32 multipliers, then the right shift `31 − shift` of the even and of the
/// odd rows as 64-bit lanes.
pub const PARAM_WORDS: usize = 16;
/// Blocks of the widest layer.
const MAX_BLOCKS: usize = crate::blob::MAX_WIDTH / BLOCK;

/// Words [`pack_layer`] writes for a layer of `n_in` inputs and `n_out` outputs: per block of
/// eight rows, four words per pair of inputs and [`PARAM_WORDS`].
pub fn packed_layer_words(n_in: usize, n_out: usize) -> usize {
    n_out.div_ceil(BLOCK) * (n_in.div_ceil(2) * 4 + PARAM_WORDS)
}

/// Words [`pack_input`] writes for `n_features` features: [`PARAM_WORDS`] per eight.
pub fn packed_input_words(n_features: usize) -> usize {
    n_features.div_ceil(BLOCK) * PARAM_WORDS
}

/// Eight i32 values as four little-endian words (lane `2k` in the low half of word `k`).
fn words_of(v: [i32; 8], out: &mut [i64]) {
    for (w, pair) in out.iter_mut().zip(v.as_chunks::<2>().0) {
        *w = (pair[0] as u32 as u64 | (pair[1] as u32 as u64) << 32) as i64;
    }
}

/// The parameters of one block: `first[j]`, the multiplier and `31 − shift` of row `j`
/// (`None` past the last row: zero, zero and 32, which give 0 and keep a partial block of
/// small multipliers on the 32-bit path of [`requant_lanes`]).
fn param_words(row: impl Fn(usize) -> Option<(i32, Requant)>, out: &mut [i64]) {
    let (mut first, mut mult, mut t) = ([0i32; BLOCK], [0i32; BLOCK], [32i64; BLOCK]);
    for j in 0..BLOCK {
        if let Some((f, rq)) = row(j) {
            first[j] = f;
            mult[j] = rq.multiplier;
            t[j] = 31 - rq.shift as i64;
        }
    }
    let (head, tail) = out.split_at_mut(8.min(out.len()));
    let (a, b) = head.split_at_mut(4.min(head.len()));
    words_of(first, a);
    words_of(mult, b);
    for (k, w) in tail.iter_mut().enumerate().take(8) {
        // even rows 0, 2, 4, 6 then odd rows 1, 3, 5, 7
        *w = t[2 * (k % 4) + k / 4];
    }
}

/// Writes `layer` in the packed layout into `out` ([`packed_layer_words`] words), or `None`
/// if `out` is too short. Per block of eight rows `8b..8b+8`: for each pair of inputs
/// `2q, 2q+1`, four words holding the eight rows' two weights as i16 (row `j` in i32 lane `j`:
/// weight `2q` low, `2q+1` high; zero past the last row or input), then the block's biases,
/// multipliers and shifts ([`PARAM_WORDS`]). One `vpmaddwd` of such a vector by the two
/// input codes broadcast then adds two products to each of the eight rows' sums: the sums
/// stay in lanes, with no horizontal reduction.
pub fn pack_layer(layer: &DenseLayer<'_>, out: &mut [i64]) -> Option<usize> {
    let (n_in, n_out) = (layer.inputs(), layer.outputs());
    let words = packed_layer_words(n_in, n_out);
    let pairs = n_in.div_ceil(2);
    let out = out.get_mut(..words)?;
    let stride = pairs * 4 + PARAM_WORDS;
    for (b, block) in out.chunks_exact_mut(stride).enumerate() {
        let (weights, params) = block.split_at_mut(pairs * 4);
        for (q, quad) in weights.chunks_exact_mut(4).enumerate() {
            let mut v = [0i32; BLOCK];
            for (j, lane) in v.iter_mut().enumerate() {
                let o = BLOCK * b + j;
                let w = |i: usize| layer.weight(o, i).map_or(0, |w| w as i16 as u16 as u32);
                *lane = (w(2 * q) | w(2 * q + 1) << 16) as i32;
            }
            words_of(v, quad);
        }
        param_words(
            |j| {
                let o = BLOCK * b + j;
                Some((layer.bias(o)?, layer.requant(o)?))
            },
            params,
        );
    }
    Some(words)
}

/// Writes the input quantization of `n_features` features (`quant(i)`: offset and
/// requantization of feature `i`) in the packed layout into `out` ([`packed_input_words`]
/// words), or `None` if `out` is too short.
pub fn pack_input(
    n_features: usize,
    quant: impl Fn(usize) -> Option<(i32, Requant)>,
    out: &mut [i64],
) -> Option<usize> {
    let words = packed_input_words(n_features);
    for (g, group) in out
        .get_mut(..words)?
        .chunks_exact_mut(PARAM_WORDS)
        .enumerate()
    {
        param_words(
            |j| match BLOCK * g + j {
                i if i < n_features => quant(i),
                _ => None,
            },
            group,
        );
    }
    Some(words)
}

/// Eight sums (i32 lanes, bias included) requantized by the block parameters at `params`:
/// `clamp(round(v · M) + add, lo, hi)` per lane, as [`Requant::apply_clamped`].
///
/// # Safety
/// AVX2; `params` points at [`PARAM_WORDS`] readable words.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn requant_lanes(
    v: __m256i,
    params: *const i64,
    bounds: (__m256i, __m256i, __m256i),
) -> __m256i {
    // SAFETY: words 4..16 of the block's parameters (caller).
    let (m, t_even, t_odd) = unsafe {
        (
            _mm256_loadu_si256(params.add(4) as *const __m256i),
            _mm256_loadu_si256(params.add(8) as *const __m256i),
            _mm256_loadu_si256(params.add(12) as *const __m256i),
        )
    };
    let even = _mm256_mul_epi32(v, m);
    let odd = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m, 32));
    let c32 = _mm256_set1_epi64x(32);
    let short = _mm256_or_si256(
        _mm256_cmpgt_epi64(c32, t_even),
        _mm256_cmpgt_epi64(c32, t_odd),
    );
    if _mm256_testz_si256(short, short) == 1 {
        return requant_high(even, odd, t_even, t_odd, bounds);
    }
    let even = requant(even, t_even, bounds);
    let odd = requant(odd, t_odd, bounds);
    _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b1010_1010)
}

/// [`requant`] of the even and odd products of a block whose shifts `t` are all at least 32
/// (every row with `M < 1/2`: the hidden and output layers of trained models), in 32-bit
/// lanes: `(p + 2^(t-1)) >> t` is `((p + 2^(t-1)) >> 32) >> (t - 32)` (floors compose), the
/// first shift is taking the high half (`|p + 2^(t-1)| < 2^63`, so it fits i32), the second
/// is `vpsravd`, and the clamp is `vpmaxsd`/`vpminsd`: no emulated 64-bit arithmetic shift,
/// no 64-bit compares. Exact: `|result| ≤ 2^30` and `|add| ≤ 2^30` (zero points and 0), so
/// adding in 32 bits does not wrap, and `lo`, `hi` fit i32.
#[inline]
#[target_feature(enable = "avx2")]
fn requant_high(
    even: __m256i,
    odd: __m256i,
    t_even: __m256i,
    t_odd: __m256i,
    (add, lo, hi): (__m256i, __m256i, __m256i),
) -> __m256i {
    let one = _mm256_set1_epi64x(1);
    let even = _mm256_add_epi64(even, _mm256_sllv_epi64(one, _mm256_sub_epi64(t_even, one)));
    let odd = _mm256_add_epi64(odd, _mm256_sllv_epi64(one, _mm256_sub_epi64(t_odd, one)));
    // the high halves: lane 2k from the even product, lane 2k + 1 from the odd one
    let high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0b1010_1010);
    let t = _mm256_blend_epi32(t_even, _mm256_slli_epi64(t_odd, 32), 0b1010_1010);
    let q = _mm256_srav_epi32(high, _mm256_sub_epi32(t, _mm256_set1_epi32(32)));
    // the bounds are i64 lanes of values that fit i32: their low halves, in every lane
    let low = |b: __m256i| _mm256_shuffle_epi32(b, 0b10_00_10_00);
    let q = _mm256_add_epi32(q, low(add));
    _mm256_min_epi32(_mm256_max_epi32(q, low(lo)), low(hi))
}

/// `NB` blocks from the block at `w` (`stride` words apart): each block's sums, bias
/// included, over `pairs` pairs of inputs from `x`, requantized.
///
/// # Safety
/// AVX2; `NB` blocks of `stride = pairs · 4 + PARAM_WORDS` words readable from `w`; `2 · pairs`
/// entries readable from `x`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn blocks<const NB: usize>(
    w: *const i64,
    stride: usize,
    pairs: usize,
    x: *const i16,
    bounds: (__m256i, __m256i, __m256i),
    out: &mut [__m256i],
) {
    // SAFETY: every read is inside the `NB` blocks and the `2 · pairs` inputs (caller).
    unsafe {
        let mut acc = [_mm256_setzero_si256(); NB];
        for (j, a) in acc.iter_mut().enumerate() {
            *a = _mm256_loadu_si256(w.add(j * stride + pairs * 4) as *const __m256i);
        }
        for q in 0..pairs {
            let xv = _mm256_set1_epi32(core::ptr::read_unaligned((x as *const i32).add(q)));
            for (j, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_loadu_si256(w.add(j * stride + q * 4) as *const __m256i);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv));
            }
        }
        for (j, (a, o)) in acc.iter().zip(out.iter_mut()).enumerate() {
            *o = requant_lanes(*a, w.add(j * stride + pairs * 4), bounds);
        }
    }
}

/// One layer in the packed layout: every block's eight requantized outputs, block `b` in
/// entry `b` (lanes past the last row hold `clamp(add, lo, hi)`); all zero if `prep` is not
/// [`packed_layer_words`] long or a width exceeds [`MAX_WIDTH`](crate::blob::MAX_WIDTH).
///
/// # Safety
/// The CPU must support AVX2 ([`available`]).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn packed_layer(
    prep: &[i64],
    n_in: usize,
    n_out: usize,
    x: &[i16; crate::blob::MAX_WIDTH],
    (add, lo, hi): (i64, i64, i64),
) -> [__m256i; MAX_BLOCKS] {
    let mut out = [_mm256_setzero_si256(); MAX_BLOCKS];
    let (nb, pairs) = (n_out.div_ceil(BLOCK), n_in.div_ceil(2));
    if prep.len() != packed_layer_words(n_in, n_out) || nb > MAX_BLOCKS || 2 * pairs > x.len() {
        return out;
    }
    let stride = pairs * 4 + PARAM_WORDS;
    let bounds = (
        _mm256_set1_epi64x(add),
        _mm256_set1_epi64x(lo),
        _mm256_set1_epi64x(hi),
    );
    let (w, x) = (prep.as_ptr(), x.as_ptr());
    // four blocks at a time (32 rows: each input pair is broadcast once for them), then two,
    // then one
    let mut b = 0;
    // SAFETY: AVX2 (caller); blocks b.. of `nb` lie inside `prep` (its length checked above),
    // `2 · pairs ≤ x.len()`, and `out` has `MAX_BLOCKS ≥ nb` entries.
    unsafe {
        while b + 4 <= nb {
            blocks::<4>(w.add(b * stride), stride, pairs, x, bounds, &mut out[b..]);
            b += 4;
        }
        if b + 2 <= nb {
            blocks::<2>(w.add(b * stride), stride, pairs, x, bounds, &mut out[b..]);
            b += 2;
        }
        if b < nb {
            blocks::<1>(w.add(b * stride), stride, pairs, x, bounds, &mut out[b..]);
        }
    }
    out
}

/// A hidden layer in the packed layout (`prep` from [`pack_layer`]): the output codes
/// `clamp(round((Σ w·x + bias) · M) + zp, lo, 127)` of [`super::dense_i8_i8`] into `y`, in
/// blocks of eight (entries up to the next multiple of eight past `n_out` are overwritten
/// with `clamp(zp, lo, 127)`). `x` past `n_in` may hold anything: it meets zero weights.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]).
#[target_feature(enable = "avx2")]
pub unsafe fn packed_i8_i8(
    prep: &[i64],
    (n_in, n_out): (usize, usize),
    x: &[i16; crate::blob::MAX_WIDTH],
    (zp, lo): (i64, i64),
    y: &mut [i16; crate::blob::MAX_WIDTH],
) {
    // SAFETY: AVX2 (caller).
    let r = unsafe { packed_layer(prep, n_in, n_out, x, (zp, lo, 127)) };
    store_codes(&r, n_out.div_ceil(BLOCK), y);
}

/// The first `blocks` entries of `r` (eight i32 lanes each, already within the int8 range) as
/// i16 codes, block `b` at `y[8b..8b + 8]`.
#[inline]
#[target_feature(enable = "avx2")]
fn store_codes(r: &[__m256i], blocks: usize, y: &mut [i16; crate::blob::MAX_WIDTH]) {
    for (v, dst) in r.iter().zip(y.as_chunks_mut::<BLOCK>().0).take(blocks) {
        // [r0 r1 r2 r3 r0 r1 r2 r3 | r4 .. r7 r4 .. r7] as i16, then quadwords 0 and 2 low
        let p = _mm256_permute4x64_epi64(_mm256_packs_epi32(*v, *v), 0b1000);
        // SAFETY: `dst` is eight i16 (16 bytes), the low half of `p`.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr() as *mut __m128i, _mm256_castsi256_si128(p)) };
    }
}

/// The last layer in the packed layout: the sums `clamp(round((Σ w·x + bias) · M), lo,
/// i32::MAX)` of [`super::dense_i8_i32`] (`lo` 0 for a fused ReLU, else `i32::MIN`) into
/// `y`, in blocks of eight as [`packed_i8_i8`].
///
/// # Safety
/// The CPU must support AVX2 ([`available`]).
#[target_feature(enable = "avx2")]
pub unsafe fn packed_i8_i32(
    prep: &[i64],
    (n_in, n_out): (usize, usize),
    x: &[i16; crate::blob::MAX_WIDTH],
    lo: i64,
    y: &mut [i32; crate::blob::MAX_WIDTH],
) {
    // SAFETY: AVX2 (caller).
    let r = unsafe { packed_layer(prep, n_in, n_out, x, (0, lo, i32::MAX as i64)) };
    for (v, dst) in r
        .iter()
        .zip(y.as_chunks_mut::<BLOCK>().0)
        .take(n_out.div_ceil(BLOCK))
    {
        // SAFETY: `dst` is eight i32 (32 bytes).
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr() as *mut __m256i, *v) };
    }
}

/// Input codes of `features` (missing trailing ones count as
/// [`ABSENT`](crate::blob::ABSENT)) from the packed input quantization `prep`
/// ([`pack_input`]), eight features per pass: the scalar `quantize_feature`, into `codes`.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]).
#[target_feature(enable = "avx2")]
pub unsafe fn packed_input(
    prep: &[i64],
    features: &[i32],
    codes: &mut [i16; crate::blob::MAX_WIDTH],
) {
    use crate::blob::ABSENT;
    let bounds = (
        _mm256_setzero_si256(),
        _mm256_set1_epi64x(-128),
        _mm256_set1_epi64x(127),
    );
    let (params, _) = prep.as_chunks::<PARAM_WORDS>();
    let mut out = [_mm256_setzero_si256(); MAX_BLOCKS];
    for (g, (p, o)) in params.iter().zip(out.iter_mut()).enumerate() {
        let mut tail = [ABSENT; BLOCK];
        let raw = match features.get(BLOCK * g..BLOCK * g + BLOCK) {
            Some(r) => r,
            None => {
                let rest = features.get(BLOCK * g..).unwrap_or(&[]);
                for (t, &f) in tail.iter_mut().zip(rest) {
                    *t = f;
                }
                &tail[..]
            }
        };
        // SAFETY: AVX2 (caller); `raw` is eight i32, `p` sixteen words.
        unsafe {
            let raw = _mm256_loadu_si256(raw.as_ptr() as *const __m256i);
            let off = _mm256_loadu_si256(p.as_ptr() as *const __m256i);
            // raw.saturating_sub(off): the wrapped difference, unless raw and off differ in
            // sign and the difference's sign is not raw's; then i32::MAX or MIN by raw's sign
            let d = _mm256_sub_epi32(raw, off);
            let overflow = _mm256_srai_epi32(
                _mm256_and_si256(_mm256_xor_si256(raw, off), _mm256_xor_si256(raw, d)),
                31,
            );
            let sat = _mm256_xor_si256(_mm256_srai_epi32(raw, 31), _mm256_set1_epi32(i32::MAX));
            let d = _mm256_blendv_epi8(d, sat, overflow);
            let r = requant_lanes(d, p.as_ptr(), bounds);
            let absent = _mm256_cmpeq_epi32(raw, _mm256_set1_epi32(ABSENT));
            *o = _mm256_andnot_si256(absent, r);
        }
    }
    store_codes(&out, params.len(), codes);
}
