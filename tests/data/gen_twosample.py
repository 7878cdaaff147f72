#!/usr/bin/python3
"""Expected values for tests/unit/test_twosample.c (common/stats/twosample.c).

Run with Debian's interpreter, which has python3-numpy and python3-scipy:

    /usr/bin/python3 tests/data/gen_twosample.py > tests/data/twosample_cases.json

Every expected number is scipy's: ks_2samp (method="auto" and "exact";
above 10,000 values its kstwo-based asymptotic p), kstwo.sf itself,
chi2_contingency (with and without Yates) and the pooled two-proportion
z-test written with scipy.stats.norm. Inputs are seeded (reproducible for a
given numpy/scipy) and include ties, tiny samples, n == m (the square
formula), disjoint samples and the 10,000-value limit of the exact path.
"""

import json
import sys
import warnings

import numpy as np
import scipy
from scipy import stats


def ks_cases(r):
    out = []

    def add(name, a, b):
        a = [float(v) for v in a]
        b = [float(v) for v in b]
        res = stats.ks_2samp(a, b, method="auto")
        n, m = len(a), len(b)
        how = "exact" if max(n, m) <= 10000 else "asymptotic"
        out.append({"name": name, "n": n, "m": m, "d": float(res.statistic),
                    "p": float(res.pvalue), "method": how,
                    "a": a if n <= 400 else None, "b": b if m <= 400 else None})

    add("tiny_1_1", [1.0], [2.0])
    add("tiny_1_10", [0.5], list(range(10)))
    add("tiny_10_1", list(range(10)), [100.0])
    add("tiny_2_3", [1.0, 2.0], [1.5, 2.5, 3.5])
    add("equal_20_d05", list(range(20)), [v + 10 for v in range(20)])
    add("ties_int_small", r.integers(0, 3, 7), r.integers(0, 3, 9))
    add("ties_all_same", [3.0] * 12, [3.0] * 8)
    add("disjoint_15_25", r.normal(0, 1, 15), r.normal(10, 1, 25))
    for i in range(12):
        n = int(r.integers(2, 60))
        m = int(r.integers(2, 60))
        add(f"normal_{n}_{m}_{i}", np.round(r.normal(0, 1, n), 2),
            np.round(r.normal(0.3 * (i % 3), 1, m), 2))
    for i in range(8):
        n = int(r.integers(50, 400))
        add(f"equal_n_{n}_{i}", np.round(r.normal(0, 1, n), 3),
            np.round(r.normal(0.1 * (i % 4), 1, n), 3))
    for i in range(6):
        n = int(r.integers(100, 400))
        m = int(r.integers(100, 400))
        add(f"ties_{n}_{m}_{i}", r.integers(0, 10, n), r.integers(0, 11, m))
    return out


