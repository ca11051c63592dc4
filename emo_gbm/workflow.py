"""The stages the command line and the Makefile run: features, train, predict.

Layout under the build folder::

    BUILD/features/<split>.parquet             window table (meta columns + float32 features); its
                                               Parquet metadata holds the windowing and the schema
                                               (modalities, their columns, measured rates)
    BUILD/features/<split>_recordings.parquet  rec_id, n_frames, group: every recording, in order
    BUILD/features/train_frames.parquet        rec_id, frame, label, agreement of every train frame
    BUILD/models/<pipeline>.joblib             a fitted pipelines.FramePipeline

Training reads only the cached features; predictions are one label per template frame.
"""

import json
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .windows import WindowFeaturizer

#: Hop between windows of the test splits: finer than for training, so that each frame's
#: posterior averages more windows.
PREDICT_HOP = 50

_METADATA_KEY = b"emo_gbm.featurizer"


def _features_dir(build_dir):
    return Path(build_dir) / "features"


def _write_parquet(frame, path, metadata=None):
    """Write atomically (temporary file, then rename), so a crash leaves no half-written cache."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _METADATA_KEY: json.dumps(metadata).encode()})
    temporary = path.with_name(path.name + ".tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


def _featurizer_metadata(path):
    metadata = pq.read_schema(path).metadata or {}
    if _METADATA_KEY not in metadata:
        raise ValueError(f"{path} was not written by make_features; rebuild the features")
    return json.loads(metadata[_METADATA_KEY])


def _progress_bar(progress, total, desc):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step")


def make_features(data_dir, build_dir, splits=("train", "test"), n_jobs=1, skip_bad_files=False, progress=False,
                  stats=None):
    """Load splits, cut them into windows, and cache the window tables as Parquet.

    Train windows use the pipelines' hop (:data:`pipelines.TRAIN_HOP`); test splits use the
    finer :data:`PREDICT_HOP`. A recording without any modality still gets windows (all
    features NaN, missing fractions 1), so every template gets a prediction.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    build_dir : str or os.PathLike
        Output root; tables go to ``BUILD/features/``.
    splits : sequence of str, default=("train", "test")
    n_jobs : int, default=1
        Worker processes for loading and featurising; the output does not depend on it.
    skip_bad_files : bool, default=False
        Warn about and skip bad modality files (and, for train, recordings with a bad
        label file) instead of stopping.
    progress : bool, default=False
        Show progress bars.
    stats : str or None, default=None
        The feature set to compute; None: the pipelines' (:data:`pipelines.FEATURE_SET`).

    Returns
    -------
    paths : dict of str to pathlib.Path
        Split -> its window table.

    Examples
    --------
    >>> import tempfile
    >>> paths = make_features("/work/shared/data/emodb", tempfile.mkdtemp(), splits=["test"])
    >>> sorted(paths), paths["test"].name
    (['test'], 'test.parquet')
    """
    from pipelines import FEATURE_SET, TRAIN_HOP, WINDOW_LENGTH

    stats = FEATURE_SET if stats is None else stats

    from .io import load_split

    out_dir = _features_dir(build_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    train_columns = None
    # train first: its modalities and columns are the schema every test split is read with
    for split in sorted(splits, key=lambda s: s != "train"):
        if split != "train" and train_columns is None:
            train_columns = _train_columns(data_dir, skip_bad_files)
        recordings = load_split(
            data_dir, split, n_jobs=n_jobs, with_answers=False, skip_bad_files=skip_bad_files, progress=progress,
            columns=None if split == "train" else train_columns,
        )
        hop = TRAIN_HOP if split == "train" else PREDICT_HOP
        featurizer = WindowFeaturizer(length=WINDOW_LENGTH, hop=hop, stats=stats, n_jobs=n_jobs)
        if split == "train" or train_columns is None:
            featurizer.fit(recordings)
        else:
            featurizer.fit_schema(train_columns, _median_rates(recordings))
        if split == "train":
            train_columns = {m: recordings[0].columns[m] for m in featurizer.modalities_} if recordings else {}
        windows = featurizer.transform(recordings)
        if split == "train" and (windows["label"] < 0).any():
            raise ValueError(f"{data_dir}: train recordings without labels")
        metadata = {
            "length": WINDOW_LENGTH, "hop": hop, "stats": stats, "split": split,
            "schema": _schema(featurizer),
        }
        paths[split] = out_dir / f"{split}.parquet"
        _write_parquet(windows, paths[split], metadata)
        recordings_table = pd.DataFrame(
            {
                "rec_id": [r.rec_id for r in recordings],
                "n_frames": np.array([r.n_frames for r in recordings], dtype=np.int64),
                "group": [str(r.meta.get("actor", r.rec_id)) if r.meta else r.rec_id for r in recordings],
            }
        )
        _write_parquet(recordings_table, out_dir / f"{split}_recordings.parquet")
        if split == "train":
            frames = pd.DataFrame(
                {
                    "rec_id": np.repeat([r.rec_id for r in recordings], [r.n_frames for r in recordings]),
                    "frame": np.concatenate([np.arange(r.n_frames) for r in recordings]) if recordings else [],
                    "label": np.concatenate([r.labels for r in recordings]).astype(np.int8) if recordings else [],
                    "agreement": (
                        np.concatenate([r.agreement for r in recordings]).astype(np.float32) if recordings else []
                    ),
                }
            )
            _write_parquet(frames, out_dir / "train_frames.parquet")
        del recordings, windows
    return paths


def _schema(featurizer):
    """The modalities, columns and measured rates of a fitted featurizer, for the cache's metadata."""
    return {
        "modalities": list(featurizer.modalities_),
        "columns": {m: list(c) for m, c in featurizer.columns_.items()},
        "rates": dict(featurizer.rates_),
    }


