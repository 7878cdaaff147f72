#!/usr/bin/python3
"""Expected values for tests/unit/test_drift_nannyml.c: NannyML's default
thresholds for its univariate ks and wasserstein methods, re-implemented
with numpy/scipy as NannyML's current code has them:

- DEFAULT_THRESHOLDS (nannyml/drift/univariate/calculator.py):
  kolmogorov_smirnov: StandardDeviationThreshold(std_lower_multiplier=None),
  wasserstein: StandardDeviationThreshold() (multipliers 3 and 3);
- Method.fit (nannyml/drift/univariate/methods.py): the method's statistic
  on every chunk of the reference against the whole reference, then
  calculate_threshold_values (nannyml/thresholds.py): mean +- k * np.std of
  those values, a value past the method's limit replaced by the limit
  (ks: lower 0, upper 1; wasserstein: lower 0);
- DefaultChunker (nannyml/chunk.py): SizeBasedChunker(len // 10), the
  incomplete remainder kept as a chunk of its own;
- Method.alert: value < lower or value > upper (strict); ks scores the D
  statistic (ks_2samp, the exact path below 10,000 reference values).

Run with Debian's interpreter (python3-numpy, python3-scipy):

    /usr/bin/python3 tests/data/gen_nannyml_thresholds.py > tests/data/nannyml_thresholds.json
"""

import json
import sys

import numpy as np
import scipy
from scipy import stats


def default_chunks(values):
    n = len(values)
    size = n // 10
    chunks = [values[i:i + size] for i in range(0, n, size) if i + size - 1 < n]
    if n % size != 0:
        chunks.append(values[size * (n // size):])
    return chunks


def sd_threshold(vals, lower_mult, upper_mult, lower_limit, upper_limit):
    agg = np.mean(vals)
    std = np.std(vals)
    lower = agg - std * lower_mult if lower_mult is not None else None
    upper = agg + std * upper_mult if upper_mult is not None else None
    if lower_limit is not None and lower is not None and lower < lower_limit:
        lower = lower_limit
    if upper_limit is not None and upper is not None and upper > upper_limit:
        upper = upper_limit
    return lower, upper


def case(name, ref, windows):
    ref = [float(v) for v in ref]
    chunks = default_chunks(np.array(ref))
    ds = [stats.ks_2samp(ref, c).statistic for c in chunks]
    ws = [stats.wasserstein_distance(ref, c) for c in chunks]
    ks_lo, ks_hi = sd_threshold(ds, None, 3, 0, 1)
    w_lo, w_hi = sd_threshold(ws, 3, 3, 0, None)
    out = {"name": name, "ref": ref, "chunks": len(chunks), "ks_upper": float(ks_hi),
           "w_lower": float(w_lo), "w_upper": float(w_hi), "windows": []}
    assert ks_lo is None
    for cur in windows:
        cur = [float(v) for v in cur]
        d = float(stats.ks_2samp(ref, cur).statistic)
        w = float(stats.wasserstein_distance(ref, cur))
        out["windows"].append({
            "cur": cur, "d": d, "w": w,
            "ks_drifted": bool(d > ks_hi),
            "w_drifted": bool(w < w_lo or w > w_hi)})
    return out


def main():
    r = np.random.default_rng(20261207)
    cases = []
    # sizes: a multiple of 10, a remainder chunk, the smallest (10..29: chunks
    # of 1 or 2 values, up to 19 chunks), ties, a trend in the row order
    for n in (10, 19, 23, 100, 137, 500, 1234, 3000):
        ref = np.round(r.normal(5, 2, n), 3)
        wins = [np.round(r.normal(5, 2, int(r.integers(20, 300)))),
                np.round(r.normal(5.2, 2, int(r.integers(20, 300))), 3),
                np.round(r.normal(7, 3, int(r.integers(20, 300))), 3),
                ref[: max(1, n // 10)]]
        cases.append(case(f"normal_{n}", ref, wins))
    ties = r.integers(0, 6, 400)
    cases.append(case("ties_400", ties, [r.integers(0, 6, 150), r.integers(1, 7, 150)]))
    trend = np.round(np.linspace(0, 10, 800) + r.normal(0, 1, 800), 2)
    cases.append(case("trend_800", trend, [trend[::7], np.round(r.normal(5, 3, 200), 2)]))
    const = np.full(50, 3.0)
    cases.append(case("constant_50", const, [np.full(20, 3.0), np.full(20, 4.0)]))
    doc = {"generator": "tests/data/gen_nannyml_thresholds.py", "numpy": np.__version__,
           "scipy": scipy.__version__, "cases": cases}
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
