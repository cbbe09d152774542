//! `vrae_fit(series [, options])`: the aggregate that trains a model on the
//! series of its group and returns the model's bytes (BinaryView). Under
//! `GROUP BY` every group gets its own model; DataFusion evaluates groups of
//! different partitions in parallel.
//!
//! `options` is a JSON object with the core's option names (see the
//! README), plus `on_invalid`: `"error"` (default: an empty, NaN/inf or too
//! long series stops the query, naming the row) or `"null"` (such series are
//! left out of training).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Array, LargeListArray, UInt64Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float32Type, UInt64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility};

use super::panic_guard::guarded;
use vrae::arrow_input::series_from_arrow_with;
use vrae::on_invalid::{OnInvalid, ON_INVALID};
use vrae::Model;
use vrae::Progress;
use vrae::SeriesBatch;
use vrae::VraeConfig;

const NAME: &str = "vrae_fit";

static PROGRESS_ON_STDERR: AtomicBool = AtomicBool::new(false);

/// Whether `vrae_fit` reports epochs and loss on stderr (the shell turns this on).
pub fn set_progress_on_stderr(on: bool) {
    PROGRESS_ON_STDERR.store(on, Ordering::Relaxed);
}

fn error(message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{NAME}: {message}"))
}

/// The `vrae_fit` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VraeFit {
    signature: Signature,
}

impl Default for VraeFit {
    fn default() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Volatile) }
    }
}

impl AggregateUDFImpl for VraeFit {
    fn name(&self) -> &str {
        NAME
    }

    fn documentation(&self) -> Option<&Documentation> {
        super::docs::documentation(NAME)
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() || arg_types.len() > 2 {
            return Err(DataFusionError::Plan(format!(
                "{NAME} takes (series) or (series, options_json), got {} arguments",
                arg_types.len()
            )));
        }
        if let Some(t) = arg_types.get(1) {
            if !matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null) {
                return Err(DataFusionError::Plan(format!("{NAME}: options must be a JSON string, got {t}")));
            }
        }
        // BinaryView, not Binary: a model reaches the other functions through
        // a join, which repeats it on every row of a batch. A view array
        // repeats a 16-byte view of one buffer; a Binary array would copy the
        // bytes, and 8,192 rows of a 270 KB model pass the 2 GiB that its
        // i32 offsets hold (Arrow then panics with "offset overflow").
        Ok(DataType::BinaryView)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FitAccumulator::default()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, t: DataType| {
            Arc::new(Field::new(format!("{}_{name}", args.name), DataType::LargeList(Arc::new(Field::new("item", t, true))), true))
        };
        Ok(vec![
            list("values", DataType::Float32),
            list("lengths", DataType::UInt64),
            Arc::new(Field::new(format!("{}_channels", args.name), DataType::UInt64, true)),
            Arc::new(Field::new(format!("{}_options", args.name), DataType::Utf8, true)),
        ])
    }
}

/// The series of one group, collected in the core's flat layout.
#[derive(Debug, Default)]
struct FitAccumulator {
    values: Vec<f32>,
    lengths: Vec<usize>,
    channels: Option<usize>,
    options: Option<String>,
    /// Rows seen so far, to name rows in errors.
    rows_seen: usize,
}

/// Parsed options: the core config and what to do with invalid series.
fn parse_options(json: Option<&str>) -> Result<(VraeConfig, OnInvalid)> {
    let Some(json) = json else { return Ok((VraeConfig::default(), OnInvalid::Error)) };
    let mut map = vrae::config::options_object(json).map_err(error)?;
    let on_invalid = OnInvalid::take_from(&mut map).map_err(error)?;
    let config = VraeConfig::from_map(&map).map_err(|e| {
        let text = e.to_string();
        // The core lists its own options; `on_invalid` is this function's.
        error(text.replace("valid options are: ", &format!("valid options are: {ON_INVALID}, ")))
    })?;
    Ok((config, on_invalid))
}

impl FitAccumulator {
    fn set_options(&mut self, options: Option<String>) -> Result<()> {
        match (&self.options, options) {
            (_, None) => Ok(()),
            (None, Some(o)) => {
                parse_options(Some(&o))?;
                self.options = Some(o);
                Ok(())
            }
            (Some(a), Some(b)) if *a == b => Ok(()),
            (Some(_), Some(_)) => Err(error("options must be the same for every row of a group")),
        }
    }

