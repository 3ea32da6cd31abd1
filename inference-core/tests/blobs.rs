//! The blob loader against the built-in blobs: round trip, and every corruption refused.

use inference_core::blob::{self, BlobParts, LoadError, Section};
use inference_core::{defaults, Model, ModelKind, Policy};

#[test]
fn default_blobs_load_as_their_kind() {
    for kind in ModelKind::ALL {
        let b = defaults::blob(kind);
        let m = Model::load(b, Some(kind), &Policy::OPEN).expect("default blob loads");
        assert_eq!(m.kind(), kind);
        assert_eq!(m.n_features(), kind.n_features());
        assert_eq!(m.n_outputs(), kind.n_outputs());
        assert_eq!(m.metadata().created_unix_s, 0, "defaults are reproducible");
        assert!(b.len() <= 8 * 1024, "{kind}: {} bytes", b.len());
    }
}

/// The input-quantization records and output offsets of a parsed model, as encoded.
fn input_and_offsets(m: &Model<'_>) -> (Vec<u8>, Vec<u8>) {
    let input = (0..m.n_features())
        .flat_map(|i| {
            let (off, rq) = m.input_quant(i).unwrap();
            let mut v = off.to_le_bytes().to_vec();
            v.extend(rq.multiplier.to_le_bytes());
            v.push(rq.shift as u8);
            v
        })
        .collect();
    let offsets = (0..m.n_outputs())
        .flat_map(|o| m.output_offset(o).unwrap().to_le_bytes())
        .collect();
    (input, offsets)
}

#[test]
fn round_trip_reproduces_the_bytes() {
    for kind in ModelKind::ALL {
        let b = defaults::blob(kind);
        let m = Model::from_blob(b).unwrap();
        // Rebuild the parts from the parsed model and re-encode.
        with_parts(&m, m.monitor(), |parts| {
            let mut buf = vec![0u8; 16 * 1024];
            let n = blob::encode(parts, &mut buf).unwrap();
            assert_eq!(&buf[..n], b, "{kind}");
            // too small a buffer is an error, not a panic
            for cut in [0, 5, 10, n / 2, n - 1] {
                let mut small = vec![0u8; cut];
                assert!(blob::encode(parts, &mut small).is_err());
            }
        });
    }
}

/// Runs `f` on the parts of a parsed model, rebuilt from it, with the monitor section
/// `monitor`.
fn with_parts<R>(
    m: &Model<'_>,
    monitor: Option<blob::MonitorWire<'_>>,
    f: impl FnOnce(&BlobParts<'_>) -> R,
) -> R {
    let layers: Vec<_> = m.layers().iter().map(wire_of).collect();
    let owned: Vec<_> = layers.iter().map(|l| l.as_wire()).collect();
    let (input, offsets) = input_and_offsets(m);
    f(&BlobParts {
        header: *m.header(),
        input: blob::InputQuantWire { records: &input },
        layers: &owned,
        output: blob::OutputWire { offsets: &offsets },
        metadata: m.metadata(),
        monitor,
    })
}

struct OwnedLayer {
    n_in: u16,
    n_out: u16,
    activation: u8,
    zp: i8,
    w: Vec<u8>,
    b: Vec<u8>,
    m: Vec<u8>,
    s: Vec<u8>,
}

impl OwnedLayer {
    fn as_wire(&self) -> blob::LayerWire<'_> {
        blob::LayerWire {
            n_in: self.n_in,
            n_out: self.n_out,
            activation: self.activation,
            output_zero_point: self.zp,
            weights: &self.w,
            bias: &self.b,
            multiplier: &self.m,
            shift: &self.s,
        }
    }
}

fn wire_of(l: &inference_core::dense::DenseLayer<'_>) -> OwnedLayer {
    let (n_in, n_out) = (l.inputs(), l.outputs());
    OwnedLayer {
        n_in: n_in as u16,
        n_out: n_out as u16,
        activation: (l.activation() == inference_core::dense::Activation::Relu) as u8,
        zp: l.output_zero_point(),
        w: (0..n_out)
            .flat_map(|o| (0..n_in).map(move |i| (o, i)))
            .map(|(o, i)| l.weight(o, i).unwrap() as u8)
            .collect(),
        b: (0..n_out)
            .flat_map(|o| l.bias(o).unwrap().to_le_bytes())
            .collect(),
        m: (0..n_out)
            .flat_map(|o| l.requant(o).unwrap().multiplier.to_le_bytes())
            .collect(),
        s: (0..n_out)
            .map(|o| l.requant(o).unwrap().shift as u8)
            .collect(),
    }
}

