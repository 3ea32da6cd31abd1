//! Real data: importers for the project's JSONL records, NAB CSV series, Bitbrains VM traces,
//! the ADFA-LD system-call
//! traces, strace output, valgrind lackey memory traces and a Prometheus server, and the
//! `--data SPEC` parser that picks them.
//!
//! Every importer turns its records into inference-core observations and pushes them through
//! inference-core's own history types, exactly as the synthetic generators do. Malformed input
//! never panics: it is a [`DataError`] naming the file, line and field, or, with
//! `skip_bad_rows`, a counted skip.

pub mod access_samples;
pub mod adfa;
pub mod bitbrains;
pub mod collect;
pub mod dataset;
pub mod encoding;
pub mod jsonl;
pub mod lackey;
pub mod nab;
pub mod parquet;
pub mod prometheus;
pub mod rotate;
pub mod smd;
pub mod strace;
pub mod synth;
pub mod time;

use std::fmt;
use std::path::{Path, PathBuf};

use inference_core::ModelKind;

use crate::error::{Error, Result};
use dataset::Dataset;

pub use crate::error::DataError;

/// How importers treat bad rows.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Skip malformed rows (and count them) instead of failing.
    pub skip_bad_rows: bool,
    /// NAB anomaly windows (`anomaly_windows.json`) for failure data from NAB series.
    pub windows: Option<PathBuf>,
    /// Most samples taken from one streamed source (lackey traces); `None`: 200 000.
    pub max_samples: Option<usize>,
    /// Failure data (smd, nab): also keep the rows inside incidents, flagged
    /// [`Dataset::in_incident`] (not samples), to score detection after the onset.
    pub incident_rows: bool,
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The samples.
    pub data: Dataset,
    /// Rows skipped as malformed (with `skip_bad_rows`).
    pub skipped: usize,
    /// The first skipped row's error, to show the user what was wrong.
    pub first_skip: Option<DataError>,
    /// What the user should know about data that was read (e.g. unknown system calls).
    pub warnings: Vec<String>,
    /// What was read, for the record (e.g. which files of a directory were taken).
    pub notes: Vec<String>,
}

