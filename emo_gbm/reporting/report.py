"""The report: figures and a README from the outputs of the other stages.

:func:`write_report` reads only what the stages leave on disk, never a model's internals
except the fitted stacked model's gain importance:

- predictions from submission folders (``BUILD/submission/prediction/*.csv`` for the stacked
  GBM, ``BUILD/baseline/submission/prediction/*.csv`` for the BiLSTM baseline);
- the truth from ``DATA/answers/SPLIT`` and which modalities are present from the aligned
  test recordings (:func:`emo_gbm.data.io.load_recording`);
- scores from ``BUILD/metrics.json`` and ``BUILD/baseline/metrics.json``;
- the modality table from ``BUILD/modalities.json`` (written by :func:`run_modality_table`);
- timings from ``reports/bench.json`` (written by :mod:`emo_gbm.bench`).

Whatever is missing becomes a panel that says "not run" and a line of the README's list of
missing inputs; the report never fails because a stage has not been run yet.

:func:`run_modality_table` produces ``BUILD/modalities.json``: the public test predicted by
the trained stacked model with modalities deleted, and by each single-modality pipeline.
"""

import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from emo_gbm.bench import TARGETS
from emo_gbm.constants import AGREEMENT_THRESHOLD, ANSWERS_DIR, EMOTIONS, FRAME_RATE, MODALITIES, N_CLASSES, TEMPLATES_DIR
from emo_gbm.errors import DataFormatError
from emo_gbm.metrics import confusion_matrix, scored_frames, scores_from_confusion


#: The two systems the report compares: key -> (title, submission folder, metrics file),
#: paths relative to BUILD.
MODELS = {
    "stack": ("stacked GBM", Path("submission") / TEMPLATES_DIR, Path("metrics.json")),
    "bilstm": ("BiLSTM baseline", Path("baseline") / "submission" / TEMPLATES_DIR, Path("baseline") / "metrics.json"),
}

#: The challenge's published public-test WA of its BiLSTM baseline on the real data
#: (``docs/data_format.md``): all four modalities, and each modality alone.
PUBLISHED_WA = {"all": 0.525, "audio": 0.32, "face_nn": 0.48, "kinect": 0.36, "eyes": 0.24}

#: Display names of the modalities.
MODALITY_TITLES = {"audio": "audio", "face_nn": "face", "eyes": "eyes", "kinect": "body (Kinect)"}

#: The early-fusion pipeline the stack is compared with.
EARLY_FUSION_PIPELINE = "early_fusion"

#: Half-width, in frames, of the neighbourhood over which a frame's missing share is taken:
#: 200 frames each side make the 4 s of the model's windows.
NEIGHBOURHOOD_HALF = 200

#: Edges of the missing-share bins of the accuracy-against-missing figure.
MISSING_BINS = np.array([0.0, 1e-9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 - 1e-9, 1.0 + 1e-9])

#: Class colours, fixed so every figure shows an emotion in the same colour.
CLASS_COLOURS = ("#d62728", "#1f77b4", "#8c564b", "#ff7f0e", "#9467bd", "#7f7f7f")
MODEL_COLOURS = {"stack": "#2ca02c", "bilstm": "#1f77b4", "published": "#bbbbbb", "trained": "#98df8a",
                 "bilstm_trained": "#aec7e8"}

#: Figure file names (in ``OUT/figures``) and their size in inches at :data:`DPI`.
FIGURES = {
    "confusion": ("confusion.png", (11.0, 4.8)),
    "recall": ("recall.png", (9.0, 4.5)),
    "modalities": ("modalities.png", (10.0, 6.0)),
    "missing": ("missing.png", (11.0, 4.5)),
    "timeline": ("timeline.png", (12.0, 6.5)),
    "importance": ("importance.png", (12.0, 4.8)),
    "bench": ("bench.png", (10.0, 4.8)),
}
DPI = 100


# --------------------------------------------------------------------------- reading


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
        inputs.note(f"timings: {out_dir / 'bench.json'} (run `emo-gbm bench`)")
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


# --------------------------------------------------------------------------- importance


def _find_stacker(obj, depth=0, seen=None):
    """The first object holding per-block base models (``estimators_`` and ``blocks_``).

    Searches attributes, dict values, list items and scikit-learn pipeline steps, so the
    report does not depend on how the pipeline object wraps the stacked classifier.
    """
    seen = set() if seen is None else seen
    if depth > 5 or id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)):
        return None
    seen.add(id(obj))
    if isinstance(getattr(obj, "estimators_", None), dict) and hasattr(obj, "blocks_"):
        return obj
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        found = _find_stacker(child, depth + 1, seen)
        if found is not None:
            return found
    return None


def _block_gain(estimator, n_columns):
    """Total gain of each column of one base model (zeros for a model without trees)."""
    booster = getattr(estimator, "booster_", None)
    if booster is not None:  # LightGBM
        return np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    if hasattr(estimator, "get_booster"):  # XGBoost
        scores = estimator.get_booster().get_score(importance_type="total_gain")
        gain = np.zeros(n_columns)
        names = estimator.get_booster().feature_names
        for key, value in scores.items():
            index = names.index(key) if names and key in names else int(key.lstrip("f"))
            gain[index] = value
        return gain
    return np.zeros(n_columns)


def gain_importance(model_path):
    """Gain importance of the stacked model's base models, per feature.

    Parameters
    ----------
    model_path : str or os.PathLike
        A model file of :func:`emo_gbm.modelio.save_model` holding (somewhere inside) a fitted
        :class:`~emo_gbm.ensemble.stacking.StackedModalityClassifier`.

    Returns
    -------
    importance : dict
        ``features`` (name -> total gain), ``by_modality`` and ``by_statistic`` (share of
        the total gain), ``estimator`` (the base models' class name).

    Raises
    ------
    ValueError
        When no stacked classifier with named features is found in the file.
    """
    from emo_gbm.modelio import load_model

    model = load_model(model_path)
    stacker = _find_stacker(model)
    if stacker is None:
        raise ValueError("no fitted stacked classifier (estimators_ per block) found in the model")
    names = getattr(stacker, "feature_names_in_", None)
    if names is None:
        featurizer = _find_attribute(model, "feature_names_out_")
        if featurizer is None or len(featurizer) != stacker.n_features_in_:
            raise ValueError("the stacked classifier was fitted without feature names")
        names = featurizer
    features = {}
    kinds = set()
    for block, estimator in stacker.estimators_.items():
        positions = stacker.blocks_[block]
        gain = _block_gain(estimator, len(positions))
        kinds.add(type(estimator).__name__)
        if gain.shape[0] != len(positions):
            raise ValueError(f"base model {block!r} reports {gain.shape[0]} features for {len(positions)} columns")
        for position, value in zip(positions, gain):
            name = str(names[position])
            features[name] = features.get(name, 0.0) + float(value)
    total = sum(features.values())
    meta_weight, meta_weight_kind = _meta_weights(stacker)
    by_modality, by_statistic = {}, {}
    for name, value in features.items():
        parts = name.split("__")
        modality = parts[0] if len(parts) > 1 else "other"
        statistic = parts[-1] if len(parts) > 1 else name
        by_modality[modality] = by_modality.get(modality, 0.0) + value
        by_statistic[statistic] = by_statistic.get(statistic, 0.0) + value
    share = (lambda d: {k: v / total for k, v in d.items()}) if total > 0 else (lambda d: {k: 0.0 for k in d})
    return {"features": features, "by_modality": share(by_modality), "by_statistic": share(by_statistic),
            "meta_weight": meta_weight, "meta_weight_kind": meta_weight_kind,
            "estimator": ", ".join(sorted(kinds)), "total_gain": total}


