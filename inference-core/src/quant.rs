//! Fixed-point arithmetic: requantization and the integer softmax/sigmoid.
//!
//! # Requantization
//!
//! A real multiplier `M > 0` is written as `M = m · 2^(s - 31)` with a Q31 mantissa
//! `m ∈ [2^30, 2^31)` and an exponent `s ∈ [-31, 30]` ([`Requant`]). Applying it to an i32 `x`
//! is one 64-bit multiply and **one** rounding shift (TFLite-Micro "single rounding"):
//!
//! ```text
//! t = 31 - s                      (1 ≤ t ≤ 62)
//! y = (x · m + 2^(t-1)) >> t      (arithmetic shift: halves round towards +∞)
//! y = clamp(y, i32::MIN, i32::MAX)
//! ```
//!
//! `|x · m| < 2^62` and the rounding term is below `2^61`, so the 64-bit sum never overflows.
//! The loader refuses any multiplier or shift outside those ranges, so [`Requant::apply`] is
//! total.
//!
//! # Probabilities
//!
//! Classification heads produce logits in Q8 (`logit · 256`). [`softmax_permille`] turns them
//! into per-mille probabilities with a 257-entry `exp(-d)` table in Q16: no floats, no division
//! by zero (the largest logit always contributes `2^16`).

/// A real multiplier in Q31 mantissa + power-of-two exponent form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requant {
    /// Q31 mantissa, `0 ≤ multiplier ≤ i32::MAX` (normalised ones are `≥ 2^30`).
    pub multiplier: i32,
    /// Power-of-two exponent, `-31 ≤ shift ≤ 30`; positive means "multiply by more than one".
    pub shift: i8,
}

/// Smallest exponent a [`Requant`] may carry.
pub const MIN_SHIFT: i8 = -31;
/// Largest exponent a [`Requant`] may carry.
pub const MAX_SHIFT: i8 = 30;

impl Requant {
    /// The identity multiplier (1.0).
    pub const ONE: Requant = Requant {
        multiplier: 1 << 30,
        shift: 1,
    };

    /// Whether the loader accepts this multiplier (non-negative mantissa, exponent in range).
    pub const fn is_valid(self) -> bool {
        self.multiplier >= 0 && self.shift >= MIN_SHIFT && self.shift <= MAX_SHIFT
    }

    /// `round(x · M)` before saturation, for parameters the loader validated: the same value
    /// as [`apply`](Self::apply) gives before its final clamp. Branch-free; an invalid shift
    /// just gives a different number (shift amounts wrap), never a panic.
    #[inline(always)]
    fn raw_valid(self, x: i32) -> i64 {
        let t = (31 - self.shift as i32) as u32;
        let round = 1i64.wrapping_shl(t.wrapping_sub(1));
        ((x as i64) * (self.multiplier as i64))
            .wrapping_add(round)
            .wrapping_shr(t)
    }

    /// [`apply`](Self::apply) for validated parameters (hot path).
    #[inline(always)]
    pub fn apply_valid(self, x: i32) -> i32 {
        self.raw_valid(x).clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }

    /// `clamp(round(x · M) + add, lo, hi)` for validated parameters: requantization, zero
    /// point and activation in one step. Equal to `clamp(apply(x).saturating_add(add), lo, hi)`
    /// whenever `lo..=hi` lies inside the i32 range less `|add|`.
    #[inline(always)]
    pub fn apply_clamped(self, x: i32, add: i32, lo: i32, hi: i32) -> i32 {
        (self.raw_valid(x) + add as i64)
            .max(lo as i64)
            .min(hi as i64) as i32
    }

    /// `round(x · M)`, saturated to i32. Total for valid multipliers; for an invalid shift the
    /// exponent is clamped into range first, so even a misuse cannot panic.
    #[inline(always)]
    pub fn apply(self, x: i32) -> i32 {
        let shift = self.shift.clamp(MIN_SHIFT, MAX_SHIFT);
        let total = (31 - shift as i32) as u32; // 1..=62
        let m = if self.multiplier < 0 {
            0
        } else {
            self.multiplier as i64
        };
        let prod = (x as i64) * m + (1i64 << (total - 1));
        let y = prod >> total;
        if y > i32::MAX as i64 {
            i32::MAX
        } else if y < i32::MIN as i64 {
            i32::MIN
        } else {
            y as i32
        }
    }
}