impl Loaded {
    /// The samples of an import and its skipped rows.
    pub fn new(data: Dataset, skips: Skips) -> Loaded {
        Loaded {
            data,
            skipped: skips.count,
            first_skip: skips.first,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Bookkeeping of skipped rows shared by the importers.
#[derive(Debug, Default)]
pub struct Skips {
    /// Count.
    pub count: usize,
    /// First error.
    pub first: Option<DataError>,
}

impl Skips {
    /// Either records the error (skip mode) or returns it.
    pub fn handle(&mut self, opts: &ReadOptions, e: DataError) -> Result<(), DataError> {
        if opts.skip_bad_rows {
            self.count += 1;
            if self.first.is_none() {
                self.first = Some(e);
            }
            Ok(())
        } else {
            Err(e)
        }
    }
}

/// A field value that does not parse; the importer adds the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// The text found.
    pub text: String,
    /// What was expected instead ("a number", "a timestamp (…)").
    pub expected: &'static str,
}

impl BadValue {
    /// `text` is not `expected`.
    pub fn new(text: &str, expected: &'static str) -> BadValue {
        BadValue {
            text: text.to_string(),
            expected,
        }
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not {}", self.text, self.expected)
    }
}

impl std::error::Error for BadValue {}

/// Parses a finite number, refusing NaN and infinities.
pub fn parse_finite(s: &str) -> Result<f64, BadValue> {
    let s = s.trim();
    let v: f64 = s.parse().map_err(|_| BadValue::new(s, "a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(BadValue::new(s, "a finite number"))
    }
}

/// A utilisation percentage in inference-core's unit (percent × 100). The one rule of the
/// importers of CPU/memory/GPU percentages (JSONL, NAB): a value outside 0..=100 is a bad
/// value, never clamped into range.
pub fn percent_x100(v: f64) -> Result<u16, BadValue> {
    if (0.0..=100.0).contains(&v) {
        Ok((v * 100.0).round() as u16)
    } else {
        Err(BadValue::new(&v.to_string(), "a percentage (0-100)"))
    }
}

/// What is wrong with a line that is not UTF-8 text (the column of its first bad byte).
pub fn not_utf8(e: &std::str::Utf8Error) -> String {
    format!(
        "not UTF-8 text (invalid byte at column {})",
        e.valid_up_to() + 1
    )
}

/// The lines of the file `path` whose contents are `bytes`, numbered from 1 (`\n` or `\r\n`
/// endings, like [`str::lines`]); a line that is not UTF-8 is a [`DataError`] at its line, so
/// importers can skip it with `--skip-bad-rows` instead of refusing the whole file.
pub fn lines<'a>(
    path: &'a Path,
    bytes: &'a [u8],
) -> impl Iterator<Item = (usize, Result<&'a str, DataError>)> + 'a {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let segments = (!bytes.is_empty()).then(|| body.split(|&b| b == b'\n'));
    segments
        .into_iter()
        .flatten()
        .enumerate()
        .map(move |(i, l)| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let text =
                std::str::from_utf8(l).map_err(|e| DataError::at(path, i + 1, None, not_utf8(&e)));
            (i + 1, text)
        })
}

/// Files of a path: the file itself, or the sorted regular files of a directory whose names
/// satisfy `keep`.
pub fn files(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::file(path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| DataError::file(path, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .map(|n| keep(&n.to_string_lossy()))
                .unwrap_or(false)
        })
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(DataError::file(
            path,
            "no matching data files in this directory",
        ));
    }
    Ok(v)
}

/// Loads one `--data` source for `kind`: `jsonl:PATH`, `nab:PATH`, `bitbrains:PATH`,
/// `parquet:PATH`, `smd:PATH`, `adfa:PATH`, `strace:PATH`, `lackey:PATH`, `prometheus:URL?PARAMS`.
pub fn load(kind: ModelKind, spec: &str, opts: &ReadOptions) -> Result<Loaded> {
    let (scheme, path) = spec.split_once(':').ok_or_else(|| {
        Error::Usage(format!(
            "--data '{spec}': expected synthetic or SCHEME:PATH"
        ))
    })?;
    let path = Path::new(path);
    let r = match (scheme, kind) {
        ("jsonl", _) => jsonl::load(kind, path, opts),
        ("nab", ModelKind::Workload) => nab::load_workload(path, opts),
        ("nab", ModelKind::Failure) => nab::load_failure(path, opts),
        ("smd", ModelKind::Failure) => smd::load(path, opts),
        ("bitbrains", ModelKind::Workload) => bitbrains::load_workload(path, opts),
        ("parquet", ModelKind::Workload) => parquet::load_workload(path, opts),
        ("adfa", ModelKind::Threat) => adfa::load(path, opts),
        ("strace", ModelKind::Threat) => strace::load(path, opts),
        ("lackey", ModelKind::Memory) => {
            lackey::load(path, opts, opts.max_samples.unwrap_or(200_000))
        }
        ("prometheus", ModelKind::Workload | ModelKind::Failure) => {
            // the URL is not a path: the whole rest of the spec
            return prometheus::load(kind, &spec["prometheus:".len()..]);
        }
        ("nab" | "smd" | "bitbrains" | "parquet" | "adfa" | "strace" | "lackey" | "prometheus", _) => {
            return Err(Error::Usage(format!(
                "--data {scheme}: has no {kind} data (nab: workload, failure; bitbrains, parquet: workload; smd: failure; adfa, strace: threat; lackey: memory; prometheus: workload, failure)"
            )))
        }
        _ => {
            return Err(Error::Usage(format!(
                "--data '{spec}': unknown source '{scheme}' (synthetic, jsonl, nab, bitbrains, parquet, smd, adfa, strace, lackey, prometheus)"
            )))
        }
    };
    Ok(r?)
}

/// At most `samples` samples of one source, evenly spaced over it (every series keeps its
/// share and its whole time span); the source unchanged when it holds no more.
pub fn cap(d: Dataset, samples: Option<usize>, spec: &str) -> Dataset {
    match samples {
        Some(n) if n > 0 && d.len() > n => {
            let len = d.len();
            let idx: Vec<usize> = (0..n).map(|i| i * len / n).collect();
            eprintln!("note: {spec}: --samples {n}: {n} of {len} samples kept, evenly spaced");
            d.subset(&idx)
        }
        _ => d,
    }
}

/// Loads and concatenates the data sets of `specs` for `kind` (`synthetic` included); each
/// real source is capped at `samples` ([`cap`]).
pub fn load_all(
    kind: ModelKind,
    specs: &[String],
    ro: &ReadOptions,
    samples: Option<usize>,
    seed: u64,
) -> Result<(Dataset, usize)> {
    let mut all: Option<Dataset> = None;
    let mut skipped = 0;
    for spec in specs {
        let d = if spec == "synthetic" {
            synth::generate(
                kind,
                samples.unwrap_or_else(|| synth::default_samples(kind)),
                seed,
            )
        } else {
            let l = load(kind, spec, ro)?;
            if let Some(e) = &l.first_skip {
                eprintln!(
                    "warning: {spec}: skipped {} bad row(s); first: {e}",
                    l.skipped
                );
            }
            for n in &l.notes {
                eprintln!("note: {spec}: {n}");
            }
            for w in &l.warnings {
                eprintln!("warning: {spec}: {w}");
            }
            skipped += l.skipped;
            cap(l.data, samples, spec)
        };
        match &mut all {
            None => all = Some(d),
            Some(a) => {
                a.extend(&d);
                a.source = format!("{}+{}", a.source, d.source);
            }
        }
    }
    let d = all.ok_or_else(|| Error::Usage("no --data source given".into()))?;
    if d.is_empty() {
        return Err(Error::NotEnoughData {
            kind,
            message: "the data holds no samples".into(),
        });
    }
    Ok((d, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cap_a_real_source_evenly() {
        let dir = std::env::temp_dir().join(format!("aios-cap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("w.jsonl");
        let mut text = String::new();
        for series in ["a", "b"] {
            for k in 0..100 {
                text += &format!(
                    "{{\"model\":\"workload\",\"t\":{},\"series\":\"{series}\",\"cpu\":{}}}\n",
                    1_700_000_000 + 60 * k,
                    k % 7
                );
            }
        }
        std::fs::write(&f, text).unwrap();
        let spec = vec![format!("jsonl:{}", f.display())];
        let ro = ReadOptions::default();
        let (all, _) = load_all(ModelKind::Workload, &spec, &ro, None, 1).unwrap();
        let (capped, _) = load_all(ModelKind::Workload, &spec, &ro, Some(40), 1).unwrap();
        assert!(all.len() > 40);
        assert_eq!(capped.len(), 40);
        // both series keep their share and their whole span
        for g in [0, 1] {
            let times: Vec<i64> = (0..capped.len())
                .filter(|&i| capped.group[i] == g)
                .map(|i| capped.time[i])
                .collect();
            let full: Vec<i64> = (0..all.len())
                .filter(|&i| all.group[i] == g)
                .map(|i| all.time[i])
                .collect();
            assert_eq!(times.len(), 20);
            assert_eq!(times[0], full[0]);
            assert!(times[19] - full[full.len() - 1] <= 3 * 60, "{times:?}");
        }
        let (same, _) = load_all(ModelKind::Workload, &spec, &ro, Some(10_000), 1).unwrap();
        assert_eq!(same.len(), all.len());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
