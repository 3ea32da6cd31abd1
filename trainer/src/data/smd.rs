//! SMD / ASD server metrics with expert-labelled incidents (`idx,split,m0..mN,label`, one gzipped
//! CSV per machine), as failure-predictor data.
//!
//! The failure model reads a health score, so the importer turns a machine's metrics into one
//! with the device's own code, inference-core's [`HealthMeter`]: each metric's mean and
//! standard deviation are learned on the machine's own `train` half (unlabelled, mostly
//! normal), every row's deviation is the mean over metrics of `|x - mean| / std` (each capped
//! at 10), smoothed by an exponential average with weight 1/8, and health is
//! `1000 · 3 / (3 + deviation)`: 1000 when every metric sits at its mean, 500 at an average of
//! three standard deviations. The meter reads integers: SMD's min-max normalised values (0..1)
//! × [`UNITS_PER_ONE`].
//! Incidents are the runs of `label = 1` in the `test` half; the target of a row is "an
//! incident starts within 30 minutes" and rows inside an incident are not samples (the
//! question is whether the onset can be seen coming). `machine-*` files have 1-minute steps,
//! others (`omi-*`) 5-minute steps; the time of a row is `idx` steps.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use inference_core::features::health::{HealthBaseline, HealthConfig, HealthMeter};
use inference_core::ModelKind;

use super::dataset::Dataset;
use super::nab::append_health;
use super::{files, parse_finite, DataError, Loaded, ReadOptions, Skips};

/// The meter's integer unit: a min-max normalised value of 1.0 is 10 000.
pub const UNITS_PER_ONE: f64 = 10_000.0;
/// Smallest standard deviation used, in meter units (0.01 of the 0-1 range).
pub const MIN_STD: i32 = 100;
/// Most metrics a machine may have (the meter's capacity; SMD and ASD have 19 to 38).
pub const MAX_METRICS: usize = 64;

/// The health configuration of SMD machines.
pub fn health_config() -> HealthConfig {
    HealthConfig::default().with_min_std(MIN_STD)
}

/// One row in meter units (SMD values × [`UNITS_PER_ONE`], saturating), zeros past the metrics.
fn meter_row(r: &[f64]) -> [i32; MAX_METRICS] {
    let mut out = [0i32; MAX_METRICS];
    for (o, &x) in out.iter_mut().zip(r) {
        *o = (x * UNITS_PER_ONE).round() as i32;
    }
    out
}

/// One machine's rows.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Seconds since the first row, per row.
    pub times: Vec<i64>,
    /// Metric values per row.
    pub metrics: Vec<Vec<f64>>,
    /// Whether the row is in the `train` half.
    pub train: Vec<bool>,
    /// Label per row (`false` in the train half).
    pub label: Vec<bool>,
}

impl Machine {
    /// Incidents `(first row time, last row time)` of the test half.
    pub fn incidents(&self) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for (k, &l) in self.label.iter().enumerate() {
            if !l {
                continue;
            }
            let t = self.times[k];
            match out.last_mut() {
                Some(last) if k > 0 && self.label[k - 1] => last.1 = t,
                _ => out.push((t, t)),
            }
        }
        out
    }

    /// The health meter learned on the machine's `train` half.
    pub fn meter(&self, cfg: HealthConfig) -> HealthMeter<MAX_METRICS> {
        let n = self.metrics.first().map_or(0, Vec::len);
        let mut b = HealthBaseline::<MAX_METRICS>::new(n);
        for (r, _) in self.metrics.iter().zip(&self.train).filter(|(_, &t)| t) {
            b.learn(&meter_row(r));
        }
        b.freeze(cfg)
    }

    /// The health score of every row (see the module docs), from the first row on.
    pub fn health(&self) -> Vec<u16> {
        let mut m = self.meter(health_config());
        self.metrics
            .iter()
            .map(|r| m.observe(&meter_row(r)))
            .collect()
    }
}

/// Seconds between rows of a file.
fn step_s(path: &Path) -> i64 {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if name.is_some_and(|n| n.starts_with("machine")) {
        60
    } else {
        300
    }
}

