//! Numenta Anomaly Benchmark series (`timestamp,value` CSV).
//!
//! - Workload: a CPU-utilisation series becomes workload samples with the CPU channel only;
//!   memory and GPU are *absent* (masked in features and targets), never invented. One series
//!   is one group, so validation can leave whole series out.
//! - Failure: a health series plus NAB's anomaly windows (`--windows`, keyed
//!   `<folder>/<file>.csv`). The start of each window is a failure event; samples in the 30
//!   minutes before it are labelled "fails within the horizon"; samples inside a window are
//!   dropped (the machine is already failing). Health per-mille is a robust z-score of the value
//!   against the first 20 % of the series (taken as the healthy reference): 1000 at the median,
//!   minus 100 per robust standard deviation.

use std::path::{Path, PathBuf};

use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample, HISTORY};
use inference_core::ModelKind;

use super::dataset::Dataset;
use super::time::parse_timestamp;
use super::{
    files, lines, parse_finite, percent_x100, BadValue, DataError, Loaded, ReadOptions, Skips,
};

/// Failure horizon of the labels, seconds.
pub const HORIZON_S: i64 = 1800;

/// One parsed series.
#[derive(Debug, Clone)]
pub struct Series {
    /// File.
    pub path: PathBuf,
    /// `(unix seconds, value)`, in file order.
    pub points: Vec<(i64, f64)>,
}

/// Reads a `timestamp,value` CSV with a header line.
pub fn read_series(
    path: &Path,
    opts: &ReadOptions,
    skips: &mut Skips,
) -> Result<Series, DataError> {
    read_series_checked(path, opts, skips, Ok)
}

