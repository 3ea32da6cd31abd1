//! Raw observations, their fixed-size histories, and each model's feature vector.
//!
//! Raw inputs are integers in fixed units (percent × 100, per-mille, counts, seconds,
//! nanoseconds, cache lines). Each model's `features` function turns an observation and its
//! history into `[i32; N_FEATURES]`; the blob's input quantization then maps each feature to
//! int8. The trainer calls these same functions to build its data sets.
//!
//! Each submodule also fixes the meaning of the model's outputs (`N_OUTPUTS`, output indices and
//! units): the trainer trains exactly those targets and the predictors read exactly those.

pub mod failure;
pub mod health;
pub mod memory;
pub mod ring;
pub mod threat;
pub mod workload;

use ring::Ring;

pub use crate::blob::ABSENT;

/// A contiguous range of feature indices, as in smoltcp's `wire` modules: each model's
/// `field` submodule names every part of its layout, and code indexes features only by name.
pub type Field = core::ops::Range<usize>;

/// Compresses a heavy-tailed integer: `sign(x) · 16 · log2(1 + |x|)`, with the fractional part
/// read from the four mantissa bits below the leading one (so the result is monotone and exact
/// at powers of two). `0 → 0`, `1 → 16`, `3 → 32`, `±(2^63)` → about `±1024`.
pub const fn symlog_q4(x: i64) -> i32 {
    let v = x.unsigned_abs().saturating_add(1);
    let e = 63 - v.leading_zeros(); // floor(log2 v), v ≥ 1
    let frac = ((v << (63 - e)) >> 59) & 15;
    let r = (e * 16 + frac as u32) as i32;
    // the sign without a branch (all ones for a negative x): a delta's sign is data, and a
    // mispredicted branch per feature costs more than the logarithm
    let s = (x >> 63) as i32;
    (r ^ s) - s
}

/// Copies the `out.len()` most recent values of `buf` into `out`, newest first. Missing older
/// entries repeat the oldest known value, or `fill` when the buffer is empty.
pub fn newest_first<T: Copy, const N: usize>(buf: &Ring<T, N>, out: &mut [T], fill: T) {
    let mut last = fill;
    let mut it = buf.newest();
    for o in out.iter_mut() {
        if let Some(&v) = it.next() {
            last = v;
        }
        *o = last;
    }
}

/// Stores `v` at `f[i]` when `i` is in range. Feature code writes through this rather than
/// `f[i] = v` wherever the index is computed: an index the compiler cannot prove in range
/// would link a bounds-check panic, and with it `core::fmt`'s integer formatting (about 3 KiB
/// of firmware flash).
#[inline(always)]
pub fn put(f: &mut [i32], i: usize, v: i32) {
    if let Some(x) = f.get_mut(i) {
        *x = v;
    }
}

/// The features of `field`, or nothing if it is out of range (it never is: each model's
/// layout is checked at compile time); as [`put`], without a bounds-check panic.
#[inline(always)]
pub fn part(f: &mut [i32], field: Field) -> &mut [i32] {
    f.get_mut(field).unwrap_or_default()
}

/// Saturating `u64 → i32`.
pub fn sat_i32(x: u64) -> i32 {
    if x > i32::MAX as u64 {
        i32::MAX
    } else {
        x as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlog_values() {
        assert_eq!(symlog_q4(0), 0);
        assert_eq!(symlog_q4(1), 16);
        assert_eq!(symlog_q4(-1), -16);
        assert_eq!(symlog_q4(3), 32);
        assert_eq!(symlog_q4(2), 24); // log2(3) ≈ 1 + 0.5 (mantissa 0b1000, linear between powers)
        assert_eq!(symlog_q4(i64::MAX), 63 * 16);
        assert_eq!(symlog_q4(i64::MIN), -(63 * 16));
        let mut prev = symlog_q4(0);
        for x in 1..5000 {
            let v = symlog_q4(x);
            assert!(v >= prev);
            prev = v;
        }
    }

    #[test]
    fn newest_first_pads_with_oldest() {
        let mut b: Ring<u8, 4> = Ring::new(0);
        let mut out = [0u8; 6];
        newest_first(&b, &mut out, 9);
        assert_eq!(out, [9; 6]);
        b.write(1);
        b.write(2);
        newest_first(&b, &mut out, 9);
        assert_eq!(out, [2, 1, 1, 1, 1, 1]);
        for v in 3..=7 {
            b.write(v);
        }
        newest_first(&b, &mut out, 9);
        assert_eq!(out, [7, 6, 5, 4, 4, 4]);
    }
}
