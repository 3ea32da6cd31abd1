//! Warm start (transfer learning): a published int8 blob back into the f32 network it came
//! from, so that training can continue from it on new data.
//!
//! The registry keeps int8 blobs only, and that is enough: each layer's real weights are its
//! int8 codes times the channel's scale, which the blob's requantization multiplier holds
//! together with the scales of the layer's input and output (see `quantize`). The first layer's
//! input scale is fixed (`1 / CODES_PER_STD`, zero point 0), the last layer's output is in the
//! output's fixed unit, and a hidden layer's output scale can be chosen freely: a ReLU network
//! computes the same function when a hidden layer's outputs are scaled by `c` and the next
//! layer's weights by `1 / c`. So
//!
//! ```text
//! hidden:  w = s_out · M[o] · q[o,i] / s_in        b = s_out · M[o] · (B[o] + zp_in · Σ_i q[o,i])
//! last:    w = M[o] · q[o,i] / (s_in · scale[o])   b = (M[o] · (B[o] + zp_in · Σ_i q[o,i]) + off_blob[o] - off[o]) / scale[o]
//! ```
//!
//! with `scale`/`off` the new task's output units (`fixed = net · scale + off`), so the
//! targets of the new data may be scaled differently from the old. The input quantization is
//! the blob's, unchanged: the first layer's weights are relative to those codes. The network
//! is the int8 model's function up to rounding (tested), and training continues from it.

use inference_core::{Model, ModelKind, Policy};
use ndarray::{Array1, Array2};

use super::mlp::{Layer, Mlp};
use super::task::{hidden, Task};
use crate::data::encoding::{InputQuant, CODES_PER_STD};
use crate::error::{Error, Result};

/// Where training starts from, and what it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Init {
    /// The blob (signed or not) whose weights training starts from.
    pub blob: Vec<u8>,
    /// Where it came from, for messages and the manifest.
    pub source: String,
    /// The first layers that are not updated (0: fine-tune everything).
    pub freeze: usize,
}

/// Output scale chosen for dequantized hidden layers (any positive value gives the same
/// function; this one keeps activations near the range training starts with).
const HIDDEN_SCALE: f64 = 1.0 / CODES_PER_STD;

