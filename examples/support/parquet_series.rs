//! Reads a UCR/UEA Parquet file (`id`, `label`, `series` columns; see
//! data/README.md) into the flat values + offsets layout of `SeriesBatch`.
//! Shared by the examples and benchmarks through `#[path]`.

use std::error::Error;
use std::fs::File;

use arrow::array::{Array, AsArray, ListArray};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Series of one or more files, concatenated, with their labels.
pub struct LabelledSeries {
    pub values: Vec<f32>,
    pub offsets: Vec<usize>,
    pub channels: usize,
    pub labels: Vec<String>,
}

/// Reads and concatenates the files; all must have the same channel count.
pub fn read_files(paths: &[std::path::PathBuf]) -> Result<LabelledSeries, Box<dyn Error>> {
    let mut out = LabelledSeries { values: Vec::new(), offsets: vec![0], channels: 0, labels: Vec::new() };
    for path in paths {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        for batch in reader {
            let batch = batch?;
            let labels = batch.column_by_name("label").ok_or("no `label` column")?;
            let labels = arrow::compute::cast(labels, &DataType::Utf8)?;
            let labels = labels.as_string::<i32>();
            let series = batch.column_by_name("series").ok_or("no `series` column")?;
            let series: &ListArray = series.as_list::<i32>();
            for row in 0..series.len() {
                if series.is_null(row) {
                    return Err(format!("{}: row {row} has a null series", path.display()).into());
                }
                let item = series.value(row);
                let (steps, channels) = match item.data_type() {
                    DataType::List(_) => {
                        let inner = item.as_list::<i32>();
                        let channels = if inner.is_empty() { 1 } else { inner.value(0).len() };
                        for step in 0..inner.len() {
                            let values = inner.value(step);
                            let values = values.as_primitive::<Float64Type>();
                            if values.len() != channels {
                                return Err(format!("{}: row {row} step {step} has {} channels, not {channels}", path.display(), values.len()).into());
                            }
                            out.values.extend(values.values().iter().map(|&v| v as f32));
                        }
                        (inner.len(), channels)
                    }
                    _ => {
                        let values = item.as_primitive::<Float64Type>();
                        out.values.extend(values.values().iter().map(|&v| v as f32));
                        (values.len(), 1)
                    }
                };
                if out.channels == 0 {
                    out.channels = channels;
                } else if out.channels != channels {
                    return Err(format!("{}: row {row} has {channels} channels, earlier rows {}", path.display(), out.channels).into());
                }
                let last = out.offsets[out.offsets.len() - 1];
                out.offsets.push(last + steps);
                out.labels.push(labels.value(row).to_string());
            }
        }
    }
    out.channels = out.channels.max(1);
    Ok(out)
}
