"""``bench.md``: the bench's result in markdown."""

from benchmarks.config import FULL_SIZE_TRAIN_RECORDINGS, MEMORY_POLL_SECONDS
from emo_gbm.reporting import TARGETS


def _times(n):
    return "once" if n == 1 else f"{n} times"


def _median_of(n):
    return "one run" if n == 1 else f"median of {n} runs"


def bench_markdown(result):
    """The text of ``bench.md`` for a result of :func:`benchmarks.bench.run_bench`.

    Parameters
    ----------
    result : dict
        What ``bench.json`` holds.

    Returns
    -------
    str
    """
    lines = (_header_markdown(result) + _stages_markdown(result) + _windowing_markdown(result)
             + _versus_markdown(result) + _scaling_markdown(result))
    return "\n".join(lines)


def _header_markdown(result):
    """Title, command, machine and dataset."""
    m = result["machine"]
    lines = [
        "# Bench",
        "",
        "```sh",
        result["command"],
        "```",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, Python {m['python']}, "
        f"{m['platform']}; run {m['date']} in {result['seconds']:.0f} s."
        + (" **Quick smoke run: tiny data, one repeat; not a measurement.**" if result["quick"] else ""),
        "",
        f"Dataset `{result['data']}`: " + ", ".join(
            f"{split} {n} recordings / {result['dataset']['frames'][split]:,} frames"
            for split, n in result["dataset"]["recordings"].items()) + f"; `--n-jobs {result['n_jobs']}`.",
        "",
    ]
    return lines