def _meta_weights(stacker):
    """The meta-learner's weight on each block's log-posteriors, and what that weight is.

    For a :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression` meta-learner, each block's weight
    in the product of experts (``expert_weights_``). For another linear meta-learner, the mean
    absolute coefficient on the block's columns: the inputs are the blocks' log-posteriors (one
    column per class, in block order), then the missing fractions, and all log-posteriors share
    one scale, so the size of their coefficients says how much the stack listens to each
    modality. ``(None, None)`` when the meta-learner is not linear.
    """
    final = getattr(stacker, "final_estimator_", None)
    experts = getattr(final, "expert_weights_", None)
    if experts is not None:
        return {block: float(w) for block, w in zip(stacker.blocks_, experts)}, "weight in the product of experts"
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None, None
    coef = np.abs(np.asarray(coef, dtype=np.float64))
    n_classes = len(stacker.classes_)
    # a binary logistic regression has one coefficient row; multiclass one per class
    per_input = coef.mean(axis=0)
    weights = {}
    for b, block in enumerate(stacker.blocks_):
        weights[block] = float(per_input[b * n_classes:(b + 1) * n_classes].mean())
    return weights, "mean |coefficient|"


def _find_attribute(obj, name, depth=0):
    if depth > 4:
        return None
    if hasattr(obj, name) and not isinstance(obj, type):
        return getattr(obj, name)
    children = obj.values() if isinstance(obj, dict) else vars(obj).values() if hasattr(obj, "__dict__") else ()
    for child in children:
        found = _find_attribute(child, name, depth + 1)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- figures


def _figure(name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, size = FIGURES[name]
    return plt, plt.figure(figsize=size, dpi=DPI, layout="constrained")


def _save(plt, fig, out_dir, name):
    path = Path(out_dir) / "figures" / FIGURES[name][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _not_run(ax, text):
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#777777", wrap=True,
            transform=ax.transAxes, bbox=dict(boxstyle="round", fc="#f4f4f4", ec="#cccccc"))


def _model_label(model):
    if model.available:
        return f"{model.title}: WA {model.scores['WA']:.3f}, UA {model.scores['UA']:.3f}"
    return model.title


def figure_confusion(inputs, out_dir):
    """Row-normalised confusion matrices of the two systems, side by side."""
    plt, fig = _figure("confusion")
    axes = fig.subplots(1, len(inputs.models))
    image = None
    for ax, model in zip(np.atleast_1d(axes), inputs.models.values()):
        if not model.available:
            ax.set_title(model.title)
            _not_run(ax, f"{model.title}: {model.problem or 'no answers to score'}")
            continue
        counts = model.scores["confusion"].astype(np.float64)
        support = counts.sum(axis=1, keepdims=True)
        normalised = np.divide(counts, support, out=np.full_like(counts, np.nan), where=support > 0)
        image = ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
        for i in range(N_CLASSES):
            for j in range(N_CLASSES):
                if np.isfinite(normalised[i, j]):
                    ax.text(j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if normalised[i, j] > 0.6 else "black")
        ax.set_xticks(range(N_CLASSES), EMOTIONS, rotation=45, ha="right")
        ax.set_yticks(range(N_CLASSES), [f"{e} ({int(s)})" for e, s in zip(EMOTIONS, support[:, 0])])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (scored frames)")
        ax.set_title(_model_label(model), fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="share of the true class")
    fig.suptitle(f"Confusion on {inputs.split}, frames with agreement > {AGREEMENT_THRESHOLD}, rows sum to 1")
    return _save(plt, fig, out_dir, "confusion")


def figure_recall(inputs, out_dir):
    """Per-class recall of both systems as grouped bars."""
    plt, fig = _figure("recall")
    ax = fig.subplots()
    available = [m for m in inputs.models.values() if m.available]
    if not available:
        _not_run(ax, "no system scored (not run or no answers)")
    else:
        from matplotlib.patches import Patch

        width = 0.8 / len(inputs.models)
        x = np.arange(N_CLASSES)
        absent = []
        for k, model in enumerate(inputs.models.values()):
            offset = (k - (len(inputs.models) - 1) / 2) * width
            if not model.available:
                # the legend says the system is missing; its slot stays empty
                absent.append(Patch(facecolor="#eeeeee", edgecolor="#999999",
                                    label=f"{model.title}: {model.problem or 'not scored'}"))
                continue
            recall = [model.scores["recall"][e] if model.scores["recall"][e] is not None else np.nan for e in EMOTIONS]
            bars = ax.bar(x + offset, recall, width, label=_model_label(model), color=MODEL_COLOURS[model.key])
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
            ax.axhline(model.scores["UA"], color=MODEL_COLOURS[model.key], ls="--", lw=1)
        ax.set_xticks(x, EMOTIONS)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("recall (dashed: UA = mean recall)")
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + absent, loc="upper right", fontsize=8)
    ax.set_title(f"Per-class recall on {inputs.split} (frames with agreement > {AGREEMENT_THRESHOLD})")
    return _save(plt, fig, out_dir, "recall")


def _modality_rows(table):
    """The modality table's rows in display order: all, all but one, one alone."""
    rows = {row["condition"]: row for row in table.get("conditions", [])}
    order = ["all"] + [f"without_{m}" for m in MODALITIES] + [f"only_{m}" for m in MODALITIES]
    return [rows[c] for c in order if c in rows]


def condition_title(condition):
    """Display name of a modality-table condition.

    Examples
    --------
    >>> condition_title("without_face_nn"), condition_title("only_kinect"), condition_title("all")
    ('all but face', 'body (Kinect) alone', 'all four')
    """
    if condition == "all":
        return "all four"
    kind, _, modality = condition.partition("_")
    title = MODALITY_TITLES.get(modality, modality)
    return f"all but {title}" if kind == "without" else f"{title} alone"


def _published(condition):
    if condition == "all":
        return PUBLISHED_WA["all"]
    kind, _, modality = condition.partition("_")
    return PUBLISHED_WA.get(modality) if kind == "only" else None


