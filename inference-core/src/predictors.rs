//! Typed predictors: raw history in, typed prediction in fixed units out.
//!
//! Each predictor holds one validated [`Model`]: the one it was given, or the built-in default
//! when none was given or the given one was refused ([`ModelSource`] says which, and why).
//! Prediction never fails. If even the built-in model were refused (the tests make sure it is
//! not), the predictor answers with a neutral network that outputs zeros: persistence for the
//! workload, "no threat, low confidence" elsewhere; [`ModelSource::None`] reports that.

use core::mem::MaybeUninit;

use crate::blob::{Checked, Model, Prepared};
use crate::error::LoadError;
use crate::features::failure::{self, FailureHistory, FailureType};
use crate::features::memory::{self, AccessKind, MemoryHistory};
use crate::features::threat::{self, ProcessWindow, ThreatHistory, ThreatType};
use crate::features::workload::{self, WorkloadHistory};
use crate::quant::{softmax_permille, LOGIT_ONE};
use crate::signature::Policy;
use crate::{defaults, ModelKind};

/// Which model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The model given by the caller, with its version.
    Loaded {
        /// Model version from the blob.
        version: u32,
    },
    /// The built-in model; `refused` holds why a given model was not used, if one was given.
    Default {
        /// Version of the built-in model.
        version: u32,
        /// Why the caller's blob was refused (`None`: no blob was given).
        refused: Option<LoadError>,
    },
    /// No model loaded at all (the built-in one was refused too): neutral outputs.
    None {
        /// Why the built-in model was refused.
        refused: LoadError,
    },
}

/// What the four typed predictors have in common: how they are loaded and which model answers.
///
/// Every predictor holds one validated [`Model`] of its [`Predictor::KIND`], or none at all
/// (see the module docs); prediction itself is typed and lives on each predictor.
pub trait Predictor<'a>: Sized {
    /// The kind of model this predictor runs.
    const KIND: ModelKind;

    /// Uses `blob` if it is a valid model of [`Self::KIND`] accepted by `policy` (signature,
    /// unsigned blobs, lowest version), else the built-in one (which is trusted: it is part of
    /// the image) and [`ModelSource::Default`] says why `blob` was refused. `None`: the
    /// built-in model.
    fn load(blob: Option<&'a [u8]>, policy: &Policy) -> Self {
        Self::load_checked(blob.map(|b| Model::check(b, policy)))
    }

    /// [`load`](Self::load) in two steps: `blob` is what [`Model::check`] said of the given
    /// blob (`None`: no blob given). A caller with little stack checks (and verifies) in one
    /// call and builds the predictor in another, so the two never share the stack.
    fn load_checked(blob: Option<Result<Checked<'a>, LoadError>>) -> Self;

    /// [`load_checked`](Self::load_checked) into `place`, built where it will live rather
    /// than on the stack and copied (a predictor is a quarter of a KiB; a kernel stack is
    /// small).
    fn load_checked_in<'p>(
        place: &'p mut MaybeUninit<Self>,
        blob: Option<Result<Checked<'a>, LoadError>>,
    ) -> &'p mut Self;

    /// Which model answers.
    fn source(&self) -> &ModelSource;

    /// The model in use, if any.
    fn model(&self) -> Option<&Model<'a>>;

    /// Prepares the model's weights in `buf` ([`Model::prepare`]: three rows per 64-bit
    /// multiply, for targets without SIMD such as a kernel) and predicts with them from now
    /// on, with identical results. Returns whether it did: `false` (the blob's weights then
    /// serve) when there is no model, `buf` is too short ([`Model::prepared_words`]) or a
    /// layer cannot be prepared. Loading another model drops the preparation.
    fn prepare(&mut self, buf: &'a mut [i64]) -> bool;
}

/// A model plus where it came from; what each of the four predictors holds.
#[derive(Debug, Clone)]
struct ModelCell<'a> {
    model: Option<Model<'a>>,
    source: ModelSource,
    /// The model's weights in the prepared layout, when the caller gave room for them.
    prepared: Option<Prepared<'a>>,
}

