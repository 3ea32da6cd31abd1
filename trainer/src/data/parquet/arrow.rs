//! The Arrow reader and writer of [`super`].

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use inference_core::features::workload::WorkloadSample;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{Pass, Series, BATCH_ROWS};
use crate::data::{DataError, ReadOptions};

/// The columns read, in this order.
const COLUMNS: [&str; 5] = ["series", "time", "cpu", "memory", "gpu"];

/// Streams the series of `path` to `each`, one at a time, in file order. Stops at the first
/// error `each` returns (passed through) or the first bad row (unless `opts` skips them).
pub fn for_each_series(
    path: &Path,
    opts: &ReadOptions,
    mut each: impl FnMut(Series) -> Result<(), DataError>,
) -> Result<Pass, DataError> {
    let file = File::open(path).map_err(|e| DataError::file(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| DataError::file(path, e))?;
    let schema = builder.schema().clone();
    let mut index = [None; 5];
    for (k, name) in COLUMNS.iter().enumerate() {
        index[k] = schema.index_of(name).ok();
    }
    let [Some(series), Some(time), Some(cpu), memory, gpu] = index else {
        let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(DataError::file(
            path,
            format!(
                "needs the columns series, time and cpu (memory and gpu optional); it has {have:?}"
            ),
        ));
    };
    let roots: Vec<usize> = [Some(series), Some(time), Some(cpu), memory, gpu]
        .into_iter()
        .flatten()
        .collect();
    // the projection keeps the file's column order: find each column's place in it
    let mut sorted = roots.clone();
    sorted.sort_unstable();
    let at = |c: usize| sorted.iter().position(|&x| x == c);
    let (s_at, t_at, c_at) = (at(series), at(time), at(cpu));
    let (m_at, g_at) = (memory.and_then(at), gpu.and_then(at));
    let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| DataError::file(path, e))?;
    let mut pass = Pass::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut current: Option<Series> = None;
    for batch in reader {
        let batch = batch.map_err(|e| DataError::file(path, e))?;
        let col = |k: Option<usize>| k.map(|k| batch.column(k).clone());
        let first_row = pass.rows + 1;
        let names = series_names(path, col(s_at), first_row)?;
        let times = unix_seconds(path, col(t_at))?;
        let cpus = percents(path, col(c_at), "cpu")?;
        let mems = match col(m_at) {
            Some(c) => Some(percents(path, Some(c), "memory")?),
            None => None,
        };
        let gpus = match col(g_at) {
            Some(c) => Some(percents(path, Some(c), "gpu")?),
            None => None,
        };
        for i in 0..batch.num_rows() {
            pass.rows += 1;
            let row = pass.rows;
            let name = &names[i];
            if current.as_ref().is_none_or(|s| &s.name != name) {
                if let Some(done) = current.take() {
                    seen.insert(done.name.clone());
                    each(done)?;
                }
                if seen.contains(name) {
                    return Err(at_row(
                        path,
                        row,
                        "series",
                        format!("series '{name}' appears again after other series: the rows must be grouped by series (ORDER BY series, time)"),
                    ));
                }
                current = Some(Series {
                    name: name.clone(),
                    group: pass.series,
                    samples: Vec::new(),
                });
                pass.series += 1;
            }
            let Some(s) = current.as_mut() else {
                continue;
            };
            let sample = (|| {
                let unix_s = times[i].ok_or(("time", "is null".to_string()))?;
                let cpu = cpus[i].clone().map_err(|e| ("cpu", e))?;
                let cpu = cpu.ok_or(("cpu", "is null".to_string()))?;
                let mem = match &mems {
                    Some(m) => m[i].clone().map_err(|e| ("memory", e))?,
                    None => None,
                };
                let gpu = match &gpus {
                    Some(g) => g[i].clone().map_err(|e| ("gpu", e))?,
                    None => None,
                };
                if let Some(prev) = s.samples.last() {
                    if unix_s <= prev.unix_s {
                        return Err((
                            "time",
                            format!(
                                "{unix_s} is not after the series' previous sample ({}): rows must be in time order within a series",
                                prev.unix_s
                            ),
                        ));
                    }
                }
                Ok(WorkloadSample {
                    cpu,
                    mem,
                    gpu,
                    unix_s,
                })
            })();
            match sample {
                Ok(v) => s.samples.push(v),
                Err((field, message)) => {
                    pass.skips.handle(opts, at_row(path, row, field, message))?;
                }
            }
        }
    }
    if let Some(done) = current.take() {
        each(done)?;
    }
    if pass.rows == 0 {
        return Err(DataError::file(path, "no rows"));
    }
    Ok(pass)
}

