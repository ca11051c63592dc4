"""``emo-gbm``: the command line, one subcommand per pipeline stage.

Every stage the Makefile runs is a subcommand here with ``--data`` and ``--build`` options, so
the same steps can be run without make. Bad input ends with a one-line message naming the
file (and line), never a traceback.
"""

import argparse
import contextlib
import os
import json
import sys
import time
import warnings
from pathlib import Path

from emo_gbm import __version__
from emo_gbm.cluster import ClusterError, dask_backend
from emo_gbm.data._worlds import WORLDS
from emo_gbm.pipelines import PIPELINES
from emo_gbm.constants import MODALITIES, SPLITS, TEST_SPLITS
from emo_gbm.errors import BadFileWarning, DataFormatError

DEFAULT_DATA = "data/synthetic"
DEFAULT_BUILD = "build"


def _progress(args):
    return not args.quiet and sys.stderr.isatty()


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr)


def _write_json(path, payload):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def cmd_synth(args):
    from emo_gbm.data.synth import generate

    start = time.perf_counter()
    summary = generate(args.out, seed=args.seed, scale=args.scale, n_jobs=args.n_jobs, progress=_progress(args),
                       world=args.world)
    _say(args, f"synthetic dataset (world {args.world}) written to {args.out} in {time.perf_counter() - start:.1f} s")
    if not args.quiet:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return 0


