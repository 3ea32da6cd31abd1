//! Signed blobs: the policy, every refusal typed, and every corruption of a signed built-in
//! blob refused (truncations, bit flips, bytes set to 0x00/0xFF).

use ed25519_compact::{KeyPair, Seed};
use inference_core::blob::LoadError;
use inference_core::signature::{self, Policy, SIG_MAGIC, TRAILER_LEN};
use inference_core::{defaults, Model, ModelKind, Predictor, WorkloadPredictor};

fn keypair(seed: u8) -> KeyPair {
    KeyPair::from_seed(Seed::new([seed; 32]))
}

fn sign(blob: &[u8], kp: &KeyPair) -> Vec<u8> {
    let sig = kp.sk.sign(blob, None);
    let mut out = blob.to_vec();
    out.extend_from_slice(&SIG_MAGIC);
    out.extend_from_slice(&sig[..]);
    out
}

fn recrc(b: &mut [u8]) {
    let n = b.len() - 4;
    let c = inference_core::crc::crc32(&b[..n]);
    b[n..].copy_from_slice(&c.to_le_bytes());
}

fn load<'a>(b: &'a [u8], kind: ModelKind, p: &Policy) -> Result<Model<'a>, LoadError> {
    Model::load(b, Some(kind), p)
}

#[test]
fn signed_blobs_load_under_every_policy_that_accepts_them() {
    let kp = keypair(7);
    let key = *kp.pk;
    assert!(signature::key_is_valid(&key));
    for kind in ModelKind::ALL {
        let plain = defaults::blob(kind);
        let signed = sign(plain, &kp);
        assert_eq!(signed.len(), plain.len() + TRAILER_LEN);
        let env = signature::split(&signed);
        assert_eq!(env.blob, plain);
        assert!(env.signature.is_some());
        assert!(signature::split(plain).signature.is_none());

        let m = load(&signed, kind, &Policy::require(key)).unwrap();
        assert!(m.signature_verified());
        assert_eq!(m.blob_len(), signed.len());
        assert!(load(&signed, kind, &Policy::prefer(key))
            .unwrap()
            .signature_verified());
        // Without a key the signature is not checked, and the model is the same.
        let open = Model::from_blob(&signed).unwrap();
        assert!(!open.signature_verified());
        assert_eq!(open.version(), m.version());
        assert_eq!(open.macs(), m.macs());
    }
}

#[test]
fn each_refusal_has_its_typed_error_and_message() {
    let kp = keypair(7);
    let other = keypair(8);
    let kind = ModelKind::Threat;
    let plain = defaults::blob(kind);
    let signed = sign(plain, &kp);
    let key = *kp.pk;

    // unsigned under a key that requires signatures; accepted under `prefer`
    let e = load(plain, kind, &Policy::require(key)).unwrap_err();
    assert_eq!(e, LoadError::Unsigned);
    assert!(e.to_string().contains("not signed"), "{e}");
    assert!(!load(plain, kind, &Policy::prefer(key))
        .unwrap()
        .signature_verified());

    // signed by another key: refused even when unsigned blobs are accepted
    let wrong = sign(plain, &other);
    for p in [Policy::require(key), Policy::prefer(key)] {
        let e = load(&wrong, kind, &p).unwrap_err();
        assert_eq!(e, LoadError::BadSignature);
        assert!(e.to_string().contains("signature"), "{e}");
    }

    // tampered after signing, CRC recomputed so only the signature can catch it
    let mut tampered = signed.clone();
    let n = plain.len();
    tampered[n / 2] ^= 0x01;
    recrc(&mut tampered[..n]);
    assert_eq!(
        signature::split(&tampered).blob.len(),
        n,
        "still a signed envelope"
    );
    assert_eq!(
        load(&tampered, kind, &Policy::require(key)).unwrap_err(),
        LoadError::BadSignature
    );

    // policy that requires signatures but has no key: the closed policy, which is the
    // default, so a loader nobody configured trusts nothing
    let nokey = Policy {
        key: None,
        accept_unsigned: false,
        min_version: 0,
    };
    assert_eq!(nokey, Policy::CLOSED);
    for b in [plain, &signed[..]] {
        let e = load(b, kind, &nokey).unwrap_err();
        assert_eq!(e, LoadError::NoKey);
        assert!(e.to_string().contains("no public key"), "{e}");
        assert_eq!(
            load(b, kind, &Policy::default()).unwrap_err(),
            LoadError::NoKey
        );
    }

    // anti-rollback: the version floor refuses older models, typed with both versions
    let v = Model::from_blob(plain).unwrap().version();
    let floor = Policy::require(key).with_min_version(v + 1);
    let e = load(&signed, kind, &floor).unwrap_err();
    assert_eq!(
        e,
        LoadError::Rollback {
            held: v + 1,
            offered: v
        }
    );
    assert!(e.to_string().contains("rollback"), "{e}");
    assert!(load(&signed, kind, &Policy::require(key).with_min_version(v)).is_ok());
    assert_eq!(
        signature::check_rollback(5, 4, false),
        Err(LoadError::Rollback {
            held: 5,
            offered: 4
        })
    );
    assert!(signature::check_rollback(5, 4, true).is_ok());
    assert!(signature::check_rollback(5, 5, false).is_ok());

    // a key that is not a curve point is recognised as unusable
    assert!(!signature::key_is_valid(&[0xFF; 32]));
    assert_eq!(
        load(&signed, kind, &Policy::require([0xFF; 32])).unwrap_err(),
        LoadError::BadSignature
    );
}

