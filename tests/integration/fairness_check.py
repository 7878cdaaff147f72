#!/usr/bin/python3
"""Recomputes mlwatch's fairness metrics from the raw events of the database
with numpy and scikit-learn (confusion matrices per group and window) and
compares them with `mlwatch fairness --json` exactly (counts and rates as
IEEE doubles, no tolerance).

Usage: fairness_check.py DB MODEL ATTRIBUTE FAIRNESS_JSON MIN_SAMPLE
Prints one JSON line: {"windows": N, "groups": G, "mismatches": [...]}."""
import json
import math
import sqlite3
import struct
import sys

import numpy as np
from sklearn.metrics import confusion_matrix


def cls(num, s):
    if s is not None:
        return s
    if num is None:
        return None
    return "1" if num == 1 else repr(num)


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def features_of(blob):
    """The features blob as mlwatchd(8) STORAGE FORMAT describes it, decoded
    independently of mlwatch's C decoder."""
    if blob is None:
        return {}
    if isinstance(blob, str):  # a row stored as JSON text before the blob
        return json.loads(blob)
    assert blob[0] == 1, "features blob version %d" % blob[0]
    count = blob[1] | blob[2] << 8
    out, i = {}, 3
    for _ in range(count):
        n, i = varint(blob, i)
        name = blob[i:i + n].decode()
        tag = blob[i + n]
        i += n + 1
        if tag == 0:
            v = None
        elif tag == 1:
            v = struct.unpack_from("<d", blob, i)[0]
            i += 8
        elif tag == 2:
            z, i = varint(blob, i)
            v = (z >> 1) ^ -(z & 1)
        elif tag == 3:
            n, i = varint(blob, i)
            v = blob[i:i + n].decode()
            i += n
        elif tag == 4:
            n, i = varint(blob, i)
            v = list(struct.unpack_from("<%df" % n, blob, i))
            i += 4 * n
        else:
            raise ValueError("tag %d" % tag)
        out.setdefault(name, v)
    assert i == len(blob)
    return out


def gaps(groups, min_sample):
    def span(vals):
        vals = [v for v in vals if v is not None]
        return (min(vals), max(vals)) if len(vals) >= 2 else None

    dp = span([g["positive_rate"] for g in groups if g["n"] >= min_sample])
    tpr = span([g["tpr"] for g in groups if g["tp"] + g["fn"] >= min_sample])
    fpr = span([g["fpr"] for g in groups if g["fp"] + g["tn"] >= min_sample])
    acc = span([g["accuracy"] for g in groups if g["labelled"] >= min_sample])
    return {
        "dp_diff": dp[1] - dp[0] if dp else None,
        "dp_ratio": (dp[0] / dp[1] if dp[1] > 0 else 1.0) if dp else None,
        "eo_diff": tpr[1] - tpr[0] if tpr else None,
        "eodds_diff": max(tpr[1] - tpr[0], fpr[1] - fpr[0]) if tpr and fpr else None,
        "acc_gap": acc[1] - acc[0] if acc else None,
    }


def main():
    db, model, attr, path, min_sample = sys.argv[1:6]
    min_sample = int(min_sample)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute(
        "SELECT e.window_start, coalesce(e.features_bin, e.features), e.pred_num, "
        "e.pred_str, e.label_num, "
        "e.label_str FROM events e JOIN models m ON m.id = e.model_id WHERE m.name = ? "
        "ORDER BY e.id", (model,)).fetchall()
    per = {}
    for start, feats, pn, ps, ln, ls in rows:
        f = features_of(feats)
        g = f.get(attr)
        p = cls(pn, ps)
        if g is None or p is None:
            continue
        per.setdefault(start, {}).setdefault(str(g), []).append((p, cls(ln, ls)))
    want = {}
    for start, groups in per.items():
        out = []
        for name in sorted(groups):
            ev = groups[name]
            pred = np.array([1 if p == "1" else 0 for p, _ in ev])
            lab = [(1 if p == "1" else 0, 1 if l == "1" else 0) for p, l in ev if l is not None]
            y_pred = np.array([a for a, _ in lab], dtype=int)
            y_true = np.array([b for _, b in lab], dtype=int)
            if len(lab):
                tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
            else:
                tn = fp = fn = tp = 0
            n, pos = int(pred.size), int(pred.sum())
            nl = len(lab)
            correct = int(tp + tn)
            out.append({
                "group": name, "n": n, "positives": pos,
                "positive_rate": pos / n if n else None,
                "labelled": nl, "accuracy": correct / nl if nl else None,
                "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
                "tpr": int(tp) / int(tp + fn) if tp + fn else None,
                "fpr": int(fp) / int(fp + tn) if fp + tn else None,
            })
        want[start] = (out, gaps(out, min_sample))
    got = {}
    for w in json.load(open(path))["windows"]:
        if w["attribute"] == attr:
            got[w["start"]] = w
    bad = []
    if sorted(got) != sorted(want):
        bad.append({"windows_db": sorted(want), "windows_mlwatch": sorted(got)})
    ngroups = 0
    for start in sorted(want):
        if start not in got:
            continue
        groups, g = want[start]
        mg = got[start]["groups"]
        if len(mg) != len(groups):
            bad.append({"start": start, "groups": [len(groups), len(mg)]})
            continue
        for a, b in zip(groups, mg):
            ngroups += 1
            for k, v in a.items():
                if b.get(k) != v:
                    bad.append({"start": start, "group": a["group"], "key": k,
                                "python": v, "mlwatch": b.get(k)})
        for k, v in g.items():
            if got[start].get(k) != v:
                bad.append({"start": start, "key": k, "python": v, "mlwatch": got[start].get(k)})
    print(json.dumps({"windows": len(want), "groups": ngroups, "mismatches": bad[:20],
                      "dp_ratios": [want[s][1]["dp_ratio"] for s in sorted(want)]}))


if __name__ == "__main__":
    main()
