//! Accepts and rejects exactly what `ed25519-compact` 2.x's `PublicKey::verify` does, for the
//! same reasons ([`VerifyError`](crate::ed25519::VerifyError)), with a small, bounded stack
//! instead of its ~7 KiB: no tables of precomputed points, no sliding windows, field elements
//! updated in place, large values passed by reference and the heavy steps in their own
//! `#[inline(never)]` functions so that their frames are not merged. SHA-512 is
//! [`crate::sha512`].
//!
//! Stack, measured on release builds (return addresses and saved registers included): the
//! deepest branch is the curve arithmetic, about 1000 bytes (x86_64-unknown-none; ~940 on
//! thumbv7em). The hashing branch needs ~650 bytes: one 200-byte SHA-512 state and the
//! 64-byte digest in `challenge`'s frame, and the in-place compression below it.
//!
//! The check, as in `ed25519-compact`:
//!
//! 1. S (the second half of the signature) must be below the group order L;
//! 2. the public key A must be the canonical encoding (y < p) of a curve point, not of small
//!    order (8·A ≠ 0); an x of 0 with the sign bit set is refused;
//! 3. R (the first half) likewise;
//! 4. k = SHA-512(R ‖ A ‖ M) mod L, R' = `[k](-A) + [S]B`, and the signature holds iff R' − R
//!    has small order.
//!
//! The hash is computed first and R is decoded after the multiplication, so that the hash
//! state, -A and -R are never on the stack together. Neither the hash nor the multiplication
//! can fail, so the verdict and its reason are those of the order above.
//!
//! Everything is variable time: all inputs of a verification are public. The arithmetic is
//! kept simple rather than fast: field elements are five 51-bit limbs multiplied with `u128`
//! products, points use extended twisted Edwards coordinates, and the double scalar
//! multiplication is a bit-serial Straus/Shamir double-and-add with the precomputed sum
//! B − A.

use crate::sha512::Sha512;

/// Why [`verify`] refuses a signature; mirrors the reasons `ed25519-compact` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// S is not below the group order L (`Error::NonCanonical` in `ed25519-compact`).
    NonCanonicalS,
    /// The public key is not the canonical encoding of a curve point
    /// (`Error::InvalidPublicKey`).
    InvalidPublicKey,
    /// The public key is a point of small order (`Error::WeakPublicKey`).
    WeakPublicKey,
    /// R is not the canonical encoding of a curve point, or has small order
    /// (`Error::InvalidSignature`).
    InvalidR,
    /// The signature is well formed but does not match (`Error::SignatureMismatch`).
    Mismatch,
}

/// Verifies `signature` (R ‖ S, 64 bytes) over `message` under `public_key` (32 bytes).
///
/// Accepts exactly the signatures `ed25519_compact::PublicKey::verify` accepts.
pub fn verify(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), VerifyError> {
    verify_parts(public_key, &[message], signature)
}

/// Like [`verify`], with the message given as several consecutive parts (hashed in order as one
/// message), so a caller can verify `blob ‖ key_id` without copying.
pub fn verify_parts(
    public_key: &[u8; 32],
    parts: &[&[u8]],
    signature: &[u8; 64],
) -> Result<(), VerifyError> {
    let (r, s) = signature.split_at(32);
    if !below_l(&le_words(s)) {
        return Err(VerifyError::NonCanonicalS);
    }
    let k = challenge(r, public_key, parts);
    check_equation(public_key, r, &k, s)
}

/// Whether `public_key` is a canonical encoding of a curve point of large order (what
/// `ed25519_compact::PublicKey::validate` accepts). A key refused here never verifies a
/// signature.
pub fn key_is_valid(public_key: &[u8; 32]) -> bool {
    let mut p = IDENTITY;
    decode_negated(public_key, &mut p) && !has_small_order(&p)
}

/// The first 32 bytes of `bytes` as four little-endian 64-bit words.
fn le_words(bytes: &[u8]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (i, &b) in bytes.iter().take(32).enumerate() {
        w[i / 8] |= u64::from(b) << (8 * (i % 8));
    }
    w
}

// ---------------------------------------------------------------------------------------------
// Scalars (integers mod L): 32-byte little-endian strings, as in signatures (S is read in
// place); only the reduction of the hash works on 64-bit words.

/// A scalar, 32 bytes little-endian.
type Scalar = [u8; 32];

/// The group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032, section 5.1),
/// i.e. 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed.
const L: [u64; 4] = [
    0x5812_631a_5cf5_d3ed,
    0x14de_f9de_a2f7_9cd6,
    0x0000_0000_0000_0000,
    0x1000_0000_0000_0000,
];

/// Whether `s < L` (the whole 256 bits are compared, as `sc_reject_noncanonical` does).
fn below_l(s: &[u64; 4]) -> bool {
    for (&a, &b) in s.iter().zip(L.iter()).rev() {
        if a != b {
            return a < b;
        }
    }
    false
}

/// `s -= L`; only called with `s >= L`.
fn sub_l(s: &mut [u64; 4]) {
    let mut borrow = false;
    for (a, &b) in s.iter_mut().zip(L.iter()) {
        let (d1, b1) = a.overflowing_sub(b);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *a = d2;
        borrow = b1 | b2;
    }
}

/// A 512-bit little-endian integer (a SHA-512 output) mod L, by binary long division: the bits
/// are shifted in from the top and L subtracted whenever the remainder reaches it. The
/// remainder stays below L < 2^253, so doubling it plus one fits in 256 bits.
fn reduce_wide(h: &[u8; 64]) -> Scalar {
    let mut r = [0u64; 4];
    for &byte in h.iter().rev() {
        for j in (0..8).rev() {
            r[3] = (r[3] << 1) | (r[2] >> 63);
            r[2] = (r[2] << 1) | (r[1] >> 63);
            r[1] = (r[1] << 1) | (r[0] >> 63);
            r[0] = (r[0] << 1) | u64::from((byte >> j) & 1);
            if !below_l(&r) {
                sub_l(&mut r);
            }
        }
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (r[i / 8] >> (8 * (i % 8))) as u8;
    }
    out
}

