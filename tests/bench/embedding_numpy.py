#!/usr/bin/python3
"""The embedding-drift computation of common/stats/embedding.c done with
numpy/scipy/scikit-learn, for tests/bench/bench_embedding.c (issue 19
acceptance 4). Same sizes and method definitions: mean-embedding cosine and
Euclidean distance with a 200-draw Gaussian multiplier bootstrap over 4,000
reference rows; unbiased MMD^2 (median-heuristic Gaussian kernel) on 1,500
rows a side with 100 permutations; LogisticRegression(C=1) domain classifier
on 1,000 rows a side, 5 folds (PredefinedSplit(i % 5)), roc_auc_score; KS per
component (ks_2samp) of the window's scores on the reference PCA (65% of the
variance, at most 128 components; Fisher combination). What the C side precomputes once per
reference (mean, PCA, the reference's scores) is precomputed here too,
outside the timing.

Usage: embedding_numpy.py REF.f64 WIN.f64 DIM   (raw little-endian doubles)
Prints "numpy <method> <seconds>" per method and "numpy total <seconds>".
Run it with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 for one core.
"""

import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import PredefinedSplit


def main():
    d = int(sys.argv[3])
    ref = np.fromfile(sys.argv[1], dtype="<f8").reshape(-1, d)
    win = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, d)
    rng = np.random.default_rng(0)
    mu = ref.mean(axis=0)
    pca = PCA(n_components=0.65, svd_solver="full").fit(ref)
    comp = pca.components_[:128]
    ref_scores = (ref - mu) @ comp.T
    times = {}

    t = time.process_time()
    cur = win.mean(axis=0)
    cos_obs = 1 - mu @ cur / (np.linalg.norm(mu) * np.linalg.norm(cur))
    euc_obs = np.linalg.norm(mu - cur)
    idx = rng.choice(len(ref), 4000, replace=False)
    xc = ref[idx] - mu
    xi = rng.standard_normal((200, 4000))
    delta = xi @ xc * np.sqrt((1 / len(win) + 1 / len(ref)) / 3999)
    boot = mu + delta
    cos_null = 1 - boot @ mu / (np.linalg.norm(boot, axis=1) * np.linalg.norm(mu))
    euc_null = np.linalg.norm(delta, axis=1)
    p_cos = (1 + np.sum(cos_null >= cos_obs)) / 201
    p_euc = (1 + np.sum(euc_null >= euc_obs)) / 201
    times["mean_distances"] = time.process_time() - t

    t = time.process_time()
    a = ref[rng.choice(len(ref), 1500, replace=False)]
    b = win[rng.choice(len(win), 1500, replace=False)]
    z = np.vstack([a, b])
    dist = cdist(z, z, "sqeuclidean")
    n = len(a)
    h = np.median(dist[:n, n:])
    k = np.exp(-dist / h)

    def mmd2(g):
        o = np.setdiff1d(np.arange(len(z)), g)
        kxx, kyy, kxy = k[np.ix_(g, g)], k[np.ix_(o, o)], k[np.ix_(g, o)]
        m1, m2 = len(g), len(o)
        return ((kxx.sum() - m1) / (m1 * (m1 - 1)) + (kyy.sum() - m2) / (m2 * (m2 - 1))
                - 2 * kxy.sum() / (m1 * m2))

    obs = mmd2(np.arange(n))
    perm = [mmd2(rng.choice(len(z), n, replace=False)) for _ in range(100)]
    p_mmd = (1 + sum(s >= obs for s in perm)) / 101
    times["mmd"] = time.process_time() - t

    t = time.process_time()
    a = ref[rng.choice(len(ref), 1000, replace=False)]
    b = win[rng.choice(len(win), 1000, replace=False)]
    x = np.vstack([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    aucs = []
    for tr, te in PredefinedSplit(np.arange(len(x)) % 5).split():
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(x[tr], y[tr])
        aucs.append(roc_auc_score(y[te], clf.decision_function(x[te])))
    times["classifier"] = time.process_time() - t

    t = time.process_time()
    sc = (win - mu) @ comp.T
    ps = [stats.ks_2samp(ref_scores[:, c], sc[:, c]).pvalue for c in range(comp.shape[0])]
    stats.combine_pvalues(ps, method="fisher")
    times["pca_ks"] = time.process_time() - t

    for name, s in times.items():
        print(f"numpy {name} {s:.6f}")
    print(f"numpy total {sum(times.values()):.6f}")
    print(f"numpy check cos_p {p_cos:.4f} euc_p {p_euc:.4f} mmd_p {p_mmd:.4f} "
          f"auc {np.mean(aucs):.4f} ks_min_p {min(ps):.3g}")


if __name__ == "__main__":
    main()