/// Reads one machine file (`.csv` or `.csv.gz`).
pub fn read_machine(
    path: &Path,
    opts: &ReadOptions,
    skips: &mut Skips,
) -> Result<Machine, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::file(path, e))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let step = step_s(path);
    let mut m = Machine::default();
    let mut width = None;
    for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let line = line.map_err(|e| DataError::at(path, i + 1, None, e))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        if i == 0 {
            let cols: Vec<&str> = text.split(',').collect();
            if cols.len() < 4
                || cols[0] != "idx"
                || cols[1] != "split"
                || cols.last() != Some(&"label")
            {
                return Err(DataError::at(
                    path,
                    1,
                    None,
                    "expected header idx,split,m0..mN,label",
                ));
            }
            if cols.len() - 3 > MAX_METRICS {
                return Err(DataError::at(
                    path,
                    1,
                    None,
                    format!("{} metrics, at most {MAX_METRICS} are read", cols.len() - 3),
                ));
            }
            width = Some(cols.len());
            continue;
        }
        if text.is_empty() {
            continue;
        }
        match parse_row(text, width.unwrap_or(0), step) {
            Ok((t, metrics, train, label)) => {
                m.times.push(t);
                m.metrics.push(metrics);
                m.train.push(train);
                m.label.push(label);
            }
            Err((field, msg)) => {
                skips.handle(opts, DataError::at(path, i + 1, Some(&field), msg))?
            }
        }
    }
    if m.times.is_empty() {
        return Err(DataError::file(path, "no rows"));
    }
    Ok(m)
}

type Row = (i64, Vec<f64>, bool, bool);

fn parse_row(text: &str, width: usize, step: i64) -> Result<Row, (String, String)> {
    let cols: Vec<&str> = text.split(',').collect();
    if cols.len() != width {
        return Err((
            "row".into(),
            format!("{} fields, header has {width}", cols.len()),
        ));
    }
    let idx: i64 = cols[0].trim().parse().map_err(|_| {
        (
            "idx".to_string(),
            format!("'{}' is not a row index", cols[0]),
        )
    })?;
    let train = match cols[1] {
        "train" => true,
        "test" => false,
        other => return Err(("split".into(), format!("'{other}' is not train or test"))),
    };
    let label = match cols[width - 1].trim() {
        "" | "0" | "0.0" => false,
        "1" | "1.0" => true,
        other => return Err(("label".into(), format!("'{other}' is not 0, 1 or empty"))),
    };
    let metrics = cols[2..width - 1]
        .iter()
        .enumerate()
        .map(|(j, v)| parse_finite(v).map_err(|e| (format!("m{j}"), e.to_string())))
        .collect::<Result<Vec<f64>, _>>()?;
    Ok((idx.saturating_mul(step), metrics, train, label))
}

