//! Trainer → blob → inference-core, end to end.

use inference_core::{Model, ModelKind, Policy};
use trainer::data::synth;
use trainer::pipeline::{self, default_blob};
use trainer::train::Params;

/// Trains a small model of every kind, exports it, loads it with inference-core and checks that
/// 1000 predictions equal the trainer's own integer reference bit for bit.
#[test]
fn exported_models_match_the_trainer_reference_bit_for_bit() {
    for kind in ModelKind::ALL {
        let data = synth::generate(kind, 3000, 7);
        let params = Params::default().with_epochs(3).with_seed(7);
        let t = pipeline::train(&data, &params, 0.2, 3, 1234, |_| {}).unwrap();
        let model = Model::load(&t.blob, Some(kind), &Policy::OPEN).unwrap();
        assert_eq!(model.version(), 3);
        assert_eq!(model.metadata().created_unix_s, 1234);
        let mut out = vec![0i32; model.n_outputs()];
        let mut nonzero = 0;
        for i in 0..1000 {
            let row = data.row(i % data.len());
            model.infer(row, &mut out);
            let reference = t.quantized.reference(row);
            assert_eq!(out, reference, "{kind} sample {i}");
            nonzero += out.iter().any(|&v| v != 0) as usize;
        }
        assert!(nonzero > 900, "{kind}: outputs are mostly zero");
    }
}

/// The built-in blobs are what `trainer export-defaults` produces from the fixed seed.
#[test]
fn default_blobs_are_reproducible() {
    for kind in ModelKind::ALL {
        let rebuilt = default_blob(kind).unwrap();
        assert!(
            rebuilt == inference_core::defaults::blob(kind),
            "{kind}: regenerated default blob differs; run `cargo run --release -p trainer -- export-defaults`"
        );
    }
}

/// The learnable synthetic tasks reach the targets the system was specified with, measured on
/// held-out series/processes/components with the int8 model.
#[test]
fn synthetic_tasks_reach_their_targets() {
    let params = Params::default().with_epochs(30);
    let run = |d: &trainer::data::dataset::Dataset| {
        pipeline::train(d, &params, 0.2, 1, 0, |_| {}).unwrap()
    };

    let wd = synth::generate(ModelKind::Workload, 8000, 1);
    let w = run(&wd);
    assert!(w.int8.within_5pp.unwrap() >= 0.90, "workload {:?}", w.int8);
    // the manifest keeps every epoch's figures, for plotting later
    let entry = w.manifest_entry(&params, 0.2, 0);
    let epochs = entry["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 30);
    assert!(epochs
        .iter()
        .all(|e| e["loss"].is_f64() && e["val_loss"].is_f64()));

    // the threat task needs the default amount of data and epochs
    let t = pipeline::train(
        &synth::generate(
            ModelKind::Threat,
            synth::default_samples(ModelKind::Threat),
            1,
        ),
        &Params::default(),
        0.2,
        1,
        0,
        |_| {},
    )
    .unwrap();
    assert!(
        t.int8.detection_rate.unwrap() >= 0.95,
        "threat {:?}",
        t.int8
    );
    assert!(
        t.int8.false_positive_rate.unwrap() <= 0.05,
        "threat {:?}",
        t.int8
    );

    // failures: the built-in blob is judged at its own operating point on components of
    // another seed (about 140 components, 20-odd failures), per sample and per incident as
    // `evaluate` judges it
    let f_blob = default_blob(ModelKind::Failure).unwrap();
    let model = Model::from_blob(&f_blob).unwrap();
    let unseen = synth::generate(
        ModelKind::Failure,
        synth::default_samples(ModelKind::Failure),
        4242,
    );
    let p = trainer::eval::int8::int8_failure_probabilities(&model, &unseen);
    let t = model.header().threshold_permille as f64 / 1000.0;
    let m = trainer::eval::metrics::failure_metrics(&unseen, &p, t);
    // at most ~1 % false alarms on healthy samples
    assert!(m.false_alarm_rate.unwrap() <= 0.02, "failure {m:?}");
    assert!(m.detection_rate.unwrap() >= 0.4, "failure {m:?}");
    let e = trainer::eval::events::event_stats_with_chance(&unseen, &p, t);
    assert!(e.incidents >= 15, "failure {e:?}");
    // most failures warned before they happen, within the alarm budget, far above the same
    // alarms at random times
    assert!(e.detection_rate >= 0.5, "failure {e:?}");
    assert!(e.false_alarms_per_day <= 1.0, "failure {e:?}");
    assert!(
        e.detection_rate >= 1.5 * e.chance_detection_rate.unwrap(),
        "failure {e:?}"
    );

    let mut rng = trainer::rng::Rng::new(1);
    let m = run(&synth::memory(
        8000,
        &mut rng,
        "synthetic".into(),
        synth::MemoryMix::StrideDominated,
    ));
    // strided streams: the model issues the useful proposals and little else
    assert!(m.int8.prefetch_f1.unwrap() >= 0.80, "memory {:?}", m.int8);
    assert!(
        m.int8.prefetch_precision.unwrap() >= 0.80,
        "memory {:?}",
        m.int8
    );
}