/// Reads a `timestamp,value` CSV with a header line; a value that `check` refuses is a bad row
/// (field `value`), like one that does not parse.
pub fn read_series_checked(
    path: &Path,
    opts: &ReadOptions,
    skips: &mut Skips,
    check: impl Fn(f64) -> Result<f64, BadValue>,
) -> Result<Series, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::file(path, e))?;
    let mut points = Vec::new();
    for (n, line) in lines(path, &bytes) {
        let line = match line {
            Ok(l) => l,
            Err(e) if n == 1 => return Err(e),
            Err(e) => {
                skips.handle(opts, e)?;
                continue;
            }
        };
        if n == 1 {
            let h = line.trim().to_ascii_lowercase();
            if h != "timestamp,value" {
                return Err(DataError::at(
                    path,
                    1,
                    None,
                    format!("header is '{line}', expected 'timestamp,value'"),
                ));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let parsed = (|| {
            let (ts, v) = line.split_once(',').ok_or_else(|| {
                DataError::at(path, n, None, "expected two comma-separated fields")
            })?;
            let t =
                parse_timestamp(ts).map_err(|e| DataError::at(path, n, Some("timestamp"), e))?;
            let v = parse_finite(v)
                .and_then(&check)
                .map_err(|e| DataError::at(path, n, Some("value"), e))?;
            Ok((t, v))
        })();
        match parsed {
            Ok(p) => points.push(p),
            Err(e) => skips.handle(opts, e)?,
        }
    }
    if points.len() < 2 {
        return Err(DataError::file(path, "fewer than two data rows"));
    }
    Ok(Series {
        path: path.to_path_buf(),
        points,
    })
}

fn csv(name: &str) -> bool {
    name.ends_with(".csv")
}

/// Whether a NAB file name says it holds CPU utilisation (`*cpu_utilization*.csv`), the only
/// series a directory gives the workload model (NAB also holds temperatures, request counts…).
pub fn is_cpu_file(name: &str) -> bool {
    csv(name) && name.to_ascii_lowercase().contains("cpu_utilization")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Up to five names, then how many more.
fn name_list(files: &[PathBuf]) -> String {
    let mut names: Vec<String> = files.iter().take(5).map(|p| file_name(p)).collect();
    if files.len() > 5 {
        names.push(format!("and {} more", files.len() - 5));
    }
    names.join(", ")
}

/// Workload samples from CPU-utilisation series (percent, 0-100; a value outside is a bad row,
/// the rule of the JSONL importer). From a directory only `*cpu_utilization*.csv` files are
/// taken (the others are named in a warning); a file given explicitly is taken whatever its
/// name. The files taken are listed in the notes.
pub fn load_workload(path: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let mut d = Dataset::new(ModelKind::Workload, format!("nab:{}", path.display()));
    let mut skips = Skips::default();
    let mut warnings = Vec::new();
    let all = files(path, csv)?;
    let explicit = path.is_file();
    let taken: Vec<PathBuf> = if explicit {
        if !is_cpu_file(&file_name(path)) {
            warnings.push(format!(
                "{}: the name does not say cpu_utilization; read as CPU % because it was given as a file",
                path.display()
            ));
        }
        all
    } else {
        let (cpu, other): (Vec<PathBuf>, Vec<PathBuf>) =
            all.into_iter().partition(|p| is_cpu_file(&file_name(p)));
        if cpu.is_empty() {
            return Err(DataError::file(
                path,
                format!(
                    "no CPU-utilisation series (*cpu_utilization*.csv) in this directory, only {}; give a file as nab:FILE to read it as CPU %",
                    name_list(&other)
                ),
            ));
        }
        if !other.is_empty() {
            warnings.push(format!(
                "ignored {} file(s) whose names do not say cpu_utilization: {}",
                other.len(),
                name_list(&other)
            ));
        }
        cpu
    };
    let check = |v: f64| percent_x100(v).map(|_| v);
    for (g, file) in taken.iter().enumerate() {
        let s = read_series_checked(file, opts, &mut skips, check)?;
        append_workload(&mut d, &s, g as u32);
    }
    let mut l = Loaded::new(d, skips);
    l.warnings = warnings;
    l.notes.push(format!(
        "took {} CPU-utilisation series: {}",
        taken.len(),
        name_list(&taken)
    ));
    Ok(l)
}

fn pct(v: f64) -> u16 {
    // the importers refuse values outside 0..=100; a caller's own series is kept in range
    (v.clamp(0.0, 100.0) * 100.0).round() as u16
}

/// Appends the workload samples of one series as group `g`.
pub fn append_workload(d: &mut Dataset, s: &Series, g: u32) {
    let mut h = WorkloadHistory::new();
    for (k, w) in s.points.windows(2).enumerate() {
        let (t, v) = w[0];
        let (_, next) = w[1];
        h.push(WorkloadSample {
            cpu: pct(v),
            mem: None,
            gpu: None,
            unix_s: t.max(0) as u64,
        });
        if k < HISTORY {
            continue;
        }
        let target = [pct(next) as f32 - pct(v) as f32, f32::NAN, f32::NAN];
        d.push(&h.features(), &target, g, t);
    }
}

/// Anomaly windows of one file: `(start, end)` Unix seconds.
pub fn windows_for(windows: &Path, file: &Path) -> Result<Vec<(i64, i64)>, DataError> {
    let text = std::fs::read_to_string(windows).map_err(|e| DataError::file(windows, e))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DataError::file(windows, format!("invalid JSON: {e}")))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let obj = json
        .as_object()
        .ok_or_else(|| DataError::file(windows, "expected an object keyed by series file"))?;
    let Some((key, list)) = obj
        .iter()
        .find(|(k, _)| k.rsplit('/').next() == Some(name.as_str()))
    else {
        return Err(DataError::file(windows, format!("no windows for '{name}'")));
    };
    let list = list.as_array().ok_or_else(|| {
        DataError::file(windows, format!("{key}: expected a list of [start, end]"))
    })?;
    let mut out = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let field = format!("{key}[{i}]");
        let pair = w
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| DataError {
                path: windows.to_path_buf(),
                line: None,
                field: Some(field.clone()),
                message: "expected [start, end]".into(),
            })?;
        let ts = |v: &serde_json::Value| {
            v.as_str()
                .ok_or_else(|| "not a string".to_string())
                .and_then(|s| parse_timestamp(s).map_err(|e| e.to_string()))
                .map_err(|m| DataError {
                    path: windows.to_path_buf(),
                    line: None,
                    field: Some(field.clone()),
                    message: m,
                })
        };
        out.push((ts(&pair[0])?, ts(&pair[1])?));
    }
    out.sort_unstable();
    Ok(out)
}

