//! Blob loading must never panic, under every policy; an accepted blob must then run on any
//! features without panicking (the loader's contract: check once, then prediction is total).
//!
//! Random mutations almost never keep a valid CRC-32, which would stop every input at the
//! envelope check; so each input is also loaded with its CRC fixed (reaching the section
//! decoder and the shape checks), and, when it ends in a `SIG2` or `SIG1` trailer, with the
//! CRC of the signed part fixed (reaching signature verification). Revocation lists share the
//! envelope: every input is parsed as one too.
#![no_main]

use inference_core::crc::crc32;
use inference_core::signature::{
    Policy, Revocation, SIG2_MAGIC, SIG_MAGIC, TRAILER2_LEN, TRAILER_LEN,
};
use inference_core::{LoadError, Model};
use libfuzzer_sys::fuzz_target;

/// Public key of the fixed test seed `[0x5A; 32]`, the key `.ci/fuzz.sh` signs seed blobs with.
fn test_key() -> [u8; 32] {
    use std::sync::OnceLock;
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    *KEY.get_or_init(|| {
        *ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([0x5A; 32])).pk
    })
}

fn fix_crc(b: &mut [u8]) {
    if b.len() >= 4 {
        let n = b.len() - 4;
        let c = crc32(&b[..n]);
        b[n..].copy_from_slice(&c.to_le_bytes());
    }
}

fn exercise(data: &[u8]) {
    if let Ok(m) = Model::from_blob(data) {
        let feats: Vec<i32> = data
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                i32::from_le_bytes(b)
            })
            .collect();
        let mut out = [0i32; 64];
        m.infer(&feats, &mut out);
        m.infer(&[], &mut out);
        m.infer(&[i32::MIN; 64], &mut out);
        m.infer(&[i32::MAX; 64], &mut out);
        // Same bytes, same verdict; only the schema may differ from the kind's.
        let kind = m.kind();
        match Model::load(data, Some(kind), &Policy::OPEN) {
            Ok(_) | Err(LoadError::SchemaMismatch { .. }) => {}
            Err(e) => panic!("from_blob accepted, load of its own kind refused: {e}"),
        }
    }
    let key = test_key();
    if let Ok(r) = Revocation::parse(data) {
        let ids: Vec<u64> = r.ids().collect();
        assert!(ids.len() <= inference_core::signature::MAX_REVOKED);
        assert!(ids.iter().all(|&i| r.revokes(i)));
        let _ = r.verify(&key);
    }
    for p in [
        Policy::require(key),
        Policy::prefer(key).with_min_version(2),
    ] {
        if let Ok(m) = Model::load(data, None, &p) {
            assert!(m.signature_verified() || p.accept_unsigned);
            assert!(m.version() >= p.min_version);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    let mut fixed = data.to_vec();
    fix_crc(&mut fixed);
    exercise(&fixed);
    let n = data.len();
    for (len, magic) in [(TRAILER2_LEN, SIG2_MAGIC), (TRAILER_LEN, SIG_MAGIC)] {
        if n >= len + 10 && data[n - len..n - len + 4] == magic {
            let mut signed = data.to_vec();
            fix_crc(&mut signed[..n - len]);
            exercise(&signed);
        }
    }
});
