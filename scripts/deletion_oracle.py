"""How much of a modality-deletion drop is information, how much the meta-learner's robustness.

On the train split's out-of-fold windows of a trained ``stacked_gbm`` (BUILD/models), compares
two logistic-regression meta-learners over the same folds and out-of-fold base posteriors:

* dropout-trained (as the stack: one modality blanked in 20% of the recordings, its base models
  answering with their blank-input posterior), scored with each modality blanked everywhere;
* refitted without that modality's inputs: the best a meta-learner can do without it, given the
  same base models.

Prints the window accuracy (agreement-weighted) and the drop of each. Usage::

    python scripts/deletion_oracle.py build
"""

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emo_gbm.constants import MODALITIES  # noqa: E402
from emo_gbm.stacking import PROBA_FLOOR, context_features  # noqa: E402

DROPOUT = 0.2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    args = parser.parse_args()
    build = Path(args.build)
    columns = ["rec_id", "start", "label", "weight"] + [f"{m}__missing_frac" for m in MODALITIES]
    windows = pd.read_parquet(build / "features" / "train.parquet", columns=columns)
    clf = joblib.load(build / "models" / "stacked_gbm.joblib").classifier_
    blocks = list(clf.blocks_)
    missing = windows[[f"{m}__missing_frac" for m in MODALITIES]].fillna(1.0).to_numpy()
    y, w = windows["label"].to_numpy(), windows["weight"].to_numpy()
    rec, pos = windows["rec_id"].to_numpy(), windows["start"].to_numpy()
    codes = pd.factorize(rec)[0]
    oof, blank, C = clf.base_oof_proba_, clf.blank_proba_, clf.final_params_["C"]

    def own(modality):
        return [b for b in blocks if b == modality or b.startswith(f"{modality}_")]

    def features(proba, miss, names, miss_columns):
        logs = np.hstack([np.log(np.clip(proba[n], PROBA_FLOOR, 1)) for n in names])
        base = np.hstack([logs, miss[:, miss_columns]])
        if not clf.sequence_mean_:
            return base
        return np.hstack([base, context_features(base, rec, pos, sequence_mean=True)])

    def blanked(i):
        proba, miss = dict(oof), missing.copy()
        miss[:, i] = 1.0
        for n in own(MODALITIES[i]):
            proba[n] = np.broadcast_to(blank[n], oof[n].shape)
        return proba, miss

    def out_of_fold(X_train, tests):
        out = [np.zeros((len(y), len(clf.classes_))) for _ in tests]
        for train, valid in clf.folds_:
            model = LogisticRegression(C=C, max_iter=3000).fit(X_train[train], y[train], sample_weight=w[train])
            for o, X in zip(out, tests):
                o[valid] = model.predict_proba(X[valid])
        return out

    def accuracy(proba):
        return np.average(proba.argmax(1) == y, weights=w)

    rng = np.random.RandomState(0)
    n_recordings = codes.max() + 1
    dropped = np.where(rng.random_sample(n_recordings) < DROPOUT, rng.randint(len(MODALITIES), size=n_recordings), -1)
    proba, miss = {n: oof[n].copy() for n in blocks}, missing.copy()
    for i, modality in enumerate(MODALITIES):
        for n in own(modality):
            proba[n][dropped[codes] == i] = blank[n]
        miss[dropped[codes] == i, i] = 1.0
    everything = list(range(len(MODALITIES)))
    tests = [features(oof, missing, blocks, everything)]
    tests += [features(*blanked(i), blocks, everything) for i in everything]
    scores = [accuracy(p) for p in out_of_fold(features(proba, miss, blocks, everything), tests)]
    print(f"dropout-trained meta-learner, all modalities: {scores[0]:.4f}")
    for i, modality in enumerate(MODALITIES):
        keep = [n for n in blocks if n not in own(modality)]
        X = features(oof, missing, keep, [j for j in everything if j != i])
        (refitted,) = out_of_fold(X, [X])
        print(f"{modality}: blanked {scores[i + 1]:.4f} (drop {scores[0] - scores[i + 1]:.4f}); "
              f"refitted without it {accuracy(refitted):.4f} (drop {scores[0] - accuracy(refitted):.4f})")


if __name__ == "__main__":
    main()