impl<'a> ModelCell<'a> {
    /// A cell about to be filled (see [`ModelCell::fill`]).
    const EMPTY: ModelCell<'a> = ModelCell {
        model: None,
        source: ModelSource::None {
            refused: LoadError::NoKey,
        },
        prepared: None,
    };

    fn load(kind: ModelKind, blob: Option<Result<Checked<'a>, LoadError>>) -> ModelCell<'a> {
        let mut cell = ModelCell::EMPTY;
        cell.fill(kind, blob);
        cell
    }

    /// The model of a checked blob, else the built-in one, decoded in place.
    fn fill(&mut self, kind: ModelKind, blob: Option<Result<Checked<'a>, LoadError>>) {
        self.prepared = None;
        let refused = match blob {
            None => None,
            Some(Err(e)) => Some(e),
            Some(Ok(c)) => match Model::from_checked_into(c, Some(kind), &mut self.model) {
                Ok(version) => {
                    self.source = ModelSource::Loaded { version };
                    return;
                }
                Err(e) => Some(e),
            },
        };
        self.fill_builtin(kind, refused);
    }

    /// The built-in model. Not inlined, so that a load's stack holds one model at a time.
    #[inline(never)]
    fn fill_builtin(&mut self, kind: ModelKind, refused: Option<LoadError>) {
        let r = Model::check(defaults::blob(kind), &Policy::OPEN)
            .and_then(|c| Model::from_checked_into(c, Some(kind), &mut self.model));
        self.source = match r {
            Ok(version) => ModelSource::Default { version, refused },
            Err(e) => ModelSource::None { refused: e },
        };
    }

    fn infer(&self, features: &[i32], out: &mut [i32]) {
        match (&self.model, &self.prepared) {
            (Some(m), Some(p)) => m.infer_prepared(p, features, out),
            (Some(m), None) => m.infer(features, out),
            (None, _) => 0,
        };
    }

    fn prepare(&mut self, buf: &'a mut [i64]) -> bool {
        self.prepared = self.model.as_ref().and_then(|m| m.prepare(buf));
        self.prepared.is_some()
    }

    fn threshold(&self, fallback: u16) -> u16 {
        self.model
            .as_ref()
            .map(|m| m.header().threshold_permille)
            .unwrap_or(fallback)
    }
}

/// The [`Predictor`] implementation every typed predictor shares: each is a [`ModelCell`]
/// of its kind (field `cell`).
macro_rules! cell_predictor {
    ($name:ident, $kind:ident) => {
        impl<'a> Predictor<'a> for $name<'a> {
            const KIND: ModelKind = ModelKind::$kind;
            fn load_checked(blob: Option<Result<Checked<'a>, LoadError>>) -> Self {
                $name {
                    cell: ModelCell::load(Self::KIND, blob),
                }
            }
            fn load_checked_in<'p>(
                place: &'p mut MaybeUninit<Self>,
                blob: Option<Result<Checked<'a>, LoadError>>,
            ) -> &'p mut Self {
                let p = place.write($name {
                    cell: ModelCell::EMPTY,
                });
                p.cell.fill(Self::KIND, blob);
                p
            }
            fn source(&self) -> &ModelSource {
                &self.cell.source
            }
            fn model(&self) -> Option<&Model<'a>> {
                self.cell.model.as_ref()
            }
            fn prepare(&mut self, buf: &'a mut [i64]) -> bool {
                self.cell.prepare(buf)
            }
        }
    };
}

/// Index of the largest value (first on ties); 0 for an empty slice.
fn argmax<T: Ord + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if let Some(b) = v.get(best) {
            if x > b {
                best = i;
            }
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------

/// Next CPU, memory and GPU utilisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadPrediction {
    /// Next CPU utilisation, percent × 100.
    pub cpu: u16,
    /// Next memory utilisation, percent × 100 (`None` when memory is not observed).
    pub mem: Option<u16>,
    /// Next GPU utilisation, percent × 100 (`None` when there is no GPU).
    pub gpu: Option<u16>,
    /// Expected absolute error, percent × 100.
    pub expected_error: u16,
    /// Confidence, per-mille: 1000 at zero expected error, 500 at 10 points.
    pub confidence: u16,
}

