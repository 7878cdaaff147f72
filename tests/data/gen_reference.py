#!/usr/bin/python3
"""Expected drift statistics for tests/unit/test_drift.c and test_sample.c.

Run with Debian's interpreter, which has python3-numpy and python3-scipy:

    /usr/bin/python3 tests/data/gen_reference.py > tests/data/reference_stats.json

Every number the C code must reproduce comes from numpy/scipy here; only the
glue the contract defines on top of them (PSI with floored proportions, the
category cells, the default method, severity) is written out in Python, in
the most literal form of CONTRACT.md section 5 as amended by issue 14 (KS p
as ks_2samp's method="auto", categorical drift as a test of homogeneity), so
the C code is checked against an independent implementation. Inputs are seeded: the output is
byte-for-byte reproducible for a given numpy/scipy.
"""

import json
import math
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

FLOOR = 0.0001
STD_FLOOR = 0.001
SMALL_REF = 1000
P_THRESHOLD = 0.05
DIST_THRESHOLD = 0.1
TOP = 64
QUANTILES = [0.0, 0.001, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999, 1.0]


def rounded(x, digits=6):
    """Values with few significant digits, so ties and edge hits happen."""
    return [float(f"{v:.{digits}g}") for v in x]


def js_base2(p, q):
    d = float(jensenshannon(p, q, base=2))
    # Identical inputs can come out as NaN (sqrt of -0 rounding); the
    # distance is 0 there, which is what the C code reports.
    return 0.0 if math.isnan(d) else d


def psi(ref_p, cur_p):
    r = np.maximum(np.asarray(ref_p, dtype=float), FLOOR)
    c = np.maximum(np.asarray(cur_p, dtype=float), FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def score_of(method, stats_):
    key = {"ks": "ks_p", "wasserstein": "wasserstein", "psi": "psi",
           "js": "js", "chi2": "chi2_p", "z": "z_p"}[method]
    return stats_[key]


def verdict(method, score):
    if method in ("ks", "chi2", "z"):
        threshold = P_THRESHOLD
        drifted = score < threshold
        severity = min(threshold / max(score, 1e-12), 1000.0)
    else:
        threshold = DIST_THRESHOLD
        drifted = score >= threshold
        severity = score / threshold
    return {"threshold": threshold, "drifted": bool(drifted),
            "severity": float(severity)}


def numeric_case(name, ref, cur):
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    n, m = len(ref), len(cur)
    ks = stats.ks_2samp(ref, cur)  # method="auto": exact for max(n, m) <= 10,000
    d = float(ks.statistic)
    if max(n, m) <= 10000:
        ks_p, ks_p_method = float(ks.pvalue), "exact"
    else:
        ks_p = float(stats.kstwobign.sf(d * np.sqrt(n * m / (n + m))))
        ks_p_method = "asymptotic"
    w_raw = float(stats.wasserstein_distance(ref, cur))
    std = float(np.std(ref))
    edges = np.percentile(ref, [10, 20, 30, 40, 50, 60, 70, 80, 90])
    # Right-closed bins (e[i-1], e[i]]: the bin is the number of edges < x.
    ref_bins = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10)
    cur_bins = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=10)
    ref_p = ref_bins / n
    cur_p = cur_bins / m
    st = {
        "ks": d, "ks_p": ks_p, "ks_p_method": ks_p_method, "wasserstein_raw": w_raw, "std_ref": std,
        "mean_ref": float(np.mean(ref)),
        "wasserstein": w_raw / max(std, STD_FLOOR),
        "psi": psi(ref_p, cur_p), "js": js_base2(ref_p, cur_p),
        "edges": [float(e) for e in edges],
        "ref_bins": [int(c) for c in ref_bins],
        "cur_bins": [int(c) for c in cur_bins],
        "quantiles": [[q, float(np.quantile(ref, q))] for q in QUANTILES],
    }
    method = "ks" if n <= SMALL_REF else "wasserstein"
    st["method"] = method
    st["score"] = score_of(method, st)
    st.update(verdict(method, st["score"]))
    return {"name": name, "ref": [float(v) for v in ref],
            "cur": [float(v) for v in cur], "expect": st}


def cells_of(ref_counts):
    """The contract's cells: the 64 most frequent reference categories
    (ties by name bytes), "other" if the reference has more, then "new"."""
    ranked = sorted(ref_counts.items(), key=lambda kv: (-kv[1], kv[0].encode()))
    top = [k for k, _ in ranked[:TOP]]
    has_other = len(ranked) > TOP
    return top, has_other


