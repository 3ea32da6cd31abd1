//! inference-core's kernels against the trainer's plain integer reference, on random shapes and
//! extreme values: they must agree bit for bit.

use inference_core::quant::Requant;
use inference_core::{Model, ModelKind};
use proptest::prelude::*;
use trainer::quantize::{BlobMeta, QLayer, QuantizedModel};

fn requant() -> impl Strategy<Value = Requant> {
    prop_oneof![
        (1i32 << 30..=i32::MAX, -31i8..=30).prop_map(|(m, s)| Requant {
            multiplier: m,
            shift: s
        }),
        (0i32..=i32::MAX, -31i8..=30).prop_map(|(m, s)| Requant {
            multiplier: m,
            shift: s
        }),
        Just(Requant {
            multiplier: i32::MAX,
            shift: 30
        }),
        Just(Requant {
            multiplier: 0,
            shift: -31
        }),
    ]
}

fn value() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(i32::MIN),
        Just(i32::MAX),
        Just(0),
        Just(i32::MIN + 1),
        any::<i32>(),
        -300i32..300
    ]
}

fn model() -> impl Strategy<Value = QuantizedModel> {
    (prop::collection::vec(1usize..=64, 2..=5), any::<u64>()).prop_flat_map(|(widths, _)| {
        let nf = widths[0];
        let n_out = *widths.last().unwrap();
        let layers: Vec<_> = widths
            .windows(2)
            .enumerate()
            .map(|(li, w)| {
                let (n_in, n_out) = (w[0], w[1]);
                let last = li == widths.len() - 2;
                (
                    prop::collection::vec(any::<i8>(), n_in * n_out),
                    prop::collection::vec(value(), n_out),
                    prop::collection::vec(requant(), n_out),
                    any::<i8>(),
                    any::<bool>(),
                )
                    .prop_map(move |(weights, bias, requant, zp, relu)| QLayer {
                        n_in,
                        n_out,
                        relu: relu || !last,
                        out_zp: zp,
                        weights,
                        bias,
                        requant,
                    })
            })
            .collect();
        (
            prop::collection::vec((value(), requant()), nf),
            layers,
            prop::collection::vec(value(), n_out),
        )
            .prop_map(|(input, layers, out_offset)| QuantizedModel {
                kind: ModelKind::Workload,
                input,
                layers,
                out_offset,
                threshold_permille: 500,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn engine_matches_reference(m in model(), raws in prop::collection::vec(prop::collection::vec(value(), 0..70), 1..6)) {
        let blob = m.to_blob(&BlobMeta::default()).unwrap();
        let loaded = Model::from_blob(&blob).unwrap();
        for raw in raws {
            let mut out = vec![0i32; loaded.n_outputs()];
            loaded.infer(&raw, &mut out);
            prop_assert_eq!(out, m.reference(&raw));
        }
    }
}
