"""The bench: time and peak memory of every stage, windowing throughput, LightGBM against
XGBoost, and how time grows with the size of the data.

Run from the repository root by ``make bench``, as ``python -m benchmarks`` (see
:mod:`benchmarks.cli`); not part of the installed package.

Each stage runs as its own ``emo-gbm`` process, as ``make`` runs it, so its wall time includes
start-up and its memory is that of the process (and of its worker processes). Every
measurement is repeated and the median reported. :func:`run_bench` writes ``OUT/bench.md``,
its JSON twin ``OUT/bench.json`` (read by :mod:`emo_gbm.reporting`) and
``OUT/figures/bench_scaling.png``.
"""

import json
import sys
import time
from pathlib import Path

from benchmarks.config import (
    BENCH_MARKER,
    QUICK_SCALES,
    QUICK_WINDOWING_RECORDINGS,
    SCALES,
    TSFRESH_RECORDINGS,
    WINDOWING_RECORDINGS,
)
from benchmarks.markdown import bench_markdown
from benchmarks.process import dataset_frames, machine_info
from benchmarks.stages import bench_scaling, bench_stages, bench_versus
from benchmarks.windowing import bench_windowing
from emo_gbm.reporting import TARGETS, figure_scaling


def _claim_build_dir(build_dir):
    """Create the bench's build folder, refusing a non-empty folder the bench did not create.

    The bench deletes the feature cache and overwrites models in its build folder, so it must
    never run in the project's own build folder.
    """
    build_dir = Path(build_dir)
    if build_dir.is_dir() and any(build_dir.iterdir()) and not (build_dir / BENCH_MARKER).is_file():
        raise ValueError(f"{build_dir} is not empty and was not created by the bench, which deletes and "
                         "overwrites features and models in its build folder; pass another --build")
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / BENCH_MARKER).write_text("scratch build folder of the bench (`make bench`)\n", encoding="utf-8")


def _plan(repeats, quick, scales, scaling_repeats):
    """How much the bench measures: ``--quick`` shrinks it; checks the repeats."""
    plan = {"repeats": repeats, "scales": SCALES if scales is None else scales, "windowing_recordings":
            WINDOWING_RECORDINGS, "tsfresh_recordings": TSFRESH_RECORDINGS}
    if quick:
        plan.update(repeats=1, scales=QUICK_SCALES if scales is None else scales,
                    windowing_recordings=QUICK_WINDOWING_RECORDINGS, tsfresh_recordings=0)
    plan["scales"] = tuple(plan["scales"])
    plan["scaling_repeats"] = plan["repeats"] if scaling_repeats is None else scaling_repeats
    if plan["repeats"] < 1 or plan["scaling_repeats"] < 1:
        raise ValueError("repeats must be at least 1")
    return plan


def _measure(data_dir, build_dir, plan, pipeline, versus, n_jobs, scaling_dask, progress):
    """Every measurement of the bench, under one progress bar."""
    from tqdm.auto import tqdm

    repeats = plan["repeats"]
    generated = sum(1 for s in plan["scales"] if s != 1.0)
    total_steps = 3 * repeats + repeats + 1 + 3 + generated + (generated + 1 if scaling_dask else 0)
    with tqdm(total=total_steps, desc="bench", unit="step", disable=not progress) as bar:
        stages, scores = bench_stages(data_dir, build_dir, pipeline, repeats, n_jobs, bar)
        compared = bench_versus(data_dir, build_dir, pipeline, versus, repeats, n_jobs, stages, scores, bar)
        windowing = bench_windowing(data_dir, repeats, plan["windowing_recordings"], plan["tsfresh_recordings"], bar)
        scaling = bench_scaling(data_dir, build_dir, pipeline, plan["scales"], plan["scaling_repeats"], n_jobs,
                                stages, bar, dask=scaling_dask)
    return {"stages": stages, "scores": scores, "versus": compared, "windowing": windowing, "scaling": scaling}


def run_bench(data_dir, build_dir, out_dir="reports", repeats=3, n_jobs=2, quick=False, scales=None,
              pipeline="stacked_gbm", versus="stacked_xgb", scaling_repeats=None, scaling_dask=False,
              progress=False, command=None):
    """Run the whole bench and write ``OUT/bench.md``, ``OUT/bench.json`` and the scaling figure.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset (full size for real measurements), with ``answers/test`` for the WA figures.
    build_dir : str or os.PathLike
        Scratch build folder of the bench (its features, models and generated datasets). A
        non-empty folder the bench did not create is refused: the bench would overwrite it.
    out_dir : str or os.PathLike, default="reports"
    repeats : int, default=3
        Runs of every measurement; medians are reported.
    n_jobs : int, default=2
        ``--n-jobs`` of every stage.
    quick : bool, default=False
        A smoke run: one repeat, two recordings for windowing, tsfresh skipped, scaling at
        :data:`QUICK_SCALES` only. Meant for tests on tiny data; not a measurement.
    scales : sequence of float, optional
        Dataset sizes of the scaling measurement (default :data:`SCALES`); DATA is always a
        point, and 1 stands for it.
    pipeline : str, default="stacked_gbm"
        The pipeline of the train and submission stages and of the scaling measurement.
    versus : str, default="stacked_xgb"
        The pipeline compared with ``pipeline`` (train time, WA).
    scaling_repeats : int, optional
        Runs per generated size; default ``repeats``.
    scaling_dask : bool, default=False
        Also run features and train of every scaling point (DATA included) with ``--dask local``
        (a LocalCluster of ``n_jobs`` workers), ``scaling_repeats`` times; slopes fitted apart.
    progress : bool, default=False
        Show a progress bar over the measurements.
    command : str, optional
        The command line written at the top of bench.md.

    Returns
    -------
    dict
        What ``bench.json`` holds.
    """
    started = time.perf_counter()
    data_dir, build_dir, out_dir = Path(data_dir), Path(build_dir), Path(out_dir)
    if not (data_dir / "train").is_dir():
        raise FileNotFoundError(f"{data_dir}: no train/ folder; point --data at a dataset")
    plan = _plan(repeats, quick, scales, scaling_repeats)
    _claim_build_dir(build_dir)
    measured = _measure(data_dir, build_dir, plan, pipeline, versus, n_jobs, scaling_dask, progress)
    stages = measured["stages"]
    peak = max(s["median_peak_tree_rss_mb"] for s in stages.values())
    result = {
        "command": command or "python -m benchmarks " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "data": str(data_dir),
        "build": str(build_dir),
        "dataset": dict(dataset_frames(data_dir), description=f"{data_dir.name}, --n-jobs {n_jobs}"),
        "n_jobs": n_jobs,
        "repeats": plan["repeats"],
        "pipeline": pipeline,
        "versus_pipeline": versus,
        "quick": bool(quick),
        "targets": TARGETS,
        "stages": stages,
        "memory": {"peak_mb": peak, "target_mb": TARGETS["peak_memory_mb"],
                   "meets_target": bool(peak <= TARGETS["peak_memory_mb"])},
        "scores": measured["scores"],
        "windowing": measured["windowing"],
        "versus": measured["versus"],
        "scaling": measured["scaling"],
    }
    result["seconds"] = time.perf_counter() - started
    _write_outputs(result, out_dir)
    return result


def _write_outputs(result, out_dir):
    """Write ``bench.json``, ``bench.md`` and ``figures/bench_scaling.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figure_scaling(result["scaling"], out_dir / "figures" / "bench_scaling.png")
    for name, text in (("bench.json", json.dumps(result, indent=2) + "\n"),
                       ("bench.md", bench_markdown(result))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