def categorical_case(name, ref_counts, cur_counts):
    top, has_other = cells_of(ref_counts)
    ncells = len(top) + (1 if has_other else 0) + 1
    total = sum(ref_counts.values())
    ref_c = [ref_counts[k] for k in top]
    if has_other:
        ref_c.append(total - sum(ref_c))
    ref_c.append(0)  # "new"
    cur_c = [0] * ncells
    for k, c in cur_counts.items():
        if k in top:
            cur_c[top.index(k)] += c
        elif k in ref_counts:
            cur_c[len(top)] += c  # "other"
        else:
            cur_c[-1] += c  # "new"
    n = sum(cur_c)
    ref_p = np.asarray(ref_c, dtype=float) / total
    floored = np.maximum(ref_p, FLOOR)
    floored = floored / floored.sum()
    cur_p = np.asarray(cur_c, dtype=float) / n
    # Test of homogeneity: the 2 x k table of both samples' counts over the
    # cells either uses (an empty "new" cell is no degree of freedom).
    used = [i for i in range(ncells) if ref_c[i] + cur_c[i] > 0]
    if len(used) >= 2:
        table = np.array([[ref_c[i] for i in used], [cur_c[i] for i in used]])
        res = stats.chi2_contingency(table, correction=False)
        chi2, chi2_p, dof = float(res[0]), float(res[1]), int(res[2])
    else:
        chi2, chi2_p, dof = 0.0, 1.0, 0
    z, z_p = 0.0, 1.0
    if len(used) == 2:
        x1, x2 = ref_c[used[0]], cur_c[used[0]]
        p1, p2 = x1 / total, x2 / n
        P = (x1 + x2) / (total + n)
        z = float((p1 - p2) / np.sqrt(P * (1 - P) * (1 / total + 1 / n)))
        z_p = float(2 * stats.norm.sf(abs(z)))
    st = {
        "cells": top + (["@other"] if has_other else []) + ["@new"],
        "ref_cells": ref_c, "cur_cells": cur_c,
        "chi2": chi2, "chi2_p": chi2_p, "chi2_dof": dof, "z": z, "z_p": z_p,
        "psi": psi(floored, cur_p), "js": js_base2(ref_p, cur_p),
    }
    method = ("z" if len(used) == 2 else "chi2") if total <= SMALL_REF else "js"
    st["method"] = method
    st["score"] = score_of(method, st)
    st.update(verdict(method, st["score"]))
    return {"name": name, "ref": [[k, int(v)] for k, v in ref_counts.items()],
            "cur": [[k, int(v)] for k, v in cur_counts.items()], "expect": st}


def counts(rng, names, weights, n):
    w = np.asarray(weights, dtype=float)
    draws = rng.choice(len(names), size=n, p=w / w.sum())
    out = {}
    for i in draws:
        out[names[i]] = out.get(names[i], 0) + 1
    return out


def numeric_cases():
    r = np.random.default_rng(20251125)
    c = []
    c.append(numeric_case("normal_same", rounded(r.normal(0, 1, 1000)),
                          rounded(r.normal(0, 1, 500))))
    c.append(numeric_case("normal_shifted", rounded(r.normal(0, 1, 800)),
                          rounded(r.normal(0.5, 1, 400))))
    c.append(numeric_case("normal_scaled", rounded(r.normal(0, 1, 900)),
                          rounded(r.normal(0, 2, 450))))
    c.append(numeric_case("small_shift_large_n", r.normal(0, 1, 3000),
                          r.normal(0.05, 1, 3000)))
    c.append(numeric_case("heavy_tail_t2", rounded(r.standard_t(2, 2000)),
                          rounded(r.standard_t(2, 1000) + 0.3)))
    c.append(numeric_case("cauchy_scaled", rounded(r.standard_cauchy(1500)),
                          rounded(2 * r.standard_cauchy(700))))
    c.append(numeric_case("lognormal", rounded(r.lognormal(0, 1, 3000)),
                          rounded(r.lognormal(0.2, 1, 1000))))
    c.append(numeric_case("exponential_scaled", r.exponential(1, 1000),
                          r.exponential(1.3, 1000)))
    c.append(numeric_case("bimodal", rounded(np.concatenate(
        [r.normal(10, 1, 1000), r.normal(20, 2, 500)])), rounded(np.concatenate(
            [r.normal(10, 1, 400), r.normal(20, 2, 600)]))))
    c.append(numeric_case("uniform_big_shift", rounded(r.uniform(0, 1, 5000), 4),
                          rounded(r.uniform(0.1, 1.1, 2000), 4)))
    c.append(numeric_case("ties_integers", r.integers(0, 6, 800).astype(float),
                          r.integers(0, 7, 400).astype(float)))
    c.append(numeric_case("ties_integers_same", r.integers(0, 3, 1200).astype(float),
                          r.integers(0, 3, 600).astype(float)))
    c.append(numeric_case("quantized_0.1", rounded(np.round(r.normal(0, 1, 1200), 1)),
                          rounded(np.round(r.normal(0.1, 1, 600), 1))))
    c.append(numeric_case("all_ties_same_value", [3.0] * 50, [3.0] * 20))
    c.append(numeric_case("constant_reference", [1.0] * 200,
                          rounded(r.normal(1, 0.1, 100))))
    c.append(numeric_case("constant_both_differ", [0.0] * 30, [5.0] * 10))
    c.append(numeric_case("disjoint", rounded(r.uniform(0, 1, 300)),
                          rounded(r.uniform(2, 3, 300))))
    c.append(numeric_case("tiny_n", [0.5, -1.25, 3.0, 2.0, 0.75], [1.0, 4.5, 0.25]))
    c.append(numeric_case("n1_vs_n1", [2.5], [7.0]))
    c.append(numeric_case("n1_same", [2.5], [2.5]))
    c.append(numeric_case("n1_vs_many", [0.0], rounded(r.normal(0, 1, 100))))
    c.append(numeric_case("many_vs_n1", rounded(r.normal(0, 1, 100)), [0.3]))
    c.append(numeric_case("negative_offset", rounded(r.normal(-100, 10, 700)),
                          rounded(r.normal(-98, 10, 350))))
    c.append(numeric_case("large_offset_small_spread", 1e6 + r.normal(0, 1, 600),
                          1e6 + r.normal(0.2, 1, 300)))
    c.append(numeric_case("tiny_scale", 1e-7 * r.normal(0, 1, 500),
                          1e-7 * r.normal(0, 1.5, 250)))
    c.append(numeric_case("ref_1001_boundary", rounded(r.normal(0, 1, 1001)),
                          rounded(r.normal(0.2, 1, 500))))
    c.append(numeric_case("ref_1000_boundary", rounded(r.normal(0, 1, 1000)),
                          rounded(r.normal(0.2, 1, 500))))
    return c


