//! The share of inactive inputs each layer of the four built-in models sees on the benchmarks'
//! varied inputs: input codes at 0 (layer 0) and hidden ReLU outputs at their zero point (the
//! real value 0). An input-stationary kernel skips them.
//!
//! `cargo run --release -p aios-benches --example sparsity`
use inference_core::dense::{dense_i8_i8, Activation};
use inference_core::{
    FailurePredictor, MemoryPredictor, Model, Predictor, ThreatDetector, WorkloadPredictor,
};

fn report(name: &str, m: &Model<'_>, feats: &[&[i32]]) {
    let layers = m.layers();
    let mut zero = vec![0usize; layers.len()];
    let mut seen = vec![0usize; layers.len()];
    for f in feats {
        let mut codes = vec![0i8; m.n_features()];
        m.quantize_input(f, &mut codes);
        let mut x: Vec<i16> = codes.iter().map(|&c| c as i16).collect();
        let mut inactive = 0i16;
        for (i, layer) in layers.iter().enumerate() {
            zero[i] += x
                .iter()
                .take(layer.inputs())
                .filter(|&&v| v == inactive)
                .count();
            seen[i] += layer.inputs();
            if i + 1 < layers.len() {
                x.resize(layer.inputs().div_ceil(16) * 16, 0);
                let mut y = vec![0i16; layer.outputs()];
                dense_i8_i8(layer, &x, &mut y);
                inactive = match layer.activation() {
                    Activation::Relu => layer.output_zero_point() as i16,
                    Activation::Linear => i16::MIN,
                };
                x = y;
            }
        }
    }
    let shares: Vec<String> = zero
        .iter()
        .zip(&seen)
        .zip(layers)
        .map(|((z, s), l)| {
            format!(
                "{}x{}: {:.0} %",
                l.inputs(),
                l.outputs(),
                100.0 * *z as f64 / *s as f64
            )
        })
        .collect();
    println!("{name}: inactive inputs per layer {}", shares.join(", "));
}

fn main() {
    let w = WorkloadPredictor::new(None);
    let t = ThreatDetector::new(None);
    let f = FailurePredictor::new(None);
    let m = MemoryPredictor::new(None);
    let wf = aios_benches::workload_features(256);
    let tf = aios_benches::threat_features();
    let ff = aios_benches::failure_features();
    let mf = aios_benches::memory_states(&aios_benches::memory_stream(8192));
    let models = [
        (
            "workload",
            w.model(),
            wf.iter().map(|f| &f[..]).collect::<Vec<_>>(),
        ),
        (
            "threat",
            t.model(),
            tf.iter().map(|f| &f[..]).collect::<Vec<_>>(),
        ),
        (
            "failure",
            f.model(),
            ff.iter().map(|f| &f[..]).collect::<Vec<_>>(),
        ),
        (
            "memory",
            m.model(),
            mf.iter().map(|(_, f)| &f[..]).collect::<Vec<_>>(),
        ),
    ];
    for (name, model, feats) in models {
        if let Some(model) = model {
            report(name, model, &feats);
        }
    }
}
