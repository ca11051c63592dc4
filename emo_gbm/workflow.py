"""The stages the command line and the Makefile run: features, train, predict.

Layout under the build folder::

    BUILD/features/<split>.parquet             window table (meta columns + float32 features); its
                                               Parquet metadata holds the windowing and the schema
                                               (modalities, their columns, measured rates)
    BUILD/features/<split>_recordings.parquet  rec_id, n_frames, group: every recording, in order
    BUILD/features/train_frames.parquet        rec_id, frame, label, agreement of every train frame
    BUILD/models/<pipeline>.skops              a fitted pipelines.FramePipeline (skops, see emo_gbm.modelio)

Training reads only the cached features; predictions are one label per template frame.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from joblib import Parallel, delayed

from emo_gbm import modelio
from emo_gbm.data.io import list_recordings, read_split_columns, split_plan, warn_bad_files
from emo_gbm.pipelines import FEATURE_SET, TRAIN_HOP, VOICING, WINDOW_LENGTH, get_pipeline
from emo_gbm.features import WindowFeaturizer
from emo_gbm.features._tasks import featurize_file

#: Hop between windows of the test splits: finer than for training, so that each frame's
#: posterior averages more windows.
PREDICT_HOP = 50

_METADATA_KEY = b"emo_gbm.featurizer"


STALE_FEATURES = "features in {build} were made from another dataset or the data changed; run make features"


def dataset_fingerprint(data_dir, split):
    """A key of the inputs of one split: the dataset root's absolute path and, for every file under
    ``DATA/SPLIT/`` and ``DATA/meta.csv``, its relative path, size, inode and ``mtime_ns``.

    Fast (``os.scandir``, no file is read). Names starting with ``.`` are skipped, as every stage
    skips them; a symlinked folder is followed once (a loop is recorded, not followed).
    Switching ``DATA`` to another dataset, or editing, adding, removing or replacing a file
    changes it.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    root = Path(os.path.abspath(data_dir))
    lines = [str(root)]

    def stat_line(relative, path):
        try:
            st = os.stat(path)
        except OSError as error:
            return f"{relative}\t{type(error).__name__}"
        return f"{relative}\t{st.st_size}\t{st.st_ino}\t{st.st_mtime_ns}"

    def walk(folder, relative, ancestors):
        try:
            with os.scandir(folder) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as error:
            lines.append(f"{relative}/\t{type(error).__name__}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = f"{relative}/{entry.name}"
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                lines.append(stat_line(name, entry.path))
                continue
            try:
                st = entry.stat()
                key = (st.st_dev, st.st_ino)
            except OSError as error:
                lines.append(f"{name}/\t{type(error).__name__}")
                continue
            if key in ancestors:
                lines.append(f"{name}/\tloop")
                continue
            lines.append(f"{name}/")
            walk(entry.path, name, ancestors | {key})

    lines.append(stat_line("meta.csv", root / "meta.csv"))
    walk(root / split, split, frozenset())
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def check_features_current(build_dir, split, data_dir=None):
    """Refuse cached features of ``split`` made from another dataset, or from data changed since.

    Parameters
    ----------
    build_dir : path
    split : str
    data_dir : path, optional
        The dataset the caller means; default: the one the features were made from.

    Raises
    ------
    FileNotFoundError
        If the split's features do not exist.
    ValueError
        If the features were made from another dataset, or the dataset's files changed since.
    """
    path = _features_dir(build_dir) / f"{split}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run the features stage for split {split!r} first")
    metadata = _featurizer_metadata(path)
    made_from = metadata.get("data")
    stale = STALE_FEATURES.format(build=build_dir)
    if made_from is None or "fingerprint" not in metadata:
        raise ValueError(f"{stale} ({path} has no dataset fingerprint)")
    if data_dir is not None and os.path.abspath(data_dir) != made_from:
        raise ValueError(f"{stale} ({path} is of {made_from}, not {os.path.abspath(data_dir)})")
    if dataset_fingerprint(made_from, split) != metadata["fingerprint"]:
        raise ValueError(f"{stale} (files of {made_from}/{split} changed since {path} was written)")
    return metadata


def _is_current(build_dir, split, data_dir, metadata):
    """Whether the cached features of ``split`` match ``data_dir`` and the featurizer ``metadata``."""
    out_dir = _features_dir(build_dir)
    needed = [out_dir / f"{split}.parquet", out_dir / f"{split}_recordings.parquet"]
    if split == "train":
        needed.append(out_dir / "train_frames.parquet")
    if not all(p.is_file() for p in needed):
        return False
    try:
        cached = _featurizer_metadata(needed[0])
    except (ValueError, OSError):
        return False
    return all(cached.get(k) == v for k, v in metadata.items())