#[cfg(feature = "float")]
impl WorkloadPrediction {
    /// CPU in percent as f32 (convenience for hosts with an FPU).
    pub fn cpu_percent(&self) -> f32 {
        self.cpu as f32 / 100.0
    }
}

/// Scheduler's workload predictor.
#[derive(Debug, Clone)]
pub struct WorkloadPredictor<'a> {
    cell: ModelCell<'a>,
}

cell_predictor!(WorkloadPredictor, Workload);

impl<'a> WorkloadPredictor<'a> {
    /// Uses `blob` if it is a valid workload model, else the built-in one ([`Predictor::load`]
    /// with [`Policy::OPEN`]).
    pub fn new(blob: Option<&'a [u8]>) -> Self {
        Self::load(blob, &Policy::OPEN)
    }

    /// Predicts the next sample from ready features (the output of
    /// [`WorkloadHistory::features`]) with the model's raw changes, without the do-no-harm
    /// gate of [`WorkloadPredictor::predict`] (which needs the series' record).
    pub fn predict_features(&self, f: &[i32; workload::N_FEATURES]) -> WorkloadPrediction {
        let mut out = [0i32; workload::N_OUTPUTS];
        self.cell.infer(f, &mut out);
        Self::prediction(f, &out)
    }

    /// Predicts the sample after the newest one in `history`. Each channel gets the model's
    /// change only while the model has recently beaten persistence on this series, else the
    /// current value ([`workload::DoNoHarm`]); the raw changes are recorded in `history` and
    /// scored when the next sample is pushed.
    pub fn predict(&self, history: &mut WorkloadHistory) -> WorkloadPrediction {
        let f = history.features();
        self.predict_gated(&f, &mut history.guard)
    }

    /// As [`predict`](Self::predict), for a candidate model predicting in the shadow of the
    /// one that answers on this series (A/B testing): gated by, and recorded in, the history's
    /// second record ([`WorkloadHistory::shadow_guard`]), so that neither model's record
    /// depends on the other's answers.
    pub fn predict_shadow(&self, history: &mut WorkloadHistory) -> WorkloadPrediction {
        let f = history.features();
        self.predict_gated(&f, &mut history.shadow_guard)
    }

    /// The model's changes for features `f`, each channel gated by the record `guard`.
    fn predict_gated(
        &self,
        f: &[i32; workload::N_FEATURES],
        guard: &mut workload::DoNoHarm,
    ) -> WorkloadPrediction {
        let mut out = [0i32; workload::N_OUTPUTS];
        self.cell.infer(f, &mut out);
        for (c, &cur) in f[workload::field::CURRENT].iter().enumerate() {
            if cur != crate::blob::ABSENT {
                out[c] = guard.gate(c, cur, out[c]);
            }
        }
        Self::prediction(f, &out)
    }

