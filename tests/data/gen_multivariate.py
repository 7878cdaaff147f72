#!/usr/bin/python3
"""Expected values for tests/unit/test_multivariate.c (common/stats/multivariate.c).

Run with Debian's interpreter, which has python3-numpy, python3-scipy and
python3-sklearn:

    /usr/bin/python3 tests/data/gen_multivariate.py > tests/data/multivariate_cases.json

Every expected number is scikit-learn's or numpy's:
- PCA: sklearn StandardScaler (standardised cases) then
  PCA(n_components=0.65) (or a given share); components_ with each row's
  sign set so that its largest-magnitude entry is positive (the sign of a
  principal axis is arbitrary; mlwatch uses that convention);
  explained_variance_ and the NannyML reconstruction error (mean row norm of
  standardised - pca.inverse_transform(pca.transform(standardised))).
- MMD^2: the unbiased estimator written in numpy with a Gaussian kernel
  exp(-|a - b|^2 / h), h = np.median of the squared cross distances.
- Domain classifier: sklearn LogisticRegression(C) fitted on the folds of
  PredefinedSplit(np.arange(n) % folds) over [reference; window] (labels 0,
  1), roc_auc_score per held-out fold, averaged.
- Mean-embedding distances: scipy.spatial.distance.cosine and euclidean of
  the column means.
- Per-component KS: scipy.stats.ks_2samp (method="auto") on the PCA scores.
Inputs are seeded (numpy default_rng), so the file is reproducible for a given
numpy/sklearn.
"""

import json
import sys

import numpy as np
from scipy import stats
from scipy.spatial import distance
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import PredefinedSplit
from sklearn.preprocessing import StandardScaler


def mat(a):
    return [[float(v) for v in row] for row in np.asarray(a)]


def signed(components):
    out = np.array(components, dtype=float)
    for i, row in enumerate(out):
        j = int(np.argmax(np.abs(row)))
        if row[j] < 0:
            out[i] = -row
    return out


def correlated(r, n, d, scales, offsets):
    a = r.normal(size=(d, d))
    cov = a @ a.T + np.diag(np.linspace(0.5, 3.0, d))
    x = r.multivariate_normal(np.zeros(d), cov, size=n)
    return x * np.asarray(scales) + np.asarray(offsets)


def pca_case(name, x, w, standardise, share):
    z = StandardScaler().fit(x) if standardise else None
    zx = z.transform(x) if standardise else x
    zw = z.transform(w) if standardise else w
    pca = PCA(n_components=share, svd_solver="full").fit(zx)
    comp = signed(pca.components_)
    if standardise:
        rec = pca.inverse_transform(pca.transform(zw))
        err = np.linalg.norm(zw - rec, axis=1)
    else:
        # centred only: the error is measured on the centred data
        rec = pca.inverse_transform(pca.transform(zw))
        err = np.linalg.norm(zw - rec, axis=1)
    scores_ref = (zx - pca.mean_) @ comp.T
    scores_cur = (zw - pca.mean_) @ comp.T
    ks_p = [float(stats.ks_2samp(scores_ref[:, c], scores_cur[:, c], method="auto").pvalue)
            for c in range(comp.shape[0])]
    return {"name": name, "standardise": standardise, "share": share,
            "x": mat(x), "w": mat(w),
            "k": int(pca.n_components_),
            "mean": [float(v) for v in (z.mean_ if standardise else x.mean(axis=0))],
            "scale": [float(v) for v in (z.scale_ if standardise else np.ones(x.shape[1]))],
            "components": mat(comp),
            "explained_variance": [float(v) for v in pca.explained_variance_],
            "explained_variance_ratio": [float(v) for v in pca.explained_variance_ratio_],
            "recon_per_row": [float(v) for v in err],
            "recon_mean": float(err.mean()),
            "ks_p": ks_p}