/// Bit `i` of the little-endian number `n` (0 past its end).
fn bit(n: &[u8], i: usize) -> bool {
    n.get(i / 8).is_some_and(|b| (b >> (i % 8)) & 1 == 1)
}

/// k = SHA-512(R ‖ A ‖ message parts) mod L.
#[inline(never)]
fn challenge(r: &[u8], a: &[u8; 32], parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    for part in parts {
        h.update(part);
    }
    reduce_wide(&h.finalize())
}

// ---------------------------------------------------------------------------------------------
// The field GF(p), p = 2^255 - 19.

/// A field element: five 51-bit limbs, little-endian (value = `Σ limb[i]·2^(51·i)`).
///
/// Invariant kept by every operation: each limb < 2^51 + 2^17, so the value is below 2p but not
/// necessarily reduced; [`canonical`] gives the unique representative.
#[derive(Clone, Copy)]
struct Fe([u64; 5]);

const MASK51: u64 = (1 << 51) - 1;

impl Fe {
    const ZERO: Fe = Fe([0; 5]);
    const ONE: Fe = Fe([1, 0, 0, 0, 0]);

    /// The low 255 bits of a 256-bit little-endian integer (bit 255, the sign of an encoded
    /// point, is dropped). The value may be ≥ p; callers check canonicity themselves.
    fn from_words(w: &[u64; 4]) -> Fe {
        Fe([
            w[0] & MASK51,
            ((w[0] >> 51) | (w[1] << 13)) & MASK51,
            ((w[1] >> 38) | (w[2] << 26)) & MASK51,
            ((w[2] >> 25) | (w[3] << 39)) & MASK51,
            (w[3] >> 12) & MASK51,
        ])
    }
}

// Field constants, computed with Python's integers (pow(x, p - 2, p) for inverses) and written
// as radix-2^51 limbs; the tests re-check every relation from the arithmetic itself.

/// 2p as limbs (2^52 - 38, 2^52 - 2, ...): added before subtracting, so no limb goes negative.
const TWO_P: [u64; 5] = [
    0xf_ffff_ffff_ffda,
    0xf_ffff_ffff_fffe,
    0xf_ffff_ffff_fffe,
    0xf_ffff_ffff_fffe,
    0xf_ffff_ffff_fffe,
];

/// d = -121665/121666 mod p
/// = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3 (RFC 8032, 5.1).
const D: Fe = Fe([
    0x34dca135978a3,
    0x1a8283b156ebd,
    0x5e7a26001c029,
    0x739c663a03cbb,
    0x52036cee2b6ff,
]);

/// 2d mod p = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159.
const D2: Fe = Fe([
    0x69b9426b2f159,
    0x35050762add7a,
    0x3cf44c0038052,
    0x6738cc7407977,
    0x2406d9dc56dff,
]);

/// sqrt(-1) = 2^((p-1)/4) mod p
/// = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0.
const SQRT_M1: Fe = Fe([
    0x61b274a0ea0b0,
    0x0d5a5fc8f189d,
    0x7ef5e9cbd0c60,
    0x78595a6804c9e,
    0x2b8324804fc1d,
]);

/// The exponent (p - 5)/8 = 2^252 - 3 of the square root, little-endian.
const P_MINUS_5_DIV_8: [u8; 32] = [
    0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f,
];

/// Carries every limb (each < 2^63) into the next, the top one back into the bottom one times
/// 19 (2^255 ≡ 19): afterwards limbs 1..4 are < 2^51 and limb 0 < 2^51 + 2^17.
fn carry(l: &mut [u64; 5]) {
    for i in 0..4 {
        l[i + 1] = l[i + 1].wrapping_add(l[i] >> 51);
        l[i] &= MASK51;
    }
    let c = l[4] >> 51;
    l[4] &= MASK51;
    l[0] = l[0].wrapping_add(c.wrapping_mul(19));
}

// The field operations work in place (`a op= b`): no field element is ever returned by
// value, so no caller needs a hidden temporary for it.

/// a += b.
#[inline(never)]
fn fe_add(a: &mut Fe, b: &Fe) {
    for (x, &y) in a.0.iter_mut().zip(b.0.iter()) {
        *x = x.wrapping_add(y);
    }
    carry(&mut a.0);
}

/// a -= b, computed as a + 2p - b (each limb of 2p exceeds any limb of `b`).
#[inline(never)]
fn fe_sub(a: &mut Fe, b: &Fe) {
    for ((x, &y), &t) in a.0.iter_mut().zip(b.0.iter()).zip(TWO_P.iter()) {
        *x = x.wrapping_add(t).wrapping_sub(y);
    }
    carry(&mut a.0);
}

/// a = 2a.
#[inline(never)]
fn fe_double(a: &mut Fe) {
    for x in a.0.iter_mut() {
        *x <<= 1;
    }
    carry(&mut a.0);
}

/// a = -a.
fn fe_neg(a: &mut Fe) {
    let mut r = Fe::ZERO;
    fe_sub(&mut r, a);
    *a = r;
}

