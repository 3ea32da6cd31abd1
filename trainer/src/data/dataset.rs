//! Data sets: raw integer feature vectors (exactly what inference-core extracts), targets, and
//! the grouping that keeps validation data from leaking the future.

use inference_core::features::workload::{WorkloadHistory, WorkloadSample, HISTORY};
use inference_core::ModelKind;

use crate::rng::Rng;

use super::access_samples;

/// Samples of one model kind.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Model kind.
    pub kind: ModelKind,
    /// Raw features, `len() × n_features`, row-major, in inference-core's fixed units.
    pub features: Vec<i32>,
    /// Targets, `len() × n_targets` (layout per kind, see [`crate::train::task`]); NaN = not labelled.
    pub targets: Vec<f32>,
    /// Series, process or component each sample belongs to.
    pub group: Vec<u32>,
    /// Time of each sample, seconds (orders samples within a group).
    pub time: Vec<i64>,
    /// Failure time of the sample's component (failure data), else `i64::MAX`; for a row
    /// inside an incident, the onset of that incident.
    pub event_time: Vec<i64>,
    /// The row lies inside an incident (failure data read with
    /// [`ReadOptions::incident_rows`](super::ReadOptions::incident_rows)): not a sample, kept
    /// only to score detection after the onset. [`split`](Dataset::split) and
    /// [`samples`](Dataset::samples) leave such rows out.
    pub in_incident: Vec<bool>,
    /// Where the data came from (e.g. `synthetic:seed=42`).
    pub source: String,
    /// Made by the synthetic generators (every part of it, once extended): decides policies
    /// that differ between generated and real data, such as the failure model's operating
    /// point (a false-alarm rate, or false alarms per machine-day).
    pub synthetic: bool,
}

impl Dataset {
    /// An empty data set of `kind`.
    pub fn new(kind: ModelKind, source: impl Into<String>) -> Dataset {
        Dataset {
            kind,
            features: Vec::new(),
            targets: Vec::new(),
            group: Vec::new(),
            time: Vec::new(),
            event_time: Vec::new(),
            in_incident: Vec::new(),
            source: source.into(),
            synthetic: false,
        }
    }

    /// An empty data set of `kind` made by a synthetic generator.
    pub fn synthetic(kind: ModelKind, source: impl Into<String>) -> Dataset {
        Dataset {
            synthetic: true,
            ..Dataset::new(kind, source)
        }
    }

    /// Feature count of the kind.
    pub fn n_features(&self) -> usize {
        self.kind.n_features()
    }

    /// Target count of the kind.
    pub fn n_targets(&self) -> usize {
        n_targets(self.kind)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.group.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.group.is_empty()
    }

    /// Appends a sample.
    pub fn push(&mut self, features: &[i32], targets: &[f32], group: u32, time: i64) {
        debug_assert_eq!(features.len(), self.n_features());
        debug_assert_eq!(targets.len(), self.n_targets());
        self.features.extend_from_slice(features);
        self.targets.extend_from_slice(targets);
        self.group.push(group);
        self.time.push(time);
        self.event_time.push(i64::MAX);
        self.in_incident.push(false);
    }

    /// Appends the workload samples of one machine's telemetry (in time order) as group `g`:
    /// features from the first full history on, target = change until the next sample (NaN where
    /// a channel is not observed in either).
    pub fn push_workload_series(&mut self, raw: &[WorkloadSample], g: u32) {
        let mut h = WorkloadHistory::new();
        for (k, w) in raw.windows(2).enumerate() {
            let (cur, next) = (w[0], w[1]);
            h.push(cur);
            if k < HISTORY {
                continue;
            }
            let dm = |a: Option<u16>, b: Option<u16>| match (a, b) {
                (Some(a), Some(b)) => b as f32 - a as f32,
                _ => f32::NAN,
            };
            let t = [
                next.cpu as f32 - cur.cpu as f32,
                dm(cur.mem, next.mem),
                dm(cur.gpu, next.gpu),
            ];
            self.push(&h.features(), &t, g, cur.unix_s as i64);
        }
    }

    /// Appends a row inside the incident that started at `onset` (not a sample: no targets).
    pub fn push_in_incident(&mut self, features: &[i32], group: u32, time: i64, onset: i64) {
        let none = vec![f32::NAN; self.n_targets()];
        self.push(features, &none, group, time);
        if let (Some(e), Some(f)) = (self.event_time.last_mut(), self.in_incident.last_mut()) {
            (*e, *f) = (onset, true);
        }
    }

    /// Features of sample `i`.
    pub fn row(&self, i: usize) -> &[i32] {
        let n = self.n_features();
        &self.features[i * n..(i + 1) * n]
    }

    /// Targets of sample `i`.
    pub fn target(&self, i: usize) -> &[f32] {
        let n = self.n_targets();
        &self.targets[i * n..(i + 1) * n]
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut d = Dataset {
            synthetic: self.synthetic,
            ..Dataset::new(self.kind, self.source.clone())
        };
        d.extend_rows(self, idx);
        d
    }

    /// Appends the samples `idx` of `other` (groups kept as they are).
    pub fn extend_rows(&mut self, other: &Dataset, idx: &[usize]) {
        for &i in idx {
            self.features.extend_from_slice(other.row(i));
            self.targets.extend_from_slice(other.target(i));
            self.group.push(other.group[i]);
            self.time.push(other.time[i]);
            self.event_time.push(other.event_time[i]);
            self.in_incident.push(other.in_incident[i]);
        }
    }

