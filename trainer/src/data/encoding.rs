//! The input encoding fitted on training data: each raw feature to an int8 code with
//! inference-core's own quantizer, and the f32 network input `code / 32` derived from it.

use inference_core::blob::{quantize_feature, ABSENT, INPUT_RECORD_LEN};
use inference_core::quant::Requant;
use ndarray::Array2;

use super::dataset::Dataset;

/// Input codes per standard deviation (so int8 spans about ±4σ).
pub const CODES_PER_STD: f64 = 32.0;

/// Decomposes a real multiplier `m ≥ 0` into a Q31 mantissa and exponent
/// ([`Requant`]), saturating outside the representable range.
pub fn requant_of(m: f64) -> Requant {
    if !(m.is_finite() && m > 0.0) {
        return Requant {
            multiplier: 0,
            shift: 0,
        };
    }
    // m = frac · 2^e with frac in [0.5, 1)
    let mut e = m.log2().floor() as i32 + 1;
    let mut frac = m / 2f64.powi(e);
    if frac >= 1.0 {
        frac /= 2.0;
        e += 1;
    }
    let mut q = (frac * (1u64 << 31) as f64).round() as i64;
    if q == 1 << 31 {
        q /= 2;
        e += 1;
    }
    if e > 30 {
        return Requant {
            multiplier: i32::MAX,
            shift: 30,
        };
    }
    if e < -31 {
        let extra = (-31 - e) as u32;
        q = if extra >= 63 { 0 } else { q >> extra };
        e = -31;
    }
    Requant {
        multiplier: q as i32,
        shift: e as i8,
    }
}

/// Per-feature input quantization.
#[derive(Debug, Clone)]
pub struct InputQuant {
    /// `(offset, multiplier)` per feature.
    pub params: Vec<(i32, Requant)>,
}

impl InputQuant {
    /// Fits offsets and multipliers on the training data (absent values ignored).
    pub fn fit(train: &Dataset) -> InputQuant {
        let nf = train.n_features();
        let mut params = Vec::with_capacity(nf);
        for j in 0..nf {
            let (mut n, mut s, mut ss) = (0f64, 0f64, 0f64);
            for i in 0..train.len() {
                let v = train.row(i)[j];
                if v != ABSENT {
                    n += 1.0;
                    s += v as f64;
                    ss += (v as f64) * (v as f64);
                }
            }
            let mean = if n > 0.0 { s / n } else { 0.0 };
            let var = if n > 0.0 {
                (ss / n - mean * mean).max(0.0)
            } else {
                0.0
            };
            let std = var.sqrt().max(1.0);
            params.push((mean.round() as i32, requant_of(CODES_PER_STD / std)));
        }
        InputQuant { params }
    }

    /// int8 code of every feature of sample `i`, with inference-core's quantizer.
    pub fn codes(&self, row: &[i32]) -> Vec<i8> {
        row.iter()
            .zip(&self.params)
            .map(|(&v, &(off, rq))| quantize_feature(v, off, rq))
            .collect()
    }

    /// The f32 network input of every sample: `code / 32`.
    pub fn network_input(&self, d: &Dataset) -> Array2<f32> {
        let nf = d.n_features();
        let mut x = Array2::zeros((d.len(), nf));
        for i in 0..d.len() {
            for (j, c) in self.codes(d.row(i)).into_iter().enumerate() {
                x[[i, j]] = c as f32 / CODES_PER_STD as f32;
            }
        }
        x
    }

    pub(crate) fn records(&self) -> Vec<u8> {
        let mut r = Vec::with_capacity(self.params.len() * INPUT_RECORD_LEN);
        for &(off, rq) in &self.params {
            r.extend_from_slice(&off.to_le_bytes());
            r.extend_from_slice(&rq.multiplier.to_le_bytes());
            r.push(rq.shift as u8);
        }
        r
    }
}