def _features_dir(build_dir):
    return Path(build_dir) / "features"


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
                  stats=None, if_changed=False):
    """Load splits, cut them into windows, and cache the window tables as Parquet.

    Train windows use the pipelines' hop (:data:`pipelines.TRAIN_HOP`); test splits use the
    finer :data:`PREDICT_HOP`. A recording without any modality still gets windows (all
    features NaN, missing fractions 1), so every template gets a prediction. The tables hold
    both readings of openSMILE's voiced-only descriptors (``voicing="both"``): each pipeline
    reads its own columns from them (the reference the columns as given).

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
    if_changed : bool, default=False
        Leave a split's cached features untouched when they were made from the same dataset
        path with the same :func:`dataset_fingerprint` and window settings.

    Returns
    -------
    paths : dict of str to pathlib.Path
        Split -> its window table. Each table's Parquet metadata records the dataset's absolute
        path and fingerprint, which :func:`train` and :func:`predict` check.

    Examples
    --------
    >>> import tempfile
    >>> from emo_gbm.data.synth import generate
    >>> data = tempfile.mkdtemp()
    >>> _ = generate(data, scale=0.01)  # a tiny synthetic dataset in the challenge layout
    >>> paths = make_features(data, tempfile.mkdtemp(), splits=["test"])
    >>> sorted(paths), paths["test"].name
    (['test'], 'test.parquet')
    """
    stats = FEATURE_SET if stats is None else stats
    out_dir = _features_dir(build_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    train_columns, train_rewritten = None, False
    # train first: its modalities and columns are the schema every test split is read with
    for split in sorted(splits, key=lambda s: s != "train"):
        hop = TRAIN_HOP if split == "train" else PREDICT_HOP
        # both readings of openSMILE's voiced-only descriptors: the pipelines read them over voiced
        # frames (VOICING), the reference as given
        metadata = {"length": WINDOW_LENGTH, "hop": hop, "stats": stats, "voicing": "both" if VOICING else False,
                    "split": split,
                    "data": os.path.abspath(data_dir), "fingerprint": dataset_fingerprint(data_dir, split)}
        paths[split] = out_dir / f"{split}.parquet"
        # a test split is read with train's schema: rewritten train features rewrite it too
        if if_changed and not train_rewritten and _is_current(build_dir, split, data_dir, metadata):
            continue
        if split != "train" and train_columns is None:
            train_columns = _train_columns(data_dir, skip_bad_files)
        columns = _featurize_split(data_dir, out_dir, split, metadata, train_columns, skip_bad_files, n_jobs, progress)
        if split == "train":
            train_columns = columns
        train_rewritten = train_rewritten or split == "train"
    return paths


def _featurize_split(data_dir, out_dir, split, metadata, train_columns, skip_bad_files, n_jobs, progress):
    """Featurise every recording of a split (in ``n_jobs`` workers) and write its tables
    (:func:`_write_split`), with ``metadata`` (the schema added) in the window table's.

    The split is read with ``train_columns`` (None: its own files' columns). The window table
    holds the fingerprint: it is removed first and written last, so that after a crash no
    table claims to be current, and removed again if the split's files changed meanwhile.
    Returns the featurizer's modalities and their columns.
    """
    ids, metas, columns, skipped = split_plan(data_dir, split, skip_bad_files, train_columns)
    warn_bad_files(skipped)
    featurizer = WindowFeaturizer(length=WINDOW_LENGTH, hop=metadata["hop"], stats=metadata["stats"],
                                  voicing=metadata["voicing"]).fit_schema(columns)
    metadata["schema"] = _schema(featurizer)
    path = out_dir / f"{split}.parquet"
    path.unlink(missing_ok=True)
    # the workers get plain arguments, not the featurizer: they need not import scikit-learn
    window = featurizer.window_params()
    tasks = (
        delayed(featurize_file)(data_dir, split, rec_id, skip_bad_files, metas[rec_id], columns, window)
        for rec_id in ids
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(ids), desc=f"features of {split}", unit="rec")
    _write_split(results, out_dir, split, featurizer, metadata, data_dir)
    if dataset_fingerprint(data_dir, split) != metadata["fingerprint"]:
        path.unlink(missing_ok=True)
        raise ValueError(f"{data_dir}/{split} changed while its features were computed; run the features stage again")
    return {m: tuple(columns[m]) for m in featurizer.modalities_}


#: Rows gathered before they are written as one row group: few row groups (a row group per
#: recording would multiply the footer by the ~1,700 columns), and memory of a few tens of MB.
ROW_GROUP_ROWS = 4096


class _TableWriter:
    """A Parquet file written piece by piece under a temporary name (pieces gathered into row
    groups of about :data:`ROW_GROUP_ROWS` rows), renamed into place by :meth:`commit`: a crash
    leaves no half-written table."""

    def __init__(self, path, metadata=None):
        self.path, self.metadata, self.writer = Path(path), metadata, None
        self.temporary = self.path.with_name(self.path.name + ".tmp")
        self.pending, self.pending_rows = [], 0

    def write(self, frame):
        self.pending.append(frame)
        self.pending_rows += len(frame)
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self):
        if not self.pending:
            return
        frame = self.pending[0] if len(self.pending) == 1 else pd.concat(self.pending, axis=0, ignore_index=True)
        self.pending, self.pending_rows = [], 0
        if self.writer is None:
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
            if self.metadata is not None:
                schema = schema.with_metadata({**(schema.metadata or {}), _METADATA_KEY: json.dumps(self.metadata).encode()})
            # Dictionary encoding pays for ids and labels, not for the float statistics (their
            # values rarely repeat): without it the windows are written 2-3x faster, and smaller.
            repeated = [field.name for field in schema if not pa.types.is_floating(field.type)]
            self.writer = pq.ParquetWriter(self.temporary, schema, use_dictionary=repeated)
        self.writer.write_table(_arrow_table(frame, self.writer.schema))

    def commit(self, empty):
        self._flush()
        if self.writer is None:
            self.pending.append(empty)
            self._flush()
        self.writer.close()
        os.replace(self.temporary, self.path)

    def abort(self):
        if self.writer is not None:
            self.writer.close()
        self.temporary.unlink(missing_ok=True)