    /// The samples only: every row but those inside incidents.
    pub fn samples(&self) -> Dataset {
        if !self.in_incident.contains(&true) {
            return self.clone();
        }
        let idx: Vec<usize> = (0..self.len()).filter(|&i| !self.in_incident[i]).collect();
        self.subset(&idx)
    }

    /// Appends all samples of `other` (groups are offset so they stay distinct).
    pub fn extend(&mut self, other: &Dataset) {
        self.synthetic = other.synthetic && (self.synthetic || self.is_empty());
        let offset = self.group.iter().max().map(|g| g + 1).unwrap_or(0);
        self.features.extend_from_slice(&other.features);
        self.targets.extend_from_slice(&other.targets);
        self.group.extend(other.group.iter().map(|g| g + offset));
        self.time.extend_from_slice(&other.time);
        self.event_time.extend_from_slice(&other.event_time);
        self.in_incident.extend_from_slice(&other.in_incident);
    }

    /// Splits into (train, validation) without leaking the future: with at least 10 groups,
    /// whole groups (series, processes, components) go to validation, chosen by `seed`; with
    /// fewer (a handful of long real series), the last `val_fraction` of each group's time goes
    /// to validation, so one odd series cannot decide the best epoch alone. Rows inside
    /// incidents are in neither: they are not samples.
    pub fn split(&self, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        if self.in_incident.contains(&true) {
            return self.samples().split(val_fraction, seed);
        }
        let mut groups: Vec<u32> = self.group.clone();
        groups.sort_unstable();
        groups.dedup();
        let (mut train, mut val) = (Vec::new(), Vec::new());
        if groups.len() >= 10 {
            let mut rng = Rng::new(seed ^ 0x5_1117);
            rng.shuffle(&mut groups);
            let n_val = ((groups.len() as f64 * val_fraction).round() as usize).max(1);
            let val_groups: std::collections::HashSet<u32> =
                groups[..n_val].iter().copied().collect();
            for i in 0..self.len() {
                if val_groups.contains(&self.group[i]) {
                    val.push(i);
                } else {
                    train.push(i);
                }
            }
        } else {
            for &g in &groups {
                let mut idx: Vec<usize> = (0..self.len()).filter(|&i| self.group[i] == g).collect();
                idx.sort_by_key(|&i| self.time[i]);
                let cut = idx.len() - (idx.len() as f64 * val_fraction).round() as usize;
                train.extend_from_slice(&idx[..cut]);
                val.extend_from_slice(&idx[cut..]);
            }
        }
        (self.subset(&train), self.subset(&val))
    }

    /// A stable hash of the contents (the manifest records it as the data hash).
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update([self.kind as u8]);
        for v in &self.features {
            h.update(v.to_le_bytes());
        }
        for v in &self.targets {
            h.update(v.to_bits().to_le_bytes());
        }
        for (g, t) in self.group.iter().zip(&self.time) {
            h.update(g.to_le_bytes());
            h.update(t.to_le_bytes());
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Number of target columns of a kind.
pub fn n_targets(kind: ModelKind) -> usize {
    match kind {
        ModelKind::Workload => 3,
        ModelKind::Threat => 1,
        ModelKind::Failure => 3,
        ModelKind::Memory => access_samples::N_TARGETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_only_while_every_part_is() {
        let f = vec![0; ModelKind::Failure.n_features()];
        let mut gen = Dataset::synthetic(ModelKind::Failure, "synthetic:seed=1");
        for g in 0..20 {
            gen.push(&f, &[0.0, f32::NAN, f32::NAN], g, g as i64);
        }
        let (train, val) = gen.split(0.2, 1);
        assert!(gen.synthetic && train.synthetic && val.synthetic);
        // a real source whose name merely starts with "synthetic" is real
        let mut real = Dataset::new(ModelKind::Failure, "synthetic-looking.csv");
        real.push(&f, &[1.0, 60.0, 1.0], 0, 0);
        assert!(!real.synthetic);
        let mut all = Dataset::new(ModelKind::Failure, "both");
        all.extend(&gen);
        assert!(all.synthetic, "an empty set takes its first part's origin");
        all.extend(&real);
        assert!(!all.synthetic);
    }

    #[test]
    fn rows_inside_incidents_are_not_samples() {
        let f = vec![0; ModelKind::Failure.n_features()];
        let mut d = Dataset::new(ModelKind::Failure, "t");
        for g in 0..12u32 {
            for k in 0..10i64 {
                if k == 5 {
                    d.push_in_incident(&f, g, 60 * k, 300);
                } else {
                    d.push(&f, &[0.0, f32::NAN, f32::NAN], g, 60 * k);
                }
            }
        }
        assert_eq!(d.in_incident.iter().filter(|&&x| x).count(), 12);
        assert_eq!((d.event_time[5], d.target(5)[0].is_nan()), (300, true));
        let s = d.samples();
        assert_eq!(s.len(), 108);
        assert!(!s.in_incident.contains(&true));
        let (train, val) = d.split(0.25, 3);
        assert_eq!(train.len() + val.len(), 108, "neither half holds them");
        assert!(!train.in_incident.contains(&true) && !val.in_incident.contains(&true));
        // subset and extend carry the flag
        assert_eq!(d.subset(&[4, 5]).in_incident, vec![false, true]);
        let mut both = d.subset(&[5]);
        both.extend(&d.subset(&[0]));
        assert_eq!(both.in_incident, vec![true, false]);
    }
}