/// Health per-mille of each point: a robust z-score against the first 20 % of the series.
pub fn health(points: &[(i64, f64)]) -> Vec<u16> {
    let n_ref = (points.len() / 5).max(2).min(points.len());
    let mut r: Vec<f64> = points[..n_ref].iter().map(|p| p.1).collect();
    r.sort_by(|a, b| a.total_cmp(b));
    let median = r[r.len() / 2];
    let mut dev: Vec<f64> = r.iter().map(|v| (v - median).abs()).collect();
    dev.sort_by(|a, b| a.total_cmp(b));
    let sigma = (1.4826 * dev[dev.len() / 2]).max(1e-9);
    points
        .iter()
        .map(|p| (1000.0 - 100.0 * ((p.1 - median) / sigma).abs()).clamp(0.0, 1000.0) as u16)
        .collect()
}

/// Failure samples from health series and their anomaly windows.
pub fn load_failure(path: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let windows = opts.windows.as_deref().ok_or_else(|| {
        DataError::file(
            path,
            "failure data from NAB needs --windows PATH (anomaly_windows.json)",
        )
    })?;
    let mut d = Dataset::new(ModelKind::Failure, format!("nab:{}", path.display()));
    let mut skips = Skips::default();
    for (g, file) in files(path, csv)?.iter().enumerate() {
        let s = read_series(file, opts, &mut skips)?;
        let w = windows_for(windows, file)?;
        append_failure(&mut d, &s, &w, g as u32, opts.incident_rows);
    }
    Ok(Loaded::new(d, skips))
}

/// Appends the failure samples of one series with its windows as group `g` (and the rows
/// inside the windows with `incident_rows`, see [`append_health`]).
pub fn append_failure(
    d: &mut Dataset,
    s: &Series,
    windows: &[(i64, i64)],
    g: u32,
    incident_rows: bool,
) {
    let hs = health(&s.points);
    let times: Vec<i64> = s.points.iter().map(|p| p.0).collect();
    append_health(d, &times, &hs, windows, g, incident_rows);
}