def ks_lattice_cases(r):
    """Exact p for sizes too large to store the samples: d = h / lcm(n, m)
    as ks_2samp snaps it, p from scipy's exact path (the same function
    ks_2samp(method="exact") calls)."""
    from math import gcd
    from scipy.stats._stats_py import _attempt_exact_2kssamp
    out = []
    sizes = [(10000, 10000), (10000, 9999), (10000, 250), (3000, 2500), (5000, 5000),
             (1234, 987), (9999, 7), (800, 1200)]
    for n, m in sizes:
        g = gcd(n, m)
        lcm = (n // g) * m
        for target in (0.005, 0.02, 0.05, 0.12):
            h = max(1, round(target * lcm))
            d = h / lcm
            ok, d2, p = _attempt_exact_2kssamp(n, m, g, d, "two-sided")
            assert ok
            out.append({"n": n, "m": m, "d": float(d2), "p": float(min(max(p, 0), 1))})
    return out


def ks_asymp_cases(r):
    """ks_2samp(method="auto") above the exact limit (n or m > 10,000):
    scipy takes kstwo.sf(D, round(n m / (n + m))), the finite-n one-sample
    distribution. Samples this large are not stored: integer samples are
    stored as value histograms ("ha", "hb": counts of 0, 1, 2, ...) so the
    test rebuilds them and computes D itself; continuous ones store D."""
    out = []

    def add(name, a, b, keep_hist=False):
        res = stats.ks_2samp(a, b, method="auto")
        n, m = len(a), len(b)
        rec = {"name": name, "n": n, "m": m, "d": float(res.statistic),
               "p": float(res.pvalue)}
        if keep_hist:
            k = int(max(a.max(), b.max())) + 1
            rec["ha"] = [int(v) for v in np.bincount(a.astype(np.int64), minlength=k)]
            rec["hb"] = [int(v) for v in np.bincount(b.astype(np.int64), minlength=k)]
        out.append(rec)

    # unequal sizes, from a tiny window (round(en) <= 140: Durbin matrix,
    # Pomeranz, Smirnov, Ruben-Gambino) to both sides large (Pelz-Good,
    # Durbin up to n = 100,000, Smirnov tails)
    sizes = [(10001, 5), (20000, 3), (12000, 40), (15000, 150), (10001, 139),
             (50000, 300), (11000, 1000), (30000, 5000), (100000, 10000),
             (10500, 10500), (60000, 40000), (200000, 150000)]
    for i, (n, m) in enumerate(sizes):
        for shift in (0.0, 0.05, 0.3):
            a = r.normal(0, 1, n)
            b = r.normal(shift * (1 + i % 2), 1, m)
            add(f"normal_{n}_{m}_s{shift}", a, b)
    # ties: small integer ranges, both orders of n and m
    for i, (n, m, k) in enumerate([(10001, 30, 4), (40000, 12000, 6), (15000, 15000, 3),
                                   (25, 20000, 5), (12000, 700, 10), (80000, 9000, 20)]):
        a = r.integers(0, k, n)
        b = r.integers(0, k + (i % 2), m)
        add(f"ties_{n}_{m}_{k}", a, b, keep_hist=True)
    return out


def kstwo_cases():
    """scipy.stats.kstwo.sf(x, n) across the branches of _kolmogn."""
    out = []
    for n in (1, 2, 3, 5, 10, 37, 140, 141, 500, 3000, 9091, 50000, 100001):
        for x in (0.3 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.6 / np.sqrt(n), 0.8 / np.sqrt(n),
                  1.2 / np.sqrt(n), 1.6 / np.sqrt(n), 2.5 / np.sqrt(n), 4.0 / np.sqrt(n),
                  0.45, 0.5, 0.7, 1.0 - 1.5 / n, 1.0 - 0.5 / n):
            if not 0 < x < 1:
                continue
            out.append({"n": n, "x": float(x), "sf": float(stats.kstwo.sf(x, n))})
    return out


def ks_fallback_cases():
    """n == m where the exact square formula rounds past 1 (scipy warns and
    falls back to the asymptotic path at the snapped D)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(2, 60):
            a = np.arange(n) * 1.0
            res = stats.ks_2samp(a, a + 0.5, method="auto")
            out.append({"n": n, "m": n, "d": float(res.statistic), "p": float(res.pvalue)})
    return out


def chi2_cases(r):
    out = []

    def add(name, a, b):
        a = [int(v) for v in a]
        b = [int(v) for v in b]
        keep = [i for i in range(len(a)) if a[i] + b[i] > 0]
        rec = {"name": name, "a": a, "b": b}
        for yates in (False, True):
            if len(keep) < 2 or sum(a) == 0 or sum(b) == 0:
                stat, p, dof = 0.0, 1.0, max(len(keep) - 1, 0)
            else:
                obs = np.array([[a[i] for i in keep], [b[i] for i in keep]])
                res = stats.chi2_contingency(obs, correction=yates)
                stat, p, dof = float(res[0]), float(res[1]), int(res[2])
            key = "yates" if yates else "plain"
            rec[key] = {"stat": stat, "p": p, "dof": dof}
        out.append(rec)

    add("one_cell", [10], [5])
    add("unused_new_cell", [20, 30, 0], [10, 25, 0])
    add("two_cells", [40, 60], [55, 45])
    add("two_cells_small", [3, 1], [0, 4])
    add("new_cell_used", [20, 30, 0], [10, 25, 5])
    add("six_equal", [11, 22, 11, 22, 11, 11], [11, 22, 11, 22, 11, 11])
    add("disjoint", [10, 0], [0, 10])
    for i in range(30):
        k = int(r.integers(2, 12))
        pa = r.dirichlet(np.ones(k))
        pb = pa if i % 2 else r.dirichlet(np.ones(k))
        a = r.multinomial(int(r.integers(5, 500)), pa)
        b = r.multinomial(int(r.integers(5, 500)), pb)
        add(f"random_{k}_{i}", a, b)
    return out


def z_cases(r):
    out = []

    def add(name, x1, n1, x2, n2):
        p1, p2 = x1 / n1, x2 / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        if P in (0.0, 1.0):
            z, p = 0.0, 1.0
        else:
            z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
            p = 2 * stats.norm.sf(abs(z))
        out.append({"name": name, "x1": x1, "n1": n1, "x2": x2, "n2": n2,
                    "z": float(z), "p": float(p)})

    add("identical", 10, 20, 10, 20)
    add("all_success", 5, 5, 7, 7)
    add("disjoint", 10, 10, 0, 10)
    add("tiny", 1, 2, 0, 1)
    for i in range(30):
        n1 = int(r.integers(1, 2000))
        n2 = int(r.integers(1, 2000))
        add(f"random_{i}", int(r.integers(0, n1 + 1)), n1, int(r.integers(0, n2 + 1)), n2)
    return out


def dist_cases(r):
    """Hellinger, L-infinity, total variation and KL (scipy.stats.entropy)
    on count vectors, zeros included."""
    out = []

    def add(name, p, q):
        p = np.asarray(p, dtype=float)
        q = np.asarray(q, dtype=float)
        pn, qn = p / p.sum(), q / q.sum()
        kl = float(stats.entropy(pn, qn))
        out.append({"name": name, "p": [float(v) for v in p], "q": [float(v) for v in q],
                    "hellinger": float(np.sqrt(np.sum((np.sqrt(pn) - np.sqrt(qn)) ** 2))
                                       / np.sqrt(2)),
                    "linf": float(np.max(np.abs(pn - qn))),
                    "tvd": float(np.sum(np.abs(pn - qn)) / 2),
                    "kl": kl if np.isfinite(kl) else "inf"})

    add("identical", [1, 2, 3], [2, 4, 6])
    add("disjoint", [1, 0], [0, 1])
    add("zero_in_q", [5, 5, 1], [5, 5, 0])
    add("zero_in_p", [5, 5, 0], [5, 5, 1])
    add("single", [7], [3])
    for i in range(30):
        k = int(r.integers(2, 20))
        p = r.integers(0, 50, k)
        q = r.integers(1, 50, k)
        p[0] += 1
        add(f"random_{k}_{i}", p, q)
    return out


def sample_pair(r, i):
    n = int(r.integers(1, 60)) if i % 3 else int(r.integers(1, 9))
    m = int(r.integers(1, 60))
    if i % 4 == 0:  # ties
        return r.integers(0, 6, n).astype(float), r.integers(0, 7, m).astype(float)
    return np.round(r.normal(0, 1, n), 4), np.round(r.normal(0.3 * (i % 3), 1.2, m), 4)


def numeric_test_cases(r):
    """Energy distance, Mann-Whitney U and Welch's t on the same pairs:
    tiny samples (exact MWU) and ties included."""
    out = []
    pairs = [("tiny_1_1", [1.0], [2.0]), ("tiny_2_3", [1.0, 2.0], [0.5, 3.0, 4.0]),
             ("ties_only", [1.0, 1.0, 2.0], [1.0, 2.0, 2.0, 2.0]),
             ("equal", [3.0, 3.0], [3.0, 3.0, 3.0]),
             ("disjoint_8_40", list(np.arange(8.0)), list(np.arange(100.0, 140.0)))]
    for i in range(36):
        a, b = sample_pair(r, i)
        pairs.append((f"random_{i}", a, b))
    for name, a, b in pairs:
        a = [float(v) for v in a]
        b = [float(v) for v in b]
        rec = {"name": name, "a": a, "b": b,
               "energy": float(stats.energy_distance(a, b))}
        mw = stats.mannwhitneyu(a, b)
        rec["mwu_u"], rec["mwu_p"] = float(mw.statistic), float(mw.pvalue)
        if len(set(a) | set(b)) >= 2 and len(a) + len(b) >= 4:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "p-value capped/floored"
                ad = stats.anderson_ksamp([a, b])
            rec["ad_stat"], rec["ad_p"] = float(ad.statistic), float(ad.significance_level)
        if len(a) >= 2 and len(b) >= 2:
            cv = stats.cramervonmises_2samp(a, b)
            rec["cvm_t"], rec["cvm_p"] = float(cv.statistic), float(cv.pvalue)
            rec["cvm_exact"] = max(len(a), len(b)) <= 20
        if len(a) >= 2 and len(b) >= 2 and (np.var(a) > 0 or np.var(b) > 0):
            tt = stats.ttest_ind(a, b, equal_var=False)
            rec["welch_t"], rec["welch_p"] = float(tt.statistic), float(tt.pvalue)
        out.append(rec)
    return out


def fisher_cases(r):
    out = []

    def add(name, a, b, c, d):
        res = stats.fisher_exact([[a, b], [c, d]])
        out.append({"name": name, "t": [a, b, c, d], "p": float(res[1])})

    add("textbook", 8, 2, 1, 5)
    add("zero_row", 0, 0, 3, 4)
    add("zero_col", 0, 3, 0, 4)
    add("symmetric", 5, 5, 5, 5)
    add("extreme", 20, 0, 0, 20)
    for i in range(30):
        big = 30 if i % 2 else 2000
        add(f"random_{i}", *[int(v) for v in r.integers(0, big, 4)])
    return out


def main():
    r = np.random.default_rng(20261206)
    doc = {"generator": "tests/data/gen_twosample.py", "numpy": np.__version__,
           "scipy": scipy.__version__, "ks": ks_cases(r),
           "ks_lattice": ks_lattice_cases(r), "chi2": chi2_cases(r),
           "ks_asymp": ks_asymp_cases(np.random.default_rng(141)),
           "kstwo": kstwo_cases(), "ks_fallback": ks_fallback_cases(),
           "z": z_cases(r), "distances": dist_cases(r),
           "numeric_tests": numeric_test_cases(r), "fisher": fisher_cases(r)}
    json.dump(doc, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
