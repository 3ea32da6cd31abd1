//! Post-training int8 quantization into inference-core's blob format, and the trainer's own
//! plain integer reference of the network (checked bit for bit against inference-core).
//!
//! - Inputs: per feature, `code = clamp(round((raw - round(mean)) · 32 / std), -128, 127)`; the
//!   network is *trained* on `code / 32`, computed with inference-core's own quantizer, so the
//!   deployed input path is exactly the trained one.
//! - Weights: symmetric int8 per output channel, `s_w[o] = max|w[o,·]| / 127`.
//! - Hidden activations: ReLU outputs calibrated on the training data, `[0, max] → [-128, 127]`.
//! - Output layer: i32 in the output's fixed unit, `M[o] = s_in · s_w[o] · scale[o]`, plus offset.

use inference_core::blob::{
    self, BlobHeader, BlobParts, InputQuantWire, LayerWire, MetadataWire, OutputWire, ABSENT,
};
use inference_core::quant::Requant;
use inference_core::ModelKind;
use ndarray::Axis;

use crate::data::dataset::Dataset;
use crate::data::encoding::{requant_of, InputQuant, CODES_PER_STD};
use crate::error::Error;
use crate::train::mlp::Mlp;
use crate::train::task::Task;

/// One quantized layer (owned).
#[derive(Debug, Clone, PartialEq)]
pub struct QLayer {
    /// Inputs.
    pub n_in: usize,
    /// Outputs.
    pub n_out: usize,
    /// ReLU?
    pub relu: bool,
    /// Output zero point (hidden layers).
    pub out_zp: i8,
    /// int8 weights, row-major.
    pub weights: Vec<i8>,
    /// Folded biases.
    pub bias: Vec<i32>,
    /// Requantization per output.
    pub requant: Vec<Requant>,
}

/// A quantized network, ready to be written as a blob.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedModel {
    /// Kind.
    pub kind: ModelKind,
    /// Input quantization.
    pub input: Vec<(i32, Requant)>,
    /// Layers.
    pub layers: Vec<QLayer>,
    /// Output offsets (fixed units).
    pub out_offset: Vec<i32>,
    /// Operating threshold, per-mille.
    pub threshold_permille: u16,
}

/// Calibrates and quantizes a trained network.
pub fn quantize(mlp: &Mlp, task: &Task, input: &InputQuant, calib: &Dataset) -> QuantizedModel {
    let x = input.network_input(calib);
    let acts = mlp.forward_all(x.view());
    let mut layers = Vec::new();
    let mut s_in = 1.0 / CODES_PER_STD;
    let mut zp_in: i32 = 0;
    let last = mlp.layers.len() - 1;
    for (li, l) in mlp.layers.iter().enumerate() {
        let (n_out, n_in) = l.w.dim();
        let mut weights = Vec::with_capacity(n_out * n_in);
        let mut bias = Vec::with_capacity(n_out);
        let mut requant = Vec::with_capacity(n_out);
        // hidden activation scale from calibration
        let (s_out, zp_out) = if li == last {
            (1.0, 0)
        } else {
            let max = acts[li]
                .fold_axis(Axis(0), 0f32, |&m, &v| m.max(v))
                .iter()
                .cloned()
                .fold(0f32, f32::max) as f64;
            ((max.max(1e-6)) / 255.0, -128)
        };
        for o in 0..n_out {
            let row = l.w.row(o);
            let wmax = row.iter().fold(0f32, |m, &v| m.max(v.abs())) as f64;
            let s_w = if wmax > 0.0 { wmax / 127.0 } else { 1.0 };
            let q: Vec<i8> = row
                .iter()
                .map(|&v| (v as f64 / s_w).round().clamp(-127.0, 127.0) as i8)
                .collect();
            let sum_q: i64 = q.iter().map(|&v| v as i64).sum();
            let b = (l.b[o] as f64 / (s_in * s_w)).round() - (zp_in as i64 * sum_q) as f64;
            bias.push(b.clamp(i32::MIN as f64, i32::MAX as f64) as i32);
            weights.extend(q);
            let m = if li == last {
                s_in * s_w * task.out_scale[o] as f64
            } else {
                s_in * s_w / s_out
            };
            requant.push(requant_of(m));
        }
        layers.push(QLayer {
            n_in,
            n_out,
            relu: li != last,
            out_zp: zp_out as i8,
            weights,
            bias,
            requant,
        });
        s_in = s_out;
        zp_in = zp_out;
    }
    QuantizedModel {
        kind: task.kind,
        input: input.params.clone(),
        layers,
        out_offset: task.out_offset.iter().map(|&v| v.round() as i32).collect(),
        threshold_permille: match task.kind {
            ModelKind::Memory => inference_core::features::memory::DEFAULT_THRESHOLD,
            _ => 500,
        },
    }
}

/// Provenance written into the blob's metadata section.
#[derive(Debug, Clone, Default)]
pub struct BlobMeta {
    /// Model version.
    pub version: u32,
    /// Creation time (0 for reproducible built-in models).
    pub created_unix_s: u64,
    /// Training samples.
    pub train_samples: u32,
    /// Validation samples.
    pub val_samples: u32,
    /// Headline metric name.
    pub metric: String,
    /// f32 metric.
    pub metric_f32: f64,
    /// int8 metric.
    pub metric_int8: f64,
    /// Baseline metric.
    pub baseline: f64,
    /// Data source.
    pub source: String,
    /// Monitor thresholds (the blob's optional section 7), if chosen.
    pub monitor: Option<crate::eval::monitor::Monitor>,
}

