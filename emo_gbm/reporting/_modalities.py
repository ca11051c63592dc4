"""The modality table: the test split scored with modalities deleted and with pipelines trained on fewer.

:func:`run_modality_table` writes ``BUILD/modalities.json``, which the report reads.
"""

import datetime as _dt
import json
import time
from pathlib import Path

import numpy as np

from emo_gbm.constants import ANSWERS_DIR, MODALITIES
from emo_gbm.reporting._inputs import _read_json
from emo_gbm.reporting._style import EARLY_FUSION_PIPELINE


def modality_conditions(modalities=MODALITIES):
    """The conditions of the modality table: name -> the modalities deleted.

    Parameters
    ----------
    modalities : sequence of str, default=MODALITIES

    Returns
    -------
    dict of str to tuple of str
        ``all``, then ``without_<m>`` for each modality, then ``only_<m>``.

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
    from emo_gbm import ensemble, features, model_selection, pipelines, smoothing, workflow

    packages = (ensemble, features, model_selection, pipelines, smoothing)
    files = [path for package in packages for path in sorted(Path(package.__file__).parent.glob("*.py"))]
    return files + [Path(workflow.__file__)]


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
    data_dir, build_dir = Path(data_dir), Path(build_dir)
    model_path = _check_modality_inputs(data_dir, build_dir, split, pipeline)
    scores = _score_conditions(data_dir, build_dir, model_path, split, pipeline, train_single, baseline, seed, n_jobs,
                               progress)
    payload = {
        "split": split,
        "data": str(data_dir),
        "build": str(build_dir),
        "pipeline": pipeline,
        "baseline": scores["baseline"],
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "method": _method(split, pipeline),
        "conditions": scores["conditions"],
        "smoothing": scores["smoothing"],
        "smoothing_default": scores["smoothing_default"],
        "early_fusion": scores["early_fusion"],
    }
    path = build_dir / "modalities.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _score_conditions(data_dir, build_dir, model_path, split, pipeline, train_single, baseline, seed, n_jobs,
                      progress):
    """The scores of the modality table (the parameters as for :func:`run_modality_table`):
    ``conditions`` (a row per condition with its ``stack``, ``trained``, ``baseline`` and
    ``baseline_trained`` scores), ``smoothing`` (each smoother on all four modalities) and
    ``smoothing_default``, ``early_fusion``, and ``baseline`` (the BiLSTM used, or None)."""
    from tqdm.auto import tqdm

    from emo_gbm.modelio import load_model
    from emo_gbm.pipelines import SINGLE_MODALITY, STACKED_WITHOUT

    windows, n_frames, truths = _read_test_windows(data_dir, build_dir, split)
    model = load_model(model_path)
    if hasattr(model, "set_n_jobs"):
        model.set_n_jobs(n_jobs)
    conditions = modality_conditions()
    baseline_path = build_dir / "baseline" / "model.skops"
    use_baseline = baseline and baseline_path.is_file()
    total = (len(conditions) * (2 if use_baseline else 1) + len(SINGLE_MODALITY)
             + len(STACKED_WITHOUT) + 1)
    bar = tqdm(total=total, desc="modality table", unit="run", disable=not progress)
    rows, smoothing = _deleted_at_test(model, windows, n_frames, truths, conditions, bar)
    del windows
    by_name = {row["condition"]: row for row in rows}
    context = dict(build_dir=build_dir, split=split, truths=truths, train_single=train_single, seed=seed,
                   n_jobs=n_jobs)
    for modality, single in SINGLE_MODALITY.items():
        by_name[f"only_{modality}"]["trained"] = _trained_scores(single, **context)
        bar.update()
    for modality, stacked in STACKED_WITHOUT.items():
        by_name[f"without_{modality}"]["trained"] = _trained_scores(stacked, **context)
        bar.update()
    fusion = _trained_scores(EARLY_FUSION_PIPELINE, **context) if pipeline != EARLY_FUSION_PIPELINE else None
    bar.update()
    _baselines_trained_alone(by_name, build_dir, split)
    baseline_info = None
    if use_baseline:
        baseline_info = _baseline_deleted_at_test(by_name, baseline_path, data_dir, split, conditions, truths,
                                                  n_jobs, bar)
    bar.close()
    return {"conditions": rows, "smoothing": smoothing, "smoothing_default": getattr(model, "smoothing_", None),
            "early_fusion": fusion, "baseline": baseline_info}


def _check_modality_inputs(data_dir, build_dir, split, pipeline):
    """The trained model's path, after checking that the features, the model and the answers exist."""
    features = build_dir / "features"
    model_path = build_dir / "models" / f"{pipeline}.skops"
    for path, hint in ((features / f"{split}.parquet", f"emo-gbm features --splits train {split}"),
                       (model_path, f"emo-gbm train --pipeline {pipeline}")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; run `{hint}` first")
    answers = data_dir / ANSWERS_DIR / split
    if not answers.is_dir():
        raise FileNotFoundError(f"{answers} does not exist: the modality table needs the answers of {split}")
    return model_path


def _read_test_windows(data_dir, build_dir, split):
    """The cached window table of ``split``, frames per recording, and (labels, agreement) per recording."""
    import pandas as pd

    from emo_gbm.data.io import read_labels

    features = build_dir / "features"
    answers = data_dir / ANSWERS_DIR / split
    windows = pd.read_parquet(features / f"{split}.parquet")
    recordings = pd.read_parquet(features / f"{split}_recordings.parquet")
    n_frames = dict(zip(recordings["rec_id"], recordings["n_frames"].astype(int)))
    truths = {}
    for rec_id in n_frames:
        _, labels, agreement = read_labels(answers / f"{rec_id}.csv")
        truths[rec_id] = (labels, agreement)
    return windows, n_frames, truths


def _deleted_at_test(model, windows, n_frames, truths, conditions, bar):
    """One row per condition with the ``stack`` column scored, and every smoother's scores on all four."""
    from emo_gbm.metrics import score_recordings

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
    return rows, smoothing


def _trained_scores(name, build_dir, split, truths, train_single, seed, n_jobs):
    """Scores of pipeline ``name``, trained here when missing or stale (None without a model)."""
    from emo_gbm import workflow
    from emo_gbm.metrics import score_recordings

    train_features = build_dir / "features" / "train.parquet"
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


def _baselines_trained_alone(by_name, build_dir, split):
    """Fill ``baseline_trained`` of the one-modality rows from the BiLSTMs trained on one modality."""
    from emo_gbm.baseline import baseline_folder

    for modality in MODALITIES:
        # BiLSTM baselines trained on one modality (`make baseline-modalities`), scored by their own run.
        scores = _read_json(build_dir / baseline_folder([modality]) / "metrics.json")
        if scores is not None and scores.get("split") == split:
            by_name[f"only_{modality}"]["baseline_trained"] = {
                key: scores.get(key) for key in ("WA", "UA", "frames", "epochs", "train_seconds")}


def _baseline_deleted_at_test(by_name, baseline_path, data_dir, split, conditions, truths, n_jobs, bar):
    """Fill the ``baseline`` column: the BiLSTM on the test recordings with modalities blanked."""
    from emo_gbm.baseline import predict_baseline
    from emo_gbm.data.io import load_split
    from emo_gbm.metrics import score_recordings
    from emo_gbm.modelio import load_model

    bilstm = load_model(baseline_path)
    test_recordings = load_split(data_dir, split, n_jobs=n_jobs, with_answers=False, skip_bad_files=True)
    for name, deleted in conditions.items():
        predictions = predict_baseline(bilstm, [_blank_recording(r, deleted) for r in test_recordings])
        by_name[name]["baseline"] = _wa_ua(score_recordings(predictions, truths))
        bar.update()
    return {"model": str(baseline_path), "modalities": list(getattr(bilstm, "modalities_", MODALITIES))}


def _method(split, pipeline):
    """How the modality table was made, in words (the ``method`` of modalities.json)."""
    from emo_gbm.pipelines import SINGLE_MODALITY, STACKED_WITHOUT

    return (
        f"Deleted at test: the cached {split} window table is copied with every feature of the deleted "
        "modalities set to NaN and their missing fraction set to 1 (what a recording without those files "
        f"gives), then predicted by the trained `{pipeline}` pipeline (window classifier and smoother), "
        "trained on all four modalities. Trained on the condition's modalities: the single-modality "
        f"pipelines ({', '.join(SINGLE_MODALITY.values())}) for one alone, and the stack on the "
        f"other three ({', '.join(STACKED_WITHOUT.values())}) for all but one, trained on the "
        "same train windows. BiLSTM: the "
        "baseline model of BUILD/baseline on the aligned test recordings with the deleted modalities "
        "missing on every frame."
    )
