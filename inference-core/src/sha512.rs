//! SHA-512 (FIPS 180-4), lean on stack: the hash of Ed25519 ([`crate::ed25519`]) and of key
//! ids ([`crate::signature::key_id`]).
//!
//! The whole state is 200 bytes (the eight chaining words, one 128-byte block and the byte
//! count) and is never copied: bytes are written straight into the block, held as sixteen
//! big-endian words; the block is compressed in place, serving as the 16-word rolling window
//! of the message schedule (so the compression function keeps no schedule of its own on the
//! stack); and the padding is written into the same block. No allocation, no table but the
//! 80 round constants, no panic on any input.

/// The round constants K (FIPS 180-4, section 4.2.3).
const K: [u64; 80] = [
    0x428a_2f98_d728_ae22,
    0x7137_4491_23ef_65cd,
    0xb5c0_fbcf_ec4d_3b2f,
    0xe9b5_dba5_8189_dbbc,
    0x3956_c25b_f348_b538,
    0x59f1_11f1_b605_d019,
    0x923f_82a4_af19_4f9b,
    0xab1c_5ed5_da6d_8118,
    0xd807_aa98_a303_0242,
    0x1283_5b01_4570_6fbe,
    0x2431_85be_4ee4_b28c,
    0x550c_7dc3_d5ff_b4e2,
    0x72be_5d74_f27b_896f,
    0x80de_b1fe_3b16_96b1,
    0x9bdc_06a7_25c7_1235,
    0xc19b_f174_cf69_2694,
    0xe49b_69c1_9ef1_4ad2,
    0xefbe_4786_384f_25e3,
    0x0fc1_9dc6_8b8c_d5b5,
    0x240c_a1cc_77ac_9c65,
    0x2de9_2c6f_592b_0275,
    0x4a74_84aa_6ea6_e483,
    0x5cb0_a9dc_bd41_fbd4,
    0x76f9_88da_8311_53b5,
    0x983e_5152_ee66_dfab,
    0xa831_c66d_2db4_3210,
    0xb003_27c8_98fb_213f,
    0xbf59_7fc7_beef_0ee4,
    0xc6e0_0bf3_3da8_8fc2,
    0xd5a7_9147_930a_a725,
    0x06ca_6351_e003_826f,
    0x1429_2967_0a0e_6e70,
    0x27b7_0a85_46d2_2ffc,
    0x2e1b_2138_5c26_c926,
    0x4d2c_6dfc_5ac4_2aed,
    0x5338_0d13_9d95_b3df,
    0x650a_7354_8baf_63de,
    0x766a_0abb_3c77_b2a8,
    0x81c2_c92e_47ed_aee6,
    0x9272_2c85_1482_353b,
    0xa2bf_e8a1_4cf1_0364,
    0xa81a_664b_bc42_3001,
    0xc24b_8b70_d0f8_9791,
    0xc76c_51a3_0654_be30,
    0xd192_e819_d6ef_5218,
    0xd699_0624_5565_a910,
    0xf40e_3585_5771_202a,
    0x106a_a070_32bb_d1b8,
    0x19a4_c116_b8d2_d0c8,
    0x1e37_6c08_5141_ab53,
    0x2748_774c_df8e_eb99,
    0x34b0_bcb5_e19b_48a8,
    0x391c_0cb3_c5c9_5a63,
    0x4ed8_aa4a_e341_8acb,
    0x5b9c_ca4f_7763_e373,
    0x682e_6ff3_d6b2_b8a3,
    0x748f_82ee_5def_b2fc,
    0x78a5_636f_4317_2f60,
    0x84c8_7814_a1f0_ab72,
    0x8cc7_0208_1a64_39ec,
    0x90be_fffa_2363_1e28,
    0xa450_6ceb_de82_bde9,
    0xbef9_a3f7_b2c6_7915,
    0xc671_78f2_e372_532b,
    0xca27_3ece_ea26_619c,
    0xd186_b8c7_21c0_c207,
    0xeada_7dd6_cde0_eb1e,
    0xf57d_4f7f_ee6e_d178,
    0x06f0_67aa_7217_6fba,
    0x0a63_7dc5_a2c8_98a6,
    0x113f_9804_bef9_0dae,
    0x1b71_0b35_131c_471b,
    0x28db_77f5_2304_7d84,
    0x32ca_ab7b_40c7_2493,
    0x3c9e_be0a_15c9_bebc,
    0x431d_67c4_9c10_0d4c,
    0x4cc5_d4be_cb3e_42b6,
    0x597f_299c_fc65_7e2a,
    0x5fcb_6fab_3ad6_faec,
    0x6c44_198c_4a47_5817,
];

