//! Reads UCR/UEA Parquet files (`id`, `label`, `series` columns; see
//! data/README.md) into one `SeriesBatch` with the labels. Shared by the
//! examples and benchmarks through `#[path]`; the list conversion itself is
//! the library's (`vrae::arrow_input`).

use std::error::Error;
use std::fs::File;

use arrow::array::AsArray;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use vrae::arrow_input::series_from_arrow;

/// Series of one or more files, concatenated, with their labels.
pub struct LabelledSeries {
    pub values: Vec<f32>,
    pub offsets: Vec<usize>,
    pub channels: usize,
    pub labels: Vec<String>,
}

/// Reads and concatenates the files; all must have the same channel count
/// and no null series.
pub fn read_files(paths: &[std::path::PathBuf]) -> Result<LabelledSeries, Box<dyn Error>> {
    let mut out = LabelledSeries { values: Vec::new(), offsets: vec![0], channels: 0, labels: Vec::new() };
    for path in paths {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        for batch in reader {
            let batch = batch?;
            let labels = batch.column_by_name("label").ok_or("no `label` column")?;
            let labels = arrow::compute::cast(labels, &DataType::Utf8)?;
            let series = batch.column_by_name("series").ok_or("no `series` column")?;
            let expected = (out.channels > 0).then_some(out.channels);
            let converted = series_from_arrow(series.as_ref(), expected).map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(row) = converted.present().iter().position(Option::is_none) {
                return Err(format!("{}: row {row} has a null series", path.display()).into());
            }
            let b = &converted.batch;
            out.channels = b.channels();
            for row in 0..b.len() {
                out.values.extend_from_slice(b.row(row));
                let last = out.offsets[out.offsets.len() - 1];
                out.offsets.push(last + b.steps(row));
            }
            out.labels.extend(labels.as_string::<i32>().iter().map(|l| l.unwrap_or_default().to_string()));
        }
    }
    out.channels = out.channels.max(1);
    Ok(out)
}