/// The product of two elements. With limbs < 2^52, every partial product (times 19) is
/// < 2^109 and every column sum < 2^112, far from overflowing `u128`.
#[inline(always)]
fn mul_limbs(a: &[u64; 5], b: &[u64; 5]) -> [u64; 5] {
    let [a0, a1, a2, a3, a4] = *a;
    let [b0, b1, b2, b3, b4] = *b;
    // Columns past 2^255 wrap around multiplied by 19.
    let (b1_19, b2_19, b3_19, b4_19) = (
        b1.wrapping_mul(19),
        b2.wrapping_mul(19),
        b3.wrapping_mul(19),
        b4.wrapping_mul(19),
    );
    let m = |x: u64, y: u64| u128::from(x) * u128::from(y); // never overflows u128
    let mut r = [
        m(a0, b0)
            .wrapping_add(m(a1, b4_19))
            .wrapping_add(m(a2, b3_19))
            .wrapping_add(m(a3, b2_19))
            .wrapping_add(m(a4, b1_19)),
        m(a0, b1)
            .wrapping_add(m(a1, b0))
            .wrapping_add(m(a2, b4_19))
            .wrapping_add(m(a3, b3_19))
            .wrapping_add(m(a4, b2_19)),
        m(a0, b2)
            .wrapping_add(m(a1, b1))
            .wrapping_add(m(a2, b0))
            .wrapping_add(m(a3, b4_19))
            .wrapping_add(m(a4, b3_19)),
        m(a0, b3)
            .wrapping_add(m(a1, b2))
            .wrapping_add(m(a2, b1))
            .wrapping_add(m(a3, b0))
            .wrapping_add(m(a4, b4_19)),
        m(a0, b4)
            .wrapping_add(m(a1, b3))
            .wrapping_add(m(a2, b2))
            .wrapping_add(m(a3, b1))
            .wrapping_add(m(a4, b0)),
    ];
    let mask = u128::from(MASK51);
    for i in 0..4 {
        r[i + 1] = r[i + 1].wrapping_add(r[i] >> 51);
        r[i] &= mask;
    }
    let c = r[4] >> 51; // < 2^62
    r[4] &= mask;
    r[0] = r[0].wrapping_add(c.wrapping_mul(19));
    r[1] = r[1].wrapping_add(r[0] >> 51); // limb 1 < 2^51 + 2^17
    r[0] &= mask;
    [
        r[0] as u64,
        r[1] as u64,
        r[2] as u64,
        r[3] as u64,
        r[4] as u64,
    ]
}

/// a *= b.
#[inline(never)]
fn fe_mul(a: &mut Fe, b: &Fe) {
    a.0 = mul_limbs(&a.0, &b.0);
}

/// a = a^2.
#[inline(never)]
fn fe_sq(a: &mut Fe) {
    a.0 = mul_limbs(&a.0, &a.0);
}

/// a = a^e, by square-and-multiply over the 256 bits of `e` (little-endian).
#[inline(never)]
fn fe_pow(a: &mut Fe, e: &[u8; 32]) {
    let base = *a;
    *a = Fe::ONE;
    for i in (0..256).rev() {
        fe_sq(a);
        if bit(e, i) {
            fe_mul(a, &base);
        }
    }
}

/// The limbs of the unique representative in [0, p), each < 2^51.
fn canonical(a: &Fe) -> [u64; 5] {
    let mut h = a.0;
    // After the carry h < 2^255 + 2^17 < 2p, and q = 1 iff h >= p, i.e. iff h + 19 carries
    // out of bit 255.
    carry(&mut h);
    let mut q = h[0].wrapping_add(19) >> 51;
    for &limb in &h[1..] {
        q = limb.wrapping_add(q) >> 51;
    }
    // h - q·p = h + 19q - q·2^255: add 19q, carry, drop bit 255.
    h[0] = h[0].wrapping_add(q.wrapping_mul(19));
    for i in 0..4 {
        h[i + 1] = h[i + 1].wrapping_add(h[i] >> 51);
        h[i] &= MASK51;
    }
    h[4] &= MASK51;
    h
}

fn fe_is_zero(a: &Fe) -> bool {
    canonical(a) == [0; 5]
}

/// Whether the canonical representative is odd (the "negative" x of RFC 8032).
fn fe_is_negative(a: &Fe) -> bool {
    canonical(a)[0] & 1 == 1
}

// ---------------------------------------------------------------------------------------------
// The curve -x^2 + y^2 = 1 + d·x^2·y^2.

