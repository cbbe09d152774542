//! External clustering scores: normalised mutual information and the
//! adjusted Rand index, computed exactly as scikit-learn does so numbers can
//! be compared with published results and Python baselines.
//!
//! Labels are plain `usize` ids; their values only matter for equality, so
//! any permutation of ids gives the same score. Use [`encode_labels`] to turn
//! arbitrary class values (e.g. strings) into ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

/// Errors from the clustering scores.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// The two labelings describe different numbers of samples.
    #[error("label lengths differ: {true_len} true vs {pred_len} predicted")]
    LengthMismatch {
        /// Length of `labels_true`.
        true_len: usize,
        /// Length of `labels_pred`.
        pred_len: usize,
    },
}

/// Sparse contingency table plus marginals, all as sample counts.
///
/// BTreeMaps (not HashMaps) fix the iteration order, so floating-point sums
/// are reproducible run to run.
struct Contingency {
    /// Count of samples per (true id, predicted id) pair, non-zero only.
    cells: BTreeMap<(usize, usize), u64>,
    /// Samples per true class.
    rows: BTreeMap<usize, u64>,
    /// Samples per predicted cluster.
    cols: BTreeMap<usize, u64>,
    /// Total number of samples.
    n: u64,
}

impl Contingency {
    /// Tallies the table, rejecting labelings of different lengths.
    fn new(labels_true: &[usize], labels_pred: &[usize]) -> Result<Self, MetricsError> {
        if labels_true.len() != labels_pred.len() {
            return Err(MetricsError::LengthMismatch { true_len: labels_true.len(), pred_len: labels_pred.len() });
        }
        let mut table = Contingency { cells: BTreeMap::new(), rows: BTreeMap::new(), cols: BTreeMap::new(), n: 0 };
        for (&t, &p) in labels_true.iter().zip(labels_pred) {
            *table.cells.entry((t, p)).or_insert(0) += 1;
            *table.rows.entry(t).or_insert(0) += 1;
            *table.cols.entry(p).or_insert(0) += 1;
            table.n += 1;
        }
        Ok(table)
    }
}

/// Normalised mutual information with arithmetic-mean normalisation,
/// `MI / ((H(true) + H(pred)) / 2)`, natural log; matches scikit-learn's
/// default `normalized_mutual_info_score`.
///
/// As in scikit-learn, two single-cluster labelings (or two empty ones)
/// score 1.0, and a single-cluster labeling against any split scores 0.0.
pub fn normalized_mutual_info(labels_true: &[usize], labels_pred: &[usize]) -> Result<f64, MetricsError> {
    let table = Contingency::new(labels_true, labels_pred)?;
    let (classes, clusters) = (table.rows.len(), table.cols.len());
    // Neither labeling splits the data: a perfect (trivial) match.
    if (classes == 1 && clusters == 1) || (classes == 0 && clusters == 0) {
        return Ok(1.0);
    }
    let mi = mutual_info(&table);
    // With the trivial case handled, zero MI means no shared information,
    // whatever the normaliser (this also avoids 0/0).
    if mi == 0.0 {
        return Ok(0.0);
    }
    let normalizer = (entropy(&table.rows, table.n) + entropy(&table.cols, table.n)) / 2.0;
    Ok(mi / normalizer)
}

/// Adjusted Rand index, matching scikit-learn's `adjusted_rand_score`:
/// 1.0 for identical partitions (and for empty input), about 0.0 for
/// independent ones, and possibly negative for worse-than-chance agreement.
pub fn adjusted_rand_index(labels_true: &[usize], labels_pred: &[usize]) -> Result<f64, MetricsError> {
    let table = Contingency::new(labels_true, labels_pred)?;
    let [tn, fp, fn_, tp] = pair_confusion(&table);
    if fn_ == 0 && fp == 0 {
        return Ok(1.0);
    }
    Ok(ari_from_pairs(tn, fp, fn_, tp))
}

/// Maps arbitrary labels to dense ids `0..m`, assigned in sorted order of
/// the distinct values. Returns the ids (one per input) and the distinct
/// values, so `values[ids[i]] == labels[i]`.
pub fn encode_labels<T: Eq + Hash + Clone + Ord>(labels: &[T]) -> (Vec<usize>, Vec<T>) {
    let values: Vec<T> = labels.iter().cloned().collect::<BTreeSet<T>>().into_iter().collect();
    let index: HashMap<&T, usize> = values.iter().enumerate().map(|(i, v)| (v, i)).collect();
    // Every label is in `values` by construction; the fallback is unreachable
    // but keeps this panic-free.
    let ids = labels.iter().map(|l| index.get(l).copied().unwrap_or(0)).collect();
    (ids, values)
}

