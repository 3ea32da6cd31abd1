//! `parquet:PATH`: workload telemetry of a fleet as a query engine writes it (DataFusion,
//! Spark, ClickHouse, DuckDB: `COPY (SELECT … ORDER BY series, time) TO 'fleet.parquet'`).
//!
//! Columns are found by name, in any order; other columns are ignored:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `series` | string or integer | machine, VM or container: one group (validation and evaluation leave whole series out) |
//! | `time` | int64 Unix seconds, or any timestamp | sample time, increasing within a series |
//! | `cpu` | float or integer, percent 0–100 | required in every row |
//! | `memory` | float or integer, percent 0–100, nullable | optional: absent or null = not observed |
//! | `gpu` | float or integer, percent 0–100, nullable | optional, as memory |
//!
//! Rows are grouped by series (all rows of a series together) and in time order within it,
//! which `ORDER BY series, time` gives. The file is read in record batches of
//! [`BATCH_ROWS`] rows and one series at a time: memory holds one batch and one series, not
//! the file. A bad row is a [`DataError`] naming the file, the 1-based row and the column
//! (with `--skip-bad-rows`: skipped and counted).
//!
//! [`write_telemetry`] writes such a file (Zstd, atomically): `trainer synth` uses it to make
//! fleet-sized test data, and tests their fixtures.
//!
//! The reader and writer use the `parquet` and `arrow` crates, behind the trainer's default
//! feature `parquet`; a trainer built without it (the fuzz targets are) answers every call here
//! with an error that says so.

use std::path::Path;

use inference_core::features::workload::WorkloadSample;
use inference_core::ModelKind;

use super::dataset::Dataset;
use super::{DataError, Loaded, ReadOptions, Skips};

#[cfg(feature = "parquet")]
mod arrow;
#[cfg(feature = "parquet")]
pub use arrow::{for_each_series, rows, write_telemetry};
#[cfg(not(feature = "parquet"))]
mod off;
#[cfg(not(feature = "parquet"))]
pub use off::{for_each_series, rows, write_telemetry};

/// Rows per record batch read.
pub const BATCH_ROWS: usize = 65_536;

/// One series' samples, in time order.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name (an integer series id in decimal).
    pub name: String,
    /// Ordinal of the series in the file (0-based): its group.
    pub group: u32,
    /// The samples.
    pub samples: Vec<WorkloadSample>,
}

/// Totals of one pass over a file.
#[derive(Debug, Default)]
pub struct Pass {
    /// Rows read (skipped ones included).
    pub rows: u64,
    /// Series found.
    pub series: u32,
    /// Bad rows skipped and the first one's error.
    pub skips: Skips,
}

/// Workload samples of every series of `path` (one group per series).
pub fn load_workload(path: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let mut d = Dataset::new(ModelKind::Workload, format!("parquet:{}", path.display()));
    let pass = for_each_series(path, opts, |s| {
        d.push_workload_series(&s.samples, s.group);
        Ok(())
    })?;
    let mut l = Loaded::new(d, pass.skips);
    l.notes.push(format!(
        "{} rows, {} series, {} samples",
        pass.rows,
        pass.series,
        l.data.len()
    ));
    Ok(l)
}
