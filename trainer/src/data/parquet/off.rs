//! Stand-ins for a trainer built without the `parquet` feature: every call is an error that
//! names the file and the feature.

use std::path::Path;

use inference_core::features::workload::WorkloadSample;

use super::{Pass, Series};
use crate::data::{DataError, ReadOptions};

fn off(path: &Path) -> DataError {
    DataError::file(
        path,
        "this trainer was built without the `parquet` feature (build it with default features)",
    )
}

/// See the `parquet` build of this function.
pub fn for_each_series(
    path: &Path,
    _opts: &ReadOptions,
    _each: impl FnMut(Series) -> Result<(), DataError>,
) -> Result<Pass, DataError> {
    Err(off(path))
}

/// See the `parquet` build of this function.
pub fn rows(path: &Path) -> Result<u64, DataError> {
    Err(off(path))
}

/// See the `parquet` build of this function.
pub fn write_telemetry(
    path: &Path,
    _series: impl IntoIterator<Item = (String, Vec<WorkloadSample>)>,
) -> Result<u64, DataError> {
    Err(off(path))
}