/// Rows of `path`, from its footer (nothing else is read).
pub fn rows(path: &Path) -> Result<u64, DataError> {
    let file = File::open(path).map_err(|e| DataError::file(path, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| DataError::file(path, e))?;
    Ok(b.metadata().file_metadata().num_rows().max(0) as u64)
}

/// Writes `series` (name and samples in time order) as a telemetry file of the layout above,
/// Zstd-compressed, through a temporary file renamed into place: a failed write leaves any
/// previous file as it was.
pub fn write_telemetry(
    path: &Path,
    series: impl IntoIterator<Item = (String, Vec<WorkloadSample>)>,
) -> Result<u64, DataError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("series", DataType::Utf8, false),
        Field::new("time", DataType::Int64, false),
        Field::new("cpu", DataType::Float32, false),
        Field::new("memory", DataType::Float32, true),
        Field::new("gpu", DataType::Float32, true),
    ]));
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(|e| DataError::file(&tmp, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .map_err(|e| DataError::file(&tmp, e))?;
    let mut rows = 0u64;
    let pct = |v: u16| v as f32 / 100.0;
    for (name, samples) in series {
        for chunk in samples.chunks(BATCH_ROWS) {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![name.as_str(); chunk.len()])),
                Arc::new(Int64Array::from_iter_values(
                    chunk.iter().map(|s| s.unix_s as i64),
                )),
                Arc::new(Float32Array::from_iter_values(
                    chunk.iter().map(|s| pct(s.cpu)),
                )),
                Arc::new(Float32Array::from_iter(
                    chunk.iter().map(|s| s.mem.map(pct)),
                )),
                Arc::new(Float32Array::from_iter(
                    chunk.iter().map(|s| s.gpu.map(pct)),
                )),
            ];
            let batch =
                RecordBatch::try_new(schema.clone(), cols).map_err(|e| DataError::file(&tmp, e))?;
            w.write(&batch).map_err(|e| DataError::file(&tmp, e))?;
            rows += chunk.len() as u64;
        }
    }
    w.close().map_err(|e| DataError::file(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::file(path, e))?;
    Ok(rows)
}

fn at_row(path: &Path, row: u64, field: &str, message: impl std::fmt::Display) -> DataError {
    DataError::at(
        path,
        row as usize,
        Some(field),
        format!("row {row}: {message}"),
    )
}

fn wrong_type(path: &Path, name: &str, t: &DataType, want: &str) -> DataError {
    DataError::at(
        path,
        0,
        Some(name),
        format!("has type {t}; expected {want}"),
    )
}

