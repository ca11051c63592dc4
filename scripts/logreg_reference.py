"""Reference: a plain per-window mean-features logistic regression, scored like the pipeline.

Reads the cached window features of ``make features`` (BUILD/features/), keeps each modality's
per-feature window means and missing fractions, fits a standardised multinomial logistic
regression on the train windows (mean-imputed NaN), overlap-adds the test window posteriors into
frames, takes the argmax, and scores the frames against DATA/answers/test.

Usage::

    make features DATA=../shared/data/emodb BUILD=build/emodb
    python scripts/logreg_reference.py ../shared/data/emodb build/emodb
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emo_gbm.data.io import read_labels  # noqa: E402
from emo_gbm.metrics import score_recordings  # noqa: E402
from emo_gbm.smoothing import overlap_add  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("build")
    args = parser.parse_args()
    features = Path(args.build) / "features"
    train = pd.read_parquet(features / "train.parquet")
    test = pd.read_parquet(features / "test.parquet")
    recordings = pd.read_parquet(features / "test_recordings.parquet")
    columns = [c for c in train.columns if c.endswith("__mean") or c.endswith("__missing_frac")]
    train = train[train["label"] >= 0]
    model = make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler(),
                          LogisticRegression(max_iter=2000, C=1.0))
    model.fit(train[columns].to_numpy(np.float64), train["label"].to_numpy(), logisticregression__sample_weight=train["weight"].to_numpy())
    proba = np.zeros((len(test), 6))
    proba[:, model.classes_] = model.predict_proba(test[columns].to_numpy(np.float64))
    predictions, truths = {}, {}
    for rec_id, n_frames in zip(recordings["rec_id"], recordings["n_frames"]):
        rows = (test["rec_id"] == rec_id).to_numpy()
        frame_proba = overlap_add(proba[rows], test["start"].to_numpy()[rows], test["stop"].to_numpy()[rows], int(n_frames))
        predictions[rec_id] = frame_proba.argmax(axis=1)
        _, labels, agreement = read_labels(Path(args.data) / "answers" / "test" / f"{rec_id}.csv")
        truths[rec_id] = (labels, agreement)
    scores = score_recordings(predictions, truths)
    print(f"logistic regression on window means: WA {scores['WA']:.4f}  UA {scores['UA']:.4f}  "
          f"({scores['frames']} scored frames, {len(columns)} features)")


if __name__ == "__main__":
    main()