    /// The prediction of changes `out` (percent × 100) from the current values in `f`.
    fn prediction(
        f: &[i32; workload::N_FEATURES],
        out: &[i32; workload::N_OUTPUTS],
    ) -> WorkloadPrediction {
        let next =
            |cur: i32, delta: i32| cur.saturating_add(delta).clamp(0, workload::FULL as i32) as u16;
        let present = |v: i32| v != crate::blob::ABSENT;
        let (cpu, mem, gpu) = (
            f[workload::field::CURRENT_CPU],
            f[workload::field::CURRENT_MEM],
            f[workload::field::CURRENT_GPU],
        );
        let err = out[workload::OUT_ERR].clamp(0, u16::MAX as i32) as u32;
        WorkloadPrediction {
            cpu: next(if present(cpu) { cpu } else { 0 }, out[workload::OUT_CPU]),
            mem: present(mem).then(|| next(mem, out[workload::OUT_MEM])),
            gpu: present(gpu).then(|| next(gpu, out[workload::OUT_GPU])),
            expected_error: err as u16,
            confidence: (1_000_000 / (1000 + err)) as u16,
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// What the security subsystem should do with a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Action {
    /// Nothing suspicious.
    Allow = 0,
    /// Suspicious: log and keep watching.
    Monitor = 1,
    /// Likely a threat: limit its CPU, I/O and network.
    Throttle = 2,
    /// Confident, destructive threat: stop it.
    Kill = 3,
}

/// The threat detector's verdict for one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreatAssessment {
    /// Threat score, per-mille: `1000 - P(benign)`.
    pub score: u16,
    /// Most likely attack type (`None` when the score is below the operating threshold).
    pub threat_type: ThreatType,
    /// Probability of the reported type (benign or attack), per-mille.
    pub confidence: u16,
    /// Recommended action.
    pub action: Action,
    /// Operating threshold used, per-mille.
    pub threshold: u16,
}

/// Decides the action from score, type and confidence: below the threshold allow; above it
/// monitor; throttle when the score is halfway to 1000 and the type is confident; kill only
/// destructive types (ransomware, resource exhaustion) at very high score and confidence.
pub fn recommend_action(score: u16, t: ThreatType, confidence: u16, threshold: u16) -> Action {
    if score < threshold || t == ThreatType::None {
        return Action::Allow;
    }
    let high = threshold + (1000 - threshold.min(1000)) / 2;
    let destructive = matches!(t, ThreatType::Ransomware | ThreatType::ResourceExhaustion);
    if score >= 950 && confidence >= 800 && destructive {
        Action::Kill
    } else if score >= high && confidence >= 500 {
        Action::Throttle
    } else {
        Action::Monitor
    }
}

/// Security subsystem's threat detector.
#[derive(Debug, Clone)]
pub struct ThreatDetector<'a> {
    cell: ModelCell<'a>,
}

cell_predictor!(ThreatDetector, Threat);

impl<'a> ThreatDetector<'a> {
    /// Uses `blob` if it is a valid threat model, else the built-in one ([`Predictor::load`]
    /// with [`Policy::OPEN`]).
    pub fn new(blob: Option<&'a [u8]>) -> Self {
        Self::load(blob, &Policy::OPEN)
    }

    /// Operating threshold, per-mille.
    pub fn threshold(&self) -> u16 {
        self.cell.threshold(threat::DEFAULT_THRESHOLD)
    }

    /// Class probabilities (per-mille, [`ThreatType`] order) from ready features.
    pub fn probabilities(&self, f: &[i32; threat::N_FEATURES]) -> [u16; threat::N_OUTPUTS] {
        let mut logits = [0i32; threat::N_OUTPUTS];
        self.cell.infer(f, &mut logits);
        let mut p = [0u16; threat::N_OUTPUTS];
        softmax_permille(&logits, &mut p);
        p
    }

    /// Assesses ready features without touching any history.
    pub fn assess_features(&self, f: &[i32; threat::N_FEATURES]) -> ThreatAssessment {
        let p = self.probabilities(f);
        let score = threat::score_permille(p[0]);
        let threshold = self.threshold();
        let (threat_type, confidence) = if score >= threshold {
            let k = 1 + argmax(&p[1..]);
            (ThreatType::from_code(k), p.get(k).copied().unwrap_or(0))
        } else {
            (ThreatType::None, p[0])
        };
        ThreatAssessment {
            score,
            threat_type,
            confidence,
            action: recommend_action(score, threat_type, confidence, threshold),
            threshold,
        }
    }

    /// Assesses one window of a process and records the verdict in its history.
    pub fn assess(&self, history: &mut ThreatHistory, w: &ProcessWindow) -> ThreatAssessment {
        let a = self.assess_features(&history.features(w));
        Self::record(history, &a, w);
        a
    }

    /// Records verdict `a` on window `w` in the process's history (what [`assess`](Self::assess)
    /// does after assessing), for a caller that assessed ready features itself.
    pub fn record(history: &mut ThreatHistory, a: &ThreatAssessment, w: &ProcessWindow) {
        history.record(a.score, a.score >= a.threshold, w.end_ms);
    }
}