/// The f32 network and input quantization of `init`'s blob, for `task` (the new data's output
/// units). Refused, naming both, when the blob is another kind, another feature schema, or
/// another shape than this trainer builds.
pub fn network(init: &Init, kind: ModelKind, task: &Task) -> Result<(InputQuant, Mlp)> {
    let v1 = inference_core::signature::split(&init.blob).blob;
    let model = Model::load(v1, Some(kind), &Policy::OPEN).map_err(|e| {
        Error::Usage(format!(
            "--init-from {}: cannot start a {} model from it: {e}",
            init.source,
            kind.name()
        ))
    })?;
    let mut want = vec![kind.n_features()];
    want.extend(hidden(kind));
    want.push(kind.n_outputs());
    let mut got = vec![model.n_features()];
    got.extend(model.layers().iter().map(|l| l.outputs()));
    if got != want {
        return Err(Error::Usage(format!(
            "--init-from {}: its network is {got:?}, this trainer builds {want:?} for {}; \
             warm start needs the same shape",
            init.source,
            kind.name()
        )));
    }
    if init.freeze >= want.len() - 1 {
        return Err(Error::param(
            "freeze",
            format!(
                "must be below the number of layers ({}), got {}",
                want.len() - 1,
                init.freeze
            ),
        ));
    }
    let input = InputQuant {
        params: (0..model.n_features())
            .filter_map(|i| model.input_quant(i))
            .collect(),
    };
    let last = model.layers().len() - 1;
    let mut s_in = 1.0 / CODES_PER_STD;
    let mut zp_in = 0f64;
    let mut layers = Vec::with_capacity(last + 1);
    for (li, l) in model.layers().iter().enumerate() {
        let (n_out, n_in) = (l.outputs(), l.inputs());
        let mut w = Array2::<f32>::zeros((n_out, n_in));
        let mut b = Array1::<f32>::zeros(n_out);
        for o in 0..n_out {
            let rq = l
                .requant(o)
                .ok_or_else(|| Error::Usage("truncated layer".into()))?;
            let m = rq.multiplier as f64 * 2f64.powi(rq.shift as i32 - 31);
            let q: Vec<f64> = (0..n_in)
                .map(|i| l.weight(o, i).unwrap_or(0) as f64)
                .collect();
            let acc0 = l.bias(o).unwrap_or(0) as f64 + zp_in * q.iter().sum::<f64>();
            let (gain, bias) = if li == last {
                let (scale, off) = (task.out_scale[o] as f64, task.out_offset[o] as f64);
                let off_blob = model.output_offset(o).unwrap_or(0) as f64;
                (m / scale, (m * acc0 + off_blob - off) / scale)
            } else {
                (HIDDEN_SCALE * m, HIDDEN_SCALE * m * acc0)
            };
            for (i, &qi) in q.iter().enumerate() {
                w[[o, i]] = (gain * qi / s_in) as f32;
            }
            b[o] = bias as f32;
        }
        layers.push(Layer { w, b });
        s_in = HIDDEN_SCALE;
        zp_in = l.output_zero_point() as f64;
    }
    Ok((input, Mlp { layers }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;

    fn init(kind: ModelKind, freeze: usize) -> Init {
        Init {
            blob: inference_core::defaults::blob(kind).to_vec(),
            source: "built-in".into(),
            freeze,
        }
    }

    /// The dequantized network computes the int8 model's outputs, up to its rounding.
    #[test]
    fn the_network_is_the_blobs_function() {
        for kind in [ModelKind::Workload, ModelKind::Memory, ModelKind::Failure] {
            let d = synth::generate(kind, 600, 5);
            let task = Task::new(kind, &d);
            let (input, mlp) = network(&init(kind, 0), kind, &task).unwrap();
            let model = Model::from_blob(inference_core::defaults::blob(kind)).unwrap();
            let f32_out = task.to_fixed(mlp.forward(input.network_input(&d).view()).view());
            let (mut diff, mut spread) = (0f64, 0f64);
            let mut out = vec![0i32; kind.n_outputs()];
            for i in 0..d.len() {
                model.infer(d.row(i), &mut out);
                for (o, &v) in out.iter().enumerate() {
                    diff += (f32_out[[i, o]] - v as f64).abs();
                    spread += (v as f64 - f32_out.column(o).mean().unwrap_or(0.0)).abs();
                }
            }
            // mean error a few per cent of the outputs' own mean deviation
            assert!(diff < 0.05 * spread, "{kind:?}: {diff} vs {spread}");
        }
    }

    #[test]
    fn another_kind_shape_or_freeze_is_refused() {
        let d = synth::generate(ModelKind::Workload, 200, 5);
        let task = Task::new(ModelKind::Workload, &d);
        let mut wrong = init(ModelKind::Memory, 0);
        let e = network(&wrong, ModelKind::Workload, &task).unwrap_err();
        assert!(
            e.to_string().contains("cannot start a workload model"),
            "{e}"
        );
        wrong = init(ModelKind::Workload, 3);
        let e = network(&wrong, ModelKind::Workload, &task).unwrap_err();
        assert!(e.to_string().contains("freeze"), "{e}");
        assert!(network(&init(ModelKind::Workload, 2), ModelKind::Workload, &task).is_ok());
    }

    /// Frozen layers come out of training as they went in.
    #[test]
    fn frozen_layers_do_not_move() {
        let d = synth::generate(ModelKind::Workload, 400, 6);
        let (t, v) = d.split(0.2, 1);
        let params = super::super::Params::default()
            .with_epochs(2)
            .with_init(Some(init(ModelKind::Workload, 1)));
        let task = Task::new(ModelKind::Workload, &t);
        let (_, start) =
            network(&init(ModelKind::Workload, 1), ModelKind::Workload, &task).unwrap();
        let fit = super::super::fit(&t, &v, &params, |_| {}).unwrap();
        assert_eq!(fit.mlp.layers[0].w, start.layers[0].w);
        assert_ne!(fit.mlp.layers[1].w, start.layers[1].w);
    }
}