#[test]
fn every_truncation_is_refused() {
    for kind in ModelKind::ALL {
        let b = defaults::blob(kind);
        for len in 0..b.len() {
            let e = Model::from_blob(&b[..len]).expect_err("truncated blob must be refused");
            assert!(
                matches!(
                    e,
                    LoadError::TooShort { .. } | LoadError::CrcMismatch { .. }
                ),
                "{kind} len {len}: {e}"
            );
        }
    }
}

#[test]
fn every_bit_flip_and_byte_overwrite_is_refused() {
    for kind in ModelKind::ALL {
        let mut b = defaults::blob(kind).to_vec();
        for i in 0..b.len() {
            let orig = b[i];
            for bit in 0..8 {
                b[i] = orig ^ (1 << bit);
                let e = Model::from_blob(&b).expect_err("flipped blob must be refused");
                let typed = match i {
                    0..=3 => matches!(e, LoadError::BadMagic { .. }),
                    4..=5 => matches!(e, LoadError::UnsupportedVersion { .. }),
                    _ => matches!(e, LoadError::CrcMismatch { .. }),
                };
                assert!(typed, "{kind} byte {i} bit {bit}: {e}");
            }
            for v in [0x00, 0xFF] {
                if v != orig {
                    b[i] = v;
                    assert!(Model::from_blob(&b).is_err(), "{kind} byte {i} = {v:#x}");
                }
            }
            b[i] = orig;
        }
        assert!(Model::from_blob(&b).is_ok());
    }
}

/// A blob whose CRC is recomputed after corrupting the body exercises the structural checks.
fn recrc(b: &mut [u8]) {
    let n = b.len() - 4;
    let c = inference_core::crc::crc32(&b[..n]);
    b[n..].copy_from_slice(&c.to_le_bytes());
}

