"""What the report reads: predictions, truth and presence of the test frames, scores, models.

Whatever is missing becomes a line of the README's list of missing inputs; nothing here fails
because a stage has not been run yet.
"""

import json
from pathlib import Path

import numpy as np

from emo_gbm.constants import ANSWERS_DIR, EMOTIONS, MODALITIES, N_CLASSES, TEMPLATES_DIR
from emo_gbm.errors import DataFormatError
from emo_gbm.metrics import confusion_matrix, scores_from_confusion
from emo_gbm.reporting._importance import gain_importance
from emo_gbm.reporting._style import NEIGHBOURHOOD_HALF

#: The two systems the report compares: key -> (title, submission folder, metrics file),
#: paths relative to BUILD.
MODELS = {
    "stack": ("stacked GBM", Path("submission") / TEMPLATES_DIR, Path("metrics.json")),
    "bilstm": ("BiLSTM baseline", Path("baseline") / "submission" / TEMPLATES_DIR, Path("baseline") / "metrics.json"),
}


def read_prediction_folder(folder):
    """Class index per frame of every ``<id>.csv`` of a submission's ``prediction/`` folder.

    Parameters
    ----------
    folder : str or os.PathLike
        A folder of one-hot prediction files (``Time`` and the six emotion columns).

    Returns
    -------
    predictions : dict of str to ndarray of shape (n_frames,), int8

    Raises
    ------
    FileNotFoundError
        When the folder does not exist or holds no ``.csv`` file.
    DataFormatError
        For a file with another header or a row without exactly one 1.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "id00000001.csv"), "w") as f:
    ...     _ = f.write("Time,Anger,Sad,Disgust,Happy,Scared,Neutral\\n0.00,0,1,0,0,0,0\\n0.01,0,0,0,0,0,1\\n")
    >>> read_prediction_folder(folder)["id00000001"].tolist()
    [1, 5]
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = Path(folder)
    paths = sorted(p for p in folder.glob("*.csv") if not p.name.startswith(".")) if folder.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"{folder}: no prediction files")
    columns = ("Time",) + EMOTIONS
    convert = pacsv.ConvertOptions(column_types={e: pa.int8() for e in EMOTIONS}, include_columns=list(EMOTIONS))
    predictions = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            header = tuple(cell.strip() for cell in handle.readline().strip().split(","))
        if header != columns:
            raise DataFormatError(path, f"header must be {','.join(columns)}", 1)
        try:
            table = pacsv.read_csv(path, convert_options=convert)
        except pa.ArrowException as error:
            raise DataFormatError(path, f"not a one-hot prediction file ({str(error).splitlines()[0]})") from None
        onehot = np.column_stack([table.column(e).to_numpy(zero_copy_only=False) for e in EMOTIONS])
        bad = np.flatnonzero((onehot.sum(axis=1) != 1) | (onehot.max(axis=1) != 1))
        if bad.size:
            raise DataFormatError(path, "a row needs exactly one 1 among the emotions", int(bad[0]) + 2)
        predictions[path.stem] = onehot.argmax(axis=1).astype(np.int8)
    return predictions


def _read_json(path):
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _load_frames(data_dir, split, n_jobs, progress):
    """Per test recording: time, truth, agreement and the per-frame presence of each modality.

    Streams are dropped as soon as a recording is read: the report needs presence only, and
    keeping 143 aligned recordings would cost hundreds of MB.
    """
    from joblib import Parallel, delayed

    from emo_gbm.data.io import list_recordings, load_recording, read_split_columns

    columns, _ = read_split_columns(data_dir, split, skip_bad_files=True)  # once, not per recording

    def light(rec_id):
        rec = load_recording(data_dir, split, rec_id, with_answers=True, skip_bad_files=True, columns=columns)
        absent = np.zeros(rec.n_frames, dtype=bool)
        present = np.column_stack([rec.present.get(m, absent) for m in MODALITIES])
        return rec.rec_id, rec.time, rec.labels, rec.agreement, present

    ids = list_recordings(data_dir, split)
    results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(delayed(light)(r) for r in ids)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(ids), desc=f"report: reading {split}", unit="rec")
    return {rec_id: dict(time=t, labels=y, agreement=a, present=p) for rec_id, t, y, a, p in results}


def neighbourhood_missing(present, half=NEIGHBOURHOOD_HALF):
    """Share of missing (modality, frame) cells in each frame's neighbourhood.

    Parameters
    ----------
    present : ndarray of shape (n_frames, n_modalities), bool
    half : int
        The neighbourhood of frame ``t`` is frames ``[t - half, t + half)``, cut at the
        recording's ends.

    Returns
    -------
    share : ndarray of shape (n_frames,), float64
        0 when every modality is present on every frame around, 1 when none is.

    Examples
    --------
    >>> import numpy as np
    >>> present = np.array([[1, 1], [1, 0], [0, 0], [0, 0]], dtype=bool)
    >>> neighbourhood_missing(present, half=1).tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    present = np.asarray(present, dtype=bool)
    n_frames = present.shape[0]
    missing = (~present).mean(axis=1) if present.shape[1] else np.ones(n_frames)
    cumulative = np.concatenate(([0.0], np.cumsum(missing)))
    index = np.arange(n_frames)
    lo = np.clip(index - half, 0, n_frames)
    hi = np.clip(index + half, 1, n_frames)
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