def _stages_markdown(result):
    """The stage table, peak memory, commands, score and determinism."""
    lines = [
        "## Stages",
        "",
        f"Each stage is run as its own process (`emo-gbm ...`), {_times(result['repeats'])}"
        f"{', median shown' if result['repeats'] > 1 else ''}; the feature cache is deleted before every features "
        "run. Peak memory is the peak resident set of the process tree (the stage and its worker processes, "
        f"sampled every {MEMORY_POLL_SECONDS * 1000:.0f} ms); the stage process's own `ru_maxrss` (from `wait4`) "
        "is shown beside it. CPU s is user + system time of the stage and its finished workers.",
        "",
        "Issue targets, for the full-size dataset (312/143 train/test recordings) on 2 cores: features <= "
        f"{TARGETS['features']:.0f} s, train <= {TARGETS['train']:.0f} s, submission <= "
        f"{TARGETS['submission']:.0f} s, peak memory <= {TARGETS['peak_memory_mb'] / 1024:.0f} GB"
        + ("." if result["dataset"]["recordings"].get("train") == FULL_SIZE_TRAIN_RECORDINGS else
           "; **DATA is not full size**, so the 'meets' column is only indicative."),
        "",
        "| stage | median s | runs s | target s | meets | peak MB (tree) | own ru_maxrss MB | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, stage in result["stages"].items():
        lines.append(
            f"| {name} | {stage['median_seconds']:.1f} | {', '.join(f'{s:.1f}' for s in stage['seconds'])} | "
            f"{stage['target_seconds']:.0f} | {'yes' if stage['meets_target'] else '**no**'} | "
            f"{stage['median_peak_tree_rss_mb']:.0f} | {stage['median_peak_rss_mb']:.0f} | "
            f"{stage['median_cpu_seconds']:.1f} |")
    memory = result["memory"]
    lines += [
        "",
        f"Peak memory over all stages: {memory['peak_mb']:.0f} MB (target <= {TARGETS['peak_memory_mb']:.0f} MB: "
        f"{'met' if memory['meets_target'] else '**not met**'}).",
        "",
        "Commands:",
        "",
        "```sh",
    ] + [stage["command"] for stage in result["stages"].values()] + ["```", ""]
    if result.get("scores"):
        lines += [f"Public test of this run: WA {result['scores']['WA']:.4f}, UA {result['scores']['UA']:.4f}.", ""]
        digests = result["scores"].get("submission_sha256") or []
        if len(digests) > 1:
            lines += [f"Determinism: the {len(digests)} repeats (features recomputed, model refitted, test predicted) "
                      + ("wrote byte-identical `submission.zip` files" if result["scores"]["identical_submissions"]
                         else "**wrote different `submission.zip` files**")
                      + f" (sha256 {', '.join(d[:12] for d in digests)}).", ""]
    return lines


def _windowing_markdown(result):
    """Windowing throughput of the featurizer, pandas and tsfresh."""
    w = result["windowing"]
    lines = [
        "## Windowing throughput",
        "",
        f"In one process, single-threaded, on the first {w['recordings']} train recordings by id "
        f"({w['frames']:,} frames, {w['windows']:,} windows of 4 s every 1 s, {w['features']} features), "
        f"aligned in memory beforehand; {_median_of(w['repeats'])}.",
        "",
        "| implementation | frames/s | ratio (WindowFeaturizer / it) |",
        "| --- | --- | --- |",
        f"| WindowFeaturizer (NumPy: cumulative sums, sorted sliding windows) | {w['featurizer_fps']:,.0f} | 1 |",
        f"| pandas rolling, the same statistics (`benchmarks.pandas_window_features`) | {w['pandas_fps']:,.0f} | "
        f"{w['speedup_vs_pandas']:.1f}x |",
    ]
    t = w["tsfresh"]
    if t.get("status") == "measured":
        lines += [
            f"| tsfresh {t['version']} `roll_time_series` + `extract_features`, {t['recordings']} recordings "
            f"({t['frames']:,} frames) | {t['tsfresh_fps']:,.0f} | {t['speedup']:.0f}x (WindowFeaturizer "
            f"{t['featurizer_fps']:,.0f} frames/s on the same recordings) |",
            "",
            "tsfresh computes the continuous statistics only (mean, standard deviation, min, max, 10/50/90% "
            "quantiles, mean absolute change, linear-trend slope) on full windows, single-process "
            "(`n_jobs=0`); its mean absolute change joins consecutive present samples and its slope is per "
            "sample, so the work is the same and a few definitions differ slightly.",
        ]
        check = t.get("agreement") or {}
        if check.get("max_relative_difference") is not None:
            lines += ["", f"Check: on {check['windows']} of tsfresh's windows, featurised again by WindowFeaturizer "
                      f"on the same frames, the {check['values']:,} values of mean, standard deviation, min, max "
                      f"and quantiles agree with tsfresh to {check['max_relative_difference']:.1e} (relative to "
                      "max(|value|, 1))."]
    else:
        lines += ["", f"tsfresh: {t.get('status')}."]
    agreement = w["agreement_with_pandas"]
    lines += [
        "",
        f"Check: WindowFeaturizer and the pandas reference agree (same missing cells: "
        f"{'yes' if agreement['same_missing_cells'] else '**no**'}; largest difference "
        f"{agreement['max_relative_difference']:.1e}, relative to max(|value|, 1)).",
        "",
    ]
    return lines


def _versus_markdown(result):
    """The two pipelines compared."""
    v = result["versus"]
    title = ("LightGBM against XGBoost (per-modality base models)"
             if (result["pipeline"], result["versus_pipeline"]) == ("stacked_gbm", "stacked_xgb")
             else f"{result['pipeline']} against {result['versus_pipeline']}")
    lines = [
        f"## {title}",
        "",
        f"Pipelines `{result['pipeline']}` and `{result['versus_pipeline']}`, trained on the same cached "
        f"features; train time: {_median_of(result['repeats'])} ({result['pipeline']}: the train "
        "stage above), WA/UA of one submission each on the public test.",
        "",
        "| pipeline | median train s | runs s | peak MB (tree) | submission s | WA | UA |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in v.items():
        lines.append(f"| {name} | {r['median_train_seconds']:.1f} | {', '.join(f'{s:.1f}' for s in r['train_seconds'])} "
                     f"| {r['median_peak_tree_rss_mb']:.0f} | {r['submission_seconds']:.1f} | "
                     f"{r.get('WA', float('nan')):.4f} | {r.get('UA', float('nan')):.4f} |")
    return lines


#: The modes of the scaling runs: key of their measures in a point (None: the point itself), name.
SCALING_MODES = ((None, "plain"), ("dask", "`--dask local`"))


def _scaling_cells(m):
    """Features, train and total s, features and train peak MB (tree, own) of one mode of a point."""
    return [f"{m['features_seconds']:.1f}", f"{m['train_seconds']:.1f}", f"{m['total_seconds']:.1f}",
            f"{m['features_peak_tree_rss_mb']:.0f} ({m['features_peak_rss_mb']:.0f})",
            f"{m['train_peak_tree_rss_mb']:.0f} ({m['train_peak_rss_mb']:.0f})"]


def _scaling_table(points, dask):
    """The scaling table: one row per size, the plain measures then (``dask``) the dask ones."""
    columns = ["features s", "train s", "total s", "features peak MB", "train peak MB"]
    header = ["size", "recordings (train/test)", "frames"] + columns
    if dask:
        header += [f"dask {c}" for c in columns]
    header.append("runs" + (" (plain/dask)" if dask else ""))
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for p in points:
        cells = [p["label"], f"{p['recordings']['train']}/{p['recordings']['test']}", f"{p['frames']:,}"]
        cells += _scaling_cells(p)
        runs = str(p["runs"])
        if dask:
            cells += _scaling_cells(p["dask"]) if "dask" in p else ["-"] * len(columns)
            runs += f"/{p['dask']['runs']}" if "dask" in p else "/-"
        lines.append("| " + " | ".join(cells + [runs]) + " |")
    return lines


def _scaling_fits(s):
    """The fitted slopes of each mode and the features memory ratio 2x / 0.5x against its target."""

    def slope(value):
        return "-" if value is None else f"{value:.2f}"

    lines = []
    for mode, name in SCALING_MODES:
        slopes = s if mode is None else s.get("slopes_dask")
        if slopes is not None:
            lines += [f"Fitted slopes, {name}: features + train {slope(slopes['slope'])}, "
                      f"features {slope(slopes['slope_features'])}, train {slope(slopes['slope_train'])}.", ""]
    target = s.get("features_memory_ratio_target", TARGETS["features_memory_ratio"])
    for mode, name in SCALING_MODES:
        ratio = s.get("features_memory_ratio_2x_over_0_5x" + ("" if mode is None else f"_{mode}"))
        if ratio is not None:
            lines += [f"features peak memory at 2x / at 0.5x{'' if mode is None else ' with ' + name}: {ratio:.2f} "
                      f"(target <= {target:g}: {'met' if ratio <= target else 'missed'})", ""]
    return lines


def _scaling_markdown(result):
    """Time and peak memory against dataset size, plain and (when run) with ``--dask local``."""
    s = result["scaling"]
    dask = s.get("slopes_dask") is not None
    lines = [
        "",
        "## Time against dataset size",
        "",
        f"Features (train + test) and train (`{result['pipeline']}`) at several dataset sizes, "
        f"x = multiples of the full size (312/143 train/test recordings). The DATA row is DATA itself (its "
        "plain times and memory are the stage medians above); the others are `emo-gbm synth --scale S --seed 0` "
        "datasets. Peak MB: peak resident set of the process tree, the stage's own `ru_maxrss` in parentheses "
        "(medians). Slopes are least-squares fits of log time against log frames (1 = linear)."
        + (" The dask columns run the same two stages with `--dask local` (a Dask LocalCluster of "
           f"`--n-jobs {result.get('n_jobs', '?')}` worker processes, in the tree), their slopes fitted apart."
           if dask else ""),
        "",
    ]
    lines += _scaling_table(s["points"], dask)
    lines += [""] + _scaling_fits(s) + ["![time against dataset size](figures/bench_scaling.png)", ""]
    return lines