def _arrow_table(frame, schema):
    """``frame`` as an Arrow table of ``schema``: what ``pa.Table.from_pandas(frame).cast(schema)``
    gives (NaN as null, as pandas' conversion), but the float columns of each type are taken
    out of pandas as one block: column by column, pandas and Arrow spent ~0.1 ms on each of the
    window table's ~1,700 columns, over half of the features stage's own process's CPU time."""
    arrays = [None] * len(schema)
    frame_columns = list(frame.columns)
    if frame_columns != schema.names:
        raise ValueError(f"columns {frame_columns[:5]}... do not match the table's {schema.names[:5]}...")
    by_type = {}
    for j, field in enumerate(schema):
        if pa.types.is_floating(field.type):
            by_type.setdefault(field.type, []).append(j)
    for arrow_type, positions in by_type.items():
        # Fortran order: each column is contiguous, so Arrow wraps it instead of copying it
        block = np.asfortranarray(frame.iloc[:, positions].to_numpy(dtype=arrow_type.to_pandas_dtype()))
        for k, j in enumerate(positions):
            arrays[j] = pa.array(block[:, k], type=arrow_type, from_pandas=True)
    for j, field in enumerate(schema):
        if arrays[j] is None:
            arrays[j] = pa.Array.from_pandas(frame.iloc[:, j], type=field.type)
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_split(results, out_dir, split, featurizer, metadata, data_dir):
    """Write the window table, recordings table and (train) frame labels of a split as its
    recordings' results arrive, in order: memory holds a few recordings, never the split."""
    windows = _TableWriter(out_dir / f"{split}.parquet", metadata)
    frames = _TableWriter(out_dir / "train_frames.parquet") if split == "train" else None
    recordings = []
    try:
        for result, skipped in results:
            warn_bad_files(skipped)
            if result is None:
                continue
            window_table, entry, frame_table = result
            windows.write(window_table)
            recordings.append(entry)
            if frames is not None:
                frames.write(frame_table)
        # rec_id, n_frames, group, and the measured rate of each modality file (NaN: absent)
        table = pd.DataFrame(recordings, columns=None if recordings else ["rec_id", "n_frames", "group"])
        table = table.astype({"n_frames": np.int64})
        _TableWriter(out_dir / f"{split}_recordings.parquet").commit(table)
        if frames is not None:
            frames.commit(pd.DataFrame({"rec_id": pd.Series(dtype=object), "frame": pd.Series(dtype=np.int64),
                                        "label": pd.Series(dtype=np.int8), "agreement": pd.Series(dtype=np.float32)}))
        windows.commit(featurizer.transform([]))
    except BaseException:
        windows.abort()
        if frames is not None:
            frames.abort()
        raise