class _Model:
    """What the report knows of one system: its predictions, scores, or why they are missing."""

    def __init__(self, key, title):
        self.key, self.title = key, title
        self.predictions = None
        self.metrics = None
        self.scores = None  # recomputed from the predictions and the answers
        self.problem = None

    @property
    def available(self):
        return self.scores is not None


class _Inputs:
    """Everything read for the report, with a list of what was missing."""

    def __init__(self):
        self.missing = []
        self.frames = None  # rec_id -> dict(time, labels, agreement, present)
        self.models = {}
        self.modality_table = None
        self.bench = None
        self.importance = None
        self.split = None

    def note(self, text):
        self.missing.append(text)


def _collect(data_dir, build_dir, out_dir, split, n_jobs, progress):
    data_dir, build_dir, out_dir = Path(data_dir), Path(build_dir), Path(out_dir)
    inputs = _Inputs()
    manifest = _read_json(build_dir / "submission.json") or {}
    inputs.split = split or manifest.get("split") or "test"
    try:
        inputs.frames = _load_frames(data_dir, inputs.split, n_jobs, progress)
    except FileNotFoundError as error:
        inputs.frames = {}
        inputs.note(f"the {inputs.split} recordings: {error}")
    has_answers = bool(inputs.frames) and (data_dir / ANSWERS_DIR / inputs.split).is_dir() and all(
        f["labels"] is not None for f in inputs.frames.values()
    )
    if not has_answers:
        inputs.note(f"answers for every recording of {inputs.split} ({data_dir / ANSWERS_DIR / inputs.split}): "
                    "nothing can be scored")
    for key, (title, folder, metrics_file) in MODELS.items():
        if key == "stack" and manifest.get("pipeline") not in (None, "stacked_gbm"):
            # BUILD/submission holds whatever pipeline was submitted last; say which
            title = f"{manifest['pipeline']} pipeline"
        model = _Model(key, title)
        inputs.models[key] = model
        model.metrics = _read_json(build_dir / metrics_file)
        if model.metrics is None:
            inputs.note(f"{title} scores: {build_dir / metrics_file} (not run)")
        elif model.metrics.get("split", inputs.split) != inputs.split:
            inputs.note(f"{title} scores: {build_dir / metrics_file} is for {model.metrics.get('split')}, "
                        f"not {inputs.split}; ignored")
            model.metrics = None
        try:
            predictions = read_prediction_folder(build_dir / folder)
        except FileNotFoundError:
            model.problem = "not run"
            inputs.note(f"{title} predictions: {build_dir / folder} (not run)")
            continue
        except DataFormatError as error:
            model.problem = "unreadable predictions"
            inputs.note(f"{title} predictions: {error}")
            continue
        mismatched = [
            r for r, f in inputs.frames.items() if r not in predictions or len(predictions[r]) != len(f["time"])
        ]
        if mismatched:
            model.problem = f"predictions do not match {inputs.split}"
            inputs.note(f"{title} predictions: {build_dir / folder} does not match the {len(inputs.frames)} "
                        f"templates of {data_dir / inputs.split} ({len(mismatched)} missing or of another length, "
                        f"e.g. {mismatched[0]}); ignored")
            continue
        model.predictions = predictions
        if has_answers:
            model.scores = _score(inputs.frames, predictions)
    inputs.modality_table = _read_json(build_dir / "modalities.json")
    if inputs.modality_table is None:
        inputs.note(f"modality table: {build_dir / 'modalities.json'} (run `emo-gbm modalities`)")
    inputs.bench = _read_json(out_dir / "bench.json")
    if inputs.bench is None:
        inputs.note(f"timings: {out_dir / 'bench.json'} (run `make bench`)")
    model_path = build_dir / "models" / "stacked_gbm.skops"
    if not model_path.is_file():
        inputs.note(f"gain importance: {model_path} (not trained)")
    else:
        try:
            inputs.importance = gain_importance(model_path)
        except (ValueError, AttributeError, TypeError, KeyError) as error:
            inputs.note(f"gain importance: {model_path}: {error}")
    return inputs


def _score(frames, predictions):
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    for rec_id, f in frames.items():
        counts += confusion_matrix(f["labels"], predictions[rec_id], f["agreement"])
    result = scores_from_confusion(counts)
    result["confusion"] = counts
    return result