def categorical_cases():
    r = np.random.default_rng(7)
    five = ["a", "b", "c", "d", "e"]
    c = []
    c.append(categorical_case("cat_same", counts(r, five, [5, 4, 3, 2, 1], 1000),
                              counts(r, five, [5, 4, 3, 2, 1], 300)))
    c.append(categorical_case("cat_shifted", counts(r, five, [5, 4, 3, 2, 1], 800),
                              counts(r, five, [1, 2, 3, 4, 5], 300)))
    c.append(categorical_case("cat_new_categories",
                              counts(r, five, [5, 4, 3, 2, 1], 900),
                              counts(r, five + ["x", "y"], [5, 4, 3, 2, 1, 1, 1], 400)))
    many = [f"c{i:03d}" for i in range(100)]
    zipf = [1.0 / (i + 1) for i in range(100)]
    c.append(categorical_case("cat_many_other_pooled", counts(r, many, zipf, 5000),
                              counts(r, many + ["new1", "new2"], zipf + [0.05, 0.05], 2000)))
    c.append(categorical_case("cat_many_small_ref", counts(r, many, zipf, 800),
                              counts(r, many, zipf[::-1], 500)))
    c.append(categorical_case("cat_single", {"only": 500}, {"only": 100}))
    c.append(categorical_case("cat_single_all_new", {"only": 500}, {"other": 40}))
    c.append(categorical_case("cat_tiny", {"x": 2, "y": 1}, {"y": 2}))
    c.append(categorical_case("cat_booleans", counts(r, ["true", "false"], [9, 1], 1000),
                              counts(r, ["true", "false"], [7, 3], 200)))
    ties = {f"t{i:02d}": 10 for i in range(70)}
    c.append(categorical_case("cat_ties_ranked_by_name", ties,
                              {"t00": 5, "t65": 20, "t69": 3, "zz": 1}))
    c.append(categorical_case("cat_unicode", {"é": 40, "日本": 25, "a b": 10},
                              {"é": 10, "日本": 30, "ñ": 2}))
    c.append(categorical_case("cat_1000_boundary", counts(r, five, [1, 1, 1, 1, 1], 1000),
                              counts(r, five, [2, 1, 1, 1, 1], 300)))
    return c


def special_functions():
    xs = [1e-3, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0, 1.05, 1.2, 1.36, 1.5, 2.0, 3.0, 4.0, 6.0]
    ks = [[x, float(stats.kstwobign.sf(x))] for x in xs]
    chi = []
    for dof in [1, 2, 3, 4, 9, 10, 30, 64, 65]:
        for x in [0.0, 1e-6, 0.01, 0.5, 1.0, 3.84, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]:
            chi.append([x, dof, float(stats.chi2.sf(x, dof))])
    gam = []
    for a in [0.5, 1.0, 2.5, 10.0, 32.5, 100.0]:
        for x in [1e-3, 0.5, 2.0, 10.0, 30.0, 120.0]:
            gam.append([a, x, float(scipy.special.gammainc(a, x)),
                        float(scipy.special.gammaincc(a, x))])
    return {"kstwobign_sf": ks, "chi2_sf": chi, "gammainc": gam}


def main():
    doc = {
        "generator": "tests/data/gen_reference.py",
        "numpy": np.__version__, "scipy": scipy.__version__,
        "numeric": numeric_cases(),
        "categorical": categorical_cases(),
        "special": special_functions(),
    }
    json.dump(doc, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