def _schema(featurizer):
    """The modalities, columns and measured rates of a fitted featurizer, for the cache's metadata."""
    return {"modalities": list(featurizer.modalities_), "columns": {m: list(c) for m, c in featurizer.columns_.items()}}


def _train_columns(data_dir, skip_bad_files):
    """The train split's modalities and columns, read from its files' first lines; None without train."""
    try:
        list_recordings(data_dir, "train")
    except FileNotFoundError:
        return None
    columns, errors = read_split_columns(data_dir, "train", skip_bad_files)
    warn_bad_files(errors)
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


def model_path(build_dir, pipeline):
    return Path(build_dir) / "models" / f"{pipeline}.skops"


def train(build_dir, pipeline="stacked_gbm", n_jobs=1, seed=0, progress=False, data_dir=None):
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
    data_dir : str or os.PathLike, optional
        The dataset meant; default: the one the features were made from. Either way the
        features must have been made from it as its files are now (:func:`check_features_current`).

    Returns
    -------
    path : pathlib.Path
        ``BUILD/models/<pipeline>.skops``.

    Examples
    --------
    >>> import tempfile
    >>> from emo_gbm.data.synth import generate
    >>> data, build = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> _ = generate(data, scale=0.03)
    >>> _ = make_features(data, build, splits=["train"])
    >>> train(build, "eyes_only").name
    'eyes_only.skops'
    """
    model = get_pipeline(pipeline, random_state=seed, n_jobs=n_jobs)
    bar = _progress_bar(progress, 3, f"training {pipeline}")
    check_features_current(build_dir, "train", data_dir)
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
    path = model_path(build_dir, pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    modelio.save_model(model, path)
    bar and bar.update()
    bar and bar.close()
    return path


def load_model(path):
    """A fitted pipeline saved by :func:`train` (skops behind an allow-list, see :mod:`emo_gbm.modelio`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; train the pipeline first")
    return modelio.load_model(path)


def _load_for_prediction(build_dir, split, pipeline, n_jobs, data_dir=None):
    path = model_path(build_dir, pipeline)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; train pipeline {pipeline!r} first")
    model = load_model(path).set_n_jobs(n_jobs)
    check_features_current(build_dir, split, data_dir)
    windows, metadata = _read_windows(build_dir, split)
    if metadata["length"] != model.featurizer.length:
        raise ValueError(f"cached {split} windows have {metadata['length']} frames, the model expects {model.featurizer.length}")
    _check_schema(model, metadata, split)
    recordings = pd.read_parquet(_features_dir(build_dir) / f"{split}_recordings.parquet")
    n_frames = dict(zip(recordings["rec_id"], recordings["n_frames"].astype(int)))
    return model, windows, n_frames


def predict(build_dir, split="test", pipeline="stacked_gbm", n_jobs=1, progress=False, smoothing=None, data_dir=None):
    """Frame labels of every recording of a split, from a trained pipeline.

    Parameters
    ----------
    build_dir : str or os.PathLike
        Build root with ``features/<split>.parquet`` and ``models/<pipeline>.skops``.
    split : str, default="test"
    pipeline : str, default="stacked_gbm"
    n_jobs : int, default=1
        Parallel workers; the labels do not depend on it.
    progress : bool, default=False
        Show a progress bar of the stages.
    smoothing : {"viterbi", "overlap", "argmax", "context"} or None, default=None
        None: the pipeline's own smoother (``smoothing_``, chosen in training).
    data_dir : str or os.PathLike, optional
        The dataset meant (see :func:`train`); the split's features must be current for it.

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
    model, windows, n_frames = _load_for_prediction(build_dir, split, pipeline, n_jobs, data_dir)
    bar and bar.update()
    labels = model.predict_frames(windows, n_frames, smoothing=smoothing)
    bar and bar.update()
    bar and bar.close()
    return labels


def predict_frame_proba(build_dir, split="test", pipeline="stacked_gbm", n_jobs=1, data_dir=None):
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
    model, windows, n_frames = _load_for_prediction(build_dir, split, pipeline, n_jobs, data_dir)
    return model.predict_frame_proba(windows, n_frames)
