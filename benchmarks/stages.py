"""The measured stages: features, train and submission; two pipelines compared; time against size."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

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


def bench_scaling(data_dir, build_dir, pipeline, scales, repeats, n_jobs, stages, progress_bar):
    """Features + train time against dataset size; the DATA point reuses :func:`bench_stages`.

    Returns
    -------
    dict
        ``points`` (one per size, sorted by frames) and the fitted log-log slopes.
    """
    build_dir = Path(build_dir)
    logs = build_dir / "logs"
    data_frames = dataset_frames(data_dir)
    size = data_frames["recordings"]["train"] / FULL_SIZE_TRAIN_RECORDINGS
    points = [{
        "label": f"DATA ({size:.2g}x)", "scale": None, "data": str(data_dir),
        "frames": sum(data_frames["frames"].values()), "recordings": data_frames["recordings"],
        "features_seconds": stages["features"]["median_seconds"],
        "train_seconds": stages["train"]["median_seconds"],
        "runs": len(stages["features"]["seconds"]),
    }]
    for scale in scales:
        if scale == 1.0:
            continue  # DATA itself
        scaled_data = build_dir / "data" / f"scale_{scale:g}"
        scaled_build = build_dir / "scaling" / f"scale_{scale:g}"
        _synth_dataset(scaled_data, scale, logs, n_jobs)
        counts = dataset_frames(scaled_data)
        runs = {"features": [], "train": []}
        for repeat in range(repeats):
            shutil.rmtree(scaled_build / "features", ignore_errors=True)
            runs["features"].append(run_stage(
                ["features", "--data", scaled_data, "--build", scaled_build, "--splits", "train", "test",
                 "--n-jobs", n_jobs], logs / f"scaling_{scale:g}_features_{repeat}.log"))
            runs["train"].append(run_stage(
                ["train", "--build", scaled_build, "--pipeline", pipeline, "--seed", SEED, "--n-jobs", n_jobs],
                logs / f"scaling_{scale:g}_train_{repeat}.log"))
        progress_bar.update(1)
        points.append({
            "label": f"{scale:g}x", "scale": scale, "data": str(scaled_data),
            "frames": sum(counts["frames"].values()), "recordings": counts["recordings"],
            "features_seconds": float(np.median([r["seconds"] for r in runs["features"]])),
            "train_seconds": float(np.median([r["seconds"] for r in runs["train"]])),
            "runs": repeats,
        })
    points.sort(key=lambda p: p["frames"])
    for point in points:
        point["total_seconds"] = point["features_seconds"] + point["train_seconds"]
    frames = [p["frames"] for p in points]
    return {
        "points": points,
        "slope": fit_loglog_slope(frames, [p["total_seconds"] for p in points]),
        "slope_features": fit_loglog_slope(frames, [p["features_seconds"] for p in points]),
        "slope_train": fit_loglog_slope(frames, [p["train_seconds"] for p in points]),
    }
