//! The dataset suite of the quality benchmark: the manifest of the UCR/UEA
//! Parquet folder (datasets.json) and the row subset every method uses.

use std::error::Error;
use std::path::Path;

use serde::Deserialize;

use crate::parquet_series::LabelledSeries;

/// Rows kept per dataset when the caller gives no `--max-rows`; the same
/// default as bench/quality/classic.py.
pub const DEFAULT_MAX_ROWS: usize = 1000;
/// Series-steps kept per dataset (rows x its longest series) when the caller
/// gives no `--max-steps`; the same default as bench/quality/classic.py.
pub const DEFAULT_MAX_STEPS: usize = 75_000;

#[derive(Deserialize)]
struct RawManifest {
    datasets: Vec<RawDataset>,
}

#[derive(Deserialize)]
struct RawDataset {
    name: String,
    n_classes: usize,
    splits: RawSplits,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct RawSplits {
    TRAIN: RawSplit,
    TEST: RawSplit,
}

#[derive(Deserialize)]
struct RawSplit {
    file: String,
}

/// One dataset of the manifest.
pub struct Dataset {
    pub name: String,
    pub classes: usize,
    pub train_file: String,
    pub test_file: String,
}

/// The datasets of a data folder, in manifest order.
pub struct Manifest {
    datasets: Vec<Dataset>,
}

impl Manifest {
    /// Reads `datasets.json` of the folder.
    pub fn read(folder: &Path) -> Result<Self, Box<dyn Error>> {
        let path = folder.join("datasets.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let raw: RawManifest = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let datasets = raw
            .datasets
            .into_iter()
            .map(|d| Dataset { name: d.name, classes: d.n_classes, train_file: d.splits.TRAIN.file, test_file: d.splits.TEST.file })
            .collect();
        Ok(Manifest { datasets })
    }

    /// The dataset called `name`.
    pub fn dataset(&self, name: &str) -> Result<&Dataset, Box<dyn Error>> {
        self.datasets.iter().find(|d| d.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.datasets.iter().map(|d| d.name.as_str()).collect();
            format!("no dataset {name} in the manifest; known: {}", known.join(", ")).into()
        })
    }
}

/// CPU time of this process so far (all threads, user + system), from
/// /proc/self/stat; None where there is no /proc. The suite reports it
/// beside wall time because CPU time hardly moves when something else
/// shares the cores.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports them in USER_HZ, 100 per second on every mainstream platform.
    Some(ticks / 100.0)
}

/// The names to run: those asked for (checked against the manifest), or all.
pub fn selected(manifest: &Manifest, asked: Option<&[String]>) -> Result<Vec<String>, Box<dyn Error>> {
    match asked {
        Some(names) => names.iter().map(|n| manifest.dataset(n).map(|d| d.name.clone())).collect(),
        None => Ok(manifest.datasets.iter().map(|d| d.name.clone()).collect()),
    }
}

/// Row indices kept from `rows` rows whose longest series has `longest`
/// steps: all of them, or `cap = max(min(max_rows, max_steps / longest),
/// 2 * classes)` evenly spaced ones (`i * rows / cap`), which keeps the class
/// mix of the TRAIN + TEST order without a random draw. The floor of two rows
/// per class keeps k (the class count) below the row count on datasets of
/// long series with many classes (PigCVP: 52 classes of 2000 steps).
pub fn evenly_spaced_rows(rows: usize, longest: usize, classes: usize, max_rows: usize, max_steps: usize) -> Vec<usize> {
    let cap = max_rows.min(max_steps / longest.max(1)).max(2 * classes).max(1);
    if rows <= cap {
        (0..rows).collect()
    } else {
        (0..cap).map(|i| i * rows / cap).collect()
    }
}

/// Flat values, offsets and labels of the kept rows.
pub fn take_rows(data: &LabelledSeries, keep: &[usize]) -> (Vec<f32>, Vec<usize>, Vec<String>) {
    let c = data.channels;
    let mut values = Vec::new();
    let mut offsets = vec![0];
    let mut labels = Vec::with_capacity(keep.len());
    for &row in keep {
        let (start, end) = (data.offsets[row], data.offsets[row + 1]);
        values.extend_from_slice(&data.values[start * c..end * c]);
        offsets.push(offsets[offsets.len() - 1] + end - start);
        labels.push(data.labels[row].clone());
    }
    (values, offsets, labels)
}