/// Saturate an i32 into the int8 range.
#[inline(always)]
pub fn saturate_i8(x: i32) -> i8 {
    if x > 127 {
        127
    } else if x < -128 {
        -128
    } else {
        x as i8
    }
}

/// Fixed-point scale of logits: a logit `z` is stored as `z · 256`.
pub const LOGIT_ONE: i32 = 256;

/// `exp(-k/16) · 65536` for `k = 0..=256` (so logit differences up to 16 are resolved at 1/16).
const EXP_NEG_Q16: [u32; 257] = exp_table();

const fn exp_table() -> [u32; 257] {
    // Built at compile time with integer arithmetic only: exp(-1/16) in Q32, then repeated
    // multiplication. The table is checked against f64 in the tests.
    const STEP_Q32: u64 = 4_034_748_382; // round(exp(-1/16) · 2^32)
    let mut t = [0u32; 257];
    let mut v: u64 = 1u64 << 32; // Q32
    let mut k = 0;
    while k < 257 {
        t[k] = ((v + (1 << 15)) >> 16) as u32;
        v = (v * STEP_Q32 + (1u64 << 31)) >> 32;
        k += 1;
    }
    t
}

/// `exp(-d)` in Q16 for a non-negative Q8 difference `d` (interpolated between table steps).
#[inline]
fn exp_neg_q16(d_q8: u32) -> u32 {
    // index step is 1/16 = 16 in Q8
    let idx = (d_q8 >> 4) as usize;
    if idx >= 256 {
        return 0;
    }
    let frac = d_q8 & 15;
    let a = EXP_NEG_Q16[idx];
    let b = EXP_NEG_Q16[idx + 1];
    a - (((a - b) * frac + 8) >> 4)
}

/// Softmax over Q8 logits into per-mille probabilities (each `0..=1000`).
///
/// Writes `min(logits.len(), out.len())` values; the rest of `out` is left alone. The values
/// written sum to 1000 up to rounding (±len).
pub fn softmax_permille(logits: &[i32], out: &mut [u16]) {
    let max = logits.iter().copied().max().unwrap_or(0);
    let mut sum: u64 = 0;
    for &z in logits {
        sum += exp_neg_q16(max.abs_diff(z)) as u64;
    }
    // sum ≥ 65536 because the maximum contributes exp(0) = 65536.
    let sum = if sum == 0 { 1 } else { sum };
    // A 32-bit division per output (the compiler divides in 32 bits when the operands fit),
    // or from four outputs on one 64-bit division for all and a multiply each (exact up to
    // 32 outputs): the same results, measured faster for the threat model's eight classes
    // and slower for three.
    if (4..=32).contains(&logits.len()) {
        let div = Reciprocal::new(sum);
        for (o, &z) in out.iter_mut().zip(logits) {
            let e = exp_neg_q16(max.abs_diff(z)) as u64;
            *o = div.quotient(e * 1000 + sum / 2) as u16;
        }
    } else {
        for (o, &z) in out.iter_mut().zip(logits) {
            let e = exp_neg_q16(max.abs_diff(z)) as u64;
            *o = ((e * 1000 + sum / 2) / sum) as u16;
        }
    }
}

/// Division by one divisor `d` of many numerators as a multiply and a shift: one 64-bit
/// division for a whole softmax instead of one per output.
///
/// Exact for numerators `n < 2^27` and divisors `1 ≤ d < 2^21` (a softmax over up to 32
/// logits: `n ≤ 65536 · 1000 + d/2`, `d ≤ 32 · 65536`): with `m = ⌈2^48 / d⌉ = (2^48 + e) / d`,
/// `0 ≤ e < d`, `n·m / 2^48 = n/d + n·e / (d · 2^48)` and `n·e < 2^27 · 2^21 = 2^48`, so the
/// error term is below `1/d` and the floor is `⌊n/d⌋` (Granlund and Montgomery, PLDI 1994).
#[derive(Debug, Clone, Copy)]
struct Reciprocal {
    m: u64,
}

impl Reciprocal {
    const SHIFT: u32 = 48;

    #[inline(always)]
    fn new(d: u64) -> Reciprocal {
        let d = d.max(1);
        Reciprocal {
            m: (1u64 << Self::SHIFT).div_ceil(d),
        }
    }

    /// `⌊n / d⌋` for `n < 2^27` (the product needs up to 75 bits: one `mul` on 64-bit
    /// targets, a few 32-bit multiplies elsewhere; still cheaper than a 64-bit division).
    #[inline(always)]
    fn quotient(self, n: u64) -> u64 {
        ((n as u128 * self.m as u128) >> Self::SHIFT) as u64
    }
}