def figure_modalities(inputs, out_dir):
    """WA per modality condition: stack (deleted at test / trained on the condition's modalities), BiLSTM,
    published."""
    plt, fig = _figure("modalities")
    ax = fig.subplots()
    if inputs.modality_table is None:
        _not_run(ax, "modality table not run\n(emo-gbm modalities --data DATA --build BUILD)")
        ax.set_title("WA with modalities deleted")
        return _save(plt, fig, out_dir, "modalities")
    rows = _modality_rows(inputs.modality_table)
    series = [
        ("stack", f"{inputs.modality_table.get('pipeline', 'stacked_gbm')}, trained on all four, others deleted "
                  "at test", MODEL_COLOURS["stack"]),
        ("trained", "trained on these modalities only (the stack on three; one LightGBM alone)",
         MODEL_COLOURS["trained"]),
        ("baseline", "BiLSTM baseline, others deleted at test", MODEL_COLOURS["bilstm"]),
        ("baseline_trained", "BiLSTM baseline trained alone", MODEL_COLOURS["bilstm_trained"]),
        ("published", "challenge BiLSTM baseline, published (real data)", MODEL_COLOURS["published"]),
    ]
    values = {key: [] for key, _, _ in series}
    for row in rows:
        values["stack"].append((row.get("stack") or {}).get("WA"))
        values["trained"].append((row.get("trained") or {}).get("WA"))
        values["baseline"].append((row.get("baseline") or {}).get("WA"))
        values["baseline_trained"].append((row.get("baseline_trained") or {}).get("WA"))
        values["published"].append(_published(row["condition"]))
    shown = [s for s in series if any(v is not None for v in values[s[0]])]
    height = 0.8 / max(len(shown), 1)
    y = np.arange(len(rows))
    for k, (key, label, colour) in enumerate(shown):
        v = np.array([np.nan if x is None else x for x in values[key]], dtype=float)
        bars = ax.barh(y + (k - (len(shown) - 1) / 2) * height, v, height, label=label, color=colour)
        ax.bar_label(bars, labels=["" if np.isnan(x) else f"{x:.3f}" for x in v], fontsize=7, padding=2)
    ax.set_yticks(y, [condition_title(r["condition"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"WA on {inputs.modality_table.get('split', inputs.split)} (frames with agreement > "
                  f"{AGREEMENT_THRESHOLD})")
    ax.axhline(len([r for r in rows if not r["condition"].startswith("only_")]) - 0.5, color="#999999", lw=0.8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, fontsize=8, frameon=False)
    ax.set_title("Modalities deleted on the whole test set, against the challenge's published figures")
    return _save(plt, fig, out_dir, "modalities")


def _frame_arrays(inputs):
    """Concatenated per-frame arrays over the test recordings (for the scored-frame figures)."""
    order = sorted(inputs.frames)
    f = inputs.frames
    labels = np.concatenate([f[r]["labels"] for r in order])
    agreement = np.concatenate([f[r]["agreement"] for r in order])
    present = np.concatenate([f[r]["present"] for r in order])
    missing = np.concatenate([neighbourhood_missing(f[r]["present"]) for r in order])
    predictions = {
        key: np.concatenate([m.predictions[r] for r in order]) for key, m in inputs.models.items() if m.available
    }
    return labels, agreement, present, missing, predictions


def missing_accuracy(labels, agreement, group, predictions, n_groups):
    """Accuracy and scored-frame count of each group of frames (groups 0..n_groups-1).

    Examples
    --------
    >>> import numpy as np
    >>> acc, n = missing_accuracy(np.array([0, 1, 1]), np.ones(3), np.array([0, 0, 1]), np.array([0, 0, 1]), 2)
    >>> acc.tolist(), n.tolist()
    ([0.5, 1.0], [2, 1])
    """
    scored = scored_frames(agreement)
    counts = np.bincount(group[scored], minlength=n_groups)
    hits = np.bincount(group[scored], weights=(predictions == labels)[scored], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return accuracy, counts


def figure_missing(inputs, out_dir):
    """Accuracy against the missing share around each frame, and against present modalities."""
    plt, fig = _figure("missing")
    left, right = fig.subplots(1, 2)
    if not any(m.available for m in inputs.models.values()):
        _not_run(left, "no system scored")
        _not_run(right, "no system scored")
        return _save(plt, fig, out_dir, "missing")
    labels, agreement, present, missing, predictions = _frame_arrays(inputs)
    n_bins = len(MISSING_BINS) - 1
    bins = np.clip(np.digitize(missing, MISSING_BINS) - 1, 0, n_bins - 1)
    n_present = present.sum(axis=1)
    bin_names = ["0"] + [f"{MISSING_BINS[i]:.1f}-{MISSING_BINS[i + 1]:.1f}" for i in range(1, n_bins - 1)] + ["1"]
    bin_names[1] = f"0-{MISSING_BINS[2]:.1f}"
    bin_names[-2] = f"{MISSING_BINS[-3]:.1f}-1"
    for ax, group, n_groups, names, xlabel in (
        (left, bins, n_bins, bin_names, "share of (modality, frame) cells missing within +-2 s of the frame"),
        (right, n_present, len(MODALITIES) + 1, [str(k) for k in range(len(MODALITIES) + 1)],
         "modalities present at the frame"),
    ):
        counts = None
        for key, model in inputs.models.items():
            if key not in predictions:
                continue
            accuracy, counts = missing_accuracy(labels, agreement, group, predictions[key], n_groups)
            ax.plot(range(n_groups), accuracy, marker="o", color=MODEL_COLOURS[key], label=model.title)
        share = counts / max(counts.sum(), 1)
        twin = ax.twinx()
        bars = twin.bar(range(n_groups), share, color="#dddddd", zorder=0)
        twin.bar_label(bars, labels=[f"{c / 1000:.0f}k" if c >= 1000 else (str(c) if c else "") for c in counts],
                       fontsize=7, color="#888888")
        # bars in the lower third, under the accuracy curves; their counts are written on them
        twin.set_ylim(0, max(share.max() * 3, 0.01))
        twin.set_yticks([])
        twin.set_ylabel("scored frames per group (grey bars)", color="#888888")
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_xticks(range(n_groups), names, rotation=45 if n_groups > 6 else 0, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel("accuracy on scored frames")
        ax.legend(loc="upper right", fontsize=8)
    left.set_title("Accuracy against missing data around the frame", fontsize=10)
    right.set_title("Accuracy against modalities present", fontsize=10)
    return _save(plt, fig, out_dir, "missing")


def choose_timeline_recording(inputs):
    """A representative test recording: some modality missing, stack accuracy near its WA.

    Returns None when nothing is scored. The choice is deterministic.
    """
    stack = inputs.models.get("stack")
    reference = stack if stack is not None and stack.available else next(
        (m for m in inputs.models.values() if m.available), None)
    if reference is None:
        return None
    candidates = []
    for rec_id, f in sorted(inputs.frames.items()):
        scored = scored_frames(f["agreement"])
        if scored.sum() < 5 * FRAME_RATE:
            continue
        share_present = f["present"].mean(axis=0)
        mixed = np.sum((share_present > 0.05) & (share_present < 0.95))
        accuracy = float(np.mean(reference.predictions[rec_id][scored] == f["labels"][scored]))
        # prefer recordings where some modality comes and goes, then accuracy near the overall WA
        candidates.append((-min(mixed, 2), abs(accuracy - reference.scores["WA"]), rec_id))
    if not candidates:
        return None
    return min(candidates)[2]


def _bands(ax, time, rows, colours_of):
    """Draw one horizontal band of colours per row (a value per frame) as one image.

    One image instead of a rectangle per run keeps the figure fast whatever the number of
    label changes; ``colours_of`` maps a value to a colour, or None for no colour.
    """
    from matplotlib.colors import to_rgba

    n_rows = len(rows)
    if n_rows == 0:
        return
    image = np.zeros((n_rows * 5, len(time), 4))
    for k, values in enumerate(rows):
        values = np.asarray(values)
        for value in np.unique(values):
            colour = colours_of(value)
            if colour is not None:
                # rows 5k+1..5k+3 of 5 carry the colour: a white gap between bands
                image[5 * k + 1: 5 * k + 4, values == value] = to_rgba(colour)
    step = time[1] - time[0] if len(time) > 1 else 1.0 / FRAME_RATE
    ax.imshow(image, aspect="auto", interpolation="nearest",
              extent=(time[0], time[-1] + step, n_rows - 0.5, -0.5))


def figure_timeline(inputs, out_dir, rec_id=None):
    """One test recording over time: truth, predictions, agreement and modality presence."""
    plt, fig = _figure("timeline")
    if rec_id is None:
        rec_id = choose_timeline_recording(inputs)
    if rec_id is None or rec_id not in inputs.frames or inputs.frames[rec_id]["labels"] is None:
        ax = fig.subplots()
        _not_run(ax, "no scored recording to show (predictions or answers missing)")
        return _save(plt, fig, out_dir, "timeline"), None
    f = inputs.frames[rec_id]
    time_s = f["time"]
    top, middle, agreement_ax, bottom = fig.subplots(4, 1, sharex=True, height_ratios=[3, 1.4, 1.1, 2.2])
    rows, names = [f["labels"]], ["truth"]
    for model in inputs.models.values():
        if model.predictions is not None and rec_id in model.predictions:
            rows.append(model.predictions[rec_id])
            names.append(model.title)
        else:
            rows.append(np.full(len(time_s), -1))
            names.append(f"{model.title} (not run)")
    _bands(top, time_s, rows, lambda c: CLASS_COLOURS[c] if c >= 0 else None)
    top.set_yticks(range(len(rows)), names)
    top.set_ylim(len(rows) - 0.5, -0.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CLASS_COLOURS]
    top.legend(handles, EMOTIONS, ncol=6, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    scored = scored_frames(f["agreement"])
    correct_rows, correct_names = [], []
    for model in inputs.models.values():
        if model.predictions is not None and rec_id in model.predictions:
            hit = model.predictions[rec_id] == f["labels"]
            # 1 correct, 0 wrong, -1 not scored (agreement <= threshold)
            correct_rows.append(np.where(scored, hit.astype(int), -1))
            accuracy = hit[scored].mean() if scored.any() else float("nan")
            correct_names.append(f"{model.title} correct ({accuracy:.0%})")
    _bands(middle, time_s, correct_rows, lambda c: {1: "#4daf4a", 0: "#e41a1c", -1: "#eeeeee"}[int(c)])
    middle.set_yticks(range(len(correct_rows)), correct_names, fontsize=8)
    middle.set_ylim(len(correct_rows) - 0.5 if correct_rows else 0.5, -0.5)
    agreement_ax.plot(time_s, f["agreement"], color="black", lw=0.9)
    agreement_ax.axhline(AGREEMENT_THRESHOLD, color="black", ls=":", lw=0.8)
    agreement_ax.fill_between(time_s, 0, 1.05, where=~scored, color="#eeeeee", step="post")
    agreement_ax.set_ylim(0, 1.05)
    agreement_ax.set_ylabel("agreement", fontsize=8)
    agreement_ax.set_title(f"annotator agreement; frames at or below {AGREEMENT_THRESHOLD} (dotted, shaded) are "
                           "not scored", fontsize=9, loc="left")
    present = f["present"]
    _bands(bottom, time_s, [present[:, k] for k in range(len(MODALITIES))], lambda p: "#555555" if p else None)
    bottom.set_yticks(range(len(MODALITIES)), [f"{MODALITY_TITLES[m]} ({present[:, k].mean():.0%})"
                                               for k, m in enumerate(MODALITIES)], fontsize=8)
    bottom.set_ylim(len(MODALITIES) - 0.5, -0.5)
    bottom.set_xlabel("time on the recording's clock (s)")
    bottom.set_title("modality present (dark) per frame", fontsize=9, loc="left")
    middle.set_title("green: correct, red: wrong, light grey: not scored", fontsize=9, loc="left")
    top.set_xlim(time_s[0], time_s[-1] + 1.0 / FRAME_RATE)
    fig.suptitle(f"Test recording {rec_id}: {len(time_s) / FRAME_RATE:.1f} s")
    return _save(plt, fig, out_dir, "timeline"), rec_id


def _block_title(block):
    """Axis label of a stacked block: the modality's title, and the model kind for a second
    model of the same modality (``face_nn_linear`` -> ``face\\nlinear``)."""
    for modality in MODALITIES:
        if block.startswith(f"{modality}_") and block != modality:
            return f"{MODALITY_TITLES.get(modality, modality)}\n{block[len(modality) + 1:]}"
    return MODALITY_TITLES.get(block, block)


def figure_importance(inputs, out_dir):
    """Gain importance of the stacked model's base models, by modality and by statistic."""
    plt, fig = _figure("importance")
    left, middle, right = fig.subplots(1, 3, width_ratios=[1, 1, 2])
    if inputs.importance is None:
        for ax in (left, middle, right):
            _not_run(ax, "stacked model\nnot trained")
        return _save(plt, fig, out_dir, "importance")
    meta_weight = inputs.importance.get("meta_weight")
    if meta_weight:
        blocks = [m for m in MODALITIES if m in meta_weight] + [m for m in meta_weight if m not in MODALITIES]
        bars = middle.bar([_block_title(m) for m in blocks], [meta_weight[m] for m in blocks],
                          color=MODEL_COLOURS["bilstm"])
        middle.bar_label(bars, fmt="%.2f", fontsize=8)
        middle.set_ylabel(inputs.importance.get("meta_weight_kind") or "mean |coefficient|")
        middle.set_title("meta-learner weight on each\nbase model's log-posteriors", fontsize=10)
        middle.tick_params(axis="x", labelsize=7, rotation=90)
    else:
        _not_run(middle, "meta-learner\nnot linear")
    by_modality = inputs.importance["by_modality"]
    names = [m for m in MODALITIES if m in by_modality] + [m for m in by_modality if m not in MODALITIES]
    bars = left.bar([MODALITY_TITLES.get(m, m) for m in names], [by_modality[m] for m in names],
                    color=MODEL_COLOURS["stack"])
    left.bar_label(bars, fmt="%.2f", fontsize=8)
    left.set_ylabel("share of total gain")
    left.set_title("gain by modality\n(each base model's own)", fontsize=10)
    left.tick_params(axis="x", labelsize=8, rotation=20)
    by_statistic = sorted(inputs.importance["by_statistic"].items(), key=lambda kv: -kv[1])
    bars = right.bar([k for k, _ in by_statistic], [v for _, v in by_statistic], color="#8c8c8c")
    right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_title("by window statistic, all modalities", fontsize=10)
    right.tick_params(axis="x", rotation=45, labelsize=8)
    fig.suptitle(f"Gain importance of the stacked model's per-modality base models "
                 f"({inputs.importance['estimator']})")
    return _save(plt, fig, out_dir, "importance")


def bench_rows(bench):
    """Rows of the timing/memory table of a bench result: stage, median s, range, peak MB, target.

    Examples
    --------
    >>> bench_rows({"stages": {}})
    []
    """
    rows = []
    stages = bench.get("stages", {})
    order = [s for s in ("features", "train", "submission") if s in stages] + [
        s for s in stages if s not in ("features", "train", "submission")]
    for stage in order:
        result = stages[stage]
        seconds = result.get("seconds") or []
        target = TARGETS.get(stage)
        median = result.get("median_seconds")
        rows.append([
            stage,
            f"{median:.1f}" if median is not None else "-",
            f"{min(seconds):.1f}-{max(seconds):.1f}" if seconds else "-",
            f"{result.get('median_peak_tree_rss_mb', float('nan')):.0f}",
            f"<= {target:.0f}" if target else "-",
            ("yes" if median <= target else "NO") if target and median is not None else "-",
        ])
    return rows


def figure_bench(inputs, out_dir):
    """The bench's timing and memory table, with the issue's targets."""
    plt, fig = _figure("bench")
    ax = fig.subplots()
    if inputs.bench is None:
        _not_run(ax, "bench not run\n(emo-gbm bench --data DATA --build BUILD_BENCH --out reports)")
        return _save(plt, fig, out_dir, "bench")
    ax.set_axis_off()
    bench = inputs.bench
    header = ["stage", "median s", "range s", "peak RSS MB", "target s", "meets"]
    rows = bench_rows(bench)
    if rows:
        table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center",
                         bbox=[0.0, 0.45, 1.0, 0.5])
        table.auto_set_font_size(False)
        table.set_fontsize(10)
    lines = []
    memory = bench.get("memory") or {}
    if memory:
        lines.append(f"peak memory of any stage (process tree): {memory.get('peak_mb', float('nan')):.0f} MB "
                     f"(target <= {TARGETS['peak_memory_mb']:.0f} MB)")
    windowing = bench.get("windowing") or {}
    if windowing.get("featurizer_fps"):
        text = (f"windowing: WindowFeaturizer {windowing['featurizer_fps']:,.0f} frames/s, "
                f"{windowing.get('speedup_vs_pandas', float('nan')):.1f}x pandas rolling")
        tsfresh = windowing.get("tsfresh") or {}
        if tsfresh.get("speedup") is not None:
            text += f", {tsfresh['speedup']:.0f}x tsfresh"
        else:
            text += f"; tsfresh: {tsfresh.get('status', 'not measured')}"
        lines.append(text)
    versus = bench.get("versus") or {}
    for name, result in versus.items():
        if isinstance(result, dict) and result.get("median_train_seconds") is not None:
            wa = result.get("WA")
            lines.append(f"{name}: train {result['median_train_seconds']:.1f} s" +
                         (f", WA {wa:.3f}" if wa is not None else ""))
    scaling = bench.get("scaling") or {}
    if scaling.get("slope") is not None:
        lines.append(f"time grows as size^{scaling['slope']:.2f} (features + train, log-log fit)")
    machine = bench.get("machine", {})
    lines.append(f"{machine.get('nproc', '?')} cores, {machine.get('cpu', '?')}, {machine.get('date', '?')}"
                 f"{', QUICK smoke run' if bench.get('quick') else ''}")
    ax.text(0.0, 0.4, "\n".join(lines), va="top", ha="left", fontsize=9, transform=ax.transAxes, family="monospace")
    repeats = bench.get("repeats", 0)
    ax.set_title(f"Time and peak memory per stage ({'one run' if repeats == 1 else f'median of {repeats} runs'}; "
                 f"{bench.get('dataset', {}).get('description', '')})", fontsize=10)
    return _save(plt, fig, out_dir, "bench")


# --------------------------------------------------------------------------- modality table


def modality_conditions(modalities=MODALITIES):
    """The conditions of the modality table: name -> the modalities deleted.

    Examples
    --------
    >>> conditions = modality_conditions(("audio", "eyes"))
    >>> conditions["all"], conditions["without_audio"], conditions["only_audio"]
    ((), ('audio',), ('eyes',))
    """
    conditions = {"all": ()}
    for m in modalities:
        conditions[f"without_{m}"] = (m,)
    for m in modalities:
        conditions[f"only_{m}"] = tuple(other for other in modalities if other != m)
    return conditions


def delete_modalities(windows, modalities):
    """A copy of a window table in which ``modalities`` look absent on every window.

    Every feature column of a deleted modality becomes NaN and its ``<modality>__missing_frac``
    becomes 1: exactly the features of a recording without that modality's file.

    Parameters
    ----------
    windows : DataFrame
        A window table (:class:`~emo_gbm.features.WindowFeaturizer` output).
    modalities : sequence of str

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"rec_id": ["a"], "eyes__missing_frac": [0.0], "eyes__f000__mean": [2.0],
    ...                       "audio__f000__mean": [1.0]})
    >>> delete_modalities(table, ["eyes"]).drop(columns="rec_id").iloc[0].astype(float).tolist()
    [1.0, nan, 1.0]
    """
    out = windows.copy()
    for modality in modalities:
        columns = [c for c in out.columns if c.startswith(f"{modality}__") and c != f"{modality}__missing_frac"]
        if columns:
            out[columns] = np.full((len(out), len(columns)), np.nan, dtype=np.float32)
        if f"{modality}__missing_frac" in out.columns:
            out[f"{modality}__missing_frac"] = np.float32(1.0)
    return out


def _blank_recording(recording, modalities):
    """A shallow copy of a recording with ``modalities`` missing on every frame."""
    from emo_gbm.data.recording import Recording

    streams, present = dict(recording.streams), dict(recording.present)
    for modality in modalities:
        if modality not in recording.streams:
            continue  # not in the recording's split at all: absent already
        streams[modality] = np.full_like(recording.streams[modality], np.nan)
        present[modality] = np.zeros_like(recording.present[modality])
    return Recording(recording.rec_id, recording.time, streams, present, recording.labels, recording.agreement,
                     recording.meta, dict(recording.columns), dict(recording.rates))


def _model_sources():
    """The source files that define a trained pipeline (as the Makefile's MODEL_SOURCES)."""
    from emo_gbm import pipelines

    from emo_gbm import smoothing, workflow
    from emo_gbm.ensemble import pooling, stacking
    from emo_gbm import features as windows

    files = [Path(m.__file__) for m in (smoothing, stacking, pooling, windows, workflow)]
    return files + sorted(Path(pipelines.__file__).parent.glob("*.py"))


def _stale(model_path, features_path):
    """True when the model is missing or older than its features or the code that defines it."""
    if not model_path.is_file():
        return True
    newest = max([features_path.stat().st_mtime] + [f.stat().st_mtime for f in _model_sources()])
    return model_path.stat().st_mtime < newest


def _wa_ua(scores):
    return {"WA": scores["WA"], "UA": scores["UA"], "frames": scores["frames"]}


def run_modality_table(data_dir, build_dir, split="test", pipeline="stacked_gbm", train_single=True, baseline=True,
                       seed=0, n_jobs=1, progress=False):
    """Score the test split with modalities deleted and with single-modality pipelines.

    For every condition of :func:`modality_conditions` (all four, all but one, one alone):

    - ``stack``: the trained ``pipeline`` predicts the cached test windows with the other
      modalities deleted by :func:`delete_modalities` (``workflow.predict`` has no option to
      drop a modality, so the deletion happens on the cached feature table, then the
      pipeline's own ``predict_frames`` runs: window classifier and smoother);
    - ``trained``: a pipeline trained on the condition's modalities only, on the cached train
      features unless an up-to-date model is already in ``BUILD/models/``: for one modality
      alone, that modality's own pipeline (``pipelines.SINGLE_MODALITY``); for all but one,
      the stack on the other three (``pipelines.STACKED_WITHOUT``), which tells how much of
      the drop is the information lost and how much the deleted-at-test model's handling of it;
    - ``baseline``: the BiLSTM baseline (``BUILD/baseline/model.skops``) on the aligned test
      recordings with the deleted modalities missing on every frame.

    Besides, for the comparisons of the stack: ``smoothing`` scores the trained pipeline
    with all four modalities under each smoothing method (same window posteriors), and
    ``early_fusion`` the :data:`EARLY_FUSION_PIPELINE` (trained here like the single-modality
    ones).

    Parameters
    ----------
    data_dir : str or os.PathLike
        Dataset root; ``answers/SPLIT`` gives the truth.
    build_dir : str or os.PathLike
        Build folder with ``features/`` (train and ``split``) and ``models/PIPELINE.skops``.
    split : str, default="test"
    pipeline : str, default="stacked_gbm"
    train_single : bool, default=True
        Train missing or stale models of the ``trained`` column (and early fusion); False: use
        only those already there.
    baseline : bool, default=True
        Include the BiLSTM baseline when its model exists.
    seed : int, default=0
        Seed of the single-modality pipelines trained here.
    n_jobs : int, default=1
    progress : bool, default=False

    Returns
    -------
    pathlib.Path
        ``BUILD/modalities.json``.
    """
    from emo_gbm.modelio import load_model
    import pandas as pd
    from tqdm.auto import tqdm

    from emo_gbm.pipelines import SINGLE_MODALITY, STACKED_WITHOUT

    from emo_gbm import workflow
    from emo_gbm.data.io import read_labels
    from emo_gbm.metrics import score_recordings

    data_dir, build_dir = Path(data_dir), Path(build_dir)
    features = build_dir / "features"
    model_path = build_dir / "models" / f"{pipeline}.skops"
    for path, hint in ((features / f"{split}.parquet", f"emo-gbm features --splits train {split}"),
                       (model_path, f"emo-gbm train --pipeline {pipeline}")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; run `{hint}` first")
    answers = data_dir / ANSWERS_DIR / split
    if not answers.is_dir():
        raise FileNotFoundError(f"{answers} does not exist: the modality table needs the answers of {split}")
    windows = pd.read_parquet(features / f"{split}.parquet")
    recordings = pd.read_parquet(features / f"{split}_recordings.parquet")
    n_frames = dict(zip(recordings["rec_id"], recordings["n_frames"].astype(int)))
    truths = {}
    for rec_id in n_frames:
        _, labels, agreement = read_labels(answers / f"{rec_id}.csv")
        truths[rec_id] = (labels, agreement)
    model = load_model(model_path)
    if hasattr(model, "set_n_jobs"):
        model.set_n_jobs(n_jobs)
    conditions = modality_conditions()
    baseline_path = build_dir / "baseline" / "model.skops"
    use_baseline = baseline and baseline_path.is_file()
    total = (len(conditions) * (2 if use_baseline else 1) + len(SINGLE_MODALITY)
             + len(STACKED_WITHOUT) + 1)
    bar = tqdm(total=total, desc="modality table", unit="run", disable=not progress)
    rows = []
    smoothing = {}
    for name, deleted in conditions.items():
        started = time.perf_counter()
        if not deleted and hasattr(model, "smoothers_"):
            # All four modalities: score every smoother on the same window posteriors; the
            # pipeline's own method gives the row.
            window_proba = model.predict_window_proba(windows)
            by_method = {method: model.predict_frames(windows, n_frames, smoothing=method, window_proba=window_proba)
                         for method in sorted(model.smoothers_)}
            smoothing = {method: _wa_ua(score_recordings(p, truths)) for method, p in by_method.items()}
            predictions = by_method[model.smoothing_]
        else:
            predictions = model.predict_frames(delete_modalities(windows, deleted), n_frames)
        rows.append({
            "condition": name,
            "modalities": [m for m in MODALITIES if m not in deleted],
            "deleted": list(deleted),
            "stack": dict(_wa_ua(score_recordings(predictions, truths)), seconds=time.perf_counter() - started),
            "trained": None,
            "baseline": None,
            "baseline_trained": None,
        })
        bar.update()
    del windows
    by_name = {row["condition"]: row for row in rows}
    train_features = features / "train.parquet"

    def trained_scores(name):
        """Scores of pipeline ``name``, trained here when missing or stale (None without a model)."""
        path = build_dir / "models" / f"{name}.skops"
        seconds = None
        if train_single and train_features.is_file() and _stale(path, train_features):
            started = time.perf_counter()
            workflow.train(build_dir, pipeline=name, n_jobs=n_jobs, seed=seed)
            seconds = time.perf_counter() - started
        if not path.is_file():
            return None
        predictions = workflow.predict(build_dir, split=split, pipeline=name, n_jobs=n_jobs)
        return dict(_wa_ua(score_recordings(predictions, truths)), pipeline=name, train_seconds=seconds)

    for modality, single in SINGLE_MODALITY.items():
        by_name[f"only_{modality}"]["trained"] = trained_scores(single)
        bar.update()
    for modality, stacked in STACKED_WITHOUT.items():
        by_name[f"without_{modality}"]["trained"] = trained_scores(stacked)
        bar.update()
    fusion = trained_scores(EARLY_FUSION_PIPELINE) if pipeline != EARLY_FUSION_PIPELINE else None
    bar.update()
    from emo_gbm.baseline import baseline_folder

    for modality in MODALITIES:
        # BiLSTM baselines trained on one modality (`make baseline-modalities`), scored by their own run.
        scores = _read_json(build_dir / baseline_folder([modality]) / "metrics.json")
        if scores is not None and scores.get("split") == split:
            by_name[f"only_{modality}"]["baseline_trained"] = {
                key: scores.get(key) for key in ("WA", "UA", "frames", "epochs", "train_seconds")}
    baseline_info = None
    if use_baseline:
        from emo_gbm.baseline import predict_baseline
        from emo_gbm.data.io import load_split

        bilstm = load_model(baseline_path)
        test_recordings = load_split(data_dir, split, n_jobs=n_jobs, with_answers=False, skip_bad_files=True)
        for name, deleted in conditions.items():
            predictions = predict_baseline(bilstm, [_blank_recording(r, deleted) for r in test_recordings])
            by_name[name]["baseline"] = _wa_ua(score_recordings(predictions, truths))
            bar.update()
        baseline_info = {"model": str(baseline_path), "modalities": list(getattr(bilstm, "modalities_", MODALITIES))}
    bar.close()
    payload = {
        "split": split,
        "data": str(data_dir),
        "build": str(build_dir),
        "pipeline": pipeline,
        "baseline": baseline_info,
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "method": (
            f"Deleted at test: the cached {split} window table is copied with every feature of the deleted "
            "modalities set to NaN and their missing fraction set to 1 (what a recording without those files "
            f"gives), then predicted by the trained `{pipeline}` pipeline (window classifier and smoother), "
            "trained on all four modalities. Trained on the condition's modalities: the single-modality "
            f"pipelines ({', '.join(SINGLE_MODALITY.values())}) for one alone, and the stack on the "
            f"other three ({', '.join(STACKED_WITHOUT.values())}) for all but one, trained on the "
            "same train windows. BiLSTM: the "
            "baseline model of BUILD/baseline on the aligned test recordings with the deleted modalities "
            "missing on every frame."
        ),
        "conditions": rows,
        "smoothing": smoothing,
        "smoothing_default": getattr(model, "smoothing_", None),
        "early_fusion": fusion,
    }
    path = build_dir / "modalities.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- README


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def _headline(inputs):
    lines = ["| system | WA | UA | scored frames | source |", "| --- | --- | --- | --- | --- |"]
    for model in inputs.models.values():
        if model.metrics is not None:
            lines.append(f"| {model.title} | {model.metrics['WA']:.4f} | {model.metrics['UA']:.4f} | "
                         f"{model.metrics.get('frames', '-')} | metrics.json |")
        elif model.available:
            lines.append(f"| {model.title} | {model.scores['WA']:.4f} | {model.scores['UA']:.4f} | "
                         f"{model.scores['frames']} | recomputed from the submission |")
        else:
            lines.append(f"| {model.title} | not run | | | |")
    lines.append(f"| challenge BiLSTM baseline, published (real data) | {PUBLISHED_WA['all']:.3f} | | | "
                 "DATA_FORMAT.md |")
    checks = []
    for model in inputs.models.values():
        if model.metrics is not None and model.available and abs(model.metrics["WA"] - model.scores["WA"]) > 1e-9:
            checks.append(f"Note: {model.title}'s metrics.json (WA {model.metrics['WA']:.4f}) differs from the "
                          f"score of its submission folder (WA {model.scores['WA']:.4f}); one of them is stale.")
    return "\n".join(lines + ([""] + checks if checks else []))


def _modality_markdown(table):
    rows = _modality_rows(table)
    lines = ["| condition | stack: deleted at test (WA / UA) | GBM trained on these modalities only (WA / UA) | "
             "BiLSTM: deleted at test (WA / UA) | BiLSTM trained alone (WA / UA) | published BiLSTM (real data, WA) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cells = []
        for key in ("stack", "trained", "baseline", "baseline_trained"):
            result = row.get(key)
            cells.append(f"{result['WA']:.3f} / {result['UA']:.3f}" if result else "-")
        published = _published(row["condition"])
        lines.append(f"| {condition_title(row['condition'])} | " + " | ".join(cells) +
                     f" | {_fmt(published, 3)} |")
    return "\n".join(lines)


#: Targets of the GBM issue: minimum WA margins of the stack, maximum WA drops with a modality deleted.
MARGIN_TARGETS = {"early_fusion": 0.02, "single": 0.05, "smoother": 0.01}
DELETION_TARGETS = {"face_nn": 0.10, "audio": 0.04, "eyes": 0.04, "kinect": 0.04}


def comparison_rows(table):
    """The stack's margins and deletion drops, each with its target.

    Parameters
    ----------
    table : dict
        The content of ``BUILD/modalities.json``.

    Returns
    -------
    list of dict
        ``what``, ``stack`` (WA), ``other`` (WA), ``value`` (margin or drop), ``target`` and
        ``kind`` ("margin": value must be >= target; "drop": value must be <= target).

    Examples
    --------
    >>> table = {"conditions": [
    ...     {"condition": "all", "stack": {"WA": 0.60}},
    ...     {"condition": "without_audio", "stack": {"WA": 0.57}},
    ...     {"condition": "only_audio", "trained": {"WA": 0.40}}],
    ...     "smoothing": {"argmax": {"WA": 0.58}, "viterbi": {"WA": 0.60}},
    ...     "early_fusion": {"WA": 0.59}}
    >>> [(r["what"], round(r["value"], 3), r["target"]) for r in comparison_rows(table)]
    [('over early fusion', 0.01, 0.02), ('over the best single modality (audio)', 0.2, 0.05), ('smoother over per-window argmax', 0.02, 0.01), ('drop without audio', 0.03, 0.04)]
    """
    rows = {row["condition"]: row for row in table.get("conditions", [])}
    if "all" not in rows or not rows["all"].get("stack"):
        return []
    stack = rows["all"]["stack"]["WA"]
    out = []

    def add(what, other, value, target, kind):
        out.append({"what": what, "stack": stack, "other": other, "value": value, "target": target, "kind": kind})

    fusion = table.get("early_fusion")
    if fusion:
        add("over early fusion", fusion["WA"], stack - fusion["WA"], MARGIN_TARGETS["early_fusion"], "margin")
    singles = {m: rows[f"only_{m}"]["trained"]["WA"] for m in MODALITIES
               if (rows.get(f"only_{m}") or {}).get("trained")}
    if singles:
        best = max(singles, key=singles.get)
        add(f"over the best single modality ({MODALITY_TITLES.get(best, best)})", singles[best],
            stack - singles[best], MARGIN_TARGETS["single"], "margin")
    argmax = (table.get("smoothing") or {}).get("argmax")
    if argmax:
        add("smoother over per-window argmax", argmax["WA"], stack - argmax["WA"], MARGIN_TARGETS["smoother"], "margin")
    for m in MODALITIES:
        deleted = (rows.get(f"without_{m}") or {}).get("stack")
        if deleted:
            add(f"drop without {MODALITY_TITLES.get(m, m)}", deleted["WA"], stack - deleted["WA"],
                DELETION_TARGETS[m], "drop")
    return out


def _comparison_markdown(table):
    lines = ["| comparison | stack WA | other WA | difference | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in comparison_rows(table):
        met = row["value"] >= row["target"] if row["kind"] == "margin" else row["value"] <= row["target"]
        bound = ">=" if row["kind"] == "margin" else "<="
        lines.append(f"| {row['what']} | {row['stack']:.4f} | {row['other']:.4f} | {row['value']:+.4f} | "
                     f"{bound} {row['target']:.2f} | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def _bench_markdown(bench):
    lines = ["| stage | median s | range s | peak RSS MB (tree) | target s | meets |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in bench_rows(bench)]
    lines.append("")
    memory = bench.get("memory") or {}
    if memory:
        lines.append(f"- Peak memory of any stage: {memory['peak_mb']:.0f} MB (target <= "
                     f"{TARGETS['peak_memory_mb']:.0f} MB: {'met' if memory['meets_target'] else 'not met'}).")
    windowing = bench.get("windowing") or {}
    if windowing:
        tsfresh = windowing.get("tsfresh") or {}
        lines.append(f"- Windowing: WindowFeaturizer {windowing['featurizer_fps']:,.0f} frames/s, "
                     f"{windowing['speedup_vs_pandas']:.1f}x the pandas rolling reference"
                     + (f", {tsfresh['speedup']:.0f}x tsfresh" if tsfresh.get("speedup") else
                        f"; tsfresh {tsfresh.get('status', 'not measured')}") + ".")
    for name, result in (bench.get("versus") or {}).items():
        wa = result.get("WA")
        lines.append(f"- `{name}`: train {result['median_train_seconds']:.1f} s"
                     + (f", WA {wa:.4f}" if wa is not None else "") + ".")
    scaling = bench.get("scaling") or {}
    if scaling.get("slope") is not None:
        lines.append(f"- Features + train time grows as frames^{scaling['slope']:.2f} "
                     f"({len(scaling['points'])} sizes, log-log fit).")
    if bench.get("quick"):
        lines.append("- This was a `--quick` smoke run on small data, not a measurement.")
    return "\n".join(lines)


def _versus_markdown(inputs):
    """The stack and the BiLSTM baseline side by side: scores, time and memory (None without both)."""
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]
    if stack.metrics is None or bilstm.metrics is None:
        return None
    b = bilstm.metrics
    stages = (inputs.bench or {}).get("stages") or {}
    features, train, predict = (stages.get(name) or {} for name in ("features", "train", "submission"))
    stack_peak = max(s.get("median_peak_tree_rss_mb", 0) for s in (features, train, predict)) or None
    # like the BiLSTM's, the stack's training time includes reading the CSVs (its features stage)
    stack_train = (features["median_seconds"] + train["median_seconds"]
                   if "median_seconds" in features and "median_seconds" in train else None)
    lines = ["| model | WA | UA | train s | predict s (test split) | peak memory MB | source of times |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| {stack.title} | {stack.metrics['WA']:.4f} | {stack.metrics['UA']:.4f} | "
             f"{_fmt(stack_train, 1)} | {_fmt(predict.get('median_seconds'), 1)} | "
             f"{_fmt(stack_peak, 0)} | `make bench` medians: features (train and test CSVs) + train; submission |",
             f"| {bilstm.title} ({b.get('hidden_size', '?')} units, {b.get('epochs', '?')} epochs, best "
             f"{b.get('best_epoch', '?')}) | {b['WA']:.4f} | {b['UA']:.4f} | {_fmt(b.get('train_seconds'), 1)} | "
             f"{_fmt(b.get('predict_seconds'), 1)} | {_fmt(b.get('peak_rss_mb'), 0)} | one `make baseline` run, "
             f"--n-jobs {b.get('n_jobs', '?')}; train includes reading the CSVs, predict includes reading test |"]
    if b.get("median_epoch_seconds") is not None:
        lines += ["", f"BiLSTM: {b['median_epoch_seconds']:.1f} s per epoch (median), early stopping on held-out actors."]
    return "\n".join(lines)


def _write_readme(inputs, out_dir, captions, command, timeline_id, seconds):
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "# Report",
        "",
        "Generated by",
        "",
        "```sh",
        command,
        "```",
        "",
        f"on {now} ({platform.node() or 'unknown host'}, {os.cpu_count()} cores, {seconds:.0f} s). Every number "
        "and figure below is computed from the files of the build and data folders named in the "
        "command; rerun the command to refresh it.",
        "",
        f"## Headline ({inputs.split}, frames with agreement > {AGREEMENT_THRESHOLD})",
        "",
        _headline(inputs),
        "",
        "The published figure is the challenge's own BiLSTM baseline on the real (proprietary) data, a "
        "guide to the difficulty of realistic data, not a score on this dataset.",
        "",
    ]
    if stack.available and bilstm.available:
        gap = stack.scores["WA"] - bilstm.scores["WA"]
        parts += [f"The {stack.title} is {abs(gap):.3f} WA {'above' if gap >= 0 else 'below'} the BiLSTM baseline "
                  "on the same frames.", ""]
    versus = _versus_markdown(inputs)
    if versus:
        parts += ["## The stack and the BiLSTM baseline", "", versus, ""]
    parts += ["## Figures", ""]
    for name, caption in captions.items():
        parts += [f"### {caption[0]}", "", f"![{caption[0]}](figures/{FIGURES[name][0]})", "", caption[1], ""]
    if inputs.modality_table is not None:
        parts += ["## Modality table", "", _modality_markdown(inputs.modality_table), "",
                  inputs.modality_table.get("method", ""), ""]
        if comparison_rows(inputs.modality_table):
            parts += ["## The stack against the alternatives", "",
                      "Public-test WA of the stack (all four modalities, its own smoother) against early fusion, the "
                      "best modality trained alone, the per-window argmax instead of the smoother, and itself with "
                      "one modality deleted from the whole test set; all from the same `modalities.json`.", "",
                      _comparison_markdown(inputs.modality_table), ""]
    if inputs.bench is not None:
        parts += ["## Time and memory", "", f"From `{inputs.bench.get('command', 'emo-gbm bench')}` "
                  "(details in [bench.md](bench.md)).", "", _bench_markdown(inputs.bench), ""]
        if Path(out_dir, "figures", "bench_scaling.png").is_file():
            parts += ["![time against dataset size](figures/bench_scaling.png)", "",
                      "Features and training time of the dataset at several sizes, log-log, with the fitted "
                      "slope (1 = linear); measured by the bench, drawn from bench.json.", ""]
    parts += ["## Missing inputs", ""]
    parts += [f"- {m}" for m in inputs.missing] if inputs.missing else ["Nothing: every input was found."]
    parts.append("")
    path = Path(out_dir) / "README.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path


def _captions(inputs, timeline_id):
    stack, bilstm = inputs.models["stack"], inputs.models["bilstm"]

    def wa(model):
        return f"WA {model.scores['WA']:.3f}" if model.available else "not run"

    importance = inputs.importance
    top_modality = max(importance["by_modality"].items(), key=lambda kv: kv[1]) if importance else None
    return {
        "confusion": ("Confusion matrices",
                      f"Rows are the true class of the scored frames, normalised to 1; the diagonal is each class's "
                      f"recall. {stack.title} {wa(stack)} (left), {bilstm.title} {wa(bilstm)} (right)."),
        "recall": ("Per-class recall",
                   "Recall of each emotion for both systems; the dashed lines are their UA (mean recall). "
                   "A class a system never predicts shows as a bar at 0."),
        "modalities": ("Modality table",
                       "WA with modalities deleted from the whole test set (stack trained on all four), with a "
                       "pipeline trained on the remaining modalities only (the stack on three; each single-modality "
                       "pipeline alone), and the challenge's published BiLSTM figures on the real data (grey). "
                       "Lower block: one modality alone; upper: all, and all but one."),
        "missing": ("Accuracy against missing data",
                    "Left: accuracy of frames grouped by the share of modality cells missing within +-2 s (one "
                    "4 s window), 0 = all four present throughout; right: by the number of modalities present at "
                    "the frame. Grey bars: how many scored frames fall in each group."),
        "timeline": ("Timeline of one test recording",
                     f"Recording {timeline_id or '-'} (chosen: some modality comes and goes, accuracy near the "
                     "overall WA): true and predicted labels over time, where each system is right, the annotator "
                     "agreement (frames at or below 0.6 are not scored), and which modalities are present."),
        "importance": ("Gain importance",
                       "Total split gain of the stacked model's per-modality base models grouped by modality (left; "
                       "separate models, so a share is how much loss that modality's own model reduced), the "
                       "meta-learner's weight on each base model's posteriors (middle: how much the stack listens to "
                       "it), and gain by window statistic (right, summed over modalities and columns)"
                       + (f"; {MODALITY_TITLES.get(top_modality[0], top_modality[0])} has the largest gain share "
                          f"({top_modality[1]:.0%})." if top_modality else ".")),
        "bench": ("Time and memory",
                  "Median wall time and peak resident memory of each stage run as its own `emo-gbm` process, "
                  "with the issue's targets (features <= 60 s, train <= 5 min, submission <= 30 s, <= 4 GB)."),
    }


def write_report(data_dir, build_dir, out_dir="reports", split=None, timeline_id=None, n_jobs=1, progress=False,
                 command=None):
    """Regenerate ``OUT/README.md`` and ``OUT/figures/*.png`` from the current outputs.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Dataset root (templates, answers and modality files of ``split``).
    build_dir : str or os.PathLike
        Build folder of the stages (submissions, metrics, models, modalities.json).
    out_dir : str or os.PathLike, default="reports"
        Where README.md and figures/ go; ``bench.json`` is read from here.
    split : str, optional
        The split to report on; default: the one ``BUILD/submission.json`` names, else ``"test"``.
    timeline_id : str, optional
        The recording of the timeline figure; default: chosen by
        :func:`choose_timeline_recording`.
    n_jobs : int, default=1
        Threads reading the test recordings.
    progress : bool, default=False
        Show a progress bar while reading.
    command : str, optional
        The command line to print in the README; default: this process's arguments.

    Returns
    -------
    dict
        ``readme`` (path), ``figures`` (name -> path), ``missing`` (list of str), ``scores``
        (system -> WA/UA, for the systems that could be scored).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    inputs = _collect(data_dir, build_dir, out_dir, split, n_jobs, progress)
    figures = {
        "confusion": figure_confusion(inputs, out_dir),
        "recall": figure_recall(inputs, out_dir),
        "modalities": figure_modalities(inputs, out_dir),
        "missing": figure_missing(inputs, out_dir),
    }
    figures["timeline"], chosen = figure_timeline(inputs, out_dir, timeline_id)
    figures["importance"] = figure_importance(inputs, out_dir)
    figures["bench"] = figure_bench(inputs, out_dir)
    if inputs.bench is not None and (inputs.bench.get("scaling") or {}).get("points"):
        from emo_gbm.bench import figure_scaling

        # redrawn from bench.json, so the figure follows the current drawing code
        figure_scaling(inputs.bench["scaling"], Path(out_dir) / "figures" / "bench_scaling.png")
    if command is None:
        command = "emo-gbm " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "emo-gbm" else " ".join(sys.argv)
    readme = _write_readme(inputs, out_dir, _captions(inputs, chosen), command, chosen,
                           time.perf_counter() - started)
    scores = {key: {"WA": m.scores["WA"], "UA": m.scores["UA"]} for key, m in inputs.models.items() if m.available}
    return {"readme": readme, "figures": figures, "missing": inputs.missing, "scores": scores}