#[test]
fn structural_errors_are_typed_and_located() {
    let b = defaults::blob(ModelKind::Workload);
    // kind and schema checks
    assert!(matches!(
        Model::load(b, Some(ModelKind::Threat), &Policy::OPEN),
        Err(LoadError::WrongKind { .. })
    ));
    // header: kind (byte 6), model version (byte 7, a one-byte varint), then the schema id
    // (a varint): flipping its lowest bit gives a schema this build does not extract
    let mut s = b.to_vec();
    assert!(s[7] < 0x80, "one-byte model version");
    s[8] ^= 1;
    recrc(&mut s);
    assert!(Model::from_blob(&s).is_ok());
    assert!(matches!(
        Model::load(&s, Some(ModelKind::Workload), &Policy::OPEN),
        Err(LoadError::SchemaMismatch { .. })
    ));
    // header byte 6 is the kind code (a one-byte varint)
    let mut k = b.to_vec();
    k[6] = 9;
    recrc(&mut k);
    assert_eq!(
        Model::from_blob(&k).unwrap_err(),
        LoadError::UnknownKind { found: 9 }
    );
    // trailing garbage before the CRC (after the built-in blob's monitor section)
    assert!(b[..b.len() - 4].len() > 6 && Model::from_blob(b).unwrap().monitor().is_some());
    let mut t = b[..b.len() - 4].to_vec();
    t.push(0);
    t.extend([0; 4]);
    recrc(&mut t);
    assert!(matches!(
        Model::from_blob(&t),
        Err(LoadError::TrailingBytes { .. })
    ));
    // cut inside the body with a valid CRC: a decode error that names the section and offset
    let mut cut = b[..40].to_vec();
    cut.extend([0; 4]);
    recrc(&mut cut);
    match Model::from_blob(&cut) {
        Err(LoadError::Decode {
            section, offset, ..
        }) => {
            assert_eq!(section, Section::InputQuant);
            assert!(offset > 6 && offset < 40);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // every error has a message
    let msg = format!("{}", Model::from_blob(&cut).unwrap_err());
    assert!(
        msg.contains("input quantization") && msg.contains("offset"),
        "{msg}"
    );
}

/// A threat blob of the old layout (schema 0x0002_0001: no call order) is refused by name,
/// with both schema ids, and the detector falls back to the built-in model.
#[test]
fn old_threat_layout_is_refused_with_both_schema_ids() {
    use inference_core::{ModelSource, Predictor, ThreatDetector};
    let mut b = defaults::blob(ModelKind::Threat).to_vec();
    assert!(b[7] < 0x80, "one-byte model version");
    // the schema id is a varint: its first byte holds the lowest 7 bits (0x02 | continuation)
    assert_eq!(b[8], 0x82);
    b[8] = 0x81;
    recrc(&mut b);
    let e = Model::load(&b, Some(ModelKind::Threat), &Policy::OPEN).unwrap_err();
    assert_eq!(
        e,
        LoadError::SchemaMismatch {
            expected: 0x0002_0002,
            found: 0x0002_0001
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("0x00020002") && msg.contains("0x00020001"),
        "{msg}"
    );
    let d = ThreatDetector::new(Some(&b));
    assert!(matches!(
        d.source(),
        ModelSource::Default {
            refused: Some(LoadError::SchemaMismatch { .. }),
            ..
        }
    ));
}

/// The optional monitor section: read back, absent in old blobs, inconsistent thresholds
/// refused, any trailing byte after it still refused.
#[test]
fn monitor_section() {
    use inference_core::blob::MonitorWire;
    let m = Model::from_blob(defaults::blob(ModelKind::Failure)).unwrap();
    let encode = |monitor: Option<MonitorWire>| {
        with_parts(&m, monitor, |parts| {
            let mut buf = vec![0u8; 16 * 1024];
            let n = blob::encode(parts, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
    };
    let stats = vec![0u8; 4 * m.n_features()];
    let good = MonitorWire {
        error_alert: 300,
        error_clear: 120,
        min_outcomes: 32,
        drift_alert: 900,
        drift_clear: 400,
        input_stats: &stats,
    };
    let b = encode(Some(good));
    assert_eq!(Model::from_blob(&b).unwrap().monitor(), Some(good));
    assert_eq!(Model::from_blob(&encode(None)).unwrap().monitor(), None);
    let bad = MonitorWire {
        error_clear: 300,
        ..good
    };
    assert_eq!(
        Model::from_blob(&encode(Some(bad))).unwrap_err(),
        LoadError::InvalidMonitor {
            alert: 300,
            clear: 300
        }
    );
    let bad = MonitorWire {
        drift_clear: 901,
        ..good
    };
    assert!(matches!(
        Model::from_blob(&encode(Some(bad))).unwrap_err(),
        LoadError::InvalidMonitor {
            alert: 900,
            clear: 901
        }
    ));
    let short = MonitorWire {
        input_stats: &stats[1..],
        ..good
    };
    assert!(matches!(
        Model::from_blob(&encode(Some(short))).unwrap_err(),
        LoadError::LengthMismatch {
            field: "input_stats",
            ..
        }
    ));
    // without a section, one byte more is a truncated monitor section; a whole empty one
    // (five zero varints and an empty byte string) and a byte more is trailing
    let plain = encode(None);
    let with = |extra: &[u8]| {
        let mut t = plain[..plain.len() - 4].to_vec();
        t.extend(extra);
        let c = inference_core::crc::crc32(&t);
        t.extend(c.to_le_bytes());
        t
    };
    assert!(matches!(
        Model::from_blob(&with(&[0])).unwrap_err(),
        LoadError::Decode {
            section: Section::Monitor,
            ..
        }
    ));
    assert_eq!(
        Model::from_blob(&with(&[0; 6])).unwrap().monitor(),
        Some(MonitorWire::default())
    );
    assert!(matches!(
        Model::from_blob(&with(&[0, 0, 0, 0, 0, 0, 7])).unwrap_err(),
        LoadError::TrailingBytes { .. }
    ));
    // a byte after the monitor section: still trailing bytes
    let mut extra = b.clone();
    let n = extra.len() - 4;
    extra.insert(n, 0);
    let c = inference_core::crc::crc32(&extra[..n + 1]);
    extra[n + 1..].copy_from_slice(&c.to_le_bytes());
    assert!(matches!(
        Model::from_blob(&extra).unwrap_err(),
        LoadError::TrailingBytes { .. }
    ));
}