// ---------------------------------------------------------------------------------------------

/// The failure predictor's forecast for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureForecast {
    /// Probability of failure within the model's horizon, per-mille.
    pub probability: u16,
    /// Whether the probability reaches the operating threshold (raise an alarm).
    pub alarm: bool,
    /// Predicted time to failure, seconds.
    pub time_to_failure_s: u32,
    /// Confidence, per-mille: how far the probability is from undecided (500).
    pub confidence: u16,
    /// Most likely failure type.
    pub failure_type: FailureType,
}

/// Self-healing subsystem's failure predictor.
#[derive(Debug, Clone)]
pub struct FailurePredictor<'a> {
    cell: ModelCell<'a>,
}

cell_predictor!(FailurePredictor, Failure);

impl<'a> FailurePredictor<'a> {
    /// Uses `blob` if it is a valid failure model, else the built-in one ([`Predictor::load`]
    /// with [`Policy::OPEN`]).
    pub fn new(blob: Option<&'a [u8]>) -> Self {
        Self::load(blob, &Policy::OPEN)
    }

    /// Operating threshold, per-mille.
    pub fn threshold(&self) -> u16 {
        self.cell.threshold(failure::DEFAULT_THRESHOLD)
    }

    /// Forecast from ready features.
    pub fn predict_features(&self, f: &[i32; failure::N_FEATURES]) -> FailureForecast {
        let mut out = [0i32; failure::N_OUTPUTS];
        if self.cell.model.is_none() {
            out[failure::OUT_FAIL] = -8 * LOGIT_ONE;
        }
        self.cell.infer(f, &mut out);
        let probability = crate::quant::sigmoid_permille(out[failure::OUT_FAIL]);
        let mut pt = [0u16; FailureType::COUNT];
        softmax_permille(&out[failure::OUT_TYPE..], &mut pt);
        FailureForecast {
            probability,
            alarm: probability >= self.threshold(),
            time_to_failure_s: out[failure::OUT_TTF].max(0) as u32,
            confidence: 2 * probability.abs_diff(500),
            failure_type: FailureType::from_code(argmax(&pt)),
        }
    }

    /// Forecast for the component whose readings are in `history`.
    pub fn predict(&self, history: &FailureHistory) -> FailureForecast {
        self.predict_features(&history.features())
    }
}

// ---------------------------------------------------------------------------------------------

/// The memory predictor's decision for the newest access: which blocks to prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPrediction {
    /// Start addresses of the blocks to prefetch, most probable first; the first `degree`
    /// entries are meaningful, the rest are zero.
    pub prefetch: [u64; memory::MAX_DEGREE],
    /// Number of blocks to prefetch, `0..=MAX_DEGREE` (0: do not prefetch).
    pub degree: u8,
    /// Start address of the most probable proposal's block (prefetched or not).
    pub next_addr: u64,
    /// Its delta from the current block, in blocks.
    pub delta_blocks: i64,
    /// Probability that it is a useful prefetch, per-mille.
    pub probability: u16,
    /// Confidence in the decision, per-mille: the best proposal's probability when the
    /// predictor prefetches, `1000 -` it when it does not.
    pub confidence: u16,
    /// Predicted kind of the next access.
    pub kind: AccessKind,
    /// Candidate class of the most probable proposal (see `features::memory`).
    pub class: u8,
}

/// Prefetcher's memory-access predictor.
#[derive(Debug, Clone)]
pub struct MemoryPredictor<'a> {
    cell: ModelCell<'a>,
}

cell_predictor!(MemoryPredictor, Memory);

impl<'a> MemoryPredictor<'a> {
    /// Uses `blob` if it is a valid memory model, else the built-in one ([`Predictor::load`]
    /// with [`Policy::OPEN`]).
    pub fn new(blob: Option<&'a [u8]>) -> Self {
        Self::load(blob, &Policy::OPEN)
    }

