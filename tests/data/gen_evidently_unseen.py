#!/usr/bin/python3
"""Expected values for tests/unit/test_drift_evidently.c: Evidently's
categorical drift when the window holds categories the reference lacks.
Evidently builds the category set from the union of both samples
(get_binned_data: keys = set(reference) | set(current); _chi_stat_test:
the same keys, expected = reference count * len(current) / len(reference);
get_default_stattest: nunique of both together, z-test at <= 2 values,
chi-square up to 1,000 reference rows, else Jensen-Shannon), so every
unseen category is a category of its own; proportions floored at 0.0001
where 0 (feel_zeroes), PSI sum((r - c) ln(r / c)), JS in natural log.
Re-implemented here with numpy/scipy.

    /usr/bin/python3 tests/data/gen_evidently_unseen.py > tests/data/evidently_unseen.json
"""

import json
import sys
import warnings
from collections import Counter

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance


def binned(ref, cur):
    keys = sorted(set(ref) | set(cur))
    rc, cc = Counter(ref), Counter(cur)
    rp = np.array([rc[k] for k in keys]) / len(ref)
    cp = np.array([cc[k] for k in keys]) / len(cur)
    np.place(rp, rp == 0, 0.0001)
    np.place(cp, cp == 0, 0.0001)
    return keys, rp, cp


def case(name, ref, cur):
    keys, rp, cp = binned(ref, cur)
    rc, cc = Counter(ref), Counter(cur)
    f_exp = [rc[k] * len(cur) / len(ref) for k in keys]
    f_obs = [cc[k] for k in keys]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chi_p = float(stats.chisquare(f_obs, f_exp)[1])
    n_values = len(keys)
    if len(ref) <= 1000:
        method = "z" if n_values <= 2 else "chi2"
    else:
        method = "js"
    js = float(distance.jensenshannon(rp, cp))
    psi = float(np.sum((rp - cp) * np.log(rp / cp)))
    drifted = chi_p < 0.05 if method == "chi2" else js >= 0.1
    return {"name": name, "ref": list(ref), "cur": list(cur), "n_values": n_values,
            "method": method, "chi2_p": chi_p, "psi": psi, "js": js, "drifted": drifted}


def main():
    r = np.random.default_rng(20261208)
    cases = []
    ref = ["a"] * 60 + ["b"] * 40
    cases.append(case("two_unseen", ref, ["a"] * 30 + ["x"] * 10 + ["y"] * 10))
    # one reference value and two unseen: three values, chi-square (pooled,
    # "new" made it two cells and the z-test)
    cases.append(case("one_seen_two_unseen", ["a"] * 100, ["a"] * 5 + ["x"] * 5 + ["y"] * 5))
    big = list(r.choice(["a", "b", "c"], 1500, p=[0.5, 0.3, 0.2]))
    cur = list(r.choice(["a", "b", "c", "p", "q", "s"], 400,
                        p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04]))
    cases.append(case("js_three_unseen", big, cur))
    cur = list(r.choice(["a", "b", "c", "n1", "n2"], 300, p=[0.45, 0.3, 0.2, 0.03, 0.02]))
    cases.append(case("js_two_rare_unseen", big, cur))
    cur = list(r.choice(["a", "b", "c"], 300, p=[0.5, 0.3, 0.2]))
    cases.append(case("js_none_unseen", big, cur))
    cases.append(case("chi2_none_unseen", ref, ["a"] * 26 + ["b"] * 24))
    doc = {"generator": "tests/data/gen_evidently_unseen.py", "numpy": np.__version__,
           "scipy": scipy.__version__, "cases": cases}
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
