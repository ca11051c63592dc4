"""Blind, suite-wide model selection: every candidate scored out of fold on the train splits only.

For each dataset of the suite whose train features are cached (``emo-gbm suite`` writes them to
``BUILD_ROOT/<name>/features``), every candidate pipeline is fitted on the train windows and
scored by its out-of-fold frame WA (grouped cross-validation over actors, then the pipeline's
own smoother choice on those out-of-fold posteriors). No test split is read.

A component stays in the default only if removing it loses on average across the suite and
nowhere gains more than 0.01 (and adding it wins on average and loses nowhere by more than
0.01). The table says, per candidate and dataset, the out-of-fold WA and its margin over the
plain reference.

Usage::

    python scripts/select_components.py --build-root build/suite --out reports/selection \\
        --candidates reference early_fusion stacked_gbm ... --n-jobs 2
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emo_gbm.ensemble import default_base_estimator  # noqa: E402

from emo_gbm import pipelines  # noqa: E402
from emo_gbm.pipelines import get_pipeline  # noqa: E402


def _variant(**options):
    def factory(random_state=0, n_jobs=1):
        return pipelines._stacked(pipelines.stack_estimator(random_state), random_state, n_jobs, **options)

    return factory


def _previous(max_bin=63):
    """The stack as it was before this round's speed change: 300 rounds at most, L-BFGS linear
    experts (``max_bin``: the LightGBM histogram bins, 63 by default)."""
    def factory(random_state=0, n_jobs=1):
        estimator = default_base_estimator(random_state).set_params(max_bin=max_bin)
        pipe = pipelines._stacked(estimator, random_state, n_jobs)
        blocks = pipe.classifier.blocks
        blocks.experts = [(suffix, stat, expert.set_params(logisticregression__solver="lbfgs"), grid)
                          for suffix, stat, expert, grid in blocks.experts]
        return pipe

    return factory


def _lean(linear_grid=None, meta_grid=(0.00001, 0.0001, 0.001), context_stride=20, stats=pipelines.FEATURE_SET,
          learning_rate=None, rounds=None, solver=None):
    """The default stack, cheaper: the context smoother fitted on every ``context_stride``-th
    frame, the meta-learner's C chosen over ``meta_grid``, (``linear_grid``) the linear
    experts' C over a shorter grid, (``learning_rate``, ``rounds``) LightGBM blocks with a
    larger step and fewer rounds at most, and (``solver``) another solver of the linear experts."""
    def factory(random_state=0, n_jobs=1):
        estimator = pipelines.stack_estimator(random_state)
        if learning_rate is not None:
            estimator.set_params(learning_rate=learning_rate, n_estimators=rounds)
        pipe = pipelines._stacked(estimator, random_state, n_jobs, stats=stats)
        pipe.smoother.set_params(context_stride=context_stride)
        pipe.classifier.set_params(final_grid={"C": list(meta_grid)})
        blocks = pipe.classifier.blocks
        if linear_grid is not None:
            blocks.experts = [(suffix, stat, expert, {"logisticregression__C": list(linear_grid)})
                              for suffix, stat, expert, _ in blocks.experts]
        if solver is not None:
            blocks.experts = [(suffix, stat, clone(expert).set_params(logisticregression__solver=solver), grid)
                              for suffix, stat, expert, grid in blocks.experts]
        return pipe

    return factory


def _folds(n_folds):
    """The default stack with ``n_folds`` grouped folds for its base models and meta-learner (5 by default)."""
    def factory(random_state=0, n_jobs=1):
        pipe = pipelines.stacked_gbm(random_state, n_jobs)
        pipe.classifier.set_params(cv=n_folds)
        return pipe

    return factory


def _lightgbm(**params):
    """The default stack with other settings of its LightGBM blocks (e.g. ``colsample_bytree=0.2``)."""
    def factory(random_state=0, n_jobs=1):
        return pipelines._stacked(pipelines.stack_estimator(random_state).set_params(**params), random_state, n_jobs)

    return factory


def _single(stats):
    def factory(random_state=0, n_jobs=1):
        return pipelines._single_model(None, random_state, n_jobs, stats=stats)

    return factory


#: Candidates beyond the named pipelines: the stack with components removed, early fusion on
#: other feature sets (their windows cached under ``BUILD_ROOT/<name>/features_<set>``).
VARIANTS = {
    # reports/selection/ablation.json calls the previous default "stacked_gbm" (seeded from the suite
    # run) and the current one "stack_fast2"; "stack_fast" also had 31 bins
    "stack_previous": _previous(),
    "stack_lean": _lean(context_stride=40),
    "stack_lean_linear": _lean(linear_grid=(0.001, 0.01, 0.1)),
    "stack_lean_dynamics": _lean(stats="dynamics"),
    "stack_fast4": _lean(solver="newton-cg"),
    "stack_fast3": _lean(linear_grid=(0.001, 0.01, 0.1), learning_rate=0.1, rounds=100),
    "early_fusion_dynamics": _single("dynamics"),
    "stack_4folds": _folds(4),
    # session 13 (reports/selection/columns*, bagging*, seed*): the stack drew 0.3 of the columns
    # per tree before; 0.2 is the default since (pipelines.STACK_COLUMNS)
    "stack_cols30": _lightgbm(colsample_bytree=0.3),
    "stack_cols20": _lightgbm(colsample_bytree=0.2),
    "stack_cols15": _lightgbm(colsample_bytree=0.15),
    "stack_sub60": _lightgbm(colsample_bytree=0.3, subsample=0.6),
    "stack_sub50": _lightgbm(colsample_bytree=0.3, subsample=0.5),
    "stack_no_linear": _variant(linear=False),
    "stack_no_centred": _variant(centred=False),
    "stack_gbm_only": _variant(linear=False, centred=False),
    "stack_no_absence": _variant(meta_per_absence=False),
    "stack_no_dropout": _variant(dropout=0.0),
    "stack_lr_meta": _variant(pooled=False),
    "stack_fallback": _variant(base_fallback=True),
    "stack_gbm_only_nodrop": _variant(linear=False, centred=False, dropout=0.0),
}


def make(name, seed, n_jobs):
    if name in VARIANTS:
        return VARIANTS[name](random_state=seed, n_jobs=n_jobs)
    return get_pipeline(name, random_state=seed, n_jobs=n_jobs)


def oof_scores(build_dir, candidate, seed, n_jobs):
    """Out-of-fold frame WA of every smoothing method of ``candidate`` on one dataset's train split."""
    model = make(candidate, seed, n_jobs)
    stats = model.featurizer.stats
    features = Path(build_dir) / ("features" if stats == pipelines.FEATURE_SET else f"features_{stats}")
    windows = pd.read_parquet(features / "train.parquet")
    frames = pd.read_parquet(features / "train_frames.parquet")
    started = time.perf_counter()
    model.fit(windows, frames)
    scores = dict(model.smoothing_scores_)
    rounds = getattr(model.classifier_, "n_rounds_", None)
    return {
        "auto": scores[model.smoothing_], "smoothing": model.smoothing_, "by_method": scores,
        "no_context": max(scores.get(m, 0.0) for m in ("viterbi", "overlap")), "fit_s": round(time.perf_counter() - started, 1),
        **({"n_rounds": rounds} if rounds else {}),
    }


