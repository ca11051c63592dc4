"""``python -m benchmarks``: the bench's command line (run by ``make bench`` from the repository root)."""

import argparse
import sys
from pathlib import Path

DEFAULT_DATA = "data/synthetic"
DEFAULT_BUILD = "build/bench"


def build_parser():
    """The argument parser of ``python -m benchmarks``.

    Returns
    -------
    argparse.ArgumentParser
    """
    from emo_gbm.pipelines import PIPELINES

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="time and peak memory of every stage, windowing throughput, LightGBM against XGBoost, "
                    "scaling; write OUT/bench.md and OUT/bench.json",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or status lines")
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"dataset root (default {DEFAULT_DATA})")
    parser.add_argument("--build", default=DEFAULT_BUILD,
                        help=f"scratch folder of the bench, overwritten (default {DEFAULT_BUILD})")
    parser.add_argument("--out", default="reports", help="folder of bench.md, bench.json, figures/ (default reports)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel workers (results do not depend on it)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every measurement; medians are reported")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run: one repeat, small subsets, not a measurement")
    parser.add_argument("--scales", type=float, nargs="+", default=None,
                        help="dataset sizes for the scaling fit (1 = DATA; default 0.25 0.5 1 2)")
    parser.add_argument("--scaling-repeats", type=int, default=None,
                        help="runs per generated size (default --repeats)")
    parser.add_argument("--scaling-dask", action="store_true",
                        help="also run features and train of every scaling size (DATA too) with --dask local "
                             "(a LocalCluster of --n-jobs workers); slopes fitted apart")
    parser.add_argument("--pipeline", default="stacked_gbm", choices=sorted(PIPELINES),
                        help="pipeline of the train/submission stages and of the scaling fit")
    parser.add_argument("--versus", default="stacked_xgb", choices=sorted(PIPELINES),
                        help="pipeline compared with --pipeline (train time, WA)")
    return parser


def _command(args):
    """The command line written at the top of bench.md."""
    command = (f"python -m benchmarks --data {args.data} --build {args.build} --out {args.out} "
               f"--repeats {args.repeats}")
    command += f" --n-jobs {args.n_jobs}" + (" --quick" if args.quick else "")
    if (args.pipeline, args.versus) != ("stacked_gbm", "stacked_xgb"):
        command += f" --pipeline {args.pipeline} --versus {args.versus}"
    if args.scales:
        command += " --scales " + " ".join(f"{s:g}" for s in args.scales)
    if args.scaling_repeats is not None:
        command += f" --scaling-repeats {args.scaling_repeats}"
    if args.scaling_dask:
        command += " --scaling-dask"
    return command


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr)


def main(argv=None):
    """Run the bench; returns the process exit code (2 with a one-line message on bad input).

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default: the process's.

    Returns
    -------
    int
    """
    from benchmarks.bench import run_bench
    from benchmarks.process import StageError

    args = build_parser().parse_args(argv)
    try:
        result = run_bench(
            args.data, args.build, args.out, repeats=args.repeats, n_jobs=args.n_jobs, quick=args.quick,
            scales=args.scales, pipeline=args.pipeline, versus=args.versus, scaling_repeats=args.scaling_repeats,
            scaling_dask=args.scaling_dask, progress=not args.quiet and sys.stderr.isatty(), command=_command(args),
        )
    except StageError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    for name, stage in result["stages"].items():
        _say(args, f"{name}: {stage['median_seconds']:.1f} s (target {stage['target_seconds']:.0f} s), "
                   f"peak {stage['median_peak_tree_rss_mb']:.0f} MB")
    _say(args, f"bench written to {Path(args.out) / 'bench.md'} in {result['seconds']:.0f} s")
    return 0