def _median_rates(recordings):
    rates = {}
    for rec in recordings:
        for modality, rate in rec.rates.items():
            rates.setdefault(modality, []).append(rate)
    return {m: float(np.median(r)) for m, r in rates.items()}


def _train_columns(data_dir, skip_bad_files):
    """The train split's modalities and columns, read from its files' first lines; None without train."""
    import warnings

    from .errors import BadFileWarning
    from .io import list_recordings, read_split_columns

    try:
        list_recordings(data_dir, "train")
    except FileNotFoundError:
        return None
    columns, errors = read_split_columns(data_dir, "train", skip_bad_files)
    for error in errors:
        warnings.warn(str(error), BadFileWarning, stacklevel=3)
    return columns


def _check_schema(model, metadata, split):
    """The cached windows of ``split`` must have the columns the model was trained on."""
    fitted = getattr(model, "featurizer_", None)
    schema = metadata.get("schema")
    if fitted is None or schema is None:
        return
    for modality, columns in fitted.columns_.items():
        found = schema["columns"].get(modality)
        if found is None or tuple(found) != tuple(columns):
            raise ValueError(
                f"the cached {split} features have other {modality} columns than the model was trained on "
                f"({'none' if found is None else len(found)} against {len(columns)}); rebuild the features "
                "of every split (emo-gbm features) and retrain"
            )


def _read_windows(build_dir, split):
    path = _features_dir(build_dir) / f"{split}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run the features stage for split {split!r} first")
    return pd.read_parquet(path), _featurizer_metadata(path)


def _model_path(build_dir, pipeline):
    return Path(build_dir) / "models" / f"{pipeline}.joblib"