    /// Operating threshold of a proposal's probability, per-mille.
    pub fn threshold(&self) -> u16 {
        self.cell.threshold(memory::DEFAULT_THRESHOLD)
    }

    /// Probability (per-mille) that each candidate's proposal is a useful prefetch, from
    /// ready features.
    pub fn useful_probabilities(
        &self,
        f: &[i32; memory::N_FEATURES],
    ) -> [u16; memory::N_CANDIDATES] {
        let mut out = [0i32; memory::N_OUTPUTS];
        self.cell.infer(f, &mut out);
        let mut p = [0u16; memory::N_CANDIDATES];
        for (pk, &z) in p.iter_mut().zip(out.iter()) {
            *pk = crate::quant::sigmoid_permille(z);
        }
        p
    }

    /// Decides from ready features; `history` supplies the proposals and the current block.
    /// The rule is in the `features::memory` module docs; duplicates are
    /// prefetched once, the most probable first.
    pub fn predict_features(
        &self,
        history: &MemoryHistory,
        f: &[i32; memory::N_FEATURES],
    ) -> AccessPrediction {
        self.predict_features_at(history, f, self.threshold())
    }

    /// As [`predict_features`](Self::predict_features) with another operating threshold
    /// (per-mille) than the blob's: for evaluating the trade-off between accuracy and
    /// coverage.
    pub fn predict_features_at(
        &self,
        history: &MemoryHistory,
        f: &[i32; memory::N_FEATURES],
        threshold: u16,
    ) -> AccessPrediction {
        let mut out = [0i32; memory::N_OUTPUTS];
        self.cell.infer(f, &mut out);
        let mut pk = [0u16; 3];
        softmax_permille(&out[memory::OUT_KIND..], &mut pk);
        let mut p = [0u16; memory::N_CANDIDATES];
        let page_level = history.block_bytes() >= memory::PAGE_BYTES;
        let min_recent = if page_level {
            memory::MIN_RECENT_USEFUL_PAGE
        } else {
            memory::MIN_RECENT_USEFUL
        };
        for (k, pk) in p.iter_mut().enumerate() {
            let recent = f.get(memory::field::CANDIDATE_HITS.start + k).copied();
            let (Some(recent), Some(&logit)) = (recent, out.get(k)) else {
                continue;
            };
            if history.proposal(k).is_none() {
                continue;
            }
            // the probability only of a proposal that may be issued (a sigmoid costs a
            // division)
            if !page_level && Self::is_base(k, f) {
                // next line and a confident PC stride: always issued at cache-line level (the
                // model ranks them, it does not drop them), mapped so the threshold applies
                *pk = crate::quant::sigmoid_permille(logit).max(threshold);
            } else if recent >= min_recent && (!page_level || history.steady(k)) {
                // pages: a record earned with another delta says nothing of a new one, and
                // only the way the stream moves now is prefetched
                *pk = crate::quant::sigmoid_permille(logit);
            }
        }
        // candidates by probability, highest first (stable: lower class wins ties)
        let mut order = [0u8; memory::N_CANDIDATES];
        for (i, o) in order.iter_mut().enumerate() {
            *o = i as u8;
        }
        // insertion sort of 8 (core's general sort costs kilobytes of flash): stable, so the
        // lower class wins ties. Classes are read `% N_CANDIDATES` (they are all below it):
        // indices the compiler sees in range link no bounds-check panic.
        let at = |k: u8| k as usize % memory::N_CANDIDATES;
        for i in 1..order.len() {
            let mut j = i;
            while j > 0 && p[at(order[j - 1])] < p[at(order[j])] {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        let best = at(order[0]);
        let bytes = history.block_bytes();
        let cur = history.current_block().unwrap_or(0);
        let delta = history.candidates()[best];
        let mut prefetch = [0u64; memory::MAX_DEGREE];
        let mut degree = 0usize;
        for &k in &order {
            let k = at(k);
            if degree == memory::MAX_DEGREE || p[k] < threshold || p[k] == 0 {
                break;
            }
            let Some(block) = history.proposal(k) else {
                continue;
            };
            push_new(&mut prefetch, &mut degree, block.wrapping_mul(bytes));
        }
        let trend = history.candidates()[best];
        if page_level
            && degree > 0
            && trend == history.candidates()[memory::class::MAJORITY]
            && history.depth_record() >= memory::MIN_RECENT_USEFUL_PAGE
        {
            // page level: the rest of the degree further along the most probable issued
            // proposal's delta, the majority one (Leap's window along its trend), when going
            // further has come true in this stream (the depth's own record)
            let d = trend as u64;
            // bounded: at most MAX_DEGREE steps, whatever the delta
            for k in 2..2 + memory::MAX_DEGREE as u64 {
                if degree == memory::MAX_DEGREE || d == 0 {
                    break;
                }
                let block = cur.wrapping_add(d.wrapping_mul(k));
                if !history.is_recent(block) {
                    push_new(&mut prefetch, &mut degree, block.wrapping_mul(bytes));
                }
            }
        }
        AccessPrediction {
            prefetch,
            degree: degree as u8,
            next_addr: cur.wrapping_add(delta as u64).wrapping_mul(bytes),
            delta_blocks: delta,
            probability: p[best],
            confidence: if degree > 0 {
                p[best]
            } else {
                1000 - p[best].min(1000)
            },
            kind: AccessKind::from_code(argmax(&pk)),
            class: best as u8,
        }
    }

    /// The proposals issued at every block change of a cache-line stream whatever the model
    /// says: the next line, and the PC stride once the current PC has repeated it. On unseen
    /// programs, their union never lost to next-line or best-offset in the leave-programs-out
    /// CV (docs/EVALUATION.md), while the model's own proposals won or lost a little by program.
    fn is_base(k: usize, f: &[i32; memory::N_FEATURES]) -> bool {
        k == memory::class::NEXT
            || (k == memory::class::PC_STRIDE && f[memory::field::PC_CONFIDENCE] >= 1)
    }

    /// Decides what to prefetch after the newest access in `history`; call it after every
    /// [`MemoryHistory::push`]. At a block change it runs the model; within a block it costs
    /// no inference and issues at most the PC-stride prefetch
    /// ([`MemoryHistory::stride_proposal`]), as a stride prefetcher would on that access.
    pub fn predict(&self, history: &MemoryHistory) -> AccessPrediction {
        self.predict_at(history, self.threshold())
    }

    /// As [`predict`](Self::predict) with another operating threshold (per-mille) than the
    /// blob's (see [`predict_features_at`](Self::predict_features_at)).
    pub fn predict_at(&self, history: &MemoryHistory, threshold: u16) -> AccessPrediction {
        if history.changed_block() {
            self.predict_features_at(history, &history.features(), threshold)
        } else {
            Self::predict_within_block(history)
        }
    }

    /// The decision for an access that stayed in its block: the stride prefetch, if any.
    fn predict_within_block(history: &MemoryHistory) -> AccessPrediction {
        let bytes = history.block_bytes();
        let cur = history.current_block().unwrap_or(0);
        let mut prefetch = [0u64; memory::MAX_DEGREE];
        let stride = history.stride_proposal();
        if let Some(block) = stride {
            prefetch[0] = block.wrapping_mul(bytes);
        }
        let delta = stride.map_or(0, |b| b.wrapping_sub(cur) as i64);
        AccessPrediction {
            prefetch,
            degree: stride.is_some() as u8,
            next_addr: cur.wrapping_add(delta as u64).wrapping_mul(bytes),
            delta_blocks: delta,
            probability: 0,
            confidence: 0,
            kind: AccessKind::Read,
            class: memory::class::PC_STRIDE as u8,
        }
    }
}

/// Appends `v` to the first `*len` entries of `list` unless they hold it already or the list is
/// full.
fn push_new(list: &mut [u64; memory::MAX_DEGREE], len: &mut usize, v: u64) {
    let held = list.get(..*len).is_some_and(|l| l.contains(&v));
    if let (false, Some(slot)) = (held, list.get_mut(*len)) {
        *slot = v;
        *len += 1;
    }
}
