#!/usr/bin/env python3
"""Writes Tests/TrainingLoopTests/Fixtures/multilabel-metrics.json: multi-label scores and targets with the
metrics scikit-learn and SciPy compute for them, for the Swift MultiLabelMetrics tests (which never run Python).

    .venv-reference/bin/python Scripts/reference/multilabel_metrics.py      # (make reference-env first)

Cases (N examples x K classes; scores in [0, 1]):
  * "continuous": no tied scores;
  * "ties": scores rounded to one decimal, so many tie within a class and within an example;
  * "sparse": about 8 % positives, some examples with no label and one with every label.
Every class has at least one positive and one negative (so every per-class value is defined).

References:
  * average precision per class and macro/micro mAP: sklearn.metrics.average_precision_score (the FSD50K
    paper's mAP is the macro one over classes);
  * ROC AUC per class: sklearn.metrics.roc_auc_score; d' = sqrt(2) * scipy.stats.norm.ppf(AUC), per class and
    of the macro AUC (the AudioSet convention);
  * lwlrap: sklearn.metrics.label_ranking_average_precision_score with each example weighted by its number of
    positive labels (the DCASE 2019 task 2 definition; sklearn's tie rule: a label's rank counts every label
    scoring at least as high), cross-checked against the DCASE reference formula on the continuous case.
"""
import json
import pathlib

import numpy as np
from scipy.stats import norm
from sklearn.metrics import average_precision_score, label_ranking_average_precision_score, roc_auc_score

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/TrainingLoopTests/Fixtures/multilabel-metrics.json"


def dcase_lwlrap(truth, scores):
    """The DCASE 2019 task 2 reference (ranks by argsort; exact without ties)."""
    n, k = scores.shape
    precisions = np.zeros((n, k))
    for i in range(n):
        pos = np.flatnonzero(truth[i])
        if len(pos) == 0:
            continue
        order = np.argsort(-scores[i])
        rank = np.zeros(k, dtype=int)
        rank[order] = np.arange(k)
        hits = np.zeros(k, dtype=bool)
        hits[rank[pos]] = True
        cum = np.cumsum(hits)
        precisions[i, pos] = cum[rank[pos]] / (1 + rank[pos])
    per_class = precisions.sum(0) / np.maximum(truth.sum(0), 1)
    weights = truth.sum(0) / truth.sum()
    return float((per_class * weights).sum())


def make(rng, n, k, p, decimals=None, full_row=False):
    while True:
        truth = (rng.random((n, k)) < p).astype(int)
        if full_row:
            truth[0, :] = 1
        if (truth.sum(0) > 0).all() and (truth.sum(0) < n).all():
            break
    # Informative scores: positives score higher on average.
    scores = 0.3 * truth + 0.7 * rng.random((n, k))
    if decimals is not None:
        scores = np.round(scores, decimals)
    return truth, scores.astype(np.float32)


def case(name, truth, scores):
    s = scores.astype(np.float64)
    k = truth.shape[1]
    ap = [float(average_precision_score(truth[:, c], s[:, c])) for c in range(k)]
    auc = [float(roc_auc_score(truth[:, c], s[:, c])) for c in range(k)]
    weights = truth.sum(1)
    lw = float(label_ranking_average_precision_score(truth, s, sample_weight=weights))
    if name == "continuous":
        assert abs(lw - dcase_lwlrap(truth, s)) < 1e-12, "sklearn and the DCASE reference disagree"
    macro_auc = float(np.mean(auc))
    return {
        "name": name,
        "examples": int(truth.shape[0]),
        "classes": int(k),
        "scores": [float(v) for v in scores.ravel()],
        "truth": [int(v) for v in truth.ravel()],
        "average_precision": ap,
        "macro_ap": float(average_precision_score(truth, s, average="macro")),
        "micro_ap": float(average_precision_score(truth, s, average="micro")),
        "auc": auc,
        "d_prime": [float(np.sqrt(2) * norm.ppf(a)) for a in auc],
        "macro_auc": macro_auc,
        "macro_d_prime": float(np.sqrt(2) * norm.ppf(macro_auc)),
        "lwlrap": lw,
    }


def main():
    rng = np.random.default_rng(20261130)
    cases = []
    t, s = make(rng, 64, 7, 0.3)
    assert len(np.unique(s)) == s.size
    cases.append(case("continuous", t, s))
    t, s = make(rng, 64, 7, 0.3, decimals=1)
    cases.append(case("ties", t, s))
    t, s = make(rng, 80, 9, 0.08, decimals=2, full_row=True)
    cases.append(case("sparse", t, s))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "Scripts/reference/multilabel_metrics.py", "cases": cases}, indent=1)
                   + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
