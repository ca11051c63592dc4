"""The measured stages: features, train and submission; two pipelines compared; time and memory against size."""

import hashlib
import json
import shutil
from pathlib import Path

from benchmarks.config import FULL_SIZE_TRAIN_RECORDINGS, SEED
from benchmarks.process import _score_submission, _show, _summarise, dataset_frames, run_stage
from emo_gbm.reporting import TARGETS, fit_loglog_slope


def bench_stages(data_dir, build_dir, pipeline, repeats, n_jobs, progress_bar):
    """Median time and memory of features, train and submission on ``data_dir``.

    Every repeat starts from an empty feature cache, so features are really computed.

    Returns
    -------
    stages : dict
        Stage name -> summary (median seconds, peak memory, target).
    scores : dict
        WA/UA of the submission and the sha256 of every repeat's ``submission.zip``.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    features = ["features", "--data", data_dir, "--build", build_dir, "--splits", "train", "test",
                "--n-jobs", n_jobs]
    train = ["train", "--build", build_dir, "--pipeline", pipeline, "--seed", SEED, "--n-jobs", n_jobs]
    submission = ["submission", "--data", data_dir, "--build", build_dir, "--pipeline", pipeline,
                  "--n-jobs", n_jobs]
    runs = {"features": [], "train": [], "submission": []}
    digests = []
    for repeat in range(repeats):
        shutil.rmtree(build_dir / "features", ignore_errors=True)
        for name, args in (("features", features), ("train", train), ("submission", submission)):
            runs[name].append(run_stage(args, logs / f"{name}_{repeat}.log"))
            progress_bar.update(1)
        digests.append(hashlib.sha256((build_dir / "submission.zip").read_bytes()).hexdigest())
    stages = {name: _summarise(runs[name], _show(args), TARGETS[name])
              for name, args in (("features", features), ("train", train), ("submission", submission))}
    scores = _score_submission(build_dir / "submission.zip", data_dir)
    # Every repeat recomputes features, refits and predicts: the zips must be byte-identical.
    scores["submission_sha256"] = digests
    scores["identical_submissions"] = len(set(digests)) == 1
    return stages, scores


def bench_versus(data_dir, build_dir, pipeline, versus, repeats, n_jobs, stages, scores, progress_bar):
    """Train time and WA of two pipelines on the same cached features (LightGBM against XGBoost).

    The figures of ``pipeline`` are those of :func:`bench_stages` (the same commands);
    ``versus`` is trained ``repeats`` times, then predicted and scored once.

    Returns
    -------
    dict
        Pipeline name -> train time, peak memory, submission time, WA/UA.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    train = ["train", "--build", build_dir, "--pipeline", versus, "--seed", SEED, "--n-jobs", n_jobs]
    runs = []
    for repeat in range(repeats):
        runs.append(run_stage(train, logs / f"train_{versus}_{repeat}.log"))
        progress_bar.update(1)
    out = build_dir / versus
    submission = ["submission", "--data", data_dir, "--build", build_dir, "--pipeline", versus,
                  "--out", out, "--n-jobs", n_jobs]
    predict = run_stage(submission, logs / f"submission_{versus}.log")
    progress_bar.update(1)
    other = _summarise(runs, _show(train))

    def entry(train_stage, submission_seconds, pipeline_scores):
        return {
            "command": train_stage["command"],
            "median_train_seconds": train_stage["median_seconds"],
            "train_seconds": train_stage["seconds"],
            "median_peak_tree_rss_mb": train_stage["median_peak_tree_rss_mb"],
            "submission_seconds": submission_seconds,
            **(pipeline_scores or {}),
        }

    return {
        pipeline: entry(stages["train"], stages["submission"]["median_seconds"], scores),
        versus: entry(other, round(predict["seconds"], 3),
                      _score_submission(out / "submission.zip", data_dir)),
    }


def _synth_dataset(out_dir, scale, log_dir, n_jobs):
    """Generate ``emo-gbm synth --scale`` into ``out_dir`` unless it is already there."""
    out_dir = Path(out_dir)
    marker = out_dir / ".bench-synth.json"
    wanted = {"scale": scale, "seed": SEED}
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == wanted:
        return
    run_stage(["synth", "--out", out_dir, "--seed", SEED, "--scale", scale, "--n-jobs", n_jobs],
              Path(log_dir) / f"synth_{scale:g}.log")
    marker.write_text(json.dumps(wanted), encoding="utf-8")


def _scaling_medians(features, train):
    """A scaling point's measures from the summaries (:func:`_summarise`) of its features and train runs."""
    return {
        "features_seconds": features["median_seconds"],
        "train_seconds": train["median_seconds"],
        "total_seconds": features["median_seconds"] + train["median_seconds"],
        "features_peak_tree_rss_mb": features["median_peak_tree_rss_mb"],
        "features_peak_rss_mb": features["median_peak_rss_mb"],
        "train_peak_tree_rss_mb": train["median_peak_tree_rss_mb"],
        "train_peak_rss_mb": train["median_peak_rss_mb"],
        "runs": len(features["seconds"]),
    }


def _features_and_train(data_dir, build_dir, pipeline, repeats, n_jobs, log_prefix, dask=False):
    """Run features (recomputed every time) then train ``repeats`` times; their medians.

    With ``dask``, both stages run with ``--dask local`` (a LocalCluster of ``n_jobs`` workers).
    Logs go to ``LOG_PREFIX_{features,train}_REPEAT.log``.
    """
    cluster = ["--dask", "local"] if dask else []
    features = ["features", "--data", data_dir, "--build", build_dir, "--splits", "train", "test",
                "--n-jobs", n_jobs] + cluster
    train = ["train", "--build", build_dir, "--pipeline", pipeline, "--seed", SEED, "--n-jobs", n_jobs] + cluster
    runs = {"features": [], "train": []}
    for repeat in range(repeats):
        shutil.rmtree(Path(build_dir) / "features", ignore_errors=True)
        for name, args in (("features", features), ("train", train)):
            runs[name].append(run_stage(args, f"{log_prefix}_{name}_{repeat}.log"))
    return _scaling_medians(_summarise(runs["features"], _show(features)), _summarise(runs["train"], _show(train)))