/// The initial hash value H(0) (FIPS 180-4, section 5.3.5).
const H0: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// Bytes of a block.
const BLOCK: usize = 128;

/// An incremental SHA-512 computation: [`new`](Sha512::new), any number of
/// [`update`](Sha512::update)s, then [`finalize`](Sha512::finalize) (after which the hasher
/// starts a new message).
///
/// Deliberately not `Copy`, so that it is never copied by accident.
#[derive(Clone, Debug)]
pub struct Sha512 {
    /// The chaining value H.
    h: [u64; 8],
    /// The block being filled, as big-endian words. The bytes not yet written are 0.
    block: [u64; 16],
    /// Bytes hashed so far (mod 2^64); `len % 128` of them are in `block`.
    len: u64,
}

impl Default for Sha512 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha512 {
    /// The state before any byte is hashed.
    pub const fn new() -> Self {
        Sha512 {
            h: H0,
            block: [0; 16],
            len: 0,
        }
    }

    /// Bytes waiting in the block (0..128).
    fn filled(&self) -> usize {
        (self.len % BLOCK as u64) as usize
    }

    /// Writes byte `b` at position `i` (< 128) of the block, whose byte there is 0.
    fn put(&mut self, i: usize, b: u8) {
        if let Some(w) = self.block.get_mut(i / 8) {
            *w |= u64::from(b) << (8 * (7 - i % 8));
        }
    }

    /// Compresses the block into the chaining value and empties it.
    fn compress_block(&mut self) {
        compress(&mut self.h, &mut self.block);
        self.block = [0; 16];
    }

    /// Hashes `data` after the bytes given so far.
    pub fn update(&mut self, data: &[u8]) {
        let mut filled = self.filled();
        self.len = self.len.wrapping_add(data.len() as u64);
        let mut data = data;
        // complete the block started earlier, if any
        if filled != 0 {
            let (head, rest) = data
                .split_at_checked(data.len().min(BLOCK - filled))
                .unwrap_or((data, &[]));
            for &b in head {
                self.put(filled, b);
                filled += 1;
            }
            if filled < BLOCK {
                return;
            }
            self.compress_block();
            data = rest;
        }
        // whole blocks straight from `data`
        let (blocks, tail) = data.as_chunks::<BLOCK>();
        for block in blocks {
            let (words, _) = block.as_chunks::<8>();
            for (w, bytes) in self.block.iter_mut().zip(words) {
                *w = u64::from_be_bytes(*bytes);
            }
            self.compress_block();
        }
        // the rest waits in the (empty) block
        for (i, &b) in tail.iter().enumerate() {
            self.put(i, b);
        }
    }

    /// Pads the message in the block (compressing once more if the length does not fit) and
    /// compresses the last block.
    fn pad(&mut self) {
        let filled = self.filled();
        self.put(filled, 0x80);
        if filled >= BLOCK - 16 {
            self.compress_block();
        }
        let bits = u128::from(self.len) << 3;
        self.block[14] = (bits >> 64) as u64;
        self.block[15] = bits as u64;
        compress(&mut self.h, &mut self.block);
    }

    /// The hash of all the bytes given to [`update`](Sha512::update) since [`new`](Sha512::new)
    /// (or the previous `finalize`), leaving the hasher as [`new`](Sha512::new) makes it.
    ///
    /// Takes `&mut self` rather than `self`: the message is padded in the caller's own state,
    /// which a by-value `self` would have the caller copy first (200 bytes more stack).
    pub fn finalize(&mut self) -> [u8; 64] {
        self.pad();
        let mut out = [0u8; 64];
        let (chunks, _) = out.as_chunks_mut::<8>();
        for (o, h) in chunks.iter_mut().zip(self.h) {
            *o = h.to_be_bytes();
        }
        *self = Self::new();
        out
    }
}

/// SHA-512 of `data` in one call.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(data);
    h.finalize()
}

/// Σ0 (FIPS 180-4, 4.1.3).
fn big_sigma0(x: u64) -> u64 {
    x.rotate_right(28) ^ x.rotate_right(34) ^ x.rotate_right(39)
}