/// Mutual information (nats) from the contingency table, mirroring
/// scikit-learn's `mutual_info_score` term by term, including zeroing terms
/// below machine epsilon and clipping the sum at zero.
fn mutual_info(table: &Contingency) -> f64 {
    // A single-cluster labeling has zero entropy, hence zero MI.
    if table.rows.len() == 1 || table.cols.len() == 1 {
        return 0.0;
    }
    let n = table.n as f64;
    let log_n = n.ln();
    let mut mi = 0.0;
    for (&(t, p), &count) in &table.cells {
        let a = table.rows.get(&t).copied().unwrap_or(0) as f64;
        let b = table.cols.get(&p).copied().unwrap_or(0) as f64;
        let c = count as f64;
        let p_tp = c / n;
        // sklearn: p * (ln c − ln n) + p * (−ln(a·b) + ln n + ln n).
        let term = p_tp * (c.ln() - log_n) + p_tp * (-(a * b).ln() + log_n + log_n);
        if term.abs() >= f64::EPSILON {
            mi += term;
        }
    }
    mi.max(0.0)
}

/// Shannon entropy (nats) of a labeling given its per-label counts.
fn entropy(counts: &BTreeMap<usize, u64>, n: u64) -> f64 {
    if n == 0 {
        // scikit-learn's convention for an empty labeling.
        return 1.0;
    }
    if counts.len() == 1 {
        return 0.0;
    }
    let total = n as f64;
    let log_total = total.ln();
    -counts
        .values()
        .map(|&c| {
            let c = c as f64;
            (c / total) * (c.ln() - log_total)
        })
        .sum::<f64>()
}

/// Ordered-pair confusion counts `[tn, fp, fn, tp]` as in scikit-learn's
/// `pair_confusion_matrix` (each unordered pair counted twice).
///
/// i128 keeps these exact for any realistic sample count (n² ≲ 1.7e38).
fn pair_confusion(table: &Contingency) -> [i128; 4] {
    let n = i128::from(table.n);
    let mut sum_squares: i128 = 0;
    let mut same_pred: i128 = 0; // Σ n_ij · (size of pred cluster j)
    let mut same_true: i128 = 0; // Σ n_ij · (size of true class i)
    for (&(t, p), &count) in &table.cells {
        let c = i128::from(count);
        let row = i128::from(table.rows.get(&t).copied().unwrap_or(0));
        let col = i128::from(table.cols.get(&p).copied().unwrap_or(0));
        sum_squares = sum_squares.saturating_add(c.saturating_mul(c));
        same_pred = same_pred.saturating_add(c.saturating_mul(col));
        same_true = same_true.saturating_add(c.saturating_mul(row));
    }
    let tp = sum_squares.saturating_sub(n);
    let fp = same_pred.saturating_sub(sum_squares);
    let fn_ = same_true.saturating_sub(sum_squares);
    let tn = n.saturating_mul(n).saturating_sub(fp).saturating_sub(fn_).saturating_sub(sum_squares);
    [tn, fp, fn_, tp]
}