def train(build_dir, pipeline="stacked_gbm", n_jobs=1, seed=0, progress=False):
    """Fit a named pipeline on the cached train features and save it.

    Parameters
    ----------
    build_dir : str or os.PathLike
        Build root holding ``features/train.parquet`` and ``features/train_frames.parquet``.
    pipeline : str, default="stacked_gbm"
        A name of :data:`pipelines.PIPELINES`.
    n_jobs : int, default=1
        Parallel workers; the fitted model does not depend on it.
    seed : int, default=0
        Seeds folds, dropout and models: same features and seed, same model.
    progress : bool, default=False
        Show a progress bar of the stages.

    Returns
    -------
    path : pathlib.Path
        ``BUILD/models/<pipeline>.joblib``.

    Examples
    --------
    >>> import tempfile
    >>> build = tempfile.mkdtemp()
    >>> _ = make_features("/work/shared/data/emodb", build, splits=["train"])
    >>> train(build, "eyes_only").name  # doctest: +SKIP
    'eyes_only.joblib'
    """
    from pipelines import get_pipeline

    model = get_pipeline(pipeline, random_state=seed, n_jobs=n_jobs)
    bar = _progress_bar(progress, 3, f"training {pipeline}")
    windows, metadata = _read_windows(build_dir, "train")
    frames_path = _features_dir(build_dir) / "train_frames.parquet"
    if not frames_path.is_file():
        raise FileNotFoundError(f"{frames_path} does not exist; run the features stage for split 'train' first")
    frames = pd.read_parquet(frames_path)
    if metadata["length"] != model.featurizer.length:
        raise ValueError(
            f"cached windows have {metadata['length']} frames, pipeline {pipeline!r} expects {model.featurizer.length}"
        )
    bar and bar.update()
    model.fit(windows, frames)
    bar and bar.update()
    path = _model_path(build_dir, pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    joblib.dump(model, temporary)
    os.replace(temporary, path)
    bar and bar.update()
    bar and bar.close()
    return path


def load_model(path):
    """A fitted pipeline saved by :func:`train`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; train the pipeline first")
    return joblib.load(path)


def _load_for_prediction(build_dir, split, pipeline, n_jobs):
    path = _model_path(build_dir, pipeline)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; train pipeline {pipeline!r} first")
    model = load_model(path).set_n_jobs(n_jobs)
    windows, metadata = _read_windows(build_dir, split)
    if metadata["length"] != model.featurizer.length:
        raise ValueError(f"cached {split} windows have {metadata['length']} frames, the model expects {model.featurizer.length}")
    _check_schema(model, metadata, split)
    recordings = pd.read_parquet(_features_dir(build_dir) / f"{split}_recordings.parquet")
    n_frames = dict(zip(recordings["rec_id"], recordings["n_frames"].astype(int)))
    return model, windows, n_frames


def predict(build_dir, split="test", pipeline="stacked_gbm", n_jobs=1, progress=False, smoothing=None):
    """Frame labels of every recording of a split, from a trained pipeline.

    Parameters
    ----------
    build_dir : str or os.PathLike
        Build root with ``features/<split>.parquet`` and ``models/<pipeline>.joblib``.
    split : str, default="test"
    pipeline : str, default="stacked_gbm"
    n_jobs : int, default=1
        Parallel workers; the labels do not depend on it.
    progress : bool, default=False
        Show a progress bar of the stages.
    smoothing : {"viterbi", "overlap", "argmax", "context"} or None, default=None
        None: the pipeline's own smoother (``smoothing_``, chosen in training).

    Returns
    -------
    labels : dict of str to ndarray of shape (n_frames,), int8
        One class index per template frame, in template order, for every recording of
        the split (in load order).

    Examples
    --------
    >>> predictions = predict("build", "test", "stacked_gbm")  # doctest: +SKIP
    >>> predictions["id110af0c0"][:5]  # doctest: +SKIP
    array([5, 5, 5, 5, 5], dtype=int8)
    """
    bar = _progress_bar(progress, 2, f"predicting {split}")
    model, windows, n_frames = _load_for_prediction(build_dir, split, pipeline, n_jobs)
    bar and bar.update()
    labels = model.predict_frames(windows, n_frames, smoothing=smoothing)
    bar and bar.update()
    bar and bar.close()
    return labels


def predict_frame_proba(build_dir, split="test", pipeline="stacked_gbm", n_jobs=1):
    """Frame posteriors of every frame of a split from the pipeline's smoother (for reports and diagnostics).

    Overlap-added window posteriors, or for the ``"context"`` smoother its model's posteriors.

    Parameters
    ----------
    build_dir : str or os.PathLike
    split : str, default="test"
    pipeline : str, default="stacked_gbm"
    n_jobs : int, default=1

    Returns
    -------
    frame_proba : dict of str to ndarray of shape (n_frames, 6), float32
        Columns in the order of :data:`~emo_gbm.constants.EMOTIONS`.

    Examples
    --------
    >>> proba = predict_frame_proba("build", "test")  # doctest: +SKIP
    >>> proba["id110af0c0"].shape  # doctest: +SKIP
    (4123, 6)
    """
    model, windows, n_frames = _load_for_prediction(build_dir, split, pipeline, n_jobs)
    return model.predict_frame_proba(windows, n_frames)