#[test]
fn predictors_fall_back_to_the_builtin_model_when_the_policy_refuses() {
    let kp = keypair(7);
    let plain = defaults::blob(ModelKind::Workload);
    let signed = sign(plain, &kp);
    let p = WorkloadPredictor::load(Some(plain), &Policy::require(*kp.pk));
    match p.source() {
        inference_core::ModelSource::Default {
            refused: Some(LoadError::Unsigned),
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    let p = WorkloadPredictor::load(Some(&signed), &Policy::require(*kp.pk));
    assert!(matches!(
        p.source(),
        inference_core::ModelSource::Loaded { .. }
    ));
}

/// The errors a corrupted signed blob may be refused with; anything else would be a bug.
fn corruption_error(e: &LoadError) -> bool {
    matches!(
        e,
        LoadError::TooShort { .. }
            | LoadError::BadMagic { .. }
            | LoadError::UnsupportedVersion { .. }
            | LoadError::CrcMismatch { .. }
            | LoadError::BadSignature
            | LoadError::Unsigned
    )
}

#[test]
fn every_truncation_of_a_signed_blob_is_refused() {
    let kp = keypair(3);
    let policy = Policy::require(*kp.pk);
    for kind in ModelKind::ALL {
        let plain = defaults::blob(kind);
        let signed = sign(plain, &kp);
        for len in 0..signed.len() {
            let cut = &signed[..len];
            let e = load(cut, kind, &policy).expect_err("truncated signed blob must be refused");
            assert!(corruption_error(&e), "{kind} len {len}: {e}");
            // With no key, the only truncation that loads is the unsigned blob itself:
            // the same bytes, the same model (harmless).
            if load(cut, kind, &Policy::OPEN).is_ok() {
                assert_eq!(cut, plain, "{kind} len {len}");
                assert_eq!(e, LoadError::Unsigned);
            }
        }
    }
}

#[test]
fn every_bit_flip_and_byte_overwrite_of_a_signed_blob_is_refused() {
    let kp = keypair(3);
    let policy = Policy::require(*kp.pk);
    for kind in ModelKind::ALL {
        let mut b = sign(defaults::blob(kind), &kp);
        let body = b.len() - TRAILER_LEN;
        for i in 0..b.len() {
            let orig = b[i];
            for bit in 0..8 {
                b[i] = orig ^ (1 << bit);
                let e = load(&b, kind, &policy).expect_err("flipped signed blob must be refused");
                let typed = match i {
                    0..=3 => matches!(e, LoadError::BadMagic { .. }),
                    4..=5 => matches!(e, LoadError::UnsupportedVersion { .. }),
                    // body, CRC and the trailer magic: no longer a signed envelope, and the
                    // whole is not a valid unsigned blob either
                    _ if i < body + 4 => matches!(e, LoadError::CrcMismatch { .. }),
                    _ => e == LoadError::BadSignature,
                };
                assert!(typed, "{kind} byte {i} bit {bit}: {e}");
            }
            for v in [0x00, 0xFF] {
                if v != orig {
                    b[i] = v;
                    let e = load(&b, kind, &policy).expect_err("overwritten blob refused");
                    assert!(corruption_error(&e), "{kind} byte {i} = {v:#x}: {e}");
                }
            }
            b[i] = orig;
        }
        assert!(load(&b, kind, &policy).is_ok());
    }
}

fn sign2(blob: &[u8], kp: &KeyPair) -> Vec<u8> {
    let sig = kp.sk.sign(blob, None);
    let mut out = blob.to_vec();
    out.extend_from_slice(&signature::SIG2_MAGIC);
    out.extend_from_slice(&signature::key_id(&kp.pk).to_le_bytes());
    out.extend_from_slice(&sig[..]);
    out
}

/// A `SIG2` trailer names its key: it verifies under that key, is refused as `WrongKey`
/// under another (before any verification), and a wrong id in the trailer cannot help.
#[test]
fn sig2_names_its_key() {
    let (k1, k2) = (keypair(1), keypair(2));
    let plain = defaults::blob(ModelKind::Threat);
    let signed = sign2(plain, &k1);
    assert_eq!(signed.len(), plain.len() + signature::TRAILER2_LEN);
    let env = signature::split(&signed);
    assert_eq!(env.key_id, Some(signature::key_id(&k1.pk)));
    assert_eq!(env.blob, plain);
    let m = load(&signed, ModelKind::Threat, &Policy::require(*k1.pk)).unwrap();
    assert!(m.signature_verified());
    assert_eq!(
        load(&signed, ModelKind::Threat, &Policy::require(*k2.pk)).unwrap_err(),
        LoadError::WrongKey {
            expected: signature::key_id(&k2.pk),
            found: signature::key_id(&k1.pk)
        }
    );
    // the id rewritten to the other key's: now the signature fails
    let mut forged = signed.clone();
    let at = plain.len() + 4;
    forged[at..at + 8].copy_from_slice(&signature::key_id(&k2.pk).to_le_bytes());
    assert_eq!(
        load(&forged, ModelKind::Threat, &Policy::require(*k2.pk)).unwrap_err(),
        LoadError::BadSignature
    );
    assert_ne!(signature::key_id(&k1.pk), signature::key_id(&k2.pk));
}

/// Revocation lists: round trip, signature, and every malformation named.
#[test]
fn revocation_lists() {
    let (revoker, other) = (keypair(3), keypair(4));
    let ids = [7u64, u64::MAX, 0x0123_4567_89ab_cdef];
    let mut buf = [0u8; 256];
    let n = signature::encode_revocation(5, &ids, &mut buf).unwrap();
    let list = sign2(&buf[..n], &revoker);
    let r = signature::Revocation::parse(&list).unwrap();
    assert_eq!(r.sequence, 5);
    assert_eq!(r.signer, signature::key_id(&revoker.pk));
    assert_eq!(r.ids().collect::<Vec<_>>(), ids);
    assert!(r.revokes(u64::MAX) && !r.revokes(8));
    assert_eq!(r.verify(&revoker.pk), Ok(()));
    assert!(matches!(
        r.verify(&other.pk),
        Err(LoadError::WrongKey { .. })
    ));
    let bad = |b: &[u8]| match signature::Revocation::parse(b) {
        Err(LoadError::BadRevocation { field }) => field,
        other => panic!("{other:?}"),
    };
    assert!(bad(&buf[..n]).starts_with("SIG2"), "unsigned");
    let mut flipped = list.clone();
    flipped[12] ^= 1;
    assert!(bad(&flipped).starts_with("SIG2"), "CRC");
    let mut sig_flipped = list.clone();
    *sig_flipped.last_mut().unwrap() ^= 1;
    let r = signature::Revocation::parse(&sig_flipped).unwrap();
    assert_eq!(r.verify(&revoker.pk), Err(LoadError::BadSignature));
    // a blob is not a revocation list, even signed
    let blob = sign2(defaults::blob(ModelKind::Workload), &revoker);
    assert!(bad(&blob).starts_with("magic"));
    assert!(signature::encode_revocation(1, &[0; 17], &mut buf).is_err());
    assert!(signature::encode_revocation(1, &ids, &mut buf[..20]).is_err());
}
