#!/usr/bin/python3
"""Expected analysis of the window sent by
tests/integration/test_collector_analysis.c (tables_match_...), computed
outside mlwatch with numpy/scipy/sklearn.

    /usr/bin/python3 tests/data/gen_analysis.py > tests/data/analysis_expected.json

The events are the test's, rebuilt here from the same formulas of the event
index i. The drift statistics use gen_reference.py's functions (scipy's KS,
Wasserstein and chi-square, numpy's deciles, the contract's PSI/JS glue);
accuracy and macro F1 are sklearn's. If the test's formulas change, change
them here too and regenerate.
"""

import json
import sys

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

import gen_reference as g

N = 3000


def main():
    ref_num = [50.0 + (i * 37) % 100 for i in range(800)]
    ref_cat = ["DE" if i % 10 < 6 else "FR" if i % 10 < 9 else "US" for i in range(600)]
    amount = [70.0 + (i * 13) % 90 for i in range(N) if i % 10 != 3]
    country = ["XX" if i % 7 == 0 else "DE" if i % 3 else "FR" for i in range(N)]
    pred = ["a" if i % 4 else "b" for i in range(N)]
    label = [("a" if i % 5 else "b") if i % 2 else None for i in range(N)]

    num = g.numeric_case("amount", ref_num, amount)["expect"]
    lo, hi = min(ref_num), max(ref_num)
    oor = sum(1 for x in amount if x < lo or x > hi)

    ref_counts, cur_counts = {}, {}
    for c in ref_cat:
        ref_counts[c] = ref_counts.get(c, 0) + 1
    for c in country:
        cur_counts[c] = cur_counts.get(c, 0) + 1
    cat = g.categorical_case("country", ref_counts, cur_counts)["expect"]
    new = sum(1 for c in country if c not in ref_counts)

    yp = [p for p, l in zip(pred, label) if l is not None]
    yt = [l for l in label if l is not None]
    classes = sorted(set(yp) | set(yt))
    doc = {
        "generator": "tests/data/gen_analysis.py",
        "numpy": np.__version__,
        "events": N,
        "amount": {
            "n": len(amount), "ks": num["ks"], "ks_p": num["ks_p"],
            "wasserstein": num["wasserstein"], "psi": num["psi"], "js": num["js"],
            "method": num["method"], "drifted": num["drifted"],
            "severity": num["severity"],
            "missing_rate": (N - len(amount)) / N,
            "out_of_range_rate": oor / len(amount),
        },
        "country": {
            "n": len(country), "chi2": cat["chi2"], "chi2_p": cat["chi2_p"],
            "psi": cat["psi"], "js": cat["js"], "method": cat["method"],
            "new_category_rate": new / len(country),
        },
        "accuracy": {
            "labelled": len(yt),
            "accuracy": float(accuracy_score(yt, yp)),
            "macro_f1": float(f1_score(yt, yp, labels=classes, average="macro",
                                       zero_division=0)),
            "label_coverage": len(yt) / N,
        },
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