def cmd_features(args):
    from emo_gbm.workflow import make_features

    start = time.perf_counter()
    paths = make_features(
        args.data, args.build, splits=tuple(args.splits), n_jobs=args.n_jobs,
        skip_bad_files=args.skip_bad_files, progress=_progress(args), if_changed=args.if_changed,
    )
    for split, path in paths.items():
        _say(args, f"{split}: {path}")
    _say(args, f"features done in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_train(args):
    from emo_gbm.workflow import train

    start = time.perf_counter()
    path = train(args.build, pipeline=args.pipeline, n_jobs=args.n_jobs, seed=args.seed, progress=_progress(args),
                 data_dir=args.data)
    _say(args, f"model {args.pipeline} saved to {path} in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_submission(args):
    from emo_gbm.submission import write_submission
    from emo_gbm.workflow import predict

    start = time.perf_counter()
    predictions = predict(
        args.build, split=args.split, pipeline=args.pipeline, n_jobs=args.n_jobs, progress=_progress(args),
        data_dir=args.data,
    )
    out = Path(args.out) if args.out else Path(args.build)
    zip_path = write_submission(predictions, args.data, args.split, out)
    _write_json(out / "submission.json", {"split": args.split, "pipeline": args.pipeline, "data": str(args.data)})
    _say(args, f"{len(predictions)} predictions written to {zip_path} in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_predict(args):
    from emo_gbm.posteriors import write_posteriors
    from emo_gbm.workflow import predict_frame_proba

    start = time.perf_counter()
    proba = predict_frame_proba(args.build, split=args.split, pipeline=args.pipeline, n_jobs=args.n_jobs)
    out = Path(args.out) if args.out else Path(args.build) / "posteriors"
    paths = write_posteriors(proba, args.data, args.split, out, fmt=args.format)
    _say(args, f"frame posteriors of {len(paths)} recordings written to {out} ({args.format}) "
               f"in {time.perf_counter() - start:.1f} s")
    return 0


def _evaluate(submission, data, split, metrics_path, extra, args):
    from emo_gbm.submission import check_submission

    result = check_submission(submission, data, split)
    if "scores" not in result:
        _say(args, f"{submission} is a valid submission ({result['recordings']} recordings, "
                   f"{result['frames']} frames); {data} has no answers/{split}, so nothing to score")
        return result
    scores = result["scores"]
    payload = dict(scores, split=split, submission=str(submission), **extra)
    if metrics_path is not None:
        _write_json(metrics_path, payload)
    print(f"{split}: WA {scores['WA']:.4f}  UA {scores['UA']:.4f}  "
          f"({scores['frames']} scored frames of {scores['frames_total']}, {scores['recordings']} recordings)")
    return result


def cmd_evaluate(args):
    build = Path(args.build)
    manifest = build / "submission.json"
    info = json.loads(manifest.read_text()) if manifest.is_file() else {}
    split = args.split or info.get("split", "test")
    extra = {"pipeline": info.get("pipeline")} if info.get("pipeline") else {}
    _evaluate(build / "submission.zip", args.data, split, build / "metrics.json", extra, args)
    return 0


def cmd_check_submission(args):
    _evaluate(Path(args.submission), args.data_dir, args.split, args.metrics, {}, args)
    return 0


def _peak_rss_mb():
    """Peak resident memory of this process so far, in MB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def cmd_baseline(args):
    from emo_gbm.baseline import baseline_folder, predict_baseline, train_baseline
    from emo_gbm.data.io import load_split
    from emo_gbm.submission import write_submission

    import numpy as np

    from emo_gbm.modelio import save_model

    modalities = tuple(dict.fromkeys(args.modalities))
    out = Path(args.build) / baseline_folder(modalities) if args.out is None else Path(args.out)
    start = time.perf_counter()
    train_recs = load_split(args.data, "train", n_jobs=args.n_jobs, skip_bad_files=args.skip_bad_files,
                            progress=_progress(args))
    options = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    model = train_baseline(
        train_recs, hidden_size=args.hidden_size, modalities=modalities, random_state=args.seed,
        n_jobs=args.n_jobs, verbose=0 if args.quiet else 1, **options,
    )
    fit_seconds = time.perf_counter() - start
    del train_recs
    out.mkdir(parents=True, exist_ok=True)
    save_model(model, out / "model.skops")
    start = time.perf_counter()
    test_recs = load_split(args.data, args.split, n_jobs=args.n_jobs, with_answers=False,
                           skip_bad_files=args.skip_bad_files, progress=_progress(args))
    predictions = predict_baseline(model, test_recs)
    zip_path = write_submission(predictions, args.data, args.split, out)
    predict_seconds = time.perf_counter() - start
    extra = {
        "model": "bilstm", "modalities": list(modalities), "hidden_size": args.hidden_size,
        "epochs": int(model.n_epochs_), "best_epoch": int(model.best_epoch_),
        "median_epoch_seconds": round(float(np.median(model.history_["seconds"])), 1),
        "train_seconds": round(fit_seconds, 1), "predict_seconds": round(predict_seconds, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1), "n_jobs": args.n_jobs,
    }
    _write_json(out / "submission.json", dict(extra, split=args.split, data=str(args.data)))
    _say(args, f"baseline trained in {fit_seconds:.0f} s ({model.n_epochs_} epochs), submission {zip_path}")
    _evaluate(zip_path, args.data, args.split, out / "metrics.json", extra, args)
    return 0


def cmd_report(args):
    from emo_gbm.reporting import write_report

    start = time.perf_counter()
    command = (f"emo-gbm report --data {args.data} --build {args.build} --out {args.out}"
               + (f" --split {args.split}" if args.split else "")
               + (f" --timeline-id {args.timeline_id}" if args.timeline_id else ""))
    result = write_report(args.data, args.build, args.out, split=args.split, timeline_id=args.timeline_id,
                          n_jobs=args.n_jobs, progress=_progress(args), command=command)
    for name, scores in result["scores"].items():
        _say(args, f"{name}: WA {scores['WA']:.4f}  UA {scores['UA']:.4f}")
    for missing in result["missing"]:
        _say(args, f"missing: {missing}")
    _say(args, f"report written to {result['readme']} in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_modalities(args):
    from emo_gbm.reporting import run_modality_table

    start = time.perf_counter()
    path = run_modality_table(
        args.data, args.build, split=args.split, pipeline=args.pipeline, train_single=not args.no_train,
        baseline=not args.no_baseline, seed=args.seed, n_jobs=args.n_jobs, progress=_progress(args),
    )
    _say(args, f"modality table written to {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _silent(message):
    pass


def cmd_suite(args):
    from emo_gbm.suite import SUITE_PIPELINES, SUITE_SCALE, run_suite

    pipelines = args.pipelines or list(SUITE_PIPELINES)
    scale = SUITE_SCALE if args.scale is None else args.scale
    command = (f"emo-gbm suite --data-root {args.data_root} --build {args.build} --out {args.out} --scale {scale:g} "
               f"--seed {args.seed} --n-jobs {args.n_jobs} --pipelines {' '.join(pipelines)}")
    if args.emodb:
        command += f" --emodb {args.emodb}"
    if args.worlds:
        command += f" --worlds {' '.join(args.worlds)}"
    if args.parallel_datasets != 1:
        command += f" --parallel-datasets {args.parallel_datasets}"
    if args.reuse:
        command += " --reuse"
    result = run_suite(
        args.data_root, args.build, args.out, emodb=args.emodb, pipelines=pipelines, worlds=args.worlds,
        scale=scale, seed=args.seed, n_jobs=args.n_jobs, command=command, say=print if not args.quiet else _silent,
        parallel_datasets=args.parallel_datasets, reuse=args.reuse,
    )
    s = result["summary"]
    _say(args, f"suite written to {Path(args.out) / 'suite.md'} in {result['seconds'] / 60:.1f} min; margin over "
               f"the reference: mean {s['mean_margin']:+.4f}, smallest {s['min_margin']:+.4f}")
    return 0


def _dask_option(parser):
    parser.add_argument(
        "--dask", default=None, metavar="ADDRESS",
        help="run the stage's parallel work on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' "
             "(a LocalCluster of --n-jobs workers); same results as without (needs emo_gbm[dask])",
    )


def build_parser():
    """The argument parser of ``emo-gbm`` (one subparser per stage)."""
    parser = argparse.ArgumentParser(
        prog="emo-gbm",
        description="Frame-level emotion recognition from multimodal streams: data, features, "
                    "training, submissions, evaluation.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or status lines")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def stage(name, helptext, data=True, build=True):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if data:
            p.add_argument("--data", default=DEFAULT_DATA, help=f"dataset root (default {DEFAULT_DATA})")
        if build:
            p.add_argument("--build", default=DEFAULT_BUILD, help=f"output folder (default {DEFAULT_BUILD})")
        p.add_argument("--n-jobs", type=int, default=1, help="parallel workers (results do not depend on it)")
        p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bars or status lines")
        return p

    _add_pipeline_stages(stage)
    _add_evaluation_stages(stage, sub)
    return parser


def _add_pipeline_stages(stage):
    """The stages from data to predictions: synth, features, train, submission, predict."""
    p = stage("synth", "write a synthetic dataset in the challenge layout", data=False, build=False)
    p.add_argument("--out", default=DEFAULT_DATA, help=f"dataset root to write (default {DEFAULT_DATA})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the recording counts (312/143/126)")
    p.add_argument("--world", default="default", choices=list(WORLDS), metavar="NAME",
                   help="synthetic world, a hypothesis of how recordings render emotion (docs/worlds.md): "
                        f"{', '.join(WORLDS)} (default: default)")
    p.set_defaults(func=cmd_synth)

    p = stage("features", "cache window features of the splits under BUILD/features/")
    p.add_argument("--splits", nargs="+", default=["train", "test"], choices=SPLITS)
    p.add_argument("--skip-bad-files", action="store_true", help="warn and treat a bad modality file as absent")
    p.add_argument("--if-changed", action="store_true",
                   help="keep a split's cached features made from the same DATA files (path, sizes, mtimes)")
    _dask_option(p)
    p.set_defaults(func=cmd_features)

    p = stage("train", "fit a named pipeline on the cached train features", data=False)
    p.add_argument("--data", default=None, help="dataset the features must come from (default: the one they were "
                                                "made from); refused if its files changed since")
    p.add_argument("--pipeline", default="stacked_gbm", choices=sorted(PIPELINES))
    p.add_argument("--seed", type=int, default=0)
    _dask_option(p)
    p.set_defaults(func=cmd_train)

    p = stage("submission", "predict a test split and write BUILD/submission.zip")
    p.add_argument("--pipeline", default="stacked_gbm", choices=sorted(PIPELINES))
    p.add_argument("--split", default="test", choices=TEST_SPLITS)
    p.add_argument("--out", default=None, help="folder for submission/ and submission.zip (default BUILD)")
    _dask_option(p)
    p.set_defaults(func=cmd_submission)

    p = stage("predict", "write the frame posteriors of every template of a test split: OUT/<id>.csv (the "
                         "template's header and Time, the six emotions' posteriors) or OUT/<id>.parquet")
    p.add_argument("--pipeline", default="stacked_gbm", choices=sorted(PIPELINES))
    p.add_argument("--split", default="test", choices=TEST_SPLITS)
    p.add_argument("--out", default=None, help="output folder, replaced as a whole (default BUILD/posteriors)")
    p.add_argument("--format", default="csv", choices=("csv", "parquet"),
                   help="csv: posteriors with 6 decimals, rows summing to 1; parquet: float64")
    _dask_option(p)
    p.set_defaults(func=cmd_predict)


def _add_evaluation_stages(stage, sub):
    """The stages that score and report: evaluate, check-submission, baseline, modalities, report, suite."""
    p = stage("evaluate", "check BUILD/submission.zip and score it into BUILD/metrics.json")
    p.add_argument("--split", default=None, choices=TEST_SPLITS, help="default: the split it was made for")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("check-submission", help="validate a submission against the templates; score it "
                                                 "where answers exist")
    p.add_argument("submission", help="submission.zip or a folder holding prediction/")
    p.add_argument("data_dir", help="dataset root")
    p.add_argument("--split", default="test", choices=TEST_SPLITS)
    p.add_argument("--metrics", default=None, help="also write the scores to this JSON file")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_check_submission)

    p = stage("baseline", "train the NumPy BiLSTM challenge baseline; write BUILD/baseline/")
    p.add_argument("--split", default="test", choices=TEST_SPLITS)
    p.add_argument("--hidden-size", type=int, default=200, help="LSTM units (200 as in the challenge)")
    p.add_argument("--max-epochs", type=int, default=None, help="default: the estimator's")
    p.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=MODALITIES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output folder (default BUILD/baseline for all four modalities, "
                                               "BUILD/baseline_only_<modality> for one, BUILD/baseline_<m1>_<m2>...)")
    p.add_argument("--skip-bad-files", action="store_true")
    p.set_defaults(func=cmd_baseline)

    p = stage("modalities", "predict the test split with modalities deleted, with each single-modality "
                            "pipeline and with the stack trained without each modality; write "
                            "BUILD/modalities.json")
    p.add_argument("--split", default="test", choices=TEST_SPLITS)
    p.add_argument("--pipeline", default="stacked_gbm", choices=sorted(PIPELINES),
                   help="the trained model whose inputs are deleted")
    p.add_argument("--no-train", action="store_true",
                   help="do not train the single-modality pipelines, the stacks without one modality and early "
                        "fusion (score those already in BUILD/models/)")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the BiLSTM baseline (BUILD/baseline/model.skops) with modalities deleted")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_modalities)

    p = stage("report", "regenerate OUT/README.md and OUT/figures/*.png from the current outputs")
    p.add_argument("--out", default="reports", help="report folder (default reports)")
    p.add_argument("--split", default=None, choices=TEST_SPLITS,
                   help="default: the split BUILD/submission.json names, else test")
    p.add_argument("--timeline-id", default=None, help="recording of the timeline figure (default: chosen)")
    p.set_defaults(func=cmd_report)

    p = stage("suite", "train the reference and the default pipeline on every synthetic world and on EmoDB, "
                       "score each test split once; write OUT/suite.md, OUT/suite.json, OUT/figures/suite.png",
              data=False, build=False)
    p.add_argument("--data-root", default="data/worlds", help="where the worlds are generated (default data/worlds)")
    p.add_argument("--build", default=DEFAULT_BUILD + "/suite", help=f"features and models (default {DEFAULT_BUILD}/suite)")
    p.add_argument("--out", default="reports", help="folder of suite.md, suite.json, figures/ (default reports)")
    p.add_argument("--emodb", default=None, help="EmoDB in the challenge layout (left out when absent)")
    p.add_argument("--pipelines", nargs="+", default=None, choices=sorted(PIPELINES),
                   help="'reference', then the default, then others to compare (default reference stacked_gbm)")
    p.add_argument("--worlds", nargs="+", default=None, help="synthetic worlds (default: all)")
    p.add_argument("--scale", type=float, default=None, help="size of each generated world (default 0.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parallel-datasets", type=int, default=1,
                   help="datasets processed at once, sharing the --n-jobs workers (results do not depend on it)")
    p.add_argument("--reuse", action="store_true",
                   help="keep an earlier run's features and models (to add a pipeline to a finished suite)")
    p.set_defaults(func=cmd_suite)


def main(argv=None):
    """Run ``emo-gbm``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("always", BadFileWarning)
    warnings.showwarning = _show_warning
    try:
        with _backend(args):
            return args.func(args)
    except ClusterError as exc:
        print(f"emo-gbm: cluster: {exc}", file=sys.stderr)
        return 3
    except DataFormatError as exc:
        print(f"emo-gbm: bad input: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"emo-gbm: error: {exc}", file=sys.stderr)
        return 2


def _backend(args):
    """joblib's Dask backend for a stage run with ``--dask``; nothing otherwise."""
    if getattr(args, "dask", None) is None:
        return contextlib.nullcontext()
    if args.n_jobs == 1:  # joblib runs n_jobs=1 in this process whatever the backend: use the whole cluster
        args.n_jobs = -1
    return dask_backend(args.dask, n_workers=args.n_jobs if args.n_jobs > 0 else os.cpu_count())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"emo-gbm: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