/// Σ1.
fn big_sigma1(x: u64) -> u64 {
    x.rotate_right(14) ^ x.rotate_right(18) ^ x.rotate_right(41)
}

/// σ0.
fn small_sigma0(x: u64) -> u64 {
    x.rotate_right(1) ^ x.rotate_right(8) ^ (x >> 7)
}

/// σ1.
fn small_sigma1(x: u64) -> u64 {
    x.rotate_right(19) ^ x.rotate_right(61) ^ (x >> 6)
}

/// The compression function on block `w` (big-endian words), which is overwritten: it is the
/// message schedule's rolling window, W\[t\] living in `w[t % 16]`.
#[inline(never)]
fn compress(h: &mut [u64; 8], w: &mut [u64; 16]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for (t, &k) in K.iter().enumerate() {
        let i = t % 16;
        if t >= 16 {
            let s = small_sigma1(w[(t + 14) % 16])
                .wrapping_add(w[(t + 9) % 16])
                .wrapping_add(small_sigma0(w[(t + 1) % 16]));
            w[i] = w[i].wrapping_add(s);
        }
        let t1 = hh
            .wrapping_add(big_sigma1(e))
            .wrapping_add((e & f) ^ (!e & g))
            .wrapping_add(k)
            .wrapping_add(w[i]);
        let t2 = big_sigma0(a).wrapping_add((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *x = x.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 64] {
        let s = s.as_bytes();
        assert_eq!(s.len(), 128);
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not hex"),
        };
        let mut out = [0u8; 64];
        for (b, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            *b = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        out
    }

    use crate::test_rng::Rng;

    fn reference(data: &[u8]) -> [u8; 64] {
        ed25519_compact::sha512::Hash::hash(data)
    }

    /// FIPS 180-4 examples (NIST CSRC "SHA512.pdf", "SHA512ShortMsg"/"LongMsg" values).
    #[test]
    fn nist_vectors() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"abc",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                b"",
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            ),
            (
                b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno\
                  ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
                 501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(sha512(msg), hex(want), "{msg:?}");
            // byte by byte
            let mut h = Sha512::default();
            for b in msg.chunks(1) {
                h.update(b);
            }
            assert_eq!(h.finalize(), hex(want), "{msg:?}");
            // finalize leaves a fresh hasher
            h.update(msg);
            assert_eq!(h.finalize(), hex(want), "{msg:?}");
        }
        assert_eq!(cases[2].0.len(), 112); // 896 bits: the padding takes a second block
    }

    #[test]
    fn one_million_a() {
        let want = hex(
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
             de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
        );
        let chunk = [b'a'; 1000];
        let mut h = Sha512::new();
        for _ in 0..1000 {
            h.update(&chunk);
        }
        assert_eq!(h.finalize(), want);
        // in uneven pieces: partial blocks completed, whole blocks and tails
        let mut h = Sha512::new();
        let mut left = 1_000_000usize;
        let mut rng = Rng(0x5ba_0001);
        while left > 0 {
            let n = (1 + rng.below(1000)).min(left);
            h.update(&chunk[..n]);
            left -= n;
        }
        assert_eq!(h.finalize(), want);
    }

    /// Every length 0..=300 (every fill of the last block, padding in one or two blocks,
    /// one to three blocks), random content, fed whole and in random pieces.
    #[test]
    fn agrees_with_ed25519_compact() {
        let mut rng = Rng(0x5ba_0002);
        let mut buf = [0u8; 300];
        for len in 0..=300 {
            let data = &mut buf[..len];
            for b in data.iter_mut() {
                *b = rng.next() as u8;
            }
            let want = reference(data);
            assert_eq!(sha512(data), want, "len {len}");
            for _ in 0..8 {
                let mut h = Sha512::new();
                let mut rest: &[u8] = data;
                while !rest.is_empty() {
                    // pieces of 0..=len bytes, often small, sometimes over a block
                    let n = match rng.below(4) {
                        0 => rng.below(rest.len() + 1),
                        1 => rng.below(9),
                        2 => rng.below(BLOCK + 2),
                        _ => rng.below(2 * BLOCK + 2),
                    }
                    .min(rest.len());
                    let (piece, r) = rest.split_at(n);
                    h.update(piece);
                    rest = r;
                }
                h.update(&[]);
                assert_eq!(h.finalize(), want, "len {len}");
            }
        }
    }
}