def mmd2_unbiased(x, y):
    dxy = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    h = float(np.median(dxy))
    dxx = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    dyy = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    kxx, kyy, kxy = np.exp(-dxx / h), np.exp(-dyy / h), np.exp(-dxy / h)
    n, m = len(x), len(y)
    s = ((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
         + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
         - 2 * kxy.sum() / (n * m))
    return h, float(s)


def mmd_case(name, x, y):
    h, s = mmd2_unbiased(x, y)
    return {"name": name, "x": mat(x), "y": mat(y), "h": h, "mmd2": s}


def auc_case(name, ref, cur, folds, c):
    x = np.vstack([ref, cur])
    y = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    split = PredefinedSplit(np.arange(len(x)) % folds)
    aucs = []
    for tr, te in split.split():
        clf = LogisticRegression(C=c, tol=1e-10, max_iter=100000).fit(x[tr], y[tr])
        aucs.append(roc_auc_score(y[te], clf.decision_function(x[te])))
    return {"name": name, "ref": mat(ref), "cur": mat(cur), "folds": folds, "C": c,
            "fold_auc": [float(a) for a in aucs], "auc": float(np.mean(aucs))}


def main():
    r = np.random.default_rng(19)
    out = {"numpy": np.__version__, "pca": [], "mmd": [], "auc": [], "roc": [], "means": []}

    x = correlated(r, 400, 6, [1, 10, 0.1, 5, 2, 100], [0, 50, -3, 7, 0, 1000])
    w = correlated(r, 150, 6, [1, 10, 0.1, 5, 2, 100], [0.5, 50, -3, 7, 1, 1000])
    out["pca"].append(pca_case("standardised_6", x, w, True, 0.65))
    out["pca"].append(pca_case("standardised_6_share_0.9", x, w, True, 0.9))
    x = correlated(r, 300, 10, np.ones(10), np.zeros(10))
    w = correlated(r, 120, 10, np.ones(10), np.full(10, 0.3))
    out["pca"].append(pca_case("centred_10", x, w, False, 0.65))
    # the two-feature correlated case of acceptance 2 (0.8)
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    x = r.multivariate_normal([0, 0], cov, size=500)
    w = r.multivariate_normal([0, 0], np.array([[1.0, -0.8], [-0.8, 1.0]]), size=200)
    out["pca"].append(pca_case("corr_flip_2", x, w, True, 0.65))

    out["mmd"].append(mmd_case("shift_5", r.normal(size=(60, 5)), r.normal(0.4, 1, size=(50, 5))))
    out["mmd"].append(mmd_case("same_16", r.normal(size=(40, 16)), r.normal(size=(45, 16))))
    out["mmd"].append(mmd_case("scale_32", r.normal(size=(70, 32)),
                               r.normal(0, 1.3, size=(64, 32))))
    out["mmd"].append(mmd_case("odd_even_3", r.normal(size=(7, 3)), r.normal(1, 1, size=(4, 3))))

    out["auc"].append(auc_case("shift_4", r.normal(size=(150, 4)),
                               r.normal(0.3, 1, size=(120, 4)), 5, 1.0))
    out["auc"].append(auc_case("none_8", r.normal(size=(200, 8)), r.normal(size=(180, 8)), 5, 1.0))
    out["auc"].append(auc_case("strong_3_c0.1", r.normal(size=(90, 3)),
                               r.normal(1.0, 1, size=(80, 3)), 3, 0.1))
    out["auc"].append(auc_case("embed_64", r.normal(size=(300, 64)),
                               r.normal(size=(300, 64)) + 0.15 * r.normal(size=64), 5, 1.0))

    s = np.round(r.normal(size=60), 1)  # ties
    lab = (r.random(60) < 0.4).astype(int)
    out["roc"].append({"scores": [float(v) for v in s], "labels": [int(v) for v in lab],
                       "auc": float(roc_auc_score(lab, s))})

    a, b = r.normal(size=(100, 24)) + 1, r.normal(size=(80, 24)) + 1.2
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    out["means"].append({"x": mat(a), "y": mat(b), "cosine": float(distance.cosine(ma, mb)),
                         "euclid": float(distance.euclidean(ma, mb))})
    json.dump(out, sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