/// `2 (tp·tn − fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn))`, exact in i128
/// where it fits and in f64 otherwise (only for astronomically large n).
fn ari_from_pairs(tn: i128, fp: i128, fn_: i128, tp: i128) -> f64 {
    let exact = || -> Option<(i128, i128)> {
        let num = tp.checked_mul(tn)?.checked_sub(fn_.checked_mul(fp)?)?;
        let d1 = tp.checked_add(fn_)?.checked_mul(fn_.checked_add(tn)?)?;
        let d2 = tp.checked_add(fp)?.checked_mul(fp.checked_add(tn)?)?;
        Some((num, d1.checked_add(d2)?))
    };
    match exact() {
        Some((num, den)) => 2.0 * num as f64 / den as f64,
        None => {
            let (tn, fp, fn_, tp) = (tn as f64, fp as f64, fn_ as f64, tp as f64);
            2.0 * (tp * tn - fn_ * fp) / ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scikit-learn 1.9.1 (`normalized_mutual_info_score`,
    /// `adjusted_rand_score`, default arguments); see each case.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn nmi(t: &[usize], p: &[usize]) -> f64 {
        normalized_mutual_info(t, p).unwrap()
    }

    fn ari(t: &[usize], p: &[usize]) -> f64 {
        adjusted_rand_index(t, p).unwrap()
    }

    /// Deterministic pseudo-random labels, same formulas as the Python
    /// script that produced the reference values.
    fn lcg_labels(n: u64) -> (Vec<usize>, Vec<usize>) {
        let t = (0..n).map(|i| ((((i * 1_103_515_245 + 12_345) % (1 << 31)) >> 16) % 4) as usize).collect();
        let p = (0..n).map(|i| ((((i * 22_695_477 + 1) % (1 << 32)) >> 16) % 5) as usize).collect();
        (t, p)
    }

    #[test]
    fn matches_sklearn_reference_cases() {
        // (labels_true, labels_pred, nmi, ari) from scikit-learn 1.9.1.
        let cases: [(&[usize], &[usize], f64, f64); 8] = [
            (&[0, 1, 1, 0, 1, 0], &[0, 1, 0, 0, 1, 1], 0.08170416594551037, -0.1111111111111111),
            (&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2], 0.5158037429793889, 0.24242424242424243),
            (&[0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2], &[1, 1, 0, 0, 0, 2, 2, 2, 2, 2, 3, 3], 0.5347552542173984, 0.2114695340501792),
            (&[100, 100, 7, 7, 3, 3, 3], &[9, 9, 9, 2, 2, 5, 5], 0.5636355530993447, 0.2125),
            (&[0, 0, 1, 1], &[0, 1, 0, 1], 0.0, -0.5),
            (&[0, 0, 1, 1], &[4, 4, 4, 4], 0.0, 0.0),
            (&[0, 1, 2, 3], &[0, 0, 0, 0], 0.0, 0.0),
            (&[5, 5, 5], &[2, 2, 2], 1.0, 1.0),
        ];
        for (t, p, want_nmi, want_ari) in cases {
            assert!(close(nmi(t, p), want_nmi), "nmi {t:?} {p:?}: {}", nmi(t, p));
            assert!(close(ari(t, p), want_ari), "ari {t:?} {p:?}: {}", ari(t, p));
        }
    }

    #[test]
    fn independent_labelings_score_near_zero() {
        // Exactly balanced cross product: MI is exactly 0.
        let t: Vec<usize> = (0..200).map(|i| i % 5).collect();
        let p: Vec<usize> = (0..200).map(|i| (i / 5) % 4).collect();
        assert_eq!(nmi(&t, &p), 0.0);
        assert!(close(ari(&t, &p), -0.017531044558071585));
        let (t, p) = lcg_labels(1000);
        assert!(close(nmi(&t, &p), 0.0006465643050658273));
        assert!(close(ari(&t, &p), -0.0028857325929248566));
        assert!(ari(&t, &p).abs() < 0.01);
    }

    #[test]
    fn perfect_agreement_and_permutation_invariance() {
        let t = [0, 0, 1, 1, 2, 2];
        assert_eq!(nmi(&t, &t), 1.0);
        assert_eq!(ari(&t, &t), 1.0);
        let p = [2, 2, 0, 0, 1, 1];
        assert!(close(nmi(&t, &p), 1.0));
        assert_eq!(ari(&t, &p), 1.0);
        // Renaming ids in either labeling, or swapping the arguments, keeps
        // both scores (both are symmetric).
        let t2 = [0, 1, 1, 0, 1, 0];
        let p2 = [0, 1, 0, 0, 1, 1];
        let renamed: Vec<usize> = p2.iter().map(|&x| 7 - x).collect();
        assert!(close(nmi(&t2, &renamed), nmi(&t2, &p2)));
        assert!(close(ari(&t2, &renamed), ari(&t2, &p2)));
        assert!(close(nmi(&p2, &t2), nmi(&t2, &p2)));
        assert!(close(ari(&p2, &t2), ari(&t2, &p2)));
        // All singletons on both sides is also a perfect match.
        assert_eq!(ari(&[0, 1, 2, 3], &[3, 2, 1, 0]), 1.0);
        assert!(close(nmi(&[0, 1, 2, 3], &[3, 2, 1, 0]), 1.0));
    }

    #[test]
    fn empty_single_and_mismatched_inputs() {
        assert_eq!(nmi(&[], &[]), 1.0);
        assert_eq!(ari(&[], &[]), 1.0);
        assert_eq!(nmi(&[3], &[8]), 1.0);
        assert_eq!(ari(&[3], &[8]), 1.0);
        let err = MetricsError::LengthMismatch { true_len: 2, pred_len: 1 };
        assert_eq!(normalized_mutual_info(&[0, 1], &[0]), Err(err.clone()));
        assert_eq!(adjusted_rand_index(&[0, 1], &[0]), Err(err.clone()));
        assert_eq!(err.to_string(), "label lengths differ: 2 true vs 1 predicted");
    }

    #[test]
    fn extreme_label_values_are_fine() {
        let t = [usize::MAX, usize::MAX, 0, 0];
        let p = [1, 1, usize::MAX, usize::MAX];
        assert_eq!(ari(&t, &p), 1.0);
        assert!(close(nmi(&t, &p), 1.0));
    }

    #[test]
    fn encode_labels_sorted_dense_ids() {
        let (ids, values) = encode_labels(&["walk", "run", "walk", "sit", "run"]);
        assert_eq!(values, vec!["run", "sit", "walk"]);
        assert_eq!(ids, vec![2, 0, 2, 1, 0]);
        let (ids, values) = encode_labels(&[10i64, -3, 10, 7]);
        assert_eq!(values, vec![-3, 7, 10]);
        assert_eq!(ids, vec![2, 0, 2, 1]);
        let (ids, values) = encode_labels::<u8>(&[]);
        assert!(ids.is_empty() && values.is_empty());
    }

    #[test]
    fn ari_fallback_matches_exact_path() {
        // The f64 fallback formula agrees with the exact path.
        let (tn, fp, fn_, tp) = (120i128, 14, 9, 30);
        let f = 2.0 * (30.0 * 120.0 - 9.0 * 14.0) / ((30.0 + 9.0) * (9.0 + 120.0) + (30.0 + 14.0) * (14.0 + 120.0));
        assert!(close(ari_from_pairs(tn, fp, fn_, tp), f));
        // Overflowing products fall back to f64 instead of panicking.
        let big = i128::MAX / 4;
        assert!(ari_from_pairs(big, big, big, big).is_finite());
    }
}