/// Appends failure samples from a health series (`times[k]`, `hs[k]`) whose failures are the
/// `windows` `(start, end)`, as group `g`: every sample outside a window after the first 20,
/// labelled "a failure starts within [`HORIZON_S`]", with each failure recorded in the history
/// (dated at its start) once it is over. With `incident_rows`, the rows inside a window (after the first 20) are kept
/// too, flagged [`Dataset::in_incident`] with the window's start as their event time: not
/// samples, only to score detection after the onset. Shared by every importer of real health
/// series.
pub fn append_health(
    d: &mut Dataset,
    times: &[i64],
    hs: &[u16],
    windows: &[(i64, i64)],
    g: u32,
    incident_rows: bool,
) {
    let mut h = FailureHistory::new();
    let mut next_event = 0;
    for (k, (&t, &hv)) in times.iter().zip(hs).enumerate() {
        // a failure enters the history (dated at its start) once it is over: the rows inside
        // it must not know of it, as a device watching the incident begin would not
        while next_event < windows.len() && windows[next_event].1 < t {
            h.record_failure(windows[next_event].0.max(0) as u64);
            next_event += 1;
        }
        h.push(HealthSample {
            health: hv,
            unix_s: t.max(0) as u64,
        });
        let inside = windows.iter().find(|&&(a, b)| t >= a && t <= b);
        if k < 20 {
            continue;
        }
        if let Some(&(onset, _)) = inside {
            if incident_rows {
                d.push_in_incident(&h.features(), g, t, onset);
            }
            continue;
        }
        let upcoming = windows.get(next_event).map(|w| w.0);
        let to_fail = upcoming.map(|f| f - t).unwrap_or(i64::MAX);
        let label = (to_fail <= HORIZON_S) as u8 as f32;
        let ttf = if to_fail <= 4 * HORIZON_S {
            to_fail as f32
        } else {
            f32::NAN
        };
        // NAB does not say how the machine failed
        d.push(&h.features(), &[label, ttf, f32::NAN], g, t);
        if let (Some(e), Some(f)) = (d.event_time.last_mut(), upcoming) {
            *e = f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aios-nab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `n` five-minute samples from 2014-05-13 00:00 (n < 288).
    fn series(n: usize) -> String {
        let mut s = String::from("timestamp,value\n");
        for i in 0..n {
            let minutes = 5 * i;
            s.push_str(&format!(
                "2014-05-13 {:02}:{:02}:00,{}\n",
                minutes / 60,
                minutes % 60,
                50.0 + (i % 7) as f64
            ));
        }
        s
    }

    #[test]
    fn workload_from_a_small_series() {
        let p = write("cpu.csv", &series(40));
        let l = load_workload(&p, &ReadOptions::default()).unwrap();
        assert_eq!(l.data.len(), 40 - 1 - HISTORY);
        let row = l.data.row(0);
        assert_eq!(row[31], inference_core::blob::ABSENT);
        assert!(l.data.target(0)[1].is_nan());
    }

    #[test]
    fn bad_rows_are_located_or_skipped() {
        let mut text = series(30);
        text.push_str("2014-05-13 23:59:00,NaN\n");
        text.push_str("garbage\n");
        let p = write("bad.csv", &text);
        let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(32));
        assert_eq!(e.field.as_deref(), Some("value"));
        assert!(e.to_string().contains("bad.csv:32: field `value`"), "{e}");
        let l = load_workload(
            &p,
            &ReadOptions {
                skip_bad_rows: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.skipped, 2);
        let p = write("hdr.csv", "time,v\n");
        assert_eq!(
            load_workload(&p, &ReadOptions::default()).unwrap_err().line,
            Some(1)
        );
    }

    #[test]
    fn failure_labels_precede_windows() {
        let p = write("machine.csv", &series(200));
        let w = write(
            "windows.json",
            r#"{"realKnownCause/machine.csv": [["2014-05-13 12:00:00.000000", "2014-05-13 13:00:00.000000"]]}"#,
        );
        let opts = ReadOptions {
            windows: Some(w),
            ..Default::default()
        };
        let l = load_failure(&p, &opts).unwrap();
        let pos: Vec<i64> = (0..l.data.len())
            .filter(|&i| l.data.target(i)[0] == 1.0)
            .map(|i| l.data.time[i])
            .collect();
        let start = parse_timestamp("2014-05-13 12:00:00").unwrap();
        assert_eq!(pos.len(), 6, "30 minutes of 5-minute samples");
        assert!(pos.iter().all(|&t| t < start && t >= start - HORIZON_S));
        assert!(l
            .data
            .time
            .iter()
            .all(|&t| !(start..=start + 3600).contains(&t)));
        let missing = load_failure(&p, &ReadOptions::default()).unwrap_err();
        assert!(missing.message.contains("--windows"));
    }

    #[test]
    fn a_non_utf8_line_is_located_or_skipped() {
        let mut bytes = series(30).into_bytes();
        bytes.extend_from_slice(b"2014-05-13 23:59:00,5\xff0\n");
        let p = write("latin1.csv", "");
        std::fs::write(&p, &bytes).unwrap();
        let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(32));
        assert!(e.to_string().contains("latin1.csv:32: not UTF-8"), "{e}");
        let skip = ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        };
        let l = load_workload(&p, &skip).unwrap();
        assert_eq!(l.skipped, 1);
        assert_eq!(l.data.len(), 30 - 1 - HISTORY);
    }

    #[test]
    fn cpu_values_outside_0_to_100_are_bad_rows_not_clamped() {
        for (i, bad) in ["1e308", "250", "-5"].iter().enumerate() {
            let mut text = series(30);
            text.push_str(&format!("2014-05-13 23:59:00,{bad}\n"));
            let name = format!("range{i}.csv");
            let p = write(&name, &text);
            let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
            assert_eq!(e.line, Some(32), "{bad}: {e}");
            assert_eq!(e.field.as_deref(), Some("value"), "{bad}: {e}");
            assert!(e.message.contains("not a percentage (0-100)"), "{e}");
            assert!(e.to_string().contains(&format!("{name}:32")), "{e}");
        }
        // the same rule and words as JSONL
        let j = crate::data::jsonl::parse_record(
            ModelKind::Workload,
            r#"{"model":"workload","t":0,"series":"a","cpu":250}"#,
        )
        .unwrap_err();
        assert_eq!(j.0, "cpu");
        assert_eq!(j.1, percent_x100(250.0).unwrap_err().to_string());
        // skipped and counted with --skip-bad-rows
        let mut text = series(30);
        for bad in ["1e308", "250", "-5"] {
            text.push_str(&format!("2014-05-13 23:59:00,{bad}\n"));
        }
        let p = write("range_skip.csv", &text);
        let skip = ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        };
        let l = load_workload(&p, &skip).unwrap();
        assert_eq!(l.skipped, 3);
        assert_eq!(l.data.len(), 30 - 1 - HISTORY);
        // failure data is not a percentage: a temperature of 250 is fine there
        let hot = read_series(&p, &ReadOptions::default(), &mut Skips::default()).unwrap();
        assert_eq!(hot.points.len(), 33);
    }

    fn dir_with(name: &str, files: &[(&str, String)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aios-nab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, text) in files {
            std::fs::write(dir.join(f), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_directory_gives_only_cpu_utilization_series() {
        let dir = dir_with(
            "dir",
            &[
                ("ec2_cpu_utilization_a.csv", series(40)),
                ("ec2_cpu_utilization_b.csv", series(40)),
                ("machine_temperature_system_failure.csv", series(60)),
            ],
        );
        let l = load_workload(&dir, &ReadOptions::default()).unwrap();
        assert_eq!(l.data.len(), 2 * (40 - 1 - HISTORY));
        let notes = l.notes.join("\n");
        assert!(notes.contains("ec2_cpu_utilization_a.csv"), "{notes}");
        assert!(notes.contains("ec2_cpu_utilization_b.csv"), "{notes}");
        assert!(!notes.contains("machine_temperature"), "{notes}");
        let warnings = l.warnings.join("\n");
        assert!(
            warnings.contains("machine_temperature_system_failure.csv"),
            "{warnings}"
        );
    }

    #[test]
    fn a_directory_without_cpu_series_is_refused_but_an_explicit_file_is_taken() {
        let dir = dir_with(
            "nocpu",
            &[("machine_temperature_system_failure.csv", series(40))],
        );
        let e = load_workload(&dir, &ReadOptions::default()).unwrap_err();
        assert!(e.message.contains("cpu_utilization"), "{e}");
        assert!(
            e.message.contains("machine_temperature_system_failure.csv"),
            "{e}"
        );
        let file = dir.join("machine_temperature_system_failure.csv");
        let l = load_workload(&file, &ReadOptions::default()).unwrap();
        assert_eq!(l.data.len(), 40 - 1 - HISTORY);
        assert!(l.warnings.join("\n").contains("given as a file"));
    }
}
