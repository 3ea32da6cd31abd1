//! Training samples as the network sees them: the int8 input codes of inference-core's
//! quantizer and the task's targets, nothing else.
//!
//! A workload sample takes 35 + 24 bytes this way, against 177 bytes in a [`Dataset`] plus 140
//! for an f32 input matrix: what lets 10⁷ samples train in well under 2 GiB. Mini-batches are
//! expanded to f32 (`code / 32`, exactly the values the f32 matrix held) when they are drawn.

use ndarray::Array2;

use super::task::Task;
use crate::data::dataset::Dataset;
use crate::data::encoding::{InputQuant, CODES_PER_STD};

/// Encoded training samples.
#[derive(Debug, Clone)]
pub struct Encoded {
    n_features: usize,
    n_targets: usize,
    codes: Vec<i8>,
    targets: Vec<f32>,
}

impl Encoded {
    /// No samples yet, for `n_features` inputs and `n_targets` task targets.
    pub fn empty(n_features: usize, n_targets: usize) -> Encoded {
        Encoded {
            n_features,
            n_targets,
            codes: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// No samples yet, room for `n` without reallocating (a growing vector would briefly hold
    /// twice its size).
    pub fn with_capacity(n_features: usize, n_targets: usize, n: usize) -> Encoded {
        Encoded {
            n_features,
            n_targets,
            codes: Vec::with_capacity(n * n_features),
            targets: Vec::with_capacity(n * n_targets),
        }
    }

    /// Every sample of `d`, with `task`'s targets (weights normalised over `d`).
    pub fn new(input: &InputQuant, task: &Task, d: &Dataset) -> Encoded {
        let t = task.targets(d);
        let mut e = Encoded::empty(d.n_features(), t.ncols());
        e.push(input, d, &t);
        e
    }

    /// Appends the samples of `d` with their task targets `t` (one row per sample).
    pub fn push(&mut self, input: &InputQuant, d: &Dataset, t: &Array2<f32>) {
        debug_assert_eq!(t.nrows(), d.len());
        debug_assert_eq!(t.ncols(), self.n_targets);
        self.codes.reserve(d.len() * self.n_features);
        for i in 0..d.len() {
            self.codes.extend(input.codes(d.row(i)));
        }
        self.targets.extend(t.iter());
    }

    /// Appends the samples of `other` (same feature and target counts).
    pub fn append(&mut self, other: &Encoded) {
        debug_assert_eq!(
            (self.n_features, self.n_targets),
            (other.n_features, other.n_targets)
        );
        self.codes.extend_from_slice(&other.codes);
        self.targets.extend_from_slice(&other.targets);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.codes.len() / self.n_features.max(1)
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.codes.capacity() + 4 * self.targets.capacity()
    }

    /// Divides the weight columns by their means over all samples (see
    /// [`Task::normalize_weights`]); for samples pushed with unnormalised targets.
    pub fn normalize_weights(&mut self, task: &Task) {
        let (n, nt) = (self.len(), self.n_targets);
        let Ok(mut t) = ndarray::ArrayViewMut2::from_shape((n, nt), &mut self.targets) else {
            return;
        };
        let sums = task.weight_means(t.view());
        task.normalize_weights(t.view_mut(), &sums);
    }

    /// The network inputs and targets of the samples `idx`, in that order.
    pub fn batch(&self, idx: &[usize]) -> (Array2<f32>, Array2<f32>) {
        let (nf, nt) = (self.n_features, self.n_targets);
        let mut x = Array2::zeros((idx.len(), nf));
        let mut t = Array2::zeros((idx.len(), nt));
        let scale = 1.0 / CODES_PER_STD as f32;
        // Rows are drawn at random from hundreds of MiB: almost every row is a cache miss.
        // Copying the bytes first, in a loop that does nothing else, keeps many misses in
        // flight at once; the conversion then runs over memory in cache.
        let mut codes = Vec::with_capacity(idx.len() * nf);
        let mut targets = Vec::with_capacity(idx.len() * nt);
        for &i in idx {
            codes.extend_from_slice(&self.codes[i * nf..(i + 1) * nf]);
            targets.extend_from_slice(&self.targets[i * nt..(i + 1) * nt]);
        }
        for (dst, &c) in x.iter_mut().zip(&codes) {
            *dst = c as f32 * scale;
        }
        for (dst, &v) in t.iter_mut().zip(&targets) {
            *dst = v;
        }
        (x, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use inference_core::ModelKind;

    #[test]
    fn batches_hold_what_the_f32_matrices_held() {
        let d = synth::generate(ModelKind::Workload, 600, 5);
        let task = Task::new(d.kind, &d);
        let input = InputQuant::fit(&d);
        let e = Encoded::new(&input, &task, &d);
        assert_eq!(e.len(), d.len());
        let idx = [7, 3, 599, 0];
        let (x, t) = e.batch(&idx);
        let (xf, tf) = (input.network_input(&d), task.targets(&d));
        for (r, &i) in idx.iter().enumerate() {
            assert_eq!(x.row(r), xf.row(i));
            let (a, b) = (t.row(r), tf.row(i));
            assert!(a
                .iter()
                .zip(b)
                .all(|(p, q)| p == q || (p.is_nan() && q.is_nan())));
        }
    }

    #[test]
    fn weights_normalised_over_parts_as_over_the_whole() {
        let d = synth::generate(ModelKind::Workload, 900, 6);
        let task = Task::new(d.kind, &d);
        let input = InputQuant::fit(&d);
        let whole = Encoded::new(&input, &task, &d);
        let mut parts = Encoded::empty(d.n_features(), task.targets(&d).ncols());
        for chunk in (0..d.len()).collect::<Vec<_>>().chunks(250) {
            let p = d.subset(chunk);
            parts.push(&input, &p, &task.unweighted_targets(&p));
        }
        parts.normalize_weights(&task);
        let all: Vec<usize> = (0..d.len()).collect();
        let (a, b) = (whole.batch(&all).1, parts.batch(&all).1);
        for (p, q) in a.iter().zip(b.iter()) {
            assert!((p - q).abs() <= 1e-5 * p.abs().max(1.0) || (p.is_nan() && q.is_nan()));
        }
    }
}