/// A point in extended coordinates (X : Y : Z : T): x = X/Z, y = Y/Z, x·y = T/Z.
#[derive(Clone, Copy)]
struct Ext {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// A point prepared as the second operand of [`add`]: (Y + X, Y - X, Z, 2d·T).
#[derive(Clone, Copy)]
struct Cached {
    y_plus_x: Fe,
    y_minus_x: Fe,
    z: Fe,
    t2d: Fe,
}

const IDENTITY: Ext = Ext {
    x: Fe::ZERO,
    y: Fe::ONE,
    z: Fe::ONE,
    t: Fe::ZERO,
};

/// The base point B (RFC 8032, 5.1): y = 4/5 mod p
/// = 0x6666666666666666666666666666666666666666666666666666666666666658, x its even square
/// root from the curve equation
/// = 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a, Z = 1, T = x·y.
const B: Ext = Ext {
    x: Fe([
        0x62d608f25d51a,
        0x412a4b4f6592a,
        0x75b7171a4b31d,
        0x1ff60527118fe,
        0x216936d3cd6e5,
    ]),
    y: Fe([
        0x6666666666658,
        0x4cccccccccccc,
        0x1999999999999,
        0x3333333333333,
        0x6666666666666,
    ]),
    z: Fe::ONE,
    t: Fe([
        0x68ab3a5b7dda3,
        0x00eea2a5eadbb,
        0x2af8df483c27e,
        0x332b375274732,
        0x67875f0fd78b7,
    ]),
};

/// B as a [`Cached`] point: (y + x, y - x, 1, 2d·x·y) mod p.
const B_CACHED: Cached = Cached {
    y_plus_x: Fe([
        0x493c6f58c3b85,
        0x0df7181c325f7,
        0x0f50b0b3e4cb7,
        0x5329385a44c32,
        0x07cf9d3a33d4b,
    ]),
    y_minus_x: Fe([
        0x03905d740913e,
        0x0ba2817d673a2,
        0x23e2827f4e67c,
        0x133d2e0c21a34,
        0x44fd2f9298f81,
    ]),
    z: Fe::ONE,
    t2d: Fe([
        0x11205877aaa68,
        0x479955893d579,
        0x50d66309b67a0,
        0x2d42d0dbee5ee,
        0x6f117b689f0c6,
    ]),
};

/// out = p, prepared for [`add`].
#[inline(never)]
fn to_cached(p: &Ext, out: &mut Cached) {
    out.y_plus_x = p.y;
    fe_add(&mut out.y_plus_x, &p.x);
    out.y_minus_x = p.y;
    fe_sub(&mut out.y_minus_x, &p.x);
    out.z = p.z;
    out.t2d = p.t;
    fe_mul(&mut out.t2d, &D2);
}

/// p = 2p (the doubling of Hisil–Wong–Carter–Dawson 2008 for a = -1; complete). With
/// h = X^2 + Y^2, g = Y^2 - X^2, e = (X + Y)^2 - h = 2XY and f = 2Z^2 - g, 2p is
/// (e·f : h·g : g·f : e·h), i.e. x = 2xy/(y^2 - x^2), y = (y^2 + x^2)/(2 - y^2 + x^2).
/// Computed in place, with one temporary.
#[inline(never)]
fn dbl(p: &mut Ext) {
    // T is not an input of the doubling: it holds (X + Y)^2, then e.
    p.t = p.x;
    fe_add(&mut p.t, &p.y);
    fe_sq(&mut p.t);
    fe_sq(&mut p.x); // X^2
    fe_sq(&mut p.y); // Y^2
    fe_sq(&mut p.z);
    fe_double(&mut p.z); // 2Z^2
    let mut h = p.y;
    fe_add(&mut h, &p.x); // h
    fe_sub(&mut p.y, &p.x); // g, in Y
    fe_sub(&mut p.t, &h); // e, in T
    fe_sub(&mut p.z, &p.y); // f, in Z
    p.x = p.t;
    fe_mul(&mut p.x, &p.z); // X = e·f
    fe_mul(&mut p.t, &h); // T = e·h
    fe_mul(&mut p.z, &p.y); // Z = f·g
    fe_mul(&mut p.y, &h); // Y = g·h
}

/// p = p + q (the unified addition of Hisil–Wong–Carter–Dawson 2008 for a = -1, with k = 2d;
/// complete on this curve since d is not a square). With a = (Y1 - X1)(Y2 - X2),
/// b = (Y1 + X1)(Y2 + X2), c = 2d·T1·T2, d = 2·Z1·Z2 and e = b - a, f = d - c, g = d + c,
/// h = b + a, the sum is (e·f : g·h : f·g : e·h). Computed in place, with one temporary.
#[inline(never)]
fn add(p: &mut Ext, q: &Cached) {
    let mut a = p.y;
    fe_sub(&mut a, &p.x);
    fe_mul(&mut a, &q.y_minus_x); // a
    fe_add(&mut p.x, &p.y);
    fe_mul(&mut p.x, &q.y_plus_x); // b, in X
    fe_mul(&mut p.t, &q.t2d); // c, in T
    fe_mul(&mut p.z, &q.z);
    fe_double(&mut p.z); // d, in Z
    p.y = p.x;
    fe_add(&mut p.y, &a); // h, in Y
    fe_sub(&mut p.x, &a); // e, in X
    a = p.z;
    fe_sub(&mut a, &p.t); // f, in a
    fe_add(&mut p.z, &p.t); // g, in Z
    p.t = p.x;
    fe_mul(&mut p.t, &p.y); // T = e·h
    fe_mul(&mut p.x, &a); // X = e·f
    fe_mul(&mut p.y, &p.z); // Y = h·g
    fe_mul(&mut p.z, &a); // Z = g·f
}

/// Whether 8·p = 0, tested as `ed25519-compact` does: 4·p has x = 0.
#[inline(never)]
fn has_small_order(p: &Ext) -> bool {
    let mut q = *p;
    dbl(&mut q);
    dbl(&mut q);
    fe_is_zero(&q.x)
}

/// Decodes the point P encoded by `bytes` (32 bytes) into `out` as -P, exactly as
/// `ed25519-compact`'s `GeP3::from_bytes_negate_vartime`; `false` (and `out` garbage) if
/// y ≥ p, if (y^2 - 1)/(d·y^2 + 1) has no square root, or if x = 0 and the sign bit is set.
#[inline(never)]
fn decode_negated(bytes: &[u8], out: &mut Ext) -> bool {
    let w = le_words(bytes);
    let sign = w[3] >> 63 == 1;
    // y < p, with the sign bit ignored: p = 2^255 - 19 is 0x7fff..ffed.
    if w[3] & !(1 << 63) == u64::MAX >> 1
        && w[2] == u64::MAX
        && w[1] == u64::MAX
        && w[0] >= u64::MAX - 18
    {
        return false;
    }
    // Computed in `out`, with v kept in Z and u in T until the end.
    let Ext { x, y, z: v, t: u } = out;
    *y = Fe::from_words(&w);
    // u = y^2 - 1 and v = d·y^2 + 1 (never 0: d is not a square).
    *u = *y;
    fe_sq(u);
    *v = *u;
    fe_sub(u, &Fe::ONE);
    fe_mul(v, &D);
    fe_add(v, &Fe::ONE);
    // x = u·(u·v)^((p-5)/8): if u/v is a square, v·x^2 is u or -u (then x·sqrt(-1) is the
    // root); if not, v·x^2 is ±sqrt(-1)·u, neither.
    *x = *u;
    fe_mul(x, v);
    fe_pow(x, &P_MINUS_5_DIV_8);
    fe_mul(x, u);
    let mut check = *x;
    fe_sq(&mut check);
    fe_mul(v, &check); // v·x^2, in v
    check = *v;
    fe_sub(&mut check, u);
    if !fe_is_zero(&check) {
        check = *v;
        fe_add(&mut check, u);
        if !fe_is_zero(&check) {
            return false;
        }
        fe_mul(x, &SQRT_M1);
    }
    // P has the x whose parity is the sign bit; -P the other one.
    if fe_is_negative(x) == sign {
        fe_neg(x);
    }
    if sign && fe_is_zero(x) {
        return false;
    }
    *v = Fe::ONE; // Z
    *u = *x;
    fe_mul(u, y); // T = x·y
    true
}

/// acc = `[k]P + [s]B` for k, s < 2^253 (both are below L), by a joint double-and-add over
/// their bits, adding P, B or their precomputed sum P + B.
#[inline(never)]
fn double_scalar_mul(acc: &mut Ext, k: &Scalar, p: &Cached, s: &[u8]) {
    let mut sum = B_CACHED;
    *acc = B;
    add(acc, p);
    to_cached(acc, &mut sum);
    *acc = IDENTITY;
    for i in (0..253).rev() {
        dbl(acc);
        match (bit(k, i), bit(s, i)) {
            (true, true) => add(acc, &sum),
            (true, false) => add(acc, p),
            (false, true) => add(acc, &B_CACHED),
            (false, false) => {}
        }
    }
}

/// Decodes A and R (refusing them as `ed25519-compact` does) and checks that
/// `[k](-A) + [S]B - R` has small order.
///
/// R is decoded after the multiplication, so that -A and -R are never held together: the
/// verdict is the same as decoding it first (as `ed25519-compact` does), since the
/// multiplication cannot fail.
#[inline(never)]
fn check_equation(a: &[u8; 32], r: &[u8], k: &Scalar, s: &[u8]) -> Result<(), VerifyError> {
    let mut acc = IDENTITY;
    let mut cached = B_CACHED;
    if !decode_negated(a, &mut acc) {
        return Err(VerifyError::InvalidPublicKey);
    }
    if has_small_order(&acc) {
        return Err(VerifyError::WeakPublicKey);
    }
    to_cached(&acc, &mut cached); // -A
    double_scalar_mul(&mut acc, k, &cached, s); // R' = [k](-A) + [S]B
    to_cached(&acc, &mut cached); // R'
    if !decode_negated(r, &mut acc) || has_small_order(&acc) {
        return Err(VerifyError::InvalidR);
    }
    add(&mut acc, &cached); // R' - R
    if has_small_order(&acc) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_compact::{Error, KeyPair, PublicKey, Seed, Signature};

    use crate::test_rng::Rng;

    fn hex_into(s: &str, out: &mut [u8]) {
        let s = s.as_bytes();
        assert_eq!(s.len(), 2 * out.len());
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not hex"),
        };
        for (b, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            *b = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        hex_into(s, &mut out);
        out
    }

    /// `ed25519-compact`'s verdict, in our terms.
    fn reference(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<(), VerifyError> {
        PublicKey::new(*pk)
            .verify(msg, &Signature::new(*sig))
            .map_err(|e| match e {
                Error::NonCanonical => VerifyError::NonCanonicalS,
                Error::InvalidPublicKey => VerifyError::InvalidPublicKey,
                Error::WeakPublicKey => VerifyError::WeakPublicKey,
                Error::InvalidSignature => VerifyError::InvalidR,
                Error::SignatureMismatch => VerifyError::Mismatch,
                other => panic!("unexpected error {other:?}"),
            })
    }

    /// Our verdict, checked to be exactly `ed25519-compact`'s.
    fn both(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<(), VerifyError> {
        let ours = verify(pk, msg, sig);
        assert_eq!(
            ours,
            reference(pk, msg, sig),
            "pk {pk:02x?} msg {msg:02x?} sig {sig:02x?}"
        );
        ours
    }

    fn fadd(a: &Fe, b: &Fe) -> Fe {
        let mut r = *a;
        fe_add(&mut r, b);
        r
    }

    fn fsub(a: &Fe, b: &Fe) -> Fe {
        let mut r = *a;
        fe_sub(&mut r, b);
        r
    }

    fn fmul(a: &Fe, b: &Fe) -> Fe {
        let mut r = *a;
        fe_mul(&mut r, b);
        r
    }

    fn fsq(a: &Fe) -> Fe {
        let mut r = *a;
        fe_sq(&mut r);
        r
    }

    fn fneg(a: &Fe) -> Fe {
        let mut r = *a;
        fe_neg(&mut r);
        r
    }

    fn fpow(a: &Fe, e: &[u8; 32]) -> Fe {
        let mut r = *a;
        fe_pow(&mut r, e);
        r
    }

    fn cached(p: &Ext) -> Cached {
        let mut c = B_CACHED;
        to_cached(p, &mut c);
        c
    }

    fn fe_eq(a: &Fe, b: &Fe) -> bool {
        canonical(a) == canonical(b)
    }

    fn fe_small(n: u64) -> Fe {
        Fe([n, 0, 0, 0, 0])
    }

    fn fe_to_bytes(a: &Fe) -> [u8; 32] {
        let l = canonical(a);
        let w = [
            l[0] | (l[1] << 51),
            (l[1] >> 13) | (l[2] << 38),
            (l[2] >> 26) | (l[3] << 25),
            (l[3] >> 39) | (l[4] << 12),
        ];
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = (w[i / 8] >> (8 * (i % 8))) as u8;
        }
        out
    }

    /// p - 2, the exponent of an inverse.
    const P_MINUS_2: [u8; 32] = {
        let mut e = [0xff; 32];
        e[0] = 0xeb;
        e[31] = 0x7f;
        e
    };

    fn encode(p: &Ext) -> [u8; 32] {
        let zi = fpow(&p.z, &P_MINUS_2);
        let mut out = fe_to_bytes(&fmul(&p.y, &zi));
        out[31] |= u8::from(fe_is_negative(&fmul(&p.x, &zi))) << 7;
        out
    }

    fn decode(bytes: &[u8; 32]) -> Option<Ext> {
        let mut p = IDENTITY;
        decode_negated(bytes, &mut p).then(|| Ext {
            x: fneg(&p.x),
            t: fneg(&p.t),
            ..p
        })
    }

    fn is_identity(p: &Ext) -> bool {
        fe_is_zero(&p.x) && fe_eq(&p.y, &p.z)
    }

    /// `[k]p`.
    fn mul(k: &Scalar, p: &Ext) -> Ext {
        let mut acc = IDENTITY;
        double_scalar_mul(&mut acc, k, &cached(p), &[0; 32]);
        acc
    }

    /// `[s]B`.
    fn mul_base(s: &Scalar) -> Ext {
        let mut acc = IDENTITY;
        double_scalar_mul(&mut acc, &[0; 32], &B_CACHED, s);
        acc
    }

    fn scalar_bytes(s: &[u64; 4]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = (s[i / 8] >> (8 * (i % 8))) as u8;
        }
        out
    }

    /// a·b + c mod L.
    fn sc_muladd(a: &Scalar, b: &Scalar, c: &Scalar) -> Scalar {
        let (a, b, c) = (le_words(a), le_words(b), le_words(c));
        let mut wide = [0u64; 8];
        for (i, &x) in a.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &y) in b.iter().enumerate() {
                let t = u128::from(x) * u128::from(y) + u128::from(wide[i + j]) + carry;
                wide[i + j] = t as u64;
                carry = t >> 64;
            }
            wide[i + 4] = carry as u64;
        }
        let mut carry = 0u128;
        for (i, w) in wide.iter_mut().enumerate() {
            let t = u128::from(*w) + u128::from(if i < 4 { c[i] } else { 0 }) + carry;
            *w = t as u64;
            carry = t >> 64;
        }
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (wide[i / 8] >> (8 * (i % 8))) as u8;
        }
        reduce_wide(&bytes)
    }

    fn random_scalar(rng: &mut Rng) -> Scalar {
        reduce_wide(&rng.bytes::<64>())
    }

    /// The eight points of order dividing 8, as `[i]T` for a point T of order 8 (the one
    /// `ed25519-compact`'s tests use).
    fn small_order_points() -> [Ext; 8] {
        let t8 = decode(&hex(
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        ))
        .unwrap();
        let mut points = [IDENTITY; 8];
        for i in 1..8 {
            points[i] = points[i - 1];
            add(&mut points[i], &cached(&t8));
        }
        points
    }

    fn small_order_encodings() -> [[u8; 32]; 8] {
        let points = small_order_points();
        let mut out = [[0u8; 32]; 8];
        for (o, p) in out.iter_mut().zip(points.iter()) {
            *o = encode(p);
        }
        out
    }

    /// Encodings at the edges of decoding: y = p + j (non-canonical) with either sign, y = ±1
    /// and y = 0 with the sign bit set (x = 0, or order 4), all ones.
    fn edge_encodings() -> [[u8; 32]; 43] {
        let mut out = [[0xffu8; 32]; 43];
        for j in 0..19u8 {
            for sign in 0..2 {
                let e = &mut out[2 * j as usize + sign];
                e[0] = 0xed + j;
                e[31] = 0x7f | ((sign as u8) << 7);
            }
        }
        let mut one = [0u8; 32];
        one[0] = 1;
        one[31] = 0x80;
        out[38] = one;
        out[39] = hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
        out[40] = [0; 32];
        out[41] = [0; 32];
        out[41][31] = 0x80;
        // out[42]: all ones (y = 2^255 - 1, sign set)
        out
    }

    #[test]
    fn constants() {
        let one = Fe::ONE;
        // d = -121665/121666
        let lhs = fadd(&fmul(&D, &fe_small(121666)), &fe_small(121665));
        assert!(fe_is_zero(&lhs));
        assert!(fe_eq(&D2, &fadd(&D, &D)));
        // sqrt(-1)^2 = -1
        assert!(fe_eq(&fsq(&SQRT_M1), &fneg(&one)));
        // 2p ≡ 0, p - 2 + 2 ≡ 0 (as the exponent's words)
        assert!(fe_is_zero(&Fe(TWO_P)));
        assert!(fe_is_zero(&fadd(
            &Fe::from_words(&le_words(&P_MINUS_2)),
            &fe_small(2)
        )));
        // 8·((p - 5)/8) + 5 = p
        let e = le_words(&P_MINUS_5_DIV_8);
        let p8 = [
            e[0] << 3,
            (e[1] << 3) | (e[0] >> 61),
            (e[2] << 3) | (e[1] >> 61),
        ];
        assert_eq!(p8, [u64::MAX - 23, u64::MAX, u64::MAX]);
        assert_eq!((e[3] << 3) | (e[2] >> 61), u64::MAX >> 1);
        // L = 2^252 + 27742317777372353535851937790883648493
        assert_eq!(L[3], 1 << 60);
        assert_eq!(L[2], 0);
        assert_eq!(
            (u128::from(L[1]) << 64) | u128::from(L[0]),
            27742317777372353535851937790883648493
        );
        // B: y = 4/5, x even, on the curve -x^2 + y^2 = 1 + d x^2 y^2, T = xy, encoding 5866..66
        assert!(fe_eq(&fmul(&B.y, &fe_small(5)), &fe_small(4)));
        assert!(!fe_is_negative(&B.x));
        let (xx, yy) = (fsq(&B.x), fsq(&B.y));
        let left = fsub(&yy, &xx);
        let right = fadd(&one, &fmul(&D, &fmul(&xx, &yy)));
        assert!(fe_eq(&left, &right));
        assert!(fe_eq(&B.t, &fmul(&B.x, &B.y)));
        let mut b_enc = [0x66u8; 32];
        b_enc[0] = 0x58;
        assert_eq!(encode(&B), b_enc);
        let c = cached(&B);
        assert!(fe_eq(&c.y_plus_x, &B_CACHED.y_plus_x));
        assert!(fe_eq(&c.y_minus_x, &B_CACHED.y_minus_x));
        assert!(fe_eq(&c.z, &B_CACHED.z));
        assert!(fe_eq(&c.t2d, &B_CACHED.t2d));
        // [L]B = 0, [L - 1]B = -B, [1]B = B
        assert!(is_identity(&mul_base(&scalar_bytes(&L))));
        let mut l_minus_1 = scalar_bytes(&L);
        l_minus_1[0] -= 1;
        let mut minus_b = encode(&B);
        minus_b[31] ^= 0x80;
        assert_eq!(encode(&mul_base(&l_minus_1)), minus_b);
        assert_eq!(encode(&mul_base(&scalar_bytes(&[1, 0, 0, 0]))), b_enc);
        // decoding gives back B
        let d = decode(&b_enc).unwrap();
        assert!(fe_eq(&d.x, &B.x) && fe_eq(&d.y, &B.y) && fe_eq(&d.t, &B.t));
    }

    #[test]
    fn field_edge_values() {
        // p - 1 squared is 1; the top limb values of a sum of two p - 1 carry correctly.
        let p_minus_1 = Fe::from_words(&[u64::MAX - 19, u64::MAX, u64::MAX, u64::MAX >> 1]);
        assert!(fe_eq(&fsq(&p_minus_1), &Fe::ONE));
        assert!(fe_eq(&fadd(&p_minus_1, &Fe::ONE), &Fe::ZERO));
        assert_eq!(
            canonical(&fadd(&p_minus_1, &p_minus_1)),
            canonical(&fneg(&fe_small(2)))
        );
        // values in [p, 2^255) are reduced
        let p_plus_5 = Fe::from_words(&[u64::MAX - 13, u64::MAX, u64::MAX, u64::MAX >> 1]);
        assert_eq!(canonical(&p_plus_5), [5, 0, 0, 0, 0]);
        let top = Fe::from_words(&[u64::MAX; 4]); // 2^255 - 1 = p + 18
        assert_eq!(canonical(&top), [18, 0, 0, 0, 0]);
        assert_eq!(canonical(&fmul(&top, &top)), [324, 0, 0, 0, 0]);
    }

    #[test]
    fn scalar_reduction() {
        assert_eq!(reduce_wide(&[0xff; 64]), {
            // (2^512 - 1) mod L, from Python
            let b: [u8; 32] =
                hex("0399411b7c309a3dceec73d217f5be65d00e1ba768859347a40611e3449c0f00");
            let mut rev = b;
            rev.reverse();
            rev
        });
        let mut l_bytes = [0u8; 64];
        l_bytes[..32].copy_from_slice(&scalar_bytes(&L));
        assert_eq!(reduce_wide(&l_bytes), [0; 32]);
        l_bytes[0] += 5;
        assert_eq!(reduce_wide(&l_bytes), scalar_bytes(&[5, 0, 0, 0]));
        assert!(below_l(&[0; 4]));
        assert!(!below_l(&L));
        let mut l_minus_1 = L;
        l_minus_1[0] -= 1;
        assert!(below_l(&l_minus_1));
        assert!(!below_l(&[u64::MAX; 4]));
    }

    /// RFC 8032, section 7.1: TEST 1, 2, 3 and SHA(abc).
    const RFC_8032: [(&str, &str, &str, &str); 4] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
             18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
        (
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589\
             09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ),
    ];

    #[test]
    fn rfc_8032_vectors() {
        for (seed, pk, msg_hex, sig) in RFC_8032 {
            let (seed, pk, sig) = (hex::<32>(seed), hex::<32>(pk), hex::<64>(sig));
            let mut buf = [0u8; 64];
            let msg = &mut buf[..msg_hex.len() / 2];
            hex_into(msg_hex, msg);
            // the vector is what ed25519-compact computes from the seed
            let kp = KeyPair::from_seed(Seed::new(seed));
            assert_eq!(*kp.pk, pk);
            assert_eq!(*kp.sk.sign(&*msg, None), sig);
            assert!(key_is_valid(&pk));
            assert_eq!(both(&pk, msg, &sig), Ok(()));
            let mut other = sig;
            other[40] ^= 0x10;
            assert_eq!(both(&pk, msg, &other), Err(VerifyError::Mismatch));
            let mut longer = [0u8; 65];
            longer[..msg.len()].copy_from_slice(msg);
            assert_eq!(
                both(&pk, &longer[..msg.len() + 1], &sig),
                Err(VerifyError::Mismatch)
            );
        }
    }

    /// S + L (as a 256-bit number): the same scalar mod L, but not canonical.
    fn s_plus_l(sig: &mut [u8; 64]) {
        let mut carry = 0u16;
        for (b, l) in sig[32..].iter_mut().zip(scalar_bytes(&L)) {
            let t = u16::from(*b) + u16::from(l) + carry;
            *b = t as u8;
            carry = t >> 8;
        }
        assert_eq!(carry, 0);
    }

    fn with_r(sig: &[u8; 64], r: &[u8; 32]) -> [u8; 64] {
        let mut out = *sig;
        out[..32].copy_from_slice(r);
        out
    }

    #[test]
    fn agrees_with_ed25519_compact() {
        let mut rng = Rng(0x5eed_0001);
        let small = small_order_encodings();
        let edges = edge_encodings();
        let mut verdicts = [0usize; 6]; // Ok, then each error
        let mut count = |v: Result<(), VerifyError>| {
            verdicts[match v {
                Ok(()) => 0,
                Err(VerifyError::NonCanonicalS) => 1,
                Err(VerifyError::InvalidPublicKey) => 2,
                Err(VerifyError::WeakPublicKey) => 3,
                Err(VerifyError::InvalidR) => 4,
                Err(VerifyError::Mismatch) => 5,
            }] += 1;
        };
        for _ in 0..2000 {
            let kp = KeyPair::from_seed(Seed::new(rng.bytes()));
            let pk: [u8; 32] = *kp.pk;
            let mut buf: [u8; 300] = rng.bytes();
            let msg = &mut buf[..rng.below(300)];
            let sig: [u8; 64] = *kp.sk.sign(&*msg, None);
            assert_eq!(both(&pk, msg, &sig), Ok(()));
            count(Ok(()));

            let mut bad = sig;
            bad[rng.below(64)] ^= 1 << rng.below(8);
            count(both(&pk, msg, &bad));
            if !msg.is_empty() {
                let i = rng.below(msg.len());
                let flip = 1 << rng.below(8);
                msg[i] ^= flip;
                count(both(&pk, msg, &sig));
                msg[i] ^= flip;
            }
            let mut bad_pk = pk;
            bad_pk[rng.below(32)] ^= 1 << rng.below(8);
            count(both(&bad_pk, msg, &sig));

            let mut high = sig;
            s_plus_l(&mut high);
            assert_eq!(both(&pk, msg, &high), Err(VerifyError::NonCanonicalS));
            count(Err(VerifyError::NonCanonicalS));

            for enc in small.iter() {
                count(both(&pk, msg, &with_r(&sig, enc)));
                count(both(enc, msg, &sig));
            }
            let edge = &edges[rng.below(edges.len())];
            count(both(&pk, msg, &with_r(&sig, edge)));
            count(both(edge, msg, &sig));
            let random: [u8; 32] = rng.bytes();
            count(both(&pk, msg, &with_r(&sig, &random)));
            count(both(&random, msg, &sig));
        }
        // every outcome was met
        assert!(verdicts.iter().all(|&n| n > 0), "{verdicts:?}");
    }

    #[test]
    fn edge_encodings_agree() {
        let kp = KeyPair::from_seed(Seed::new([7; 32]));
        let msg = b"edges";
        let sig = *kp.sk.sign(msg, None);
        for enc in edge_encodings()
            .iter()
            .chain(small_order_encodings().iter())
        {
            let as_key = both(enc, msg, &sig);
            assert!(matches!(
                as_key,
                Err(VerifyError::InvalidPublicKey | VerifyError::WeakPublicKey)
            ));
            assert_eq!(
                both(&kp.pk, msg, &with_r(&sig, enc)),
                Err(VerifyError::InvalidR)
            );
        }
    }

    /// Signatures made with our own arithmetic where A and R have a small-order component:
    /// R' - R is then a small-order point, not 0, and `ed25519-compact` accepts them (it
    /// checks that R' - R has small order). So must we.
    #[test]
    fn torsion_components_agree() {
        let mut rng = Rng(0x5eed_0002);
        let torsion = small_order_points();
        let mut accepted = 0;
        for _ in 0..300 {
            let a = random_scalar(&mut rng);
            let r = random_scalar(&mut rng);
            let (ta, tr) = (&torsion[rng.below(8)], &torsion[rng.below(8)]);
            let mut big_a = mul_base(&a);
            add(&mut big_a, &cached(ta));
            let mut big_r = mul_base(&r);
            add(&mut big_r, &cached(tr));
            let (pk, r_enc) = (encode(&big_a), encode(&big_r));
            let msg: [u8; 40] = rng.bytes();
            let mut h = ed25519_compact::sha512::Hash::new();
            h.update(r_enc);
            h.update(pk);
            h.update(msg);
            let k = reduce_wide(&h.finalize());
            let s = sc_muladd(&k, &a, &r);
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_enc);
            sig[32..].copy_from_slice(&s);
            assert_eq!(both(&pk, &msg, &sig), Ok(()));
            accepted += 1;
            // the same with S + L is refused by both
            s_plus_l(&mut sig);
            assert_eq!(both(&pk, &msg, &sig), Err(VerifyError::NonCanonicalS));
        }
        assert_eq!(accepted, 300);
    }

    #[test]
    fn small_order_points_are_the_eight() {
        let small = small_order_encodings();
        for (i, enc) in small.iter().enumerate() {
            assert!(small[..i].iter().all(|e| e != enc), "distinct");
            assert_eq!(
                PublicKey::new(*enc).validate(),
                Err(Error::WeakPublicKey),
                "{enc:02x?}"
            );
            assert!(!key_is_valid(enc));
        }
        // [8]T = 0 and T8 has order exactly 8
        let points = small_order_points();
        assert!(is_identity(&points[0]));
        assert!(points[1..].iter().all(|p| !is_identity(p)));
        assert!(is_identity(&mul(&scalar_bytes(&[8, 0, 0, 0]), &points[1])));
    }

    #[test]
    fn key_is_valid_agrees() {
        let mut rng = Rng(0x5eed_0003);
        let reference = |k: &[u8; 32]| PublicKey::new(*k).validate().is_ok();
        let mut valid = 0;
        for _ in 0..3000 {
            let random: [u8; 32] = rng.bytes();
            assert_eq!(key_is_valid(&random), reference(&random), "{random:02x?}");
            valid += usize::from(key_is_valid(&random));
            let real: [u8; 32] = *KeyPair::from_seed(Seed::new(rng.bytes())).pk;
            assert!(key_is_valid(&real) && reference(&real));
            // a real key plus a small-order point is still a valid key
            let t = &small_order_points()[1 + rng.below(7)];
            let mut mixed = decode(&real).unwrap();
            add(&mut mixed, &cached(t));
            let mixed = encode(&mixed);
            assert!(key_is_valid(&mixed) && reference(&mixed));
        }
        // about half of all 32-byte strings are valid keys
        assert!((1200..1800).contains(&valid), "{valid}");
        for k in edge_encodings()
            .iter()
            .chain(small_order_encodings().iter())
        {
            assert_eq!(key_is_valid(k), reference(k), "{k:02x?}");
            assert!(!key_is_valid(k));
        }
    }

    #[test]
    fn parts_are_one_message() {
        let kp = KeyPair::from_seed(Seed::new([42; 32]));
        let msg = *b"a blob of 32 bytes, then key_id!";
        let sig: [u8; 64] = *kp.sk.sign(msg, None);
        let pk: [u8; 32] = *kp.pk;
        assert_eq!(verify(&pk, &msg, &sig), Ok(()));
        for i in 0..=msg.len() {
            let (a, b) = msg.split_at(i);
            assert_eq!(verify_parts(&pk, &[a, b], &sig), Ok(()));
            for j in i..=msg.len() {
                let (b, c) = msg[i..].split_at(j - i);
                assert_eq!(verify_parts(&pk, &[a, b, c], &sig), Ok(()));
            }
            // a part missing is another message
            assert_eq!(verify_parts(&pk, &[a], &sig).is_ok(), i == msg.len());
        }
        assert_eq!(
            verify_parts(&pk, &[&msg, b"x"], &sig),
            Err(VerifyError::Mismatch)
        );
        // the empty message as no parts at all
        let empty: [u8; 64] = *kp.sk.sign(b"", None);
        assert_eq!(verify_parts(&pk, &[], &empty), Ok(()));
        assert_eq!(verify(&pk, b"", &empty), Ok(()));
    }
}