def markdown(results, datasets, candidates):
    lines = ["| candidate | " + " | ".join(datasets) + " | mean margin | min margin |",
             "| --- |" + " --- |" * (len(datasets) + 2)]
    ref = {d: results[d]["reference"]["auto"] for d in datasets}
    for c in candidates:
        margins = [results[d][c]["auto"] - ref[d] for d in datasets]
        cells = [f"{results[d][c]['auto']:.4f} ({m:+.3f})" for d, m in zip(datasets, margins)]
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {np.mean(margins):+.4f} | {np.min(margins):+.4f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-root", default="build/suite")
    parser.add_argument("--datasets", nargs="+", default=None, help="default: every folder of BUILD_ROOT with features")
    parser.add_argument("--candidates", nargs="+", required=True)
    parser.add_argument("--out", default="reports/selection")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    root = Path(args.build_root)
    datasets = args.datasets or sorted(p.name for p in root.iterdir() if (p / "features" / "train.parquet").is_file())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.with_suffix(".json")
    results = json.loads(json_path.read_text()) if json_path.is_file() else {}
    for dataset in datasets:
        for candidate in args.candidates:
            if candidate in results.get(dataset, {}):
                continue
            result = oof_scores(root / dataset, candidate, args.seed, args.n_jobs)
            results.setdefault(dataset, {})[candidate] = result
            print(f"{dataset}: {candidate} out-of-fold WA {result['auto']:.4f} ({result['smoothing']}), "
                  f"{result['fit_s']:.0f} s", flush=True)
            json_path.write_text(json.dumps(results, indent=2) + "\n")
    candidates = [c for c in args.candidates if all(c in results[d] for d in datasets)]
    if "reference" in candidates:
        out.with_suffix(".md").write_text(markdown(results, datasets, candidates) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