/// Logistic sigmoid of a Q8 logit, in per-mille.
pub fn sigmoid_permille(logit_q8: i32) -> u16 {
    // the first output of a softmax over [logit, 0], computed alone: one division
    let max = logit_q8.max(0);
    let e = exp_neg_q16(max.abs_diff(logit_q8));
    // one of the two terms is exp(0) = 2^16: `max(1)` changes nothing but lets the compiler
    // drop the division-by-zero panic. Both terms are at most 2^16, so `e · 1000 + sum / 2`
    // stays below 2^27: a 32-bit division (cheaper than a 64-bit one, and no `__udivdi3` on
    // 32-bit targets)
    let sum = (e + exp_neg_q16(max.unsigned_abs())).max(1);
    ((e * 1000 + sum / 2) / sum) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rq(multiplier: i32, shift: i8) -> Requant {
        Requant { multiplier, shift }
    }

    #[test]
    fn sigmoid_in_32_bits_matches_the_64_bit_division() {
        for logit in (-80_000..80_000)
            .step_by(7)
            .chain([i32::MIN, i32::MAX, -1, 0, 1])
        {
            let max = logit.max(0);
            let e = exp_neg_q16(max.abs_diff(logit)) as u64;
            let sum = e + exp_neg_q16(max.unsigned_abs()) as u64;
            let wide = ((e * 1000 + sum / 2) / sum) as u16;
            assert_eq!(sigmoid_permille(logit), wide, "logit {logit}");
        }
    }

    #[test]
    fn identity_and_halves() {
        assert_eq!(Requant::ONE.apply(12345), 12345);
        assert_eq!(Requant::ONE.apply(-7), -7);
        // M = 0.5: m = 2^30, s = 0 -> t = 31
        let half = rq(1 << 30, 0);
        assert_eq!(half.apply(3), 2); // 1.5 rounds up
        assert_eq!(half.apply(-3), -1); // -1.5 rounds towards +inf
        assert_eq!(half.apply(5), 3); // 2.5 -> 3
        assert_eq!(half.apply(-5), -2); // -2.5 -> -2
        assert_eq!(half.apply(4), 2);
        assert_eq!(half.apply(-4), -2);
    }

    #[test]
    fn hand_computed_values() {
        // M = 0.75 = 0.75·2^31 / 2^31 = 1610612736 / 2^31
        let m = rq(1_610_612_736, 0);
        assert_eq!(m.apply(100), 75);
        assert_eq!(m.apply(-100), -75);
        assert_eq!(m.apply(2), 2); // 1.5 -> 2
        assert_eq!(m.apply(-2), -1); // -1.5 -> -1
                                     // M = 0.75 · 2^-8 = 0.0029296875: 1000 * M = 2.9296875 -> 3
        let small = rq(1_610_612_736, -8);
        assert_eq!(small.apply(1000), 3);
        assert_eq!(small.apply(-1000), -3);
        // M = 3.0 = 0.75 · 2^2
        let three = rq(1_610_612_736, 2);
        assert_eq!(three.apply(7), 21);
        assert_eq!(three.apply(-7), -21);
    }

    #[test]
    fn extreme_multipliers_saturate_or_vanish() {
        let huge = rq(i32::MAX, MAX_SHIFT); // ≈ 2^30
        assert_eq!(huge.apply(4), i32::MAX);
        assert_eq!(huge.apply(-4), i32::MIN);
        assert_eq!(huge.apply(0), 0);
        let tiny = rq(1 << 30, MIN_SHIFT); // 2^-32
        assert_eq!(tiny.apply(i32::MAX), 0);
        assert_eq!(tiny.apply(i32::MIN), 0); // -0.5 rounds to 0
        let max = rq(i32::MAX, 0); // ≈ 1 - 2^-31
        assert_eq!(max.apply(i32::MAX), i32::MAX - 1);
        assert_eq!(max.apply(i32::MIN), i32::MIN + 1);
        // invalid values are clamped, never panic
        assert_eq!(rq(-5, 0).apply(100), 0);
        assert_eq!(rq(1 << 30, 100).apply(1), rq(1 << 30, MAX_SHIFT).apply(1));
        assert_eq!(rq(1 << 30, -100).apply(1), 0);
    }

    #[test]
    fn fast_paths_equal_the_checked_one() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200_000 {
            let r = next();
            let rq = rq((r as i32) & i32::MAX, ((r >> 32) % 62) as i8 - 31);
            let x = match next() % 4 {
                0 => i32::MAX,
                1 => i32::MIN,
                _ => next() as i32 >> (next() % 31),
            };
            assert_eq!(rq.apply_valid(x), rq.apply(x), "{rq:?} {x}");
            let zp = (next() % 256) as i32 - 128;
            let want = saturate_i8(rq.apply(x).saturating_add(zp).max(zp)) as i32;
            assert_eq!(rq.apply_clamped(x, zp, zp, 127), want, "{rq:?} {x} {zp}");
        }
    }

    #[test]
    fn saturation_to_int8() {
        assert_eq!(saturate_i8(128), 127);
        assert_eq!(saturate_i8(127), 127);
        assert_eq!(saturate_i8(-128), -128);
        assert_eq!(saturate_i8(-129), -128);
        assert_eq!(saturate_i8(i32::MIN), -128);
    }

    #[test]
    fn exp_table_matches_f64() {
        for (k, &v) in EXP_NEG_Q16.iter().enumerate() {
            let want = (-(k as f64) / 16.0).exp() * 65536.0;
            assert!((v as f64 - want).abs() <= 1.0, "k={k} got {v} want {want}");
        }
    }

    #[test]
    fn softmax_and_sigmoid() {
        assert_eq!(sigmoid_permille(0), 500);
        assert!(sigmoid_permille(i32::MAX) == 1000);
        assert!(sigmoid_permille(i32::MIN) == 0);
        // sigmoid(2) = 0.8808
        assert_eq!(sigmoid_permille(2 * LOGIT_ONE), 881);
        assert_eq!(sigmoid_permille(-2 * LOGIT_ONE), 119);
        let mut p = [0u16; 3];
        softmax_permille(&[LOGIT_ONE, 0, -LOGIT_ONE], &mut p);
        // exp(1),exp(0),exp(-1) / sum = 0.665, 0.245, 0.090
        assert_eq!(p, [665, 245, 90]);
        softmax_permille(&[i32::MAX, i32::MIN, 0], &mut p);
        assert_eq!(p, [1000, 0, 0]);
        softmax_permille(&[], &mut p);
    }

    #[test]
    fn sigmoid_is_the_first_output_of_a_softmax_against_zero() {
        for z in (-40_000..40_000)
            .step_by(7)
            .chain([i32::MIN, i32::MAX, -1, 0, 1])
        {
            let mut p = [0u16; 2];
            softmax_permille(&[z, 0], &mut p);
            assert_eq!(sigmoid_permille(z), p[0], "{z}");
        }
        // and both ways of a softmax agree (3 outputs divide directly, 8 by the reciprocal)
        let logits = [300, -200, 45, 0, 1200, -900, 7, 640];
        let mut eight = [0u16; 8];
        softmax_permille(&logits, &mut eight);
        let mut three = [0u16; 3];
        softmax_permille(&[300, -200, 1200], &mut three);
        let e = |z: i32, max: i32| exp_neg_q16(max.abs_diff(z)) as u64;
        let sum: u64 = logits.iter().map(|&z| e(z, 1200)).sum();
        for (o, &z) in eight.iter().zip(&logits) {
            assert_eq!(*o as u64, (e(z, 1200) * 1000 + sum / 2) / sum);
        }
        assert!(three.iter().map(|&p| p as u32).sum::<u32>().abs_diff(1000) <= 3);
    }

    #[test]
    fn the_reciprocal_divides_exactly() {
        // every divisor a softmax of 1..=32 logits can have (65536 ≤ d ≤ 32 · 65536) at a
        // stride, with the numerators at both ends and in between
        let mut d = 65_536u64;
        while d <= 32 * 65_536 {
            let r = Reciprocal::new(d);
            for n in [0, 1, d - 1, d, d + 1, 65_536_000 + d / 2, (1 << 27) - 1]
                .into_iter()
                .chain((0..(1u64 << 27)).step_by(1_048_573))
            {
                assert_eq!(r.quotient(n), n / d, "{n} / {d}");
            }
            d += 997;
        }
        // and the smallest divisors, exhaustively over a range of numerators
        for d in 1..2_000u64 {
            let r = Reciprocal::new(d);
            for n in (0..(1u64 << 27)).step_by(65_521) {
                assert_eq!(r.quotient(n), n / d, "{n} / {d}");
            }
        }
    }
}