    /// Adds a converted batch; `row_of[i]` is row `i`'s number in the input
    /// (the batch leaves null series out).
    fn add_batch(&mut self, batch: &SeriesBatch, row_of: &[usize], skip_invalid: bool, max_length: usize) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.channels {
            None => self.channels = Some(batch.channels()),
            Some(c) if c != batch.channels() => {
                return Err(error(format!("series with {} channels after series with {c}", batch.channels())))
            }
            Some(_) => {}
        }
        for (row, &input_row) in row_of.iter().enumerate().take(batch.len()) {
            if let Some(e) = batch.row_error(row, max_length) {
                if skip_invalid {
                    continue;
                }
                return Err(error(e.map_row(|_| input_row)));
            }
            self.values.extend_from_slice(batch.row(row));
            self.lengths.push(batch.steps(row));
        }
        Ok(())
    }
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        guarded(NAME, || self.update(values))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        guarded(NAME, || self.train())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * 4 + self.lengths.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        guarded(NAME, || self.partial_state())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        guarded(NAME, || self.merge(states))
    }
}

impl FitAccumulator {
    fn update(&mut self, values: &[ArrayRef]) -> Result<()> {
        let series = &values[0];
        if let Some(opts) = values.get(1) {
            let opts = datafusion::arrow::compute::cast(opts, &DataType::Utf8)?;
            let opts = opts.as_string::<i32>();
            for i in 0..opts.len() {
                if opts.is_valid(i) {
                    self.set_options(Some(opts.value(i).to_string()))?;
                }
            }
        }
        let (config, on_invalid) = parse_options(self.options.as_deref())?;
        let invalid = on_invalid.rows(config.max_length);
        let skip_invalid = on_invalid == OnInvalid::Null;
        let converted =
            series_from_arrow_with(series.as_ref(), self.channels, invalid).map_err(|e| error(e.map_row(|r| self.rows_seen + r)))?;
        let first = self.rows_seen;
        let row_of: Vec<usize> = converted.rows.iter().map(|&i| first + i).collect();
        self.add_batch(&converted.batch, &row_of, skip_invalid, config.max_length)?;
        self.rows_seen += series.len();
        Ok(())
    }

    fn train(&mut self) -> Result<ScalarValue> {
        if self.lengths.is_empty() {
            return Ok(ScalarValue::BinaryView(None));
        }
        let (config, _) = parse_options(self.options.as_deref())?;
        let mut offsets = Vec::with_capacity(self.lengths.len() + 1);
        offsets.push(0usize);
        for l in &self.lengths {
            offsets.push(offsets[offsets.len() - 1] + l);
        }
        let batch = SeriesBatch::new(&self.values[..], offsets, self.channels.unwrap_or(1)).map_err(error)?;
        let verbose = PROGRESS_ON_STDERR.load(Ordering::Relaxed);
        let rows = batch.len();
        let epochs = config.epochs_for_rows(rows);
        let model = Model::fit(&batch, &config, |p: Progress| {
            if let (true, Some(line)) = (verbose, p.line(NAME, rows, epochs)) {
                eprintln!("{line}");
            }
        })
        .map_err(error)?;
        Ok(ScalarValue::BinaryView(Some(model.to_bytes().map_err(error)?)))
    }

    /// The partial state: LargeLists, as a group's values can pass the 2^31
    /// that a List's offsets hold.
    fn partial_state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = LargeListArray::new(
            Arc::new(Field::new("item", DataType::Float32, true)),
            OffsetBuffer::from_lengths([self.values.len()]),
            Arc::new(Float32Array::from(std::mem::take(&mut self.values))),
            None,
        );
        let lengths = LargeListArray::new(
            Arc::new(Field::new("item", DataType::UInt64, true)),
            OffsetBuffer::from_lengths([self.lengths.len()]),
            Arc::new(UInt64Array::from(self.lengths.drain(..).map(|l| l as u64).collect::<Vec<_>>())),
            None,
        );
        Ok(vec![
            ScalarValue::LargeList(Arc::new(values)),
            ScalarValue::LargeList(Arc::new(lengths)),
            ScalarValue::UInt64(self.channels.map(|c| c as u64)),
            ScalarValue::Utf8(self.options.clone()),
        ])
    }

    fn merge(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (values, lengths) = (states[0].as_list::<i64>(), states[1].as_list::<i64>());
        let channels = states[2].as_primitive::<UInt64Type>();
        let options = states[3].as_string::<i32>();
        for i in 0..values.len() {
            if options.is_valid(i) {
                self.set_options(Some(options.value(i).to_string()))?;
            }
            if channels.is_null(i) {
                continue; // a partial state that saw no series
            }
            let c = channels.value(i) as usize;
            match self.channels {
                None => self.channels = Some(c),
                Some(mine) if mine != c => return Err(error(format!("series with {c} channels after series with {mine}"))),
                Some(_) => {}
            }
            let v = values.value(i);
            self.values.extend_from_slice(v.as_primitive::<Float32Type>().values());
            let l = lengths.value(i);
            self.lengths.extend(l.as_primitive::<UInt64Type>().values().iter().map(|&x| x as usize));
        }
        Ok(())
    }
}
