//! A batch of series in the Arrow list layout: one flat value buffer, one
//! offset per row plus one (counted in time steps), and a channel count.
//! Multivariate series are time-major: each step is `channels` consecutive
//! values. Rows keep their own lengths.

use std::borrow::Cow;

use crate::error::{Result, VraeError};

/// Series to train on or to embed, borrowed from a column where possible.
#[derive(Clone, Debug)]
pub struct SeriesBatch<'a> {
    values: Cow<'a, [f32]>,
    offsets: Cow<'a, [usize]>,
    channels: usize,
}

impl<'a> SeriesBatch<'a> {
    /// Wraps a flat value buffer. `offsets[r]..offsets[r + 1]` are row `r`'s
    /// time steps; the values of step `s` are `values[s * channels..(s + 1) * channels]`.
    /// `offsets` need not start at zero (a sliced Arrow array does not).
    pub fn new(values: impl Into<Cow<'a, [f32]>>, offsets: impl Into<Cow<'a, [usize]>>, channels: usize) -> Result<Self> {
        let (values, offsets) = (values.into(), offsets.into());
        if channels == 0 {
            return Err(VraeError::Layout("channels must be at least 1".into()));
        }
        if offsets.is_empty() {
            return Err(VraeError::Layout("offsets need one entry per row plus one".into()));
        }
        if let Some(row) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return Err(VraeError::Layout(format!("offsets decrease at row {row}")));
        }
        let needed = offsets[offsets.len() - 1].checked_mul(channels);
        if needed.is_none_or(|n| n > values.len()) {
            return Err(VraeError::Layout(format!(
                "offsets reach step {} of {} channels but there are only {} values",
                offsets[offsets.len() - 1],
                channels,
                values.len()
            )));
        }
        Ok(Self { values, offsets, channels })
    }

    /// Builds an owned batch from one flat, time-major slice per row.
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R], channels: usize) -> Result<SeriesBatch<'static>> {
        if channels == 0 {
            return Err(VraeError::Layout("channels must be at least 1".into()));
        }
        let total: usize = rows.iter().map(|r| r.as_ref().len()).sum();
        let mut values = Vec::with_capacity(total);
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        offsets.push(0);
        for (row, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() % channels != 0 {
                return Err(VraeError::RaggedSteps { row, values: r.len(), channels });
            }
            values.extend_from_slice(r);
            offsets.push(values.len() / channels);
        }
        SeriesBatch::new(values, offsets, channels)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per time step.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Time steps of row `row`.
    pub fn steps(&self, row: usize) -> usize {
        self.offsets[row + 1] - self.offsets[row]
    }

    /// Row `row`'s values, time-major.
    pub fn row(&self, row: usize) -> &[f32] {
        &self.values[self.offsets[row] * self.channels..self.offsets[row + 1] * self.channels]
    }

    /// Time steps of every row.
    pub fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.offsets.windows(2).map(|w| w[1] - w[0])
    }

    /// Total time steps over all rows.
    pub fn total_steps(&self) -> usize {
        self.offsets[self.offsets.len() - 1] - self.offsets[0]
    }

    /// The longest row, in steps (0 for an empty batch).
    pub fn max_steps(&self) -> usize {
        self.lengths().max().unwrap_or(0)
    }

    /// Checks every row: not empty, not longer than `max_length`, all values finite.
    /// The error names the first bad row.
    pub fn validate(&self, max_length: usize) -> Result<()> {
        match (0..self.len()).find_map(|row| self.row_error(row, max_length)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Why row `row` cannot be used (empty, longer than `max_length`, or
    /// holding NaN/inf), if it cannot.
    pub fn row_error(&self, row: usize, max_length: usize) -> Option<VraeError> {
        series_error(self.row(row), self.channels, max_length).map(|e| e.map_row(|_| row))
    }

    /// The same rows in an order fixed by their content alone (a hash of
    /// each row's values, ties broken by the values themselves): any two
    /// batches holding the same series, in whatever order, give the same
    /// batch.
    pub(crate) fn in_content_order(&self) -> Result<SeriesBatch<'static>> {
        let bits = |row: usize| self.row(row).iter().map(|v| v.to_bits());
        let keys: Vec<u64> =
            (0..self.len()).map(|row| crate::artifact::fnv1a64(&bits(row).flat_map(u32::to_le_bytes).collect::<Vec<u8>>())).collect();
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then_with(|| bits(a).cmp(bits(b))));
        let mut values = Vec::with_capacity(self.total_steps() * self.channels);
        let mut offsets = Vec::with_capacity(self.len() + 1);
        offsets.push(0);
        for row in order {
            values.extend_from_slice(self.row(row));
            offsets.push(values.len() / self.channels);
        }
        SeriesBatch::new(values, offsets, self.channels)
    }

    /// Rows ordered longest first    /// Rows ordered longest first (ties by row number), the order the fused
    /// layers need.
    pub(crate) fn rows_longest_first(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&r| std::cmp::Reverse(self.steps(r)));
        order
    }
}