/// The series column as names (integers in decimal).
fn series_names(
    path: &Path,
    c: Option<ArrayRef>,
    first_row: u64,
) -> Result<Vec<String>, DataError> {
    let Some(c) = c else {
        return Err(DataError::file(path, "no series column"));
    };
    let mut out = Vec::with_capacity(c.len());
    macro_rules! ints {
        ($t:ty) => {{
            let a = c.as_primitive::<$t>();
            for i in 0..a.len() {
                out.push(if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_string()
                });
            }
        }};
    }
    match c.data_type() {
        DataType::Utf8 => out.extend(
            c.as_string::<i32>()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        DataType::LargeUtf8 => out.extend(
            c.as_string::<i64>()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        DataType::Utf8View => out.extend(
            c.as_string_view()
                .iter()
                .map(|v| v.unwrap_or("").to_string()),
        ),
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        t => return Err(wrong_type(path, "series", t, "a string or an integer")),
    }
    if let Some(i) = (0..c.len()).find(|&i| c.is_null(i)) {
        return Err(at_row(path, first_row + i as u64, "series", "is null"));
    }
    Ok(out)
}

/// The time column as Unix seconds (`None`: null or before 1970).
fn unix_seconds(path: &Path, c: Option<ArrayRef>) -> Result<Vec<Option<u64>>, DataError> {
    let Some(c) = c else {
        return Err(DataError::file(path, "no time column"));
    };
    macro_rules! scaled {
        ($t:ty, $div:expr) => {{
            let a = c.as_primitive::<$t>();
            a.iter()
                .map(|v| v.and_then(|v| u64::try_from(v.div_euclid($div)).ok()))
                .collect()
        }};
    }
    Ok(match c.data_type() {
        DataType::Int64 => scaled!(Int64Type, 1),
        DataType::Timestamp(TimeUnit::Second, _) => scaled!(TimestampSecondType, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => scaled!(TimestampMillisecondType, 1_000),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            scaled!(TimestampMicrosecondType, 1_000_000)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            scaled!(TimestampNanosecondType, 1_000_000_000)
        }
        t => {
            return Err(wrong_type(
                path,
                "time",
                t,
                "int64 Unix seconds or a timestamp",
            ))
        }
    })
}

/// A percentage column as percent × 100 (`Ok(None)`: null; `Err`: out of 0–100 or not finite).
fn percents(
    path: &Path,
    c: Option<ArrayRef>,
    name: &str,
) -> Result<Vec<Result<Option<u16>, String>>, DataError> {
    let Some(c) = c else {
        return Err(DataError::file(path, format!("no {name} column")));
    };
    let check = |v: f64| {
        if v.is_finite() && (0.0..=100.0).contains(&v) {
            Ok(Some((v * 100.0).round() as u16))
        } else {
            Err(format!("{v} is not a percentage (0 to 100)"))
        }
    };
    macro_rules! values {
        ($t:ty) => {{
            let a = c.as_primitive::<$t>();
            a.iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(v) => check(v as f64),
                })
                .collect()
        }};
    }
    Ok(match c.data_type() {
        DataType::Float32 => values!(Float32Type),
        DataType::Float64 => values!(Float64Type),
        DataType::Int8 => values!(Int8Type),
        DataType::Int16 => values!(Int16Type),
        DataType::Int32 => values!(Int32Type),
        DataType::Int64 => values!(Int64Type),
        DataType::UInt8 => values!(UInt8Type),
        DataType::UInt16 => values!(UInt16Type),
        DataType::UInt32 => values!(UInt32Type),
        DataType::UInt64 => values!(UInt64Type),
        t => return Err(wrong_type(path, name, t, "a number (percent)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::parquet::load_workload;
    use crate::data::Dataset;
    use inference_core::features::workload::HISTORY;
    use inference_core::ModelKind;
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("aios-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn machine(n: usize, t0: u64, gpu: bool) -> Vec<WorkloadSample> {
        (0..n)
            .map(|i| WorkloadSample {
                cpu: (1000 + 37 * i % 5000) as u16,
                mem: if i == 5 { None } else { Some(2000 + i as u16) },
                gpu: gpu.then_some(300),
                unix_s: t0 + 60 * i as u64,
            })
            .collect()
    }

    #[test]
    fn round_trip_gives_the_samples_of_the_series() {
        let p = dir().join("fleet.parquet");
        let a = machine(40, 1_700_000_000, true);
        let b = machine(30, 1_700_000_030, false);
        let rows =
            write_telemetry(&p, [("a".to_string(), a.clone()), ("b".into(), b.clone())]).unwrap();
        assert_eq!(rows, 70);
        let mut got = Vec::new();
        let pass = for_each_series(&p, &ReadOptions::default(), |s| {
            got.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!((pass.rows, pass.series), (70, 2));
        assert_eq!(got[0].name, "a");
        assert_eq!(got[1].group, 1);
        assert_eq!(got[0].samples, a);
        assert_eq!(got[1].samples, b);
        let l = load_workload(&p, &ReadOptions::default()).unwrap();
        let mut want = Dataset::new(ModelKind::Workload, "x");
        want.push_workload_series(&a, 0);
        want.push_workload_series(&b, 1);
        assert_eq!(l.data.len(), 40 + 30 - 2 * (HISTORY + 1));
        assert_eq!(l.data.features, want.features);
        assert_eq!(l.data.group, want.group);
    }

    #[test]
    fn ungrouped_series_and_time_going_back_are_refused_with_their_row() {
        let p = dir().join("ungrouped.parquet");
        let a = machine(20, 1_700_000_000, false);
        write_telemetry(
            &p,
            [
                ("a".to_string(), a[..10].to_vec()),
                ("b".into(), a.clone()),
                ("a".into(), a[10..].to_vec()),
            ],
        )
        .unwrap();
        let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(31));
        assert!(e.message.contains("grouped by series"), "{e}");

        let p = dir().join("backwards.parquet");
        let mut a = machine(20, 1_700_000_000, false);
        a[12].unix_s = a[3].unix_s;
        write_telemetry(&p, [("a".to_string(), a)]).unwrap();
        let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(13), Some("time")));
        let skip = ReadOptions {
            skip_bad_rows: true,
            ..ReadOptions::default()
        };
        let l = load_workload(&p, &skip).unwrap();
        assert_eq!(l.skipped, 1);
        assert_eq!(l.data.len(), 19 - HISTORY - 1);
    }

    #[test]
    fn a_file_that_is_not_telemetry_says_what_is_missing() {
        let p = dir().join("other.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef],
        )
        .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&p).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = load_workload(&p, &ReadOptions::default()).unwrap_err();
        assert!(e.message.contains("series, time and cpu"), "{e}");
        std::fs::write(&p, b"PAR1 not really").unwrap();
        assert!(load_workload(&p, &ReadOptions::default()).is_err());
    }
}