def bench_scaling(data_dir, build_dir, pipeline, scales, repeats, n_jobs, stages, progress_bar, dask=False):
    """Features + train time and peak memory against dataset size, plain and (``dask``) with ``--dask local``.

    The DATA point's plain measures are those of :func:`bench_stages`; with ``dask`` it is run
    once more, ``repeats`` times, with ``--dask local``, as every generated size is.

    Returns
    -------
    dict
        What :func:`summarise_scaling` returns.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    sizes = [(None, Path(data_dir), "data")] + [
        (scale, build_dir / "data" / f"scale_{scale:g}", f"{scale:g}") for scale in scales if scale != 1.0]
    points = []
    for scale, data, tag in sizes:
        if scale is not None:
            _synth_dataset(data, scale, logs, n_jobs)
        counts = dataset_frames(data)
        size = counts["recordings"]["train"] / FULL_SIZE_TRAIN_RECORDINGS
        point = {"label": f"DATA ({size:.2g}x)" if scale is None else f"{scale:g}x", "scale": scale,
                 "data": str(data), "frames": sum(counts["frames"].values()), "recordings": counts["recordings"]}
        if scale is None:
            point.update(_scaling_medians(stages["features"], stages["train"]))
        else:
            point.update(_features_and_train(data, build_dir / "scaling" / f"scale_{tag}", pipeline, repeats, n_jobs,
                                             logs / f"scaling_{tag}"))
            progress_bar.update(1)
        if dask:
            point["dask"] = _features_and_train(data, build_dir / "scaling" / f"scale_{tag}_dask", pipeline, repeats,
                                                n_jobs, logs / f"scaling_{tag}_dask", dask=True)
            progress_bar.update(1)
        points.append(point)
    return summarise_scaling(points)


def _measured(points, mode):
    """(point, its measures) for every point measured in ``mode`` (None: plain; "dask")."""
    return [(p, p if mode is None else p[mode]) for p in points if mode is None or mode in p]


def fit_scaling_slopes(points, mode=None):
    """Log-log slopes of features, train and total time against frames, in one mode.

    Parameters
    ----------
    points : list of dict
        Scaling points (``frames`` and the measures of :func:`_scaling_medians`; the dask
        measures under ``"dask"``).
    mode : {None, "dask"}
        None for the plain runs.

    Returns
    -------
    dict
        ``slope`` (features + train), ``slope_features``, ``slope_train``; None where fewer
        than two sizes were measured.

    Examples
    --------
    >>> points = [{"frames": f, "features_seconds": f, "train_seconds": f * f, "total_seconds": f + f * f}
    ...           for f in (10, 100)]
    >>> {k: round(v, 3) for k, v in fit_scaling_slopes(points).items()}
    {'slope': 1.963, 'slope_features': 1.0, 'slope_train': 2.0}
    """
    measured = _measured(points, mode)
    frames = [p["frames"] for p, _ in measured]
    return {key: fit_loglog_slope(frames, [m[f"{stage}_seconds"] for _, m in measured])
            for key, stage in (("slope", "total"), ("slope_features", "features"), ("slope_train", "train"))}


def features_memory_ratio(points, mode=None):
    """Peak memory (process tree) of features at the 2x size over that at the 0.5x size.

    Parameters
    ----------
    points : list of dict
        Scaling points, as for :func:`fit_scaling_slopes`.
    mode : {None, "dask"}

    Returns
    -------
    float or None
        None unless both generated sizes 0.5 and 2 were measured in ``mode``.

    Examples
    --------
    >>> features_memory_ratio([{"scale": 0.5, "features_peak_tree_rss_mb": 400.0},
    ...                        {"scale": 2.0, "features_peak_tree_rss_mb": 440.0}])
    1.1
    """
    peaks = {p["scale"]: m["features_peak_tree_rss_mb"] for p, m in _measured(points, mode)}
    if not peaks.get(0.5) or 2.0 not in peaks:
        return None
    return round(peaks[2.0] / peaks[0.5], 4)


def summarise_scaling(points):
    """The scaling result: points sorted by frames, slopes per mode, the features memory ratio.

    Parameters
    ----------
    points : list of dict
        Scaling points, as for :func:`fit_scaling_slopes`.

    Returns
    -------
    dict
        ``points``; ``slope``, ``slope_features``, ``slope_train`` of the plain runs;
        ``slopes_dask`` (the same three) and ``features_memory_ratio_2x_over_0_5x_dask``, None
        without dask runs; ``features_memory_ratio_2x_over_0_5x`` (None without the 0.5x and 2x
        sizes) and its target.
    """
    points = sorted(points, key=lambda p: p["frames"])
    dask = any("dask" in p for p in points)
    return {
        "points": points,
        **fit_scaling_slopes(points),
        "slopes_dask": fit_scaling_slopes(points, "dask") if dask else None,
        "features_memory_ratio_2x_over_0_5x": features_memory_ratio(points),
        "features_memory_ratio_2x_over_0_5x_dask": features_memory_ratio(points, "dask") if dask else None,
        "features_memory_ratio_target": TARGETS["features_memory_ratio"],
    }
