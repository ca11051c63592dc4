"""Calibrate the synthetic data: how hard is it for a plain window-statistics LightGBM?

Produces the calibration table of the README. Per modality and feature, every 4 s window
(1 s hop) is summarised by the NaN-mean and NaN-std over its present frames, plus the
modality's missing fraction; the window label is the majority frame label. A LightGBM
classifier is fitted on the train windows; a test frame's prediction is the argmax of the
averaged posteriors of the windows covering it. WA / UA are scored on the public test frames
with agreement > 0.6, for all modalities, each one alone and all but face.

Usage::

    python scripts/calibrate_synth.py data/synthetic --n-jobs 2
    python scripts/calibrate_synth.py /tmp/synthetic --generate --scale 0.3 --n-jobs 2
    python scripts/calibrate_synth.py /tmp/voice_led --generate --world voice_led --scale 0.3 --n-jobs 2

``--world`` picks the synthetic world to generate (``docs/worlds.md``); without ``--generate``
the world is whatever made the dataset (its ``synth.json``).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from lightgbm import LGBMClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emo_gbm.constants import EMOTIONS, MODALITIES, N_FEATURES  # noqa: E402
from emo_gbm.data.io import load_split  # noqa: E402
from emo_gbm.metrics import confusion_matrix, scores_from_confusion  # noqa: E402
from emo_gbm.features import window_starts  # noqa: E402

WINDOW, HOP = 400, 100  # frames at 100 fps: 4 s windows, 1 s hop
HELD_OUT_SESSION = 6
N_CLASSES = len(EMOTIONS)

#: Feature subsets of the table: name -> modalities used.
CONFIGS = {
    "all four": MODALITIES,
    "audio": ("audio",),
    "face_nn": ("face_nn",),
    "kinect": ("kinect",),
    "eyes": ("eyes",),
    "all but face": ("audio", "eyes", "kinect"),
}
#: Real-data reference (challenge baseline, public test WA) for the same rows.
REFERENCE = {"all four": 0.525, "audio": 0.32, "face_nn": 0.48, "kinect": 0.36, "eyes": 0.24, "all but face": None}


def _window_sums(values, starts, length):
    """Sums over each window [start, start + length) along axis 0, via cumulative sums."""
    cumulative = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    return cumulative[starts + length] - cumulative[starts]


def window_features(recording):
    """Window statistics of one recording.

    Returns
    -------
    features : ndarray of shape (n_windows, n_columns)
        Per modality (in MODALITIES order): NaN-mean of each feature, NaN-std of each feature,
        then the missing fraction; NaN where a window has no present frame.
    starts : ndarray of shape (n_windows,)
    """
    n = recording.n_frames
    starts = window_starts(n, WINDOW, HOP)
    padded = max(n, WINDOW)  # a recording shorter than a window is padded with missing frames
    blocks = []
    for modality in MODALITIES:
        x = np.full((padded, N_FEATURES[modality]), np.nan)
        x[:n] = recording.streams[modality]
        present = np.zeros(padded)
        present[:n] = recording.present[modality]
        cells = ~np.isnan(x)
        # Centring first keeps E[x^2] - E[x]^2 accurate for features with large means.
        centre = np.nanmean(x, axis=0) if cells.any() else np.zeros(x.shape[1])
        centred = np.where(cells, x - np.nan_to_num(centre), 0.0)
        count = _window_sums(cells.astype(np.float64), starts, WINDOW)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = _window_sums(centred, starts, WINDOW) / count
            var = _window_sums(centred**2, starts, WINDOW) / count - mean**2
        std = np.sqrt(np.clip(var, 0.0, None))
        missing = 1.0 - _window_sums(present, starts, WINDOW) / WINDOW
        blocks += [mean + np.nan_to_num(centre), std, missing[:, None]]
    return np.hstack(blocks), starts


def feature_columns(modalities):
    """Column indices of :func:`window_features` belonging to ``modalities``."""
    columns, offset = [], 0
    for modality in MODALITIES:
        width = 2 * N_FEATURES[modality] + 1
        if modality in modalities:
            columns.extend(range(offset, offset + width))
        offset += width
    return np.asarray(columns)


def window_labels(recording, starts):
    """Majority frame label of every window."""
    onehot = np.zeros((max(recording.n_frames, WINDOW), N_CLASSES))
    onehot[np.arange(recording.n_frames), recording.labels] = 1.0
    return np.argmax(_window_sums(onehot, starts, WINDOW), axis=1)


def frame_posteriors(window_posteriors, starts, n_frames):
    """Average of the posteriors of the windows covering each frame."""
    edges = np.zeros((max(n_frames, WINDOW) + 1, window_posteriors.shape[1]))
    np.add.at(edges, starts, window_posteriors)
    np.add.at(edges, starts + WINDOW, -window_posteriors)
    coverage = np.zeros(max(n_frames, WINDOW) + 1)
    np.add.at(coverage, starts, 1.0)
    np.add.at(coverage, starts + WINDOW, -1.0)
    return np.cumsum(edges, axis=0)[:n_frames] / np.cumsum(coverage)[:n_frames, None]


def make_model():
    """The plain LightGBM of the calibration (fixed hyper-parameters, no tuning, one thread)."""
    return LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=31, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.5, random_state=0, n_jobs=1, verbose=-1,
    )


def _is_unseen(recording):
    return recording.meta.get("session") == HELD_OUT_SESSION


def calibrate(train, test, n_jobs=1, configs=None):
    """Fit and score every configuration of ``configs`` (default :data:`CONFIGS`); one dict per row."""
    train_feats = [window_features(r) for r in train]
    test_feats = [window_features(r) for r in test]
    x_train = np.vstack([f for f, _ in train_feats])
    y_train = np.concatenate([window_labels(r, s) for r, (_, s) in zip(train, train_feats)])
    x_test = np.vstack([f for f, _ in test_feats])
    bounds = np.cumsum([0] + [len(s) for _, s in test_feats])
    majority = int(np.bincount(y_train, minlength=N_CLASSES).argmax())
    configs = [("majority class", ())] + list((CONFIGS if configs is None else configs).items())
    # One single-threaded model per configuration, configurations in parallel: LightGBM's own
    # threads slow down badly on a shared machine.
    probas = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(x_train, y_train, x_test, modalities, majority) for _, modalities in configs
    )
    rows = []
    for (name, _), proba in zip(configs, probas):
        counts = {"all": 0, "seen": 0, "unseen": 0}
        for i, recording in enumerate(test):
            post = frame_posteriors(proba[bounds[i] : bounds[i + 1]], test_feats[i][1], recording.n_frames)
            cm = confusion_matrix(recording.labels, post.argmax(axis=1), recording.agreement)
            group = "unseen" if _is_unseen(recording) else "seen"
            counts["all"] = counts["all"] + cm
            counts[group] = counts[group] + cm
        row = {"features": name, "reference": REFERENCE.get(name)}
        for group, cm in counts.items():
            row[group] = scores_from_confusion(cm) if np.sum(cm) else None
        rows.append(row)
    return rows


def _fit_predict(x_train, y_train, x_test, modalities, majority):
    if not modalities:
        return np.tile(np.eye(N_CLASSES)[majority], (len(x_test), 1))
    columns = feature_columns(modalities)
    return make_model().fit(x_train[:, columns], y_train).predict_proba(x_test[:, columns])


def markdown(rows):
    """The calibration table in markdown."""
    lines = [
        "| features | WA | UA | WA seen actors | WA unseen actors | real data (baseline WA) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = [f"{row[group][key]:.3f}" if row[group] else "-"
                 for group, key in (("all", "WA"), ("all", "UA"), ("seen", "WA"), ("unseen", "WA"))]
        cells.append(f"{row['reference']:.3f}" if row["reference"] is not None else "-")
        lines.append(f"| {row['features']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default="data/synthetic", help="dataset root (default data/synthetic)")
    parser.add_argument("--generate", action="store_true", help="first generate the dataset into DATA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    from emo_gbm.data.synth import WORLDS

    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS), metavar="NAME",
                        help="rows of the table to fit (default: all): " + ", ".join(repr(c) for c in CONFIGS))
    parser.add_argument("--world", default="default", choices=list(WORLDS),
                        help="synthetic world to generate with --generate (default: default)")
    args = parser.parse_args(argv)
    if args.generate:
        from emo_gbm.data.synth import generate

        start = time.perf_counter()
        summary = generate(args.data, seed=args.seed, scale=args.scale, n_jobs=args.n_jobs, world=args.world)
        print(f"generated {args.data} (world {args.world}, seed {args.seed}, scale {args.scale}) "
              f"in {time.perf_counter() - start:.1f} s")
        print({k: summary[k] for k in ("zero_fraction", "agreement_above_threshold", "mean_episode_seconds",
                                        "absent_rate", "bytes")})
    else:
        info = Path(args.data) / "synth.json"
        if info.is_file():
            print(f"dataset {args.data}: {info.read_text().strip()}")
    start = time.perf_counter()
    train = load_split(args.data, "train", n_jobs=args.n_jobs)
    test = load_split(args.data, "test", n_jobs=args.n_jobs)
    rows = calibrate(train, test, n_jobs=args.n_jobs, configs={name: CONFIGS[name] for name in args.configs})
    scored = rows[0]["all"]["frames"]
    print(f"\n{len(train)} train / {len(test)} test recordings, {scored} scored test frames "
          f"({time.perf_counter() - start:.0f} s)\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
