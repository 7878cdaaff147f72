#!/usr/bin/python3
"""The scipy side of bench_analytics: KS + Wasserstein on 100k vs 100k, and
(`analytics_scipy.py methods FILE`) every numeric drift method on 100k x 10k.

Prints one line `scipy_ms <median milliseconds>` (or `scipy_unavailable
<reason>`), timing the same work the C side times from unsorted inputs:
scipy.stats.ks_2samp (asymptotic p-value, as scipy picks for samples this
large) and scipy.stats.wasserstein_distance.
"""

import sys
import time

try:
    import numpy as np
    from scipy import stats
except ImportError as e:  # the python3 first on PATH may lack them
    print(f"scipy_unavailable {e}")
    sys.exit(0)

N = 100_000
REPEAT = 7



def ks_wasserstein():
    rng = np.random.default_rng(1)
    ref = rng.normal(0.0, 1.0, N)
    cur = rng.normal(0.1, 1.0, N)
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        d = stats.ks_2samp(ref, cur, method="asymp").statistic
        w = stats.wasserstein_distance(ref, cur)
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    print(f"scipy_ms {times[len(times) // 2]:.3f} ks {d:.6f} w {w:.6f}")


def methods(path):
    """Each numeric drift method on the C side's data (raw float64: 100k
    reference then 10k window, from bench_analytics), from unsorted inputs
    as scipy takes them. Binned methods get the reference's decile edges and
    shares computed once, as the collector's reference profile has them.
    Prints `method_ms NAME MEDIAN_MS VALUE` per method."""
    raw = np.fromfile(path, dtype=np.float64)
    ref, cur = raw[:100_000], raw[100_000:]
    edges = np.percentile(ref, [10, 20, 30, 40, 50, 60, 70, 80, 90])
    rp = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10) / len(ref)

    def cur_shares():
        return np.bincount(np.searchsorted(edges, cur, side="left"), minlength=10) / len(cur)

    def psi():
        cp = cur_shares()
        r, c = np.maximum(rp, 1e-4), np.maximum(cp, 1e-4)
        return float(np.sum((c - r) * np.log(c / r)))

    def hellinger():
        cp = cur_shares()
        return float(np.sqrt(np.sum((np.sqrt(rp) - np.sqrt(cp)) ** 2)) / np.sqrt(2))

    def anderson():
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "p-value capped"
            return stats.anderson_ksamp([ref, cur]).significance_level

    from scipy.spatial.distance import jensenshannon
    todo = [
        ("ks", lambda: stats.ks_2samp(ref, cur).pvalue),
        ("wasserstein", lambda: stats.wasserstein_distance(ref, cur) / np.std(ref)),
        ("energy", lambda: stats.energy_distance(ref, cur)),
        ("mannwhitney", lambda: stats.mannwhitneyu(ref, cur).pvalue),
        ("anderson", anderson),
        ("cvm", lambda: stats.cramervonmises_2samp(ref, cur).pvalue),
        ("welch", lambda: stats.ttest_ind(ref, cur, equal_var=False).pvalue),
        ("psi", psi),
        ("js", lambda: float(jensenshannon(rp, cur_shares(), base=2))),
        ("hellinger", hellinger),
        ("kl", lambda: float(stats.entropy(np.maximum(rp, 1e-4), np.maximum(cur_shares(), 1e-4)))),
        ("tvd", lambda: float(np.sum(np.abs(rp - cur_shares())) / 2)),
        ("linf", lambda: float(np.max(np.abs(rp - cur_shares())))),
    ]
    for name, fn in todo:
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            v = fn()
            times.append((time.perf_counter() - t0) * 1000.0)
        times.sort()
        print(f"method_ms {name} {times[len(times) // 2]:.4f} {float(v):.10g}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "methods":
        methods(sys.argv[2])
    else:
        ks_wasserstein()
