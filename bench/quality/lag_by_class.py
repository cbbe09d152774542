"""Whether the small time lags of a dataset are noise or class information:
for each equal-length univariate dataset of the suite whose series
`paa_steps: 64` averages (window of at least two raw steps), each row's
lag below one window (the shift, edges repeated, whose Pearson
correlation with the rows' raw mean series is highest: close to, not the
same as, `align_lags`, which scores the covariance over the overlap), then

- the share of the rows' variance around their mean series that is left
  once every row is shifted by its lag (small: the lag is the largest
  variation there is);
- the share of the lags' variance that the classes explain (eta squared:
  0 when every class has the same lags, 1 when the lag names the class);
- each class's mean lag.

Labels train nothing: this only says which datasets a global reference
may align (lags unrelated to class) and which it must not (lags that are
part of what the classes look like). Rows are the suite's own.

    bench/.venv-classic/bin/python bench/quality/lag_by_class.py ../shared/data
"""
import json
import math
import sys
from pathlib import Path

import numpy as np

from latent_probe import suite_rows

# The library's default `paa_steps`: series longer than this are averaged
# over windows of ceil(longest / 64) raw steps.
PAA_STEPS = 64


def shifted(row, lag):
    """`row` moved `lag` steps later (earlier when negative), edges repeated."""
    out = np.roll(row, lag)
    if lag > 0:
        out[:lag] = row[0]
    elif lag < 0:
        out[lag:] = row[-1]
    return out


def best_lag(row, reference, most):
    return max(range(-most, most + 1), key=lambda lag: np.corrcoef(shifted(row, lag), reference)[0, 1])


def eta_squared(values, groups):
    total = ((values - values.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    between = sum((groups == g).sum() * (values[groups == g].mean() - values.mean()) ** 2 for g in np.unique(groups))
    return between / total


def main():
    data = Path(sys.argv[1])
    entries = json.loads((data / "datasets.json").read_text())["datasets"]
    print("| dataset | window (raw steps) | variance left after alignment | lag variance the classes explain | mean lag per class |")
    print("| --- | ---: | ---: | ---: | --- |")
    for entry in entries:
        rows = suite_rows(entry, data)
        if rows is None:
            continue
        x, labels = rows
        window = math.ceil(x.shape[1] / PAA_STEPS)
        if window < 2:
            continue
        reference = x.mean(axis=0)
        lags = np.array([best_lag(row, reference, window - 1) for row in x])
        aligned = np.array([shifted(row, lag) for row, lag in zip(x, lags)])
        left = ((aligned - aligned.mean(axis=0)) ** 2).sum() / ((x - reference) ** 2).sum()
        per_class = ", ".join(f"{c}: {lags[labels == c].mean():+.1f}" for c in np.unique(labels)[:8])
        more = " ..." if len(np.unique(labels)) > 8 else ""
        print(f"| {entry['name']} | {window} | {left:.2f} | {eta_squared(lags.astype(float), labels):.2f} | {per_class}{more} |")


if __name__ == "__main__":
    main()