/// Every machine of a file or directory (`.csv.gz`, `.csv`), one group per machine.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let mut d = Dataset::new(ModelKind::Failure, format!("smd:{}", path.display()));
    let mut skips = Skips::default();
    let keep = |n: &str| n.ends_with(".csv.gz") || n.ends_with(".csv");
    for (g, file) in files(path, keep)?.iter().enumerate() {
        let m = read_machine(file, opts, &mut skips)?;
        let (health, incidents) = (m.health(), m.incidents());
        append_health(
            &mut d,
            &m.times,
            &health,
            &incidents,
            g as u32,
            opts.incident_rows,
        );
    }
    Ok(Loaded::new(d, skips))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The plain f64 definition of the module docs, which the integer meter must follow.
    fn health_f64(m: &Machine) -> Vec<f64> {
        let n = m.metrics[0].len();
        let train: Vec<&Vec<f64>> = (0..m.metrics.len())
            .filter(|&k| m.train[k])
            .map(|k| &m.metrics[k])
            .collect();
        let rows = train.len() as f64;
        let mean: Vec<f64> = (0..n)
            .map(|j| train.iter().map(|r| r[j]).sum::<f64>() / rows)
            .collect();
        let std: Vec<f64> = (0..n)
            .map(|j| {
                let v = train.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / rows;
                v.sqrt().max(MIN_STD as f64 / UNITS_PER_ONE)
            })
            .collect();
        let mut smooth = 0.0;
        m.metrics
            .iter()
            .map(|r| {
                let z = r
                    .iter()
                    .zip(mean.iter().zip(&std))
                    .map(|(x, (mu, s))| ((x - mu).abs() / s).min(10.0))
                    .sum::<f64>()
                    / n as f64;
                smooth += (z - smooth) / 8.0;
                3000.0 / (3.0 + smooth)
            })
            .collect()
    }

    #[test]
    fn the_integer_meter_follows_the_f64_definition() {
        let mut rng = Rng::new(7);
        for metrics in [1, 19, 38, MAX_METRICS] {
            let mut m = Machine::default();
            for k in 0..3000 {
                let train = k < 1500;
                // normal noise of varied spread, a constant metric, and a drift in the test half
                let drift = if train {
                    0.0
                } else {
                    (k - 1500) as f64 / 3000.0
                };
                let row = (0..metrics)
                    .map(|j| match j % 4 {
                        0 => 0.5,
                        1 => (0.3 + 0.05 * rng.normal() + drift).clamp(0.0, 1.0),
                        2 => rng.f64() * 0.002,
                        _ => (0.6 + 0.2 * rng.normal()).clamp(0.0, 1.0),
                    })
                    .collect();
                m.metrics.push(row);
                m.train.push(train);
                m.label.push(false);
                m.times.push(60 * k as i64);
            }
            let (int, reference) = (m.health(), health_f64(&m));
            for (k, (&h, &r)) in int.iter().zip(&reference).enumerate() {
                // values are rounded to 1e-4 before the meter sees them
                assert!(
                    (h as f64 - r).abs() <= 1.0,
                    "{metrics} metrics, row {k}: {h} against {r:.2}"
                );
            }
            if metrics > 1 {
                assert!(int[2999] < 900, "the drift shows: {}", int[2999]);
            }
        }
    }

    #[test]
    fn too_many_metrics_are_refused() {
        let dir = std::env::temp_dir().join(format!("aios-smd-wide-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("wide.csv");
        let cols: Vec<String> = (0..MAX_METRICS + 1).map(|j| format!("m{j}")).collect();
        std::fs::write(&p, format!("idx,split,{},label\n", cols.join(","))).unwrap();
        let e = read_machine(&p, &ReadOptions::default(), &mut Skips::default()).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("65 metrics"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tiny_machine() {
        let dir = std::env::temp_dir().join(format!("aios-smd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("machine-9-9.csv");
        let mut text = String::from("idx,split,m0,m1,label\n");
        for k in 0..100 {
            text += &format!("{k},train,0.{},0.5,\n", 40 + k % 3);
        }
        for k in 100..200 {
            let (v, l) = if (150..160).contains(&k) {
                ("0.95", 1)
            } else {
                ("0.41", 0)
            };
            text += &format!("{k},test,{v},0.5,{l}\n");
        }
        std::fs::write(&p, &text).unwrap();
        let m = read_machine(&p, &ReadOptions::default(), &mut Skips::default()).unwrap();
        assert_eq!(m.incidents(), vec![(150 * 60, 159 * 60)]);
        let h = m.health();
        assert!(h[120] > 900, "normal rows are healthy: {}", h[120]);
        assert!(h[159] < h[149], "an incident lowers health");
        let l = load(&dir, &ReadOptions::default()).unwrap();
        let in_horizon = (0..l.data.len())
            .filter(|&i| l.data.target(i)[0] > 0.5)
            .count();
        assert_eq!(in_horizon, 30, "the 30 one-minute rows before the onset");
        assert!(
            !l.data.in_incident.contains(&true),
            "no incident rows unless asked"
        );
        let with = ReadOptions {
            incident_rows: true,
            ..Default::default()
        };
        let all = load(&dir, &with).unwrap().data;
        assert_eq!(all.len(), l.data.len() + 10, "the 10 rows of the incident");
        let inside: Vec<usize> = (0..all.len()).filter(|&i| all.in_incident[i]).collect();
        assert_eq!(inside.len(), 10);
        assert!(inside.iter().all(|&i| all.event_time[i] == 150 * 60));
        // inside the incident the history does not know of it yet; after it, it does
        use inference_core::features::failure::{field, NEVER_S};
        let never = inference_core::features::symlog_q4(NEVER_S as i64);
        assert!(inside
            .iter()
            .all(|&i| all.row(i)[field::SINCE_FAILURE] == never));
        let after = inside[9] + 1;
        assert_eq!(all.time[after], 160 * 60);
        assert_eq!(
            all.row(after)[field::SINCE_FAILURE],
            inference_core::features::symlog_q4(600)
        );
        assert_eq!(all.samples().features, l.data.features);
        // a bad value is located, and can be skipped
        std::fs::write(&p, text.replace("120,test,0.41", "120,test,x")).unwrap();
        let e = read_machine(&p, &ReadOptions::default(), &mut Skips::default()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(122), Some("m0")));
        let opts = ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        };
        let mut skips = Skips::default();
        assert_eq!(
            read_machine(&p, &opts, &mut skips).unwrap().times.len(),
            199
        );
        assert_eq!(skips.count, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