/// Why one series' values (time-major, `channels` per step) cannot be used;
/// the error names row 0.
pub(crate) fn series_error(values: &[f32], channels: usize, max_length: usize) -> Option<VraeError> {
    let steps = values.len() / channels.max(1);
    if steps == 0 {
        return Some(VraeError::EmptySeries { row: 0 });
    }
    if steps > max_length {
        return Some(VraeError::SeriesTooLong { row: 0, length: steps, max: max_length });
    }
    values.iter().position(|v| !v.is_finite()).map(|pos| VraeError::NonFinite {
        row: 0,
        step: pos / channels,
        channel: pos % channels,
        value: values[pos],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_lengths_follow_the_offsets() {
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let batch = SeriesBatch::new(&values[..], vec![1, 3, 3, 6], 2).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.row(0), &[2.0, 3.0, 4.0, 5.0]);
        assert_eq!(batch.steps(1), 0);
        assert_eq!(batch.lengths().collect::<Vec<_>>(), vec![2, 0, 3]);
        assert_eq!(batch.total_steps(), 5);
        assert_eq!(batch.rows_longest_first(), vec![2, 0, 1]);
    }

    #[test]
    fn content_order_ignores_the_order_rows_came_in() {
        let rows = [vec![3.0f32, 1.0], vec![0.5], vec![-2.0, 4.0, 1.0], vec![3.0, 1.0], vec![0.0, -0.0]];
        let a = SeriesBatch::from_rows(&rows, 1).unwrap().in_content_order().unwrap();
        let mut reversed = rows.to_vec();
        reversed.reverse();
        let b = SeriesBatch::from_rows(&reversed, 1).unwrap().in_content_order().unwrap();
        let rows_of = |batch: &SeriesBatch| (0..batch.len()).map(|r| batch.row(r).to_vec()).collect::<Vec<_>>();
        assert_eq!(rows_of(&a), rows_of(&b));
        // Every row is kept, duplicates included.
        let mut sorted_in = rows.to_vec();
        let mut sorted_out = rows_of(&a);
        let key = |r: &Vec<f32>| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        sorted_in.sort_by_key(key);
        sorted_out.sort_by_key(key);
        assert_eq!(sorted_in, sorted_out);
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(SeriesBatch::new(vec![0.0; 4], vec![0, 3, 2], 1).is_err());
        assert!(SeriesBatch::new(vec![0.0; 4], vec![0, 3], 2).is_err());
        assert!(SeriesBatch::new(vec![0.0; 4], vec![0, 4], 0).is_err());
        assert!(SeriesBatch::new(vec![0.0; 4], Vec::<usize>::new(), 1).is_err());
        let err = SeriesBatch::from_rows(&[vec![1.0, 2.0], vec![1.0, 2.0, 3.0]], 2).unwrap_err();
        assert!(matches!(err, VraeError::RaggedSteps { row: 1, .. }));
    }

    #[test]
    fn validation_names_the_row() {
        let b = SeriesBatch::from_rows(&[vec![1.0], vec![]], 1).unwrap();
        assert!(matches!(b.validate(10), Err(VraeError::EmptySeries { row: 1 })));
        let b = SeriesBatch::from_rows(&[vec![1.0, 2.0], vec![1.0, f32::NAN, 2.0, 3.0]], 2).unwrap();
        let err = b.validate(10).unwrap_err();
        assert!(matches!(err, VraeError::NonFinite { row: 1, step: 0, channel: 1, .. }), "{err}");
        let b = SeriesBatch::from_rows(&[vec![1.0; 5]], 1).unwrap();
        assert!(matches!(b.validate(4), Err(VraeError::SeriesTooLong { row: 0, length: 5, max: 4 })));
    }
}
