#!/usr/bin/python3
"""The scipy side of bench_analytics: KS + Wasserstein on 100k vs 100k.

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