fn milli(v: f64) -> i32 {
    if v.is_finite() {
        (v * 1000.0).round() as i32
    } else {
        0
    }
}

/// One layer's parameters as the little-endian bytes the blob borrows.
struct LayerBytes {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
}

impl QuantizedModel {
    /// Writes the blob with inference-core's encoder.
    pub fn to_blob(&self, meta: &BlobMeta) -> Result<Vec<u8>, Error> {
        let le32 = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let records = InputQuant {
            params: self.input.clone(),
        }
        .records();
        let owned: Vec<LayerBytes> = self
            .layers
            .iter()
            .map(|l| LayerBytes {
                weights: l.weights.iter().map(|&w| w as u8).collect(),
                bias: le32(&l.bias),
                multiplier: le32(&l.requant.iter().map(|r| r.multiplier).collect::<Vec<_>>()),
                shift: l.requant.iter().map(|r| r.shift as u8).collect(),
            })
            .collect();
        let wires: Vec<LayerWire> = self
            .layers
            .iter()
            .zip(&owned)
            .map(|(l, b)| LayerWire {
                n_in: l.n_in as u16,
                n_out: l.n_out as u16,
                activation: l.relu as u8,
                output_zero_point: l.out_zp,
                weights: &b.weights,
                bias: &b.bias,
                multiplier: &b.multiplier,
                shift: &b.shift,
            })
            .collect();
        let offsets = le32(&self.out_offset);
        let parts = BlobParts {
            header: BlobHeader {
                kind: self.kind as u8,
                model_version: meta.version,
                schema_id: self.kind.schema_id(),
                n_features: self.input.len() as u16,
                n_outputs: self.out_offset.len() as u16,
                threshold_permille: self.threshold_permille,
            },
            input: InputQuantWire { records: &records },
            layers: &wires,
            output: OutputWire { offsets: &offsets },
            metadata: MetadataWire {
                created_unix_s: meta.created_unix_s,
                train_samples: meta.train_samples,
                val_samples: meta.val_samples,
                metric: &meta.metric,
                metric_f32_milli: milli(meta.metric_f32),
                metric_int8_milli: milli(meta.metric_int8),
                baseline_milli: milli(meta.baseline),
                source: &meta.source,
            },
            monitor: meta.monitor.as_ref().map(|m| m.wire()),
        };
        let mut buf = vec![0u8; 64 * 1024];
        let n = blob::encode(&parts, &mut buf)?;
        buf.truncate(n);
        inference_core::Model::from_blob(&buf)?;
        Ok(buf)
    }

    /// The trainer's plain integer reference of the network: written independently of
    /// inference-core's kernels (i128 arithmetic, explicit loops) so that tests comparing the
    /// two catch a bug in either.
    pub fn reference(&self, raw: &[i32]) -> Vec<i32> {
        fn apply(x: i64, rq: Requant) -> i64 {
            let t = 31 - rq.shift as i32;
            let v = (x as i128 * rq.multiplier as i128 + (1i128 << (t - 1))) >> t;
            v.clamp(i32::MIN as i128, i32::MAX as i128) as i64
        }
        let mut a: Vec<i64> = self
            .input
            .iter()
            .enumerate()
            .map(|(j, &(off, rq))| {
                let v = raw.get(j).copied().unwrap_or(ABSENT);
                if v == ABSENT {
                    0
                } else {
                    apply(
                        (v as i64 - off as i64).clamp(i32::MIN as i64, i32::MAX as i64),
                        rq,
                    )
                    .clamp(-128, 127)
                }
            })
            .collect();
        let last = self.layers.len() - 1;
        for (li, l) in self.layers.iter().enumerate() {
            let mut next = Vec::with_capacity(l.n_out);
            for o in 0..l.n_out {
                let mut acc = l.bias[o] as i64;
                for (i, &ai) in a.iter().enumerate().take(l.n_in) {
                    acc += l.weights[o * l.n_in + i] as i64 * ai;
                }
                let acc = acc as i32 as i64; // the engine accumulates in wrapping i32
                let v = apply(acc, l.requant[o]);
                if li == last {
                    let v = if l.relu { v.max(0) } else { v };
                    next.push(v);
                } else {
                    let zp = l.out_zp as i64;
                    let lo = if l.relu { zp } else { -128 };
                    next.push((v + zp).clamp(lo, 127));
                }
            }
            a = next;
        }
        a.iter()
            .zip(&self.out_offset)
            .map(|(&v, &off)| (v + off as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_decomposition() {
        for &m in &[1.0, 0.5, 0.75, 3.0, 1e-3, 123.456, 1e-12, 2e9] {
            let rq = requant_of(m);
            assert!(rq.is_valid(), "{m}: {rq:?}");
            let back = rq.multiplier as f64 * 2f64.powi(rq.shift as i32 - 31);
            assert!(
                (back - m).abs() / m < 1e-6 || !(1e-9..=1e9).contains(&m),
                "{m} -> {back}"
            );
        }
        assert_eq!(requant_of(1.0), Requant::ONE);
        assert_eq!(requant_of(0.0).multiplier, 0);
        assert_eq!(requant_of(f64::NAN).multiplier, 0);
        assert_eq!(requant_of(1e30).shift, 30);
    }
}
